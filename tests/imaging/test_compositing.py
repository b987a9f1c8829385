"""Pure compositing: where the design goes, what shows through it, and how the garment shades it."""

import pytest
from PIL import Image

from imaging.compositing import PrintArea, area_problems, fit_in_area, render_mockup


@pytest.mark.parametrize(
    ("design_size", "area"),
    [
        ((4500, 1500), PrintArea(100, 50, 400, 500)),  # wide design, tall area
        ((1500, 4500), PrintArea(0, 0, 600, 300)),  # tall design, wide area
        ((1000, 1000), PrintArea(10, 20, 300, 300)),  # square into square
        ((1000, 1000), PrintArea(10, 20, 500, 200)),  # square into wide
        ((1000, 1000), PrintArea(10, 20, 200, 500)),  # square into tall
        ((640, 533), PrintArea(390, 360, 420, 500)),  # a real thumbnail into the demo tee
        ((40, 30), PrintArea(0, 0, 800, 800)),  # small designs are scaled up to fill the area
    ],
)
def test_fit_in_area_fits_centres_and_keeps_the_aspect_ratio(design_size, area):
    design_w, design_h = design_size
    x, y, w, h = fit_in_area(design_w, design_h, area)
    assert area.x <= x and x + w <= area.x + area.width
    assert area.y <= y and y + h <= area.y + area.height
    assert w == area.width or h == area.height  # as large as the area allows
    left, right = x - area.x, area.x + area.width - (x + w)
    top, bottom = y - area.y, area.y + area.height - (y + h)
    assert abs(left - right) <= 1 and abs(top - bottom) <= 1
    # Aspect ratio kept up to the rounding of one pixel on the shorter side.
    assert abs(w / h - design_w / design_h) <= (design_w / design_h) / min(w, h)


def test_fit_in_area_accepts_a_plain_tuple():
    assert fit_in_area(200, 100, (0, 0, 100, 100)) == (0, 25, 100, 50)


def half_transparent_design(size=(100, 100), colour=(220, 30, 30, 255)):
    """Left half fully transparent (with green hidden under it), right half opaque `colour`."""
    design = Image.new("RGBA", size, colour)
    design.paste((0, 255, 0, 0), (0, 0, size[0] // 2, size[1]))
    return design


@pytest.mark.parametrize("shading", [False, True])
def test_transparent_parts_of_the_design_show_the_garment(shading):
    garment = Image.new("RGB", (200, 200), (12, 90, 160))
    garment.putpixel((30, 50), (250, 240, 10))  # a marked pixel, under the transparent half
    rendered = render_mockup(garment, half_transparent_design(), (10, 10, 100, 100), shading=shading)
    assert rendered.getpixel((30, 50)) == (250, 240, 10)
    assert rendered.getpixel((20, 80)) == (12, 90, 160)
    assert rendered.getpixel((90, 50)) == (220, 30, 30)  # opaque half: the design, on flat fabric unchanged
    assert rendered.getpixel((150, 150)) == (12, 90, 160)  # outside the print area
    assert garment.getpixel((90, 50)) == (12, 90, 160)  # the template image itself is left alone


def test_shading_darkens_the_print_where_the_garment_is_dark():
    garment = Image.new("RGB", (200, 200), (210, 210, 210))
    garment.paste((70, 70, 70), (40, 0, 60, 200))  # a fold across the print area
    design = Image.new("RGBA", (100, 100), (240, 200, 40, 255))
    flat, fold = (80, 50), (50, 50)
    shaded = render_mockup(garment, design, (10, 10, 100, 100), shading=True)
    plain = render_mockup(garment, design, (10, 10, 100, 100), shading=False)
    assert plain.getpixel(fold) == plain.getpixel(flat) == (240, 200, 40)
    assert shaded.getpixel(flat) == (240, 200, 40)  # flat fabric keeps the design's colours
    assert all(dark < light * 0.5 for dark, light in zip(shaded.getpixel(fold), shaded.getpixel(flat), strict=True))


def test_shading_keeps_light_ink_light_on_a_dark_garment():
    garment = Image.new("RGB", (200, 200), (40, 40, 45))
    design = Image.new("RGBA", (100, 100), (255, 255, 255, 255))
    rendered = render_mockup(garment, design, (10, 10, 100, 100), shading=True)
    assert rendered.getpixel((50, 50)) == (255, 255, 255)


def test_print_area_must_lie_inside_the_photo_and_be_at_least_20_px():
    assert area_problems((0, 0, 300, 360), 300, 360) == []
    assert area_problems((280, 340, 20, 20), 300, 360) == []
    assert "at least 20×20" in area_problems((10, 10, 19, 100), 300, 360)[0]
    assert "at least 20×20" in area_problems((10, 10, 100, 19), 300, 360)[0]
    assert "inside the photo (300×360 px)" in area_problems((200, 10, 101, 100), 300, 360)[0]
    assert "inside the photo" in area_problems((10, 300, 100, 61), 300, 360)[0]
    assert "inside the photo" in area_problems((-1, 0, 100, 100), 300, 360)[0]
    assert len(area_problems((290, 0, 10, 10), 300, 360)) == 1  # too small, but inside
