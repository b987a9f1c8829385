"""imaging:  upload checks, one-decode processing, hashes that survive real variants."""

import io
import random
import struct
import subprocess
import sys
import zipfile
import zlib
from pathlib import Path

import imagehash
import numpy as np
import pytest
from PIL import Image, ImageDraw, ImageEnhance, ImageFile, ImageFilter, ImageFont

from designs.similarity import COLOUR_MAX_DISTANCE, colour_distance, hamming
from imaging.inspection import MESSAGES, ImageInfo, ImageRejected, inspect_upload
from imaging.processing import process_image

MAX_BYTES = 50_000_000
MAX_PIXELS = 60_000_000
PROJECT_ROOT = Path(__file__).resolve().parents[2]


# --- helpers -------------------------------------------------------------------------------------------------


def make_design(size=(600, 720), *, seed=0, hidden=None):
    """A realistic transparent design: a gradient disc with soft edges, shapes and text.

    ``hidden`` sets the colour stored under fully transparent pixels (what editors leave there varies).
    """
    rng = random.Random(seed)
    width, height = size
    colours = [tuple(rng.randrange(256) for _ in range(3)) for _ in range(2)]
    gradient = Image.linear_gradient("L").rotate(rng.randrange(360)).resize(size)
    image = Image.composite(Image.new("RGB", size, colours[0]), Image.new("RGB", size, colours[1]), gradient)
    mask = Image.new("L", size, 0)
    mask_draw = ImageDraw.Draw(mask)
    mask_draw.ellipse((width // 20, height // 20, width * 19 // 20, height * 19 // 20), fill=255)
    mask_draw.rectangle((0, height * 2 // 5, width, height * 3 // 5), fill=255)
    image.putalpha(mask.filter(ImageFilter.GaussianBlur(3)))  # soft, partly transparent edges
    draw = ImageDraw.Draw(image)
    for _ in range(6):
        x0, y0 = rng.randrange(width * 3 // 4), rng.randrange(height * 3 // 4)
        box = (x0, y0, x0 + rng.randrange(width // 8, width // 3), y0 + rng.randrange(height // 8, height // 3))
        shape = draw.ellipse if rng.random() < 0.5 else draw.rectangle
        shape(box, fill=tuple(rng.randrange(256) for _ in range(3)) + (255,), outline=(0, 0, 0, 255), width=4)
    font = ImageFont.load_default(size=width // 8)
    draw.text((width // 10, height * 2 // 5), f"TEAM {seed}", font=font, fill=(20, 20, 20, 255))
    if hidden is not None:
        pixels = np.array(image)
        pixels[pixels[..., 3] == 0, :3] = hidden
        image = Image.fromarray(pixels, "RGBA")
    return image


def on_white(image):
    background = Image.new("RGB", image.size, "white")
    background.paste(image, mask=image.getchannel("A"))
    return background


def encode(image, image_format, **params):
    buffer = io.BytesIO()
    image.save(buffer, image_format, **params)
    return buffer.getvalue()


def inspect(data, **limits):
    return inspect_upload(io.BytesIO(data), **{"max_bytes": MAX_BYTES, "max_pixels": MAX_PIXELS, **limits})


def refusal(data, **limits):
    with pytest.raises(ImageRejected) as caught:
        inspect(data, **limits)
    return caught.value


def process(data, **params):
    return process_image(io.BytesIO(data), **params)


def png_chunk(chunk_type, data):
    return struct.pack(">I", len(data)) + chunk_type + data + struct.pack(">I", zlib.crc32(chunk_type + data))


def png_claiming(width, height):
    """A tiny PNG whose header claims width x height RGBA pixels: a decompression bomb's shape."""
    header = struct.pack(">IIBBBBB", width, height, 8, 6, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + png_chunk(b"IHDR", header) + png_chunk(b"IDAT", zlib.compress(b"\0" * 4096))
            + png_chunk(b"IEND", b""))


def jpeg_claiming(width, height):
    """A JPEG header (SOF0 + SOS) claiming width x height, with no real image data."""
    def segment(marker, payload):
        return b"\xff" + bytes([marker]) + struct.pack(">H", len(payload) + 2) + payload

    frame = struct.pack(">BHHB", 8, height, width, 3) + b"".join(bytes([c, 0x11, 0]) for c in (1, 2, 3))
    scan = b"\x03" + b"".join(bytes([c, 0]) for c in (1, 2, 3)) + b"\x00\x3f\x00"
    return b"\xff\xd8" + segment(0xC0, frame) + segment(0xDA, scan) + b"\x00" * 64 + b"\xff\xd9"


@pytest.fixture(scope="module")
def design():
    return make_design()


@pytest.fixture(scope="module")
def design_png(design):
    return encode(design, "PNG")


@pytest.fixture(scope="module")
def design_jpeg(design):
    return encode(on_white(design), "JPEG", quality=90)


# --- inspect_upload: what is accepted ------------------------------------------------------------------------


def test_inspect_reads_the_header_of_each_accepted_format(design, design_png, design_jpeg):
    webp = encode(design, "WEBP", quality=90)

    assert inspect(design_png) == ImageInfo("PNG", 600, 720, "RGBA", len(design_png))
    assert inspect(design_jpeg) == ImageInfo("JPEG", 600, 720, "RGB", len(design_jpeg))
    assert inspect(webp) == ImageInfo("WEBP", 600, 720, "RGBA", len(webp))


def test_inspect_leaves_the_file_at_its_start_whether_accepted_or_not(design_png):
    accepted, refused = io.BytesIO(design_png), io.BytesIO(b"%PDF-1.7\n" + b"x" * 100)
    accepted.seek(123)
    inspect_upload(accepted, max_bytes=MAX_BYTES, max_pixels=MAX_PIXELS)
    with pytest.raises(ImageRejected):
        inspect_upload(refused, max_bytes=MAX_BYTES, max_pixels=MAX_PIXELS)

    assert accepted.tell() == 0 and refused.tell() == 0


def test_a_long_thin_image_within_the_pixel_limit_is_accepted():
    data = encode(Image.new("RGB", (30000, 10), "red"), "PNG")

    assert inspect(data).width == 30000


def test_jpeg_padding_after_the_end_marker_is_tolerated(design_jpeg):
    assert inspect(design_jpeg + b"\x00\x00\r\n").format == "JPEG"


def one_pixel_png():
    """A 1x1 palette PNG with a transparent entry: the shape of Pillow's Tests/images/tRNS_null_1x1.png."""
    image = Image.new("P", (1, 1), 0)
    image.putpalette([0, 0, 0])
    return encode(image, "PNG", transparency=0)


@pytest.mark.parametrize("padding", [b"\n", b"\r\n", b"\x00" * 16], ids=["newline", "crlf", "16 NULs"])
def test_png_padding_after_iend_is_tolerated_like_jpegs(padding):
    data = one_pixel_png() + padding

    assert inspect(data) == ImageInfo("PNG", 1, 1, "P", len(data))


def test_webp_padding_after_its_riff_size_is_tolerated(design):
    data = encode(design, "WEBP", quality=80) + b"\n\x00"

    assert inspect(data).format == "WEBP"


@pytest.mark.parametrize("appended", [b"\n<html><script>alert(1)</script></html>", b"PK\x03\x04\x14\x00\x00\x00",
                                      b"\n" * 17], ids=["newline then html", "zip local header", "17 newlines"])
def test_content_after_a_pngs_end_is_still_refused_padding_or_not(appended):
    rejected = refusal(one_pixel_png() + appended)

    assert (rejected.code, rejected.params["extra"]) == ("trailing_data", len(appended))


@pytest.mark.parametrize("appended", [b"<html></html>", b"\nPK\x03\x04", b"\x00" * 17])
def test_content_after_a_webps_end_is_still_refused(design, appended):
    assert refusal(encode(design, "WEBP", quality=80) + appended).code == "trailing_data"


# --- inspect_upload: every refusal, with its message ---------------------------------------------------------


def test_every_refusal_code_has_a_message():
    codes = {"empty", "too_large", "not_an_image", "unsupported_format", "too_many_pixels", "animated",
             "trailing_data", "truncated", "corrupt"}

    assert codes <= set(MESSAGES)


def test_empty_file():
    rejected = refusal(b"")

    assert (rejected.code, str(rejected)) == ("empty", "The file is empty.")


def test_file_over_the_byte_limit():
    rejected = refusal(b"\x89PNG\r\n\x1a\n" + bytes(2_499_992), max_bytes=2_000_000)

    assert (rejected.code, str(rejected)) == ("too_large", "The file is 2.5 MB; the limit is 2 MB.")


@pytest.mark.parametrize(
    ("data", "code", "message"),
    [
        (b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj", "unsupported_format",
         "This file is a PDF; upload a PNG, JPEG or WebP image."),
        (b'\xef\xbb\xbf<?xml version="1.0"?>\n<svg xmlns="http://www.w3.org/2000/svg" width="10"/>',
         "unsupported_format", "This file is an SVG drawing; upload a PNG, JPEG or WebP image."),
        (b"<!DOCTYPE html>\n<html><body><script>alert(1)</script></body></html>", "not_an_image",
         "This file is an HTML page; upload a PNG, JPEG or WebP image."),
        (b"\x7fELF\x02\x01\x01" + b"\0" * 200, "not_an_image",
         "This file is a program (ELF executable); upload a PNG, JPEG or WebP image."),
        (b"MZ\x90\x00\x03" + b"\0" * 200, "not_an_image",
         "This file is a program (Windows executable); upload a PNG, JPEG or WebP image."),
        (b"II*\x00\x08\x00\x00\x00" + b"\0" * 100, "unsupported_format",
         "This file is a TIFF; upload a PNG, JPEG or WebP image."),
        (b"just some text that is no picture", "not_an_image",
         "This file is not a recognised image; upload a PNG, JPEG or WebP image."),
    ],
    ids=["pdf", "svg", "html", "elf", "exe", "tiff", "text"],
)
def test_foreign_files_are_named_by_their_bytes(data, code, message):
    upload = io.BytesIO(data)
    upload.name = "artwork.png"  # the name lies; the bytes decide

    with pytest.raises(ImageRejected) as caught:
        inspect_upload(upload, max_bytes=MAX_BYTES, max_pixels=MAX_PIXELS)

    assert (caught.value.code, str(caught.value)) == (code, message)


def test_gif_and_bmp_made_by_pillow_are_refused_by_name(design):
    assert str(refusal(encode(on_white(design), "GIF"))) == "This file is a GIF; upload a PNG, JPEG or WebP image."
    assert refusal(encode(on_white(design), "BMP")).params["kind"] == "a BMP"


def test_zip_archive_is_refused():
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("design.png", b"not really")

    rejected = refusal(buffer.getvalue())

    assert (rejected.code, rejected.params["kind"]) == ("not_an_image", "a ZIP archive")


def test_too_many_pixels_by_header_is_refused_before_any_decode():
    rejected = refusal(png_claiming(30000, 30000))

    assert rejected.code == "too_many_pixels"
    assert str(rejected) == "The image is 30000x30000 = 900 megapixels; the limit is 60 megapixels."


def test_pixel_limit_is_ours_not_pillows():
    rejected = refusal(png_claiming(8000, 8000), max_pixels=50_000_000)  # 64 MP: under Pillow's own limits

    assert str(rejected) == "The image is 8000x8000 = 64 megapixels; the limit is 50 megapixels."


def test_decompression_bomb_caught_by_pillow_is_reported_as_too_many_pixels():
    rejected = refusal(jpeg_claiming(20000, 20000))

    assert rejected.code == "too_many_pixels"
    assert str(rejected) == "The image is 400,000,000 pixels = 400 megapixels; the limit is 60 megapixels."


def test_animated_webp_is_refused(design):
    frames = [design, design.rotate(10)]
    data = encode(frames[0], "WEBP", save_all=True, append_images=frames[1:], duration=100)

    rejected = refusal(data)

    assert rejected.code == "animated"
    assert str(rejected) == "The image is animated (2 frames); upload a single still image."


def test_animated_png_is_refused(design):
    data = encode(design, "PNG", save_all=True, append_images=[design.rotate(10), design.rotate(20)])

    assert refusal(data).params == {"frames": 3}


def test_png_with_html_appended_is_refused_as_trailing_data(design_png):
    payload = b"<html><script>document.location='https://evil.example'</script></html>"

    rejected = refusal(design_png + payload)

    assert rejected.code == "trailing_data"
    assert str(rejected) == (
        f"The file has {len(payload)} bytes of unexpected data after the end of the PNG image; "
        "export the image again and upload the new file."
    )


def test_png_with_a_large_appended_payload_is_still_trailing_data(design_png):
    rejected = refusal(design_png + b"PK\x03\x04" + bytes(200_000))  # longer than the tail we read first

    assert (rejected.code, rejected.params["extra"]) == ("trailing_data", 200_004)


def test_jpeg_with_a_zip_appended_is_refused(design_jpeg):
    rejected = refusal(design_jpeg + b"PK\x03\x04" + b"\x01" * 500)

    assert (rejected.code, rejected.params["extra"]) == ("trailing_data", 504)


def test_truncated_png_is_refused(design_png):
    rejected = refusal(design_png[: len(design_png) // 2])

    assert (rejected.code, str(rejected)) == (
        "truncated", "The PNG file is incomplete (it was cut short, perhaps during a download); upload it again."
    )


def test_truncated_jpeg_is_refused(design_jpeg):
    assert refusal(design_jpeg[: len(design_jpeg) * 2 // 3]).code == "truncated"


def test_webp_whose_riff_size_disagrees_with_the_file_is_refused(design):
    webp = encode(design, "WEBP", quality=80)

    assert refusal(webp[:-100]).code == "truncated"
    assert refusal(webp + b"<html></html>").code == "trailing_data"


def test_png_signature_with_a_broken_header_is_corrupt():
    data = b"\x89PNG\r\n\x1a\n" + png_chunk(b"IHDR", b"\0\0") + png_chunk(b"IEND", b"")

    rejected = refusal(data)

    assert (rejected.code, str(rejected)) == (
        "corrupt", "The image data is damaged and cannot be read; export the image again and upload the new file."
    )


# --- process_image ---------------------------------------------------------------------------------------------


def test_process_returns_size_hashes_detail_and_webp_thumbnails(design_png):
    result = process(design_png)

    assert (result.width, result.height) == (600, 720)
    assert 0 <= result.phash < 2**64 and 0 <= result.dhash < 2**64
    assert result.detail > 20
    assert [(t.size, t.width, t.height) for t in result.thumbnails] == [(256, 213, 256), (640, 533, 640)]
    for thumbnail in result.thumbnails:
        assert thumbnail.data[:4] == b"RIFF" and thumbnail.data[8:12] == b"WEBP"
        with Image.open(io.BytesIO(thumbnail.data)) as decoded:
            assert decoded.size == (thumbnail.width, thumbnail.height)
            assert decoded.mode == "RGBA"  # white artwork on transparency must stay visible on dark garments


def test_phash_is_imagehash_phash_of_the_visible_picture_as_an_int(design_png, design):
    expected = imagehash.phash(on_white(design))

    assert hamming(process(design_png).phash, int(str(expected), 16)) <= 2


def test_thumbnails_are_never_upscaled_and_opaque_images_have_no_alpha():
    data = encode(Image.new("RGB", (120, 80), "navy"), "PNG")

    result = process(data, thumbnail_sizes=(64, 640))

    assert [(t.width, t.height) for t in result.thumbnails] == [(64, 43), (120, 80)]
    with Image.open(io.BytesIO(result.thumbnails[1].data)) as decoded:
        assert decoded.mode == "RGB"


def test_an_image_that_fits_both_sizes_is_encoded_once(monkeypatch):
    Image.init()  # plugins register their encoders on first use
    encodes = []
    encode_webp = Image.SAVE["WEBP"]
    monkeypatch.setitem(Image.SAVE, "WEBP", lambda *args: encodes.append(1) or encode_webp(*args))

    small = process(encode(Image.new("RGB", (200, 150), "navy"), "PNG"), thumbnail_sizes=(256, 640))
    assert len(encodes) == 1
    assert small.thumbnails[0].data == small.thumbnails[1].data
    assert [(t.size, t.width, t.height) for t in small.thumbnails] == [(256, 200, 150), (640, 200, 150)]

    encodes.clear()
    larger = process(encode(Image.new("RGB", (400, 300), "navy"), "PNG"), thumbnail_sizes=(256, 640))
    assert len(encodes) == 2
    assert [(t.width, t.height) for t in larger.thumbnails] == [(256, 192), (400, 300)]


def test_blank_image_has_low_detail():
    assert process(encode(Image.new("RGB", (400, 400), (250, 250, 250)), "PNG")).detail < 1


def test_large_jpeg_is_decoded_reduced_but_reports_its_full_size(design):
    photo = on_white(design).resize((2600, 3120))

    result = process(encode(photo, "JPEG", quality=85))

    assert (result.width, result.height) == (2600, 3120)
    assert max(result.thumbnails[-1].width, result.thumbnails[-1].height) == 640


def test_hidden_colour_under_transparency_does_not_change_the_hashes():
    white_under, black_under = make_design(hidden=(255, 255, 255)), make_design(hidden=(0, 0, 0))
    # The fixture is a real trap: hashing convert("L") reads the hidden colour and tells the two apart.
    assert imagehash.phash(white_under) - imagehash.phash(black_under) > 10

    white_result, black_result = process(encode(white_under, "PNG")), process(encode(black_under, "PNG"))

    assert hamming(white_result.phash, black_result.phash) <= 2
    assert hamming(white_result.dhash, black_result.dhash) <= 2


def test_reducing_does_not_leak_hidden_colour_into_visible_pixels():
    # Small thumbnails make the shared image a 1/3 reduction of this design: the path print files take.
    white_under, black_under = (
        process(encode(make_design(hidden=hidden), "PNG"), thumbnail_sizes=(100,)) for hidden in ((255,) * 3, (0,) * 3)
    )

    assert white_under.phash == black_under.phash and white_under.dhash == black_under.dhash
    assert white_under.thumbnails == black_under.thumbnails


@pytest.mark.parametrize("factor", [2, 3, 5])
def test_the_fast_reduction_matches_pillows_premultiplied_one_on_every_visible_pixel(factor):
    from imaging.processing import _reduce_premultiplied

    image = make_design(size=(601, 722), hidden=(0, 255, 0))  # soft edges, sides not multiples of the factor
    expected, reduced = np.asarray(image.reduce(factor)), np.asarray(_reduce_premultiplied(image, factor))

    assert reduced.shape == expected.shape
    assert (reduced[..., 3] == expected[..., 3]).all()
    edges = (expected[..., 3] > 0) & (expected[..., 3] < 255)
    assert (reduced[edges] == expected[edges]).all()  # where hidden colour could leak in, no difference at all
    opaque = expected[..., 3] == 255  # nearly opaque blocks average straight: a rounding apart
    assert np.abs(reduced[opaque].astype(int) - expected[opaque]).max() <= 1


VARIANTS = pytest.mark.parametrize(
    "variant",
    [
        lambda im: encode(im.resize((im.width // 2, im.height // 2), Image.Resampling.LANCZOS), "PNG"),
        lambda im: encode(on_white(im), "JPEG", quality=70),
        lambda im: encode(im.crop((im.width * 15 // 1000, im.height * 15 // 1000,
                                   im.width * 985 // 1000, im.height * 985 // 1000)), "PNG"),
        lambda im: encode(Image.merge("RGBA", (*ImageEnhance.Brightness(im.convert("RGB")).enhance(1.05).split(),
                                               im.getchannel("A"))), "PNG"),
    ],
    ids=["resized-50%", "jpeg-q70", "cropped-3%", "brighter-5%"],
)


@VARIANTS
def test_variants_of_a_design_stay_within_6_bits(design, design_png, variant):
    assert hamming(process(design_png).phash, process(variant(design)).phash) <= 6


@VARIANTS
def test_variants_of_a_design_keep_its_colours(design, design_png, variant):
    colours = process(design_png).colours
    assert len(colours) == 48  # 4 x 4 cells of RGB
    assert colour_distance(colours, process(variant(design)).colours) <= COLOUR_MAX_DISTANCE


def test_a_colourway_hashes_alike_but_its_colours_tell_it_apart(design, design_png):
    red, green, blue, alpha = design.split()
    colourway = encode(Image.merge("RGBA", (blue, green, red, alpha)), "PNG")  # the artwork with red and blue swapped

    original, swapped = process(design_png), process(colourway)

    assert hamming(original.phash, swapped.phash) <= 6  # grey hashes: a near-duplicate by them alone
    assert colour_distance(original.colours, swapped.colours) > COLOUR_MAX_DISTANCE


def test_colours_are_what_a_person_sees_whatever_hides_under_transparency():
    white_under, black_under = (process(encode(make_design(hidden=hidden), "PNG")) for hidden in ((255,) * 3, (0,) * 3))
    flattened = process(encode(on_white(make_design()), "JPEG", quality=90))

    assert white_under.colours == black_under.colours
    assert colour_distance(white_under.colours, flattened.colours) <= 4


def test_different_designs_are_far_apart():
    hashes = [process(encode(make_design(seed=seed), "PNG")).phash for seed in (1, 2, 3)]

    assert min(hamming(a, b) for i, a in enumerate(hashes) for b in hashes[i + 1:]) > 10


def test_exif_orientation_is_applied(design):
    landscape = on_white(design).rotate(90, expand=True)  # 720x600 as stored by a sideways camera
    exif = Image.Exif()
    exif[0x0112] = 6  # "rotate 90 clockwise to view"
    data = encode(landscape, "JPEG", quality=90, exif=exif)

    result = process(data)

    assert (result.width, result.height) == (600, 720)
    assert (result.thumbnails[-1].width, result.thumbnails[-1].height) == (533, 640)
    assert hamming(result.phash, process(encode(on_white(design), "JPEG", quality=90)).phash) <= 4


def test_cmyk_jpeg(design, design_jpeg):
    data = encode(on_white(design).convert("CMYK"), "JPEG", quality=90)

    assert hamming(process(data).phash, process(design_jpeg).phash) <= 4


def test_16_bit_png_is_scaled_not_clipped(design):
    grey8 = np.asarray(on_white(design).convert("L"), dtype=np.uint16)
    data = encode(Image.fromarray(grey8 * 257), "PNG")  # 16-bit greyscale
    assert Image.open(io.BytesIO(data)).mode.startswith("I")

    result = process(data)

    assert result.detail > 20  # clipping at 255 would leave an almost white picture
    assert hamming(result.phash, process(encode(Image.fromarray(grey8.astype(np.uint8)), "PNG")).phash) <= 2


def test_palette_png_with_transparency(design, design_png):
    palette = design.quantize(colors=64)  # RGBA -> P with a transparent palette entry
    data = encode(palette, "PNG")
    assert Image.open(io.BytesIO(data)).mode == "P" and "transparency" in Image.open(io.BytesIO(data)).info

    result = process(data)

    assert hamming(result.phash, process(design_png).phash) <= 4
    with Image.open(io.BytesIO(result.thumbnails[0].data)) as thumbnail:
        assert thumbnail.mode == "RGBA" and thumbnail.getchannel("A").getextrema()[0] == 0


def test_palette_png_without_transparency(design, design_png):
    data = encode(on_white(design).convert("P", palette=Image.Palette.ADAPTIVE), "PNG")

    assert hamming(process(data).phash, process(design_png).phash) <= 4


@pytest.mark.parametrize("mode", ["LA", "L"])
def test_greyscale_pngs(design, design_png, mode):
    image = design.convert("LA") if mode == "LA" else on_white(design).convert("L")

    assert hamming(process(encode(image, "PNG")).phash, process(design_png).phash) <= 2


def test_corrupt_body_that_passes_inspect_is_refused_by_process(design_png):
    start = design_png.index(b"IDAT") + 200
    damaged = design_png[:start] + b"\xff" * 3000 + design_png[start + 3000:]
    assert inspect(damaged).format == "PNG"  # the header and the end are intact

    with pytest.raises(ImageRejected) as caught:
        process(damaged)

    assert caught.value.code == "corrupt"
    assert ImageFile.LOAD_TRUNCATED_IMAGES is False


def test_truncated_data_given_straight_to_process_is_refused(design_png, design_jpeg):
    for data in (design_png[: len(design_png) // 2], b"\x89PNG\r\n\x1a\n" + b"\0" * 50, design_jpeg[:300]):
        with pytest.raises(ImageRejected) as caught:
            process(data)
        assert caught.value.code in {"truncated", "corrupt"}


def test_a_print_size_transparent_png_is_processed_within_300_mb(tmp_path):
    path = tmp_path / "print.png"
    make_design((4500, 5400)).save(path, compress_level=1)
    # A fresh interpreter, so the peak is process_image's alone (plus the imports a worker has anyway). VmHWM,
    # not ru_maxrss: a child's ru_maxrss starts at the RSS its parent had when it forked.
    script = (
        "import sys; from imaging.processing import process_image; process_image(open(sys.argv[1], 'rb')); "
        "print(next(line.split()[1] for line in open('/proc/self/status') if line.startswith('VmHWM:')))"
    )
    peak_kib = subprocess.run([sys.executable, "-c", script, str(path)], cwd=PROJECT_ROOT, check=True,
                              capture_output=True, text=True).stdout
    peak_mb = int(peak_kib) / 1024

    assert peak_mb < 300
