"""Pure Pillow upload checks: the format by its first bytes, the size and pixel count from the header and the end
marker, all before any pixel is decoded.

No Django here: functions take binary file objects (anything with read/seek/tell) and return plain dataclasses.
Expected failures raise ImageRejected, whose message a customer can act on.
"""

import os
import re
import struct
from dataclasses import dataclass

from PIL import Image

ACCEPTED_FORMATS = ("PNG", "JPEG", "WEBP")

HEAD_BYTES = 1024  # bytes read to sniff the format: SVG/HTML may start after a BOM, comments or a long <?xml ...?>
TAIL_WINDOW = 64 * 1024  # bytes read from the end to find the end marker; only a broken file needs more
# Bytes of NULs/newlines some encoders and transfer tools leave after the end of an image (after JPEG's FFD9, PNG's
# IEND, WebP's RIFF size; Pillow's own Tests/images/tRNS_null_1x1.png ends in a newline): harmless, so accepted.
MAX_PADDING = 16
PADDING_BYTES = b"\x00\r\n"
PNG_MAX_CHUNKS = 200_000  # chunks walked before giving up: libpng writes 8 KiB IDATs, so ~1.6 GB of real data

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
PNG_IEND = b"\x00\x00\x00\x00IEND\xaeB`\x82"  # the whole 12-byte IEND chunk: length 0, type, CRC
JPEG_EOI = b"\xff\xd9"

# What a refused file really is, by its first bytes; "unsupported_format" for pictures we could take as PNG,
# "not_an_image" for everything else. Checked after PNG/JPEG/WebP.
FOREIGN_SIGNATURES = (
    (b"GIF87a", "unsupported_format", "a GIF"),
    (b"GIF89a", "unsupported_format", "a GIF"),
    (b"II*\x00", "unsupported_format", "a TIFF"),
    (b"MM\x00*", "unsupported_format", "a TIFF"),
    (b"BM", "unsupported_format", "a BMP"),
    (b"8BPS", "unsupported_format", "a Photoshop document (PSD)"),
    (b"%PDF-", "unsupported_format", "a PDF"),
    (b"%!PS", "unsupported_format", "a PostScript/EPS file"),
    (b"\xc5\xd0\xd3\xc6", "unsupported_format", "a PostScript/EPS file"),
    (b"PK\x03\x04", "not_an_image", "a ZIP archive"),
    (b"PK\x05\x06", "not_an_image", "a ZIP archive"),
    (b"Rar!\x1a\x07", "not_an_image", "a RAR archive"),
    (b"7z\xbc\xaf\x27\x1c", "not_an_image", "a 7-Zip archive"),
    (b"\x1f\x8b", "not_an_image", "a gzip archive"),
    (b"\x7fELF", "not_an_image", "a program (ELF executable)"),
    (b"MZ", "not_an_image", "a program (Windows executable)"),
    (b"\xcf\xfa\xed\xfe", "not_an_image", "a program (macOS executable)"),
    (b"\xca\xfe\xba\xbe", "not_an_image", "a program (macOS executable)"),
    (b"#!", "not_an_image", "a script"),
)
ISO_MEDIA_BRANDS = {  # bytes 8..12 after "ftyp": iPhones save HEIC, so say so
    b"heic": "a HEIC photo", b"heix": "a HEIC photo", b"mif1": "a HEIF image", b"msf1": "a HEIF image",
    b"avif": "an AVIF image", b"avis": "an AVIF image",
}

MESSAGES = {
    "empty": "The file is empty.",
    "too_large": "The file is {size} MB; the limit is {limit} MB.",
    "not_an_image": "This file is {kind}; upload a PNG, JPEG or WebP image.",
    "unsupported_format": "This file is {kind}; upload a PNG, JPEG or WebP image.",
    "too_many_pixels": "The image is {size} = {megapixels} megapixels; the limit is {limit} megapixels.",
    "animated": "The image is animated ({frames} frames); upload a single still image.",
    "trailing_data": (
        "The file has {extra} bytes of unexpected data after the end of the {format} image; "
        "export the image again and upload the new file."
    ),
    "truncated": "The {format} file is incomplete (it was cut short, perhaps during a download); upload it again.",
    "corrupt": "The image data is damaged and cannot be read; export the image again and upload the new file.",
}


class ImageRejected(Exception):
    """An upload or image we refuse; ``code`` is a stable slug, ``str(exc)`` the text for the customer."""

    def __init__(self, code, **params):
        self.code = code
        self.params = params
        self.message = MESSAGES[code].format(**params)
        super().__init__(self.message)


@dataclass(frozen=True)
class ImageInfo:
    format: str  # "PNG" | "JPEG" | "WEBP"
    width: int  # px, as stored (before EXIF orientation)
    height: int
    mode: str  # Pillow mode from the header, e.g. "RGBA"
    size_bytes: int



def inspect_upload(fp, *, max_bytes, max_pixels):
    """Validate an upload cheaply (header and tail only, no pixel decode) and return its ImageInfo.

    Raises ImageRejected. Leaves ``fp`` at position 0 whether or not it is accepted. Pillow refuses on its own
    anything above 2 * Image.MAX_IMAGE_PIXELS (~179 MP), so ``max_pixels`` must stay below that.
    """
    try:
        fp.seek(0, os.SEEK_END)
        size = fp.tell()
        if size == 0:
            raise ImageRejected("empty")
        if size > max_bytes:
            raise ImageRejected("too_large", size=_megas(size), limit=_megas(max_bytes))
        fp.seek(0)
        head = fp.read(HEAD_BYTES)
        image_format = _sniff(head)
        _check_end(fp, size, head, image_format)
        return _read_header(fp, head, size, image_format, max_pixels)
    finally:
        fp.seek(0)


def too_large(size, max_bytes):
    """The refusal for a file of `size` bytes of which only `max_bytes` were kept (see designs/uploads.py)."""
    return ImageRejected("too_large", size=_megas(size), limit=_megas(max_bytes))


def _megas(n):
    return f"{n / 1e6:.1f}".removesuffix(".0")


def _sniff(head):
    """The accepted format named by the magic bytes, or ImageRejected naming what the file is."""
    if head.startswith(PNG_SIGNATURE):
        return "PNG"
    if head.startswith(b"\xff\xd8\xff"):
        return "JPEG"
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "WEBP"
    for magic, code, kind in FOREIGN_SIGNATURES:
        if head.startswith(magic):
            raise ImageRejected(code, kind=kind)
    if head[4:8] == b"ftyp":
        raise ImageRejected("unsupported_format", kind=ISO_MEDIA_BRANDS.get(head[8:12], "a video or HEIF file"))
    text = head.removeprefix(b"\xef\xbb\xbf").lstrip().lower()
    if text.startswith(b"<"):
        if b"<svg" in text:
            raise ImageRejected("unsupported_format", kind="an SVG drawing")
        if b"<html" in text or b"<!doctype html" in text or text.startswith((b"<head", b"<body", b"<script")):
            raise ImageRejected("not_an_image", kind="an HTML page")
        raise ImageRejected("not_an_image", kind="an XML document")
    raise ImageRejected("not_an_image", kind="not a recognised image")


def _check_end(fp, size, head, image_format):
    """Refuse files cut short or carrying data after the image (polyglots: PNG+HTML, JPEG+ZIP)."""
    if image_format == "WEBP":
        expected = 8 + struct.unpack("<I", head[4:8])[0]  # RIFF size counts everything after its own field
        if expected < size <= expected + MAX_PADDING:
            fp.seek(expected)
            if not fp.read().strip(PADDING_BYTES):
                return
        if size > expected:
            raise ImageRejected("trailing_data", extra=size - expected, format="WebP")
        if size < expected:
            raise ImageRejected("truncated", format="WebP")
        return
    fp.seek(max(0, size - TAIL_WINDOW))
    tail = fp.read()
    body = tail.rstrip(PADDING_BYTES)
    padded = len(tail) - len(body) <= MAX_PADDING
    if image_format == "PNG":
        if body.endswith(PNG_IEND) and padded:
            return
        end = _png_end(fp, size)  # rare path: walk the chunks to tell truncation from trailing data
        if end is None:
            raise ImageRejected("truncated", format="PNG")
        raise ImageRejected("trailing_data", extra=size - end, format="PNG")
    if body.endswith(JPEG_EOI) and padded:
        return
    # FFD9 cannot occur inside entropy-coded data (FF is always stuffed), so one in the tail ends the image.
    # Data beyond TAIL_WINDOW without an FFD9 in it reads as truncation: refused either way.
    eoi = tail.rfind(JPEG_EOI)
    if eoi < 0:
        raise ImageRejected("truncated", format="JPEG")
    raise ImageRejected("trailing_data", extra=len(tail) - eoi - len(JPEG_EOI), format="JPEG")


def _png_end(fp, size):
    """Offset just after the IEND chunk, or None if the chunks run past the end of the file."""
    offset = len(PNG_SIGNATURE)
    for _ in range(PNG_MAX_CHUNKS):
        fp.seek(offset)
        header = fp.read(8)
        if len(header) < 8:
            return None
        length, chunk_type = struct.unpack(">I4s", header)
        offset += 12 + length  # length + type + data + CRC
        if offset > size:
            return None
        if chunk_type == b"IEND":
            return offset
    raise ImageRejected("corrupt")


def _read_header(fp, head, size, image_format, max_pixels):
    if image_format == "PNG" and head[8:16] == b"\x00\x00\x00\x0dIHDR":  # a 13-byte IHDR opens every PNG
        # Read before Image.open, so that Pillow's own bomb limit, which reports no width and height, fires
        # only for JPEG and WebP.
        _check_pixels(*struct.unpack(">II", head[16:24]), max_pixels)
    fp.seek(0)
    try:
        with Image.open(fp, formats=[image_format]) as im:
            width, height = im.size
            # JPEG frames beyond the first are MPO previews/depth maps, not animation.
            frames = getattr(im, "n_frames", 1) if image_format != "JPEG" else 1
            mode = im.mode
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise bomb_rejected(exc, max_pixels) from exc
    except (OSError, SyntaxError, ValueError, EOFError, struct.error) as exc:
        raise ImageRejected("corrupt") from exc
    _check_pixels(width, height, max_pixels)
    if frames > 1:
        raise ImageRejected("animated", frames=frames)
    return ImageInfo(format=image_format, width=width, height=height, mode=mode, size_bytes=size)


def _check_pixels(width, height, max_pixels):
    if width * height > max_pixels:
        raise ImageRejected(
            "too_many_pixels", size=f"{width}x{height}", megapixels=_megas(width * height), limit=_megas(max_pixels)
        )


def bomb_rejected(exc, max_pixels):
    """Pillow's own pixel limit fired before we saw the size; its message carries the pixel count."""
    pixels = int(re.search(r"\((\d+) pixels\)", str(exc)).group(1))
    return ImageRejected(
        "too_many_pixels", size=f"{pixels:,} pixels", megapixels=_megas(pixels), limit=_megas(max_pixels)
    )
