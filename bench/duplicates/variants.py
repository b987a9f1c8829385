"""The variant kinds of the duplicate bench: copies a customer would upload again, and different pictures that
look alike. Each takes a base image (RGB or RGBA) and a seeded random generator and returns an image."""

import colorsys

import numpy as np
from PIL import Image, ImageDraw, ImageEnhance, ImageFont


def _flat(image, background=(255, 255, 255)):
    if image.mode != "RGBA":
        return image
    canvas = Image.new("RGBA", image.size, (*background, 255))
    return Image.alpha_composite(canvas, image).convert("RGB")


def resize_half(image, rng):
    return image.resize((max(1, image.width // 2), max(1, image.height // 2)), Image.Resampling.LANCZOS)


def crop_3_percent(image, rng):
    dx, dy = round(image.width * 0.03), round(image.height * 0.03)
    return image.crop((dx, dy, image.width - dx, image.height - dy))


def brighter(image, rng):
    bright = ImageEnhance.Brightness(_flat(image)).enhance(1.1)
    return bright


def watermark(image, rng):
    marked = _flat(image).convert("RGBA")
    overlay = Image.new("RGBA", marked.size, (0, 0, 0, 0))
    draw = ImageDraw.Draw(overlay)
    font = ImageFont.load_default(size=max(8, image.height // 24))
    text = "© proof copy"
    left, top, right, bottom = draw.textbbox((0, 0), text, font=font)
    x, y = image.width - (right - left) - image.width // 40, image.height - (bottom - top) - image.height // 40
    draw.text((x - left, y - top), text, font=font, fill=(255, 255, 255, 190), stroke_width=1,
              stroke_fill=(0, 0, 0, 120))
    return Image.alpha_composite(marked, overlay).convert("RGB")


def rotate_small(image, rng):
    angle = rng.choice([-1, 1]) * rng.uniform(1, 3)
    return _flat(image).rotate(angle, Image.Resampling.BICUBIC, fillcolor=(255, 255, 255))


def on_other_background(image, rng):
    """A logo with transparency, flattened onto a coloured background (only for bases with transparency)."""
    return _flat(image, background=rng.choice([(200, 30, 40), (20, 60, 160), (30, 30, 30)]))


def hue_rotated(image, rng):
    """A colourway: every hue turned 120 degrees (grey parts stay grey)."""
    hsv = np.asarray(_flat(image).convert("HSV")).copy()
    hsv[..., 0] = (hsv[..., 0].astype(np.int16) + 85) % 256
    return Image.fromarray(hsv, "HSV").convert("RGB")


def mirrored(image, rng):
    return image.transpose(Image.Transpose.FLIP_LEFT_RIGHT)


def near_blank_pairs(rng, count):
    """(kind, first, second) designs that are blank but for one small mark in the same corner: a dot and a cross,
    a ring and a square, a short word and another word. Generated: these are the designs real sets lack."""
    pairs = []
    size = (1200, 1400)
    font = ImageFont.load_default(size=48)
    shapes = [("dot", "cross"), ("ring", "square"), ("word", "other word"), ("dot", "ring")]
    for index in range(count):
        first_kind, second_kind = shapes[index % len(shapes)]
        corner = rng.choice(["tl", "tr", "bl", "br"])
        hue = rng.random()
        colour = tuple(round(c * 255) for c in colorsys.hsv_to_rgb(hue, 0.8, 0.6))
        radius = rng.randrange(20, 60)
        cx = 120 if corner[1] == "l" else size[0] - 120
        cy = 120 if corner[0] == "t" else size[1] - 120
        images = []
        for kind in (first_kind, second_kind):
            image = Image.new("RGB", size, "white")
            draw = ImageDraw.Draw(image)
            box = (cx - radius, cy - radius, cx + radius, cy + radius)
            if kind == "dot":
                draw.ellipse(box, fill=colour)
            elif kind == "ring":
                draw.ellipse(box, outline=colour, width=max(3, radius // 4))
            elif kind == "square":
                draw.rectangle(box, fill=colour)
            elif kind == "cross":
                width = max(4, radius // 3)
                draw.rectangle((cx - radius, cy - width, cx + radius, cy + width), fill=colour)
                draw.rectangle((cx - width, cy - radius, cx + width, cy + radius), fill=colour)
            else:
                word = "SALE" if kind == "word" else "SOLD"
                draw.text((cx, cy), word, font=font, fill=colour, anchor="mm")
            images.append(image)
        pairs.append((f"{first_kind} vs {second_kind}", *images))
    return pairs


COPIES = {  # kind -> (make, what flag recall must reach)
    "resize 50%": (resize_half, 0.95),
    "JPEG quality 60": (None, 0.95),
    "WebP re-save": (None, 0.95),
    "brightness +10%": (brighter, 0.95),
    "3% crop each side": (crop_3_percent, 0.90),
    "watermark text in a corner": (watermark, 0.90),
    "rotation 1-3 degrees": (rotate_small, None),
    "logo on another background": (on_other_background, None),
}
LOOK_ALIKES = {"hue rotated 120 degrees": hue_rotated, "mirrored": mirrored}
