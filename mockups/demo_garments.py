"""Demo garment photos drawn with Pillow (a t-shirt, a hoodie, a tote bag), with their print areas.

Pure and deterministic: the same call draws the same pixels, so `seed_templates` stores each photo under the same
content-addressed key every time. No Django here.
"""

from collections.abc import Callable
from dataclasses import dataclass

from PIL import Image, ImageChops, ImageDraw, ImageFilter

from imaging.compositing import PrintArea

SIZE = (1200, 1400)  # px: a typical product photo, portrait
FOLD_BLUR = 20  # px: folds this soft read as cloth, not as stripes
EDGE_BLUR = 1.5  # px: an anti-aliased silhouette


@dataclass(frozen=True)
class DemoGarment:
    name: str
    area: PrintArea
    draw: Callable[[], Image.Image]  # the photo (RGB), drawn on demand: ~0.5 s each


def demo_garments():
    """The three demo garments, in the order the picker shows them."""
    return [
        DemoGarment("Classic tee (white)", PrintArea(390, 360, 420, 500),
                    lambda: _photo(_tee_mask(), (238, 238, 234), _tee_folds())),
        DemoGarment("Pullover hoodie (charcoal)", PrintArea(410, 470, 380, 330),
                    lambda: _photo(_hoodie_mask(), (66, 68, 74), _hoodie_folds())),
        DemoGarment("Tote bag (natural)", PrintArea(360, 640, 480, 480),
                    lambda: _photo(_tote_mask(), (224, 210, 182), _tote_folds())),
    ]


def _photo(mask, colour, folds):
    """A studio shot: grey backdrop, soft drop shadow, then the garment in `colour` with `folds` shading it."""
    width, height = SIZE
    backdrop = Image.linear_gradient("L").resize(SIZE).point(lambda v: 246 - v * 22 // 255).convert("RGB")
    shadow = Image.new("L", SIZE, 0)
    shadow.paste(mask, (18, 26))
    backdrop = ImageChops.subtract(backdrop, shadow.filter(ImageFilter.GaussianBlur(24)).point(lambda v: v // 6)
                                   .convert("RGB"))
    shade = Image.new("L", SIZE, 255)
    draw = ImageDraw.Draw(shade)
    for points, darkness, stroke in folds:
        draw.line(points, fill=255 - darkness, width=stroke, joint="curve")
    # Cloth turns away from the light at its sides: darken towards both edges.
    sides = Image.linear_gradient("L").rotate(90, expand=True).resize((width // 2, height))
    sides = sides.point(lambda v: 255 - (255 - v) * 40 // 255)
    left = sides.transpose(Image.Transpose.FLIP_LEFT_RIGHT)
    shade.paste(ImageChops.multiply(shade.crop((0, 0, width // 2, height)), left), (0, 0))
    shade.paste(ImageChops.multiply(shade.crop((width // 2, 0, width, height)), sides), (width // 2, 0))
    shade = shade.filter(ImageFilter.GaussianBlur(FOLD_BLUR))
    fabric = ImageChops.multiply(Image.new("RGB", SIZE, colour), shade.convert("RGB"))
    backdrop.paste(fabric, (0, 0), mask.filter(ImageFilter.GaussianBlur(EDGE_BLUR)))
    return backdrop


def _tee_mask():
    mask = Image.new("L", SIZE, 0)
    draw = ImageDraw.Draw(mask)
    draw.polygon([(430, 200), (250, 270), (90, 520), (250, 610), (320, 500), (320, 1250), (880, 1250), (880, 500),
                  (950, 610), (1110, 520), (950, 270), (770, 200)], fill=255)
    draw.ellipse((470, 150, 730, 290), fill=0)  # neck opening
    draw.chord((480, 160, 720, 280), 0, 180, fill=255)
    return mask


def _tee_folds():
    return [
        ([(520, 620), (480, 900), (530, 1240)], 90, 18),
        ([(700, 560), (740, 820), (690, 1180)], 75, 16),
        ([(330, 980), (600, 1030), (870, 960)], 52, 22),
        ([(330, 520), (420, 700)], 82, 20),
        ([(870, 520), (800, 690)], 82, 20),
    ]


def _hoodie_mask():
    mask = Image.new("L", SIZE, 0)
    draw = ImageDraw.Draw(mask)
    draw.polygon([(420, 260), (240, 320), (110, 800), (100, 1180), (230, 1200), (300, 620), (300, 1290),
                  (900, 1290), (900, 620), (970, 1200), (1100, 1180), (1090, 800), (960, 320), (780, 260)], fill=255)
    draw.ellipse((400, 110, 800, 440), fill=255)  # the hood, lying on the back
    return mask


def _hoodie_folds():
    return [
        ([(480, 300), (600, 420), (720, 300)], 120, 26),  # hood opening
        ([(560, 420), (550, 560)], 90, 8),  # drawstrings
        ([(640, 420), (650, 560)], 90, 8),
        ([(420, 900), (780, 900), (830, 1120), (370, 1120), (420, 900)], 67, 14),  # kangaroo pocket
        ([(500, 600), (460, 820)], 60, 20),
        ([(720, 640), (760, 860)], 60, 20),
        ([(300, 1250), (600, 1230), (900, 1250)], 82, 30),  # ribbed hem
    ]


def _tote_mask():
    mask = Image.new("L", SIZE, 0)
    draw = ImageDraw.Draw(mask)
    draw.rectangle((260, 520, 940, 1300), fill=255)
    draw.arc((380, 180, 600, 700), 180, 360, fill=255, width=36)  # handles
    draw.arc((600, 180, 820, 700), 180, 360, fill=255, width=36)
    draw.line([(380, 440), (380, 520)], fill=255, width=36)
    draw.line([(600, 440), (600, 520)], fill=255, width=36)
    draw.line([(820, 440), (820, 520)], fill=255, width=36)
    return mask


def _tote_folds():
    return [
        ([(260, 560), (940, 560)], 75, 20),  # top seam
        ([(520, 700), (470, 1000), (520, 1290)], 67, 22),
        ([(760, 760), (800, 1100)], 60, 18),
        ([(300, 1180), (600, 1150), (900, 1190)], 52, 26),
    ]
