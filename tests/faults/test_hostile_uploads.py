"""A corpus of hostile and odd files, made here, sent through `POST /api/uploads` one request each with the exact
bytes a client could send (names included): each is refused with a clear message or processed to a final status,
nothing answers 500, and storage holds content-addressed keys of accepted files only."""

import hashlib
import io
import struct
import uuid
import zipfile
import zlib
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from designs import services
from designs.models import THUMBNAIL_SIZES, Design, original_key, thumbnail_key
from tests.conftest import design_image, encode

pytestmark = [pytest.mark.faults, pytest.mark.slow, pytest.mark.django_db(transaction=True)]

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
FINAL = {"ready", "duplicate", "failed"}
READY = {"ready"}
READY_OR_DUPLICATE = {"ready", "duplicate"}  # plain or near-blank pictures may match another one in the corpus


def chunk(kind, data):
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def raw_png(width, height, rows, *, bit_depth=8, color_type=2, extra_chunks=()):
    """A PNG written by hand: `rows` yields each row's bytes (filter byte included), compressed as a stream."""
    compressor = zlib.compressobj(9)
    idat = b"".join(compressor.compress(row) for row in rows) + compressor.flush()
    header = struct.pack(">IIBBBBB", width, height, bit_depth, color_type, 0, 0, 0)
    return (PNG_SIGNATURE + chunk(b"IHDR", header) + b"".join(extra_chunks) + chunk(b"IDAT", idat)
            + chunk(b"IEND", b""))


def zlib_bomb(size):
    compressor = zlib.compressobj(9)
    block = bytes(1024 * 1024)
    return b"".join(compressor.compress(block) for _ in range(size // len(block))) + compressor.flush()


def save(image, fmt, **params):
    buffer = io.BytesIO()
    image.save(buffer, fmt, **params)
    return buffer.getvalue()


def art(seed, size=(400, 300), mode="RGBA"):
    return design_image(seed, size=size, mode=mode)


def jpeg(seed, **params):
    return encode(art(seed), "JPEG", quality=85, **params)


def patch_jpeg_size(data, width, height):
    """A JPEG whose frame header claims another size (a pixel bomb in a few kilobytes)."""
    at = data.index(b"\xff\xc0")
    return data[:at + 5] + struct.pack(">HH", height, width) + data[at + 9:]


def with_exif_orientation(seed, orientation):
    exif = Image.Exif()
    exif[0x0112] = orientation
    return save(art(seed, mode="RGB"), "JPEG", quality=85, exif=exif.tobytes())


def with_broken_exif(seed):
    data = jpeg(seed)
    garbage = b"Exif\x00\x00MM\x00*\x00\x00\x00\x08\xff\xff" + bytes(range(256)) * 2
    return data[:2] + b"\xff\xe1" + struct.pack(">H", len(garbage) + 2) + garbage + data[2:]


def corrupt_middle(data, length=400, fill=b"\xa5"):
    middle = len(data) // 2
    return data[:middle] + fill * length + data[middle + length:]


def animated(fmt, seed):
    frames = [art(seed + n, size=(120, 90)) for n in range(3)]
    if fmt == "GIF":
        frames = [frame.convert("P") for frame in frames]
    return save(frames[0], fmt, save_all=True, append_images=frames[1:], duration=100, loop=0)


def grey16():
    values = np.linspace(0, 65535, 400 * 300, dtype=np.float64).astype("<u2").reshape(300, 400)
    return save(Image.fromarray(values), "PNG")


def rgb48():
    ramp = np.linspace(0, 65535, 400, dtype=np.float64).astype(">u2")
    rows = []
    for y in range(300):
        pixels = np.stack([ramp, np.roll(ramp, y), ramp[::-1]], axis=1)
        rows.append(b"\x00" + pixels.tobytes())
    return raw_png(400, 300, rows, bit_depth=16, color_type=2)


def zip_archive():
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("readme.txt", "not an image")
    return buffer.getvalue()


def corpus():
    """[(name as sent, bytes, expected)]; expected is ("refused", words in the message) or ("final", statuses)."""
    png = {seed: encode(art(seed), "PNG") for seed in range(1, 8)}
    stripes = (b"\x00" + b"\xaa" * 875 for _ in range(7000))
    return [
        # Decompression bombs: refused from the header, before any decode.
        ("bomb-header.png", raw_png(100_000, 100_000, [b"\x00" * 4]), ("refused", "100000x100000")),
        ("bomb-zlib.png", raw_png(20_000, 20_000, (b"\x00" * 2501 for _ in range(20_000)), bit_depth=1,
                                  color_type=0), ("refused", "megapixels")),
        ("bomb-jpeg.jpg", patch_jpeg_size(jpeg(10), 60_000, 60_000), ("refused", "megapixels")),
        ("bomb-jpeg-100mp.jpg", patch_jpeg_size(jpeg(11), 10_000, 10_000), ("refused", "megapixels")),
        ("ztxt-bomb.png", raw_png(64, 64, (b"\x00" + b"\x80" * 192 for _ in range(64)),
                                  extra_chunks=[chunk(b"zTXt", b"Comment\x00\x00" + zlib_bomb(64 * 1024 * 1024))]),
         ("refused", "damaged")),
        # Just under the pixel limit, in 1-bit: small file, big decode; processed.
        ("stripes-49mp.png", raw_png(7000, 7000, stripes, bit_depth=1, color_type=0), ("final", READY_OR_DUPLICATE)),
        # Truncated, corrupt, polyglots.
        ("truncated.png", png[1][: len(png[1]) // 2], ("refused", "incomplete")),
        ("truncated.jpg", jpeg(12)[:3000], ("refused", "incomplete")),
        ("truncated.webp", save(art(13), "WEBP", quality=80)[:2000], ("refused", "incomplete")),
        ("corrupt-idat.png", corrupt_middle(png[2]), ("final", {"failed"})),
        ("corrupt-scan.jpg", corrupt_middle(jpeg(14)), ("final", FINAL)),
        ("corrupt.webp", b"RIFF" + struct.pack("<I", 4 + 8 + 300) + b"WEBPVP8 " + struct.pack("<I", 300)
         + b"\x5a" * 300, ("refused", "damaged")),
        ("bad-ihdr-crc.png", png[3][:29] + b"\x00\x00\x00\x00" + png[3][33:], ("refused", "damaged")),
        ("zero-width.png", raw_png(0, 10, [b"\x00"] * 10), ("refused", "damaged")),
        ("html-appended.png", png[4] + b"<html><script>alert(document.cookie)</script></html>",
         ("refused", "unexpected data after the end")),
        ("zip-appended.jpg", jpeg(15) + zip_archive(), ("refused", "unexpected data after the end")),
        # Not images, or images we do not take.
        ("script.svg", b'<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script>'
                       b"</svg>", ("refused", "SVG")),
        ("document.pdf", b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n", ("refused", "PDF")),
        ("empty.png", b"", ("refused", "empty")),
        ("text.png", b"hello, world\n", ("refused", "not a recognised image")),
        ("page.jpg", b"<!DOCTYPE html><html><body>hi</body></html>", ("refused", "HTML")),
        ("archive.png", zip_archive(), ("refused", "ZIP")),
        ("program.png", b"\x7fELF" + bytes(200), ("refused", "program")),
        ("setup.png", b"MZ" + bytes(200), ("refused", "program")),
        ("still.gif", save(art(16).convert("P"), "GIF"), ("refused", "GIF")),
        ("bitmap.bmp", save(art(17, mode="RGB"), "BMP"), ("refused", "BMP")),
        ("scan.tiff", save(art(18, mode="RGB"), "TIFF"), ("refused", "TIFF")),
        ("photo.heic", b"\x00\x00\x00\x18ftypheic\x00\x00\x00\x00mif1heic" + bytes(100), ("refused", "HEIC")),
        ("animated.gif", animated("GIF", 20), ("refused", "GIF")),
        ("animated.webp", animated("WEBP", 23), ("refused", "animated")),
        # Odd but valid pictures: processed.
        ("one-pixel.png", save(Image.new("RGBA", (1, 1), (200, 30, 30, 255)), "PNG"), ("final", READY_OR_DUPLICATE)),
        ("wide-30000x10.png", save(Image.linear_gradient("L").resize((30_000, 10)), "PNG"),
         ("final", READY_OR_DUPLICATE)),
        ("cmyk.jpg", save(art(26, mode="RGB").convert("CMYK"), "JPEG", quality=85), ("final", READY)),
        ("grey16.png", grey16(), ("final", READY_OR_DUPLICATE)),
        ("rgb48.png", rgb48(), ("final", READY_OR_DUPLICATE)),
        ("exif-rotated.jpg", with_exif_orientation(27, 6), ("final", READY)),
        ("exif-broken.jpg", with_broken_exif(28), ("final", READY)),
        ("palette-transparent.png", save(art(29, mode="RGB").quantize(64), "PNG", transparency=0), ("final", READY)),
        ("grey-alpha.png", save(art(30).convert("LA"), "PNG"), ("final", READY)),
        ("one-bit.png", save(art(31).convert("1"), "PNG"), ("final", READY)),
        ("grey.jpg", save(art(32).convert("L"), "JPEG", quality=85), ("final", READY)),
        ("progressive.jpg", jpeg(33, progressive=True), ("final", READY)),
        ("lossless-alpha.webp", save(art(34), "WEBP", lossless=True), ("final", READY)),
        ("lossy.webp", save(art(35, mode="RGB"), "WEBP", quality=80), ("final", READY)),
        # Content decides, names never do.
        ("jpeg-named.png", jpeg(36), ("final", READY)),
        ("png-named.exe", png[5], ("final", READY)),
        ("x" * 300 + ".png", png[6], ("final", READY)),
        ("../../etc/passwd.png", png[7], ("final", READY)),
        ("a\\b.png", encode(art(37), "PNG"), ("final", READY)),
        ("nul\x00byte.png", encode(art(38), "PNG"), ("final", READY)),
        ("ctrl\x01\x1b[31m\x7f.png", encode(art(39), "PNG"), ("final", READY)),
        ("quote\".png", encode(art(40), "PNG"), ("final", READY)),
        ("\u202egnp.exe", encode(art(41), "PNG"), ("final", READY)),
        ("motif-été-😀.png", encode(art(42), "PNG"), ("final", READY)),
    ]


def multipart(files):
    """(body, content type) of a multipart upload with these (name, bytes), names sent byte for byte."""
    boundary = f"threadline-{uuid.uuid4().hex}".encode()
    body = b""
    for name, data in files:
        body += (b"--" + boundary + b'\r\nContent-Disposition: form-data; name="files"; filename="'
                 + name.encode("utf-8") + b'"\r\nContent-Type: application/octet-stream\r\n\r\n' + data + b"\r\n")
    body += b"--" + boundary + b"--\r\n"
    return body, f"multipart/form-data; boundary={boundary.decode()}"


def post_files(client, files):
    body, content_type = multipart(files)
    response = client.post("/api/uploads", data=body, content_type=content_type)
    assert response.status_code != 500
    assert response.status_code in (202, 400), (response.status_code, response.content[:500])
    return response.status_code, response.json()


def clean_name(name):
    return all(ord(character) >= 0x20 and character not in "\x7f/\\" for character in name) and len(name) <= 200


@pytest.fixture
def media(settings, tmp_path):
    """This test's own storage folder, so that everything in it was written by this test."""
    location = tmp_path / "media"
    settings.STORAGES = {**settings.STORAGES, "default": {
        "BACKEND": "django.core.files.storage.FileSystemStorage",
        "OPTIONS": {"location": str(location), "allow_overwrite": True},
    }}
    return location


def test_every_hostile_file_is_refused_clearly_or_processed(alice, user, media, settings):
    files = corpus()
    assert len(files) >= 40
    outcomes = {}  # name as sent -> ("refused", message) | ("accepted", design id)
    for name, data, _ in files:
        status, answer = post_files(alice, [(name, data)])
        if status == 400:  # no file survived the multipart parser (an empty name, say): refused as a whole
            outcomes[name] = ("refused", answer["error"])
            continue
        assert len(answer["accepted"]) + len(answer["rejected"]) == 1, (name, answer)
        if answer["rejected"]:
            rejected = answer["rejected"][0]
            assert clean_name(rejected["name"]), rejected
            outcomes[name] = ("refused", rejected["error"])
        else:
            accepted = answer["accepted"][0]
            assert clean_name(accepted["name"]), accepted
            outcomes[name] = ("accepted", accepted["design_id"])

    for design_id in Design.objects.filter(owner=user, status="queued").values_list("pk", flat=True):
        services.design_process(design_id=design_id)

    problems = []
    for name, data, (kind, wanted) in files:
        outcome, value = outcomes[name]
        if kind == "refused":
            if outcome != "refused" or wanted.lower() not in value.lower():
                problems.append(f"{name!r}: expected a refusal mentioning {wanted!r}, got {outcome} {value!r}")
            continue
        if outcome == "refused":
            problems.append(f"{name!r}: expected to be processed, but refused: {value!r}")
            continue
        design = Design.objects.get(pk=value)
        if design.status not in wanted:
            problems.append(f"{name!r}: ended {design.status} ({design.error!r}), expected one of {sorted(wanted)}")
        if design.status == "failed" and not design.error:
            problems.append(f"{name!r}: failed without a message")
        if design.sha256 != hashlib.sha256(data).hexdigest():
            problems.append(f"{name!r}: stored under the wrong hash")
    assert problems == [], "\n".join(problems)

    designs = {Design.objects.get(pk=value).original_name: Design.objects.get(pk=value)
               for outcome, value in outcomes.values() if outcome == "accepted"}
    assert designs["passwd.png"].format == "PNG" and designs["b.png"].format == "PNG"
    assert designs["jpeg-named.png"].format == "JPEG" and designs["png-named.exe"].format == "PNG"
    assert (designs["exif-rotated.jpg"].width, designs["exif-rotated.jpg"].height) == (300, 400)
    assert (designs["wide-30000x10.png"].width, designs["wide-30000x10.png"].height) == (30_000, 10)
    assert [len(name) for name in designs if name.startswith("xxx")] == [200]  # cut to what a page can show

    # Storage holds exactly the originals of accepted files and the thumbnails of processed ones, all under keys
    # named by their content: nothing of a refused file, nothing named by a user.
    stored = {path.relative_to(media).as_posix() for path in media.rglob("*") if path.is_file()}
    accepted = Design.objects.filter(owner=user)
    expected = {original_key(design.sha256, design.format) for design in accepted} | {
        thumbnail_key(design.sha256, size) for design in accepted if design.has_thumbnail for size in THUMBNAIL_SIZES
    }
    assert stored == expected
    for design in accepted:
        content = Path(media, original_key(design.sha256, design.format)).read_bytes()
        assert hashlib.sha256(content).hexdigest() == design.sha256


def test_files_past_the_per_request_limit_are_refused_by_name(alice, user, media, settings):
    count = settings.UPLOAD_MAX_FILES + 5
    files = [(f"small-{n:03d}.png", encode(art(1000 + n, size=(100, 90)), "PNG")) for n in range(count)]
    status, answer = post_files(alice, files)
    assert status == 202
    assert len(answer["accepted"]) == settings.UPLOAD_MAX_FILES
    assert [item["name"] for item in answer["rejected"]] == [name for name, _ in files[settings.UPLOAD_MAX_FILES:]]
    assert all(f"at most {settings.UPLOAD_MAX_FILES} files" in item["error"] for item in answer["rejected"])
    for design_id in Design.objects.filter(owner=user, status="queued").values_list("pk", flat=True):
        services.design_process(design_id=design_id)
    assert set(Design.objects.filter(owner=user).values_list("status", flat=True)) <= READY_OR_DUPLICATE
    stored_originals = {path.name.split(".")[0] for path in (media / "originals").rglob("*") if path.is_file()}
    assert stored_originals == {hashlib.sha256(data).hexdigest() for _, data in files[: settings.UPLOAD_MAX_FILES]}
