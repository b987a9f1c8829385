"""Pure Pillow image work: cheap upload checks, then one decode for hashes and thumbnails.

No Django here: functions take binary file objects (anything with read/seek/tell) and return plain
dataclasses. Expected failures raise ImageRejected, whose message a customer can act on.
"""

import io
import os
import re
import struct
import zlib
from dataclasses import dataclass, field

import imagehash
import numpy as np
from PIL import Image

ACCEPTED_FORMATS = ("PNG", "JPEG", "WEBP")

HEAD_BYTES = 1024  # bytes read to sniff the format: SVG/HTML may start after a BOM, comments or a long <?xml ...?>
TAIL_WINDOW = 64 * 1024  # bytes read from the end to find the end marker; only a broken file needs more
JPEG_MAX_PADDING = 16  # bytes of NULs/newlines some encoders and transfer tools leave after FFD9
PNG_MAX_CHUNKS = 200_000  # chunks walked before giving up: libpng writes 8 KiB IDATs, so ~1.6 GB of real data
REDUCED_SIDE_FACTOR = 2  # shared image >= 2x the largest thumbnail: thumbnails resample, never just box-average
COLOUR_GRID = 4  # cells a side of the colour signature: 16 mean colours, 48 bytes
HASH_SIDE = 32  # px: imagehash.phash reads a 32x32 greyscale; dhash and "detail" are measured on the same grid
HASH_REDUCING_GAP = 3.0  # box-reduce to >= 96 px before LANCZOS: ~10x faster; vs a plain LANCZOS, 39/40 designs
#                          kept the same phash (one moved 2 bits) and dhash moved 0-3 bits (measured)
THUMBNAIL_REDUCING_GAP = 1.5  # 2000->640 px in 19 ms instead of 28-38 (2.0/None), 43 dB PSNR vs LANCZOS (measured)
WEBP_QUALITY = 80  # visually clean for previews; 640 px thumbnails of the bench designs are ~20-25 KB
WEBP_METHOD = 2  # 640 px: 2-2.5x faster than the default 4 for ~5% more bytes; 6 took 1.9 s with alpha (measured)
REDUCE_BAND_ROWS = 16  # output rows per band of edge fix-ups (_reduce_premultiplied)
REDUCE_SPAN_GAP = 8  # output px of uniform alpha between two edge spans before they are fixed up separately
WHITE = 255

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

# EXIF orientation -> the transpose that puts the picture upright (the table ImageOps.exif_transpose uses).
ORIENTATION_TRANSPOSE = {
    2: Image.Transpose.FLIP_LEFT_RIGHT,
    3: Image.Transpose.ROTATE_180,
    4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE,
    6: Image.Transpose.ROTATE_270,
    7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_90,
}
EXIF_ORIENTATION = 0x0112
PREMULTIPLIED = {"RGBA": "RGBa", "LA": "La"}
SWAPS_SIDES = {  # orientations 5-8 turn the picture a quarter
    Image.Transpose.TRANSPOSE, Image.Transpose.TRANSVERSE, Image.Transpose.ROTATE_90, Image.Transpose.ROTATE_270,
}
HIGH_BIT_GREY_MODES = ("I;16", "I;16L", "I;16B", "I;16N", "I", "F")  # 16-bit PNG greyscale opens as I;16


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


@dataclass(frozen=True)
class Thumbnail:
    size: int  # the requested longest side, px
    width: int
    height: int
    data: bytes  # WebP


@dataclass(frozen=True)
class ProcessedImage:
    width: int  # px, after EXIF orientation
    height: int
    phash: int  # unsigned 64-bit, first hash bit most significant
    dhash: int  # unsigned 64-bit
    detail: float  # std-dev of the 32x32 greyscale, 0-255: near-blank designs score below ~5
    colours: bytes  # RGB of each cell of a COLOUR_GRID x COLOUR_GRID grid, row by row (see _visible_colours)
    thumbnails: list[Thumbnail] = field(default_factory=list)


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
        if size > expected:
            raise ImageRejected("trailing_data", extra=size - expected, format="WebP")
        if size < expected:
            raise ImageRejected("truncated", format="WebP")
        return
    fp.seek(max(0, size - TAIL_WINDOW))
    tail = fp.read()
    if image_format == "PNG":
        if tail.endswith(PNG_IEND):
            return
        end = _png_end(fp, size)  # rare path: walk the chunks to tell truncation from trailing data
        if end is None:
            raise ImageRejected("truncated", format="PNG")
        raise ImageRejected("trailing_data", extra=size - end, format="PNG")
    body = tail.rstrip(b"\x00\r\n")
    if body.endswith(JPEG_EOI) and len(tail) - len(body) <= JPEG_MAX_PADDING:
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
        raise _bomb_rejected(exc, max_pixels) from exc
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


def _bomb_rejected(exc, max_pixels):
    """Pillow's own pixel limit fired before we saw the size; its message carries the pixel count."""
    pixels = int(re.search(r"\((\d+) pixels\)", str(exc)).group(1))
    return ImageRejected(
        "too_many_pixels", size=f"{pixels:,} pixels", megapixels=_megas(pixels), limit=_megas(max_pixels)
    )


def process_image(fp, *, thumbnail_sizes=(256, 640)):
    """Decode an inspected image once and return its size, perceptual hashes, detail and WebP thumbnails.

    Everything is derived from one shared reduced image of at least 2x the largest thumbnail. Raises
    ImageRejected ("corrupt" or "truncated") for damaged data; never lets a decoder error escape.
    Leaves ``fp`` at position 0.
    """
    side = REDUCED_SIDE_FACTOR * max(thumbnail_sizes)
    fp.seek(0)
    try:
        # Not closed: the shared image may be ``im`` itself (closing would drop its pixels); we never own ``fp``.
        im = Image.open(fp, formats=list(ACCEPTED_FORMATS))
        width, height = im.size
        shared = _shared_reduced(im, side)
        transpose = ORIENTATION_TRANSPOSE.get(_orientation(im))
        del im
        if transpose is not None:
            shared = shared.transpose(transpose)
            if transpose in SWAPS_SIDES:
                width, height = height, width
        # One 32x32 grey for both hashes and the detail score: imagehash.phash resizes to exactly this (a
        # no-op here) and it spares three full resizes of the shared image (~30 ms for a 12 MP JPEG, measured).
        grey = _visible_grey(shared).resize(
            (HASH_SIDE, HASH_SIDE), Image.Resampling.LANCZOS, reducing_gap=HASH_REDUCING_GAP
        )
        thumbnails, smallest = _thumbnails(shared, thumbnail_sizes)
        colours = _visible_colours(smallest)  # 16 cells: the smallest thumbnail has every colour they need
    except Image.DecompressionBombError as exc:
        raise _bomb_rejected(exc, 2 * Image.MAX_IMAGE_PIXELS) from exc
    except (OSError, SyntaxError, ValueError, EOFError, struct.error, zlib.error) as exc:
        raise ImageRejected("truncated" if "truncated" in str(exc) else "corrupt", format="image") from exc
    finally:
        fp.seek(0)
    return ProcessedImage(
        width=width,
        height=height,
        phash=_hash_to_int(imagehash.phash(grey)),
        dhash=_hash_to_int(imagehash.dhash(grey)),
        detail=float(np.asarray(grey).std()),
        colours=colours,
        thumbnails=thumbnails,
    )


def _shared_reduced(im, side):
    """Decode ``im`` and return it reduced so that its longest side is side..2*side px (as is if smaller).

    The mode is L, LA, RGB or RGBA. No final fit to exactly ``side``: a LANCZOS fit cost ~50 ms (10% of a
    4500x5400 PNG decode) and bought nothing, since every output is resampled again anyway (measured).
    """
    if im.format in ("JPEG", "MPO"):
        # The JPEG decoder scales by 1/2, 1/4 or 1/8 while decoding (DCT scaling), never below the request.
        scale = side / max(im.size)
        im.draft("RGB", (max(1, int(im.width * scale)), max(1, int(im.height * scale))))
    im.load()
    working = _working_mode(im)
    factor = max(working.size) // side
    if factor <= 1:
        reduced = working
    elif working.mode in PREMULTIPLIED:
        reduced = _reduce_premultiplied(working, factor)
    else:
        reduced = working.reduce(factor)
    del working
    if reduced.mode in HIGH_BIT_GREY_MODES:
        # convert("L") would clip 16-bit values at 255 (a near-white picture); scale 0-65535 to 0-255 instead.
        reduced = reduced.point(lambda v: v / 257).convert("L")
    if reduced.mode in PREMULTIPLIED and reduced.getchannel("A").getextrema() == (255, 255):
        reduced = reduced.convert(reduced.mode[:-1])  # an all-opaque alpha channel only costs bytes and time
    return reduced


def _reduce_premultiplied(image, factor):
    """``image.reduce(factor)`` for RGBA/LA: visible pixels identical, ~3.5x faster (33 ms instead of 119 ms at
    4500x5400, measured).

    Averaging must weigh colour by alpha, or the colour hidden under transparent pixels bleeds into edges. Pillow's
    reduce() premultiplies every pixel first, which costs three times the reduction itself. But a block of pixels
    whose alpha is uniform (all opaque, all transparent, or one level of translucency) averages the same either way,
    so the whole image is averaged straight, and only spans of blocks whose mean alpha is neither 0 nor 255 (edges,
    soft shadows) are averaged again through the premultiplied path. A block with a fully transparent pixel is
    always among them; a block that rounds to opaque may hold nearly opaque pixels and differs by a rounding.
    Fully transparent output pixels keep an arbitrary colour, which no later step reads (resizes premultiply; the
    hash composites by alpha).
    """
    width, height = image.size
    # The core reduce() averages channels as they are; Image.reduce() adds the premultiplying wrapper.
    reduced = image._new(image.im.reduce((factor, factor), (0, 0, width, height)))
    alpha = np.asarray(reduced.getchannel("A"))
    mixed = (alpha > 0) & (alpha < 255)
    for top in range(0, alpha.shape[0], REDUCE_BAND_ROWS):
        columns = np.flatnonzero(mixed[top : top + REDUCE_BAND_ROWS].any(axis=0))
        if not columns.size:
            continue
        gaps = np.flatnonzero(np.diff(columns) > REDUCE_SPAN_GAP)
        starts = [columns[0], *columns[gaps + 1]]
        stops = [*columns[gaps], columns[-1]]
        for start, stop in zip(starts, stops, strict=True):
            box = (int(start) * factor, top * factor,
                   min(width, (int(stop) + 1) * factor), min(height, (top + REDUCE_BAND_ROWS) * factor))
            reduced.paste(image.crop(box).reduce(factor), (int(start), top))
    return reduced


def _working_mode(im):
    if im.mode in ("I;16", "I;16L", "I;16B", "I;16N"):
        return im.convert("I")  # reduce() has no I;16 support; I keeps the 16-bit values
    if im.mode in ("L", "LA", "RGB", "RGBA", "I", "F") and not (im.mode in ("L", "RGB") and im.has_transparency_data):
        return im
    grey = im.mode in ("1", "L", "LA", "La")
    if im.has_transparency_data:
        return im.convert("LA" if grey else "RGBA")
    return im.convert("L" if grey else "RGB")  # CMYK, YCbCr, P, 1 ...


def _orientation(im):
    try:
        return im.getexif().get(EXIF_ORIENTATION, 1)
    except (OSError, SyntaxError, ValueError, struct.error, KeyError, IndexError, TypeError):
        return 1  # a damaged EXIF block must not cost the picture


def _visible_grey(image):
    """The picture as a person sees it, in greyscale: transparency composited onto white.

    Hashing convert("L") of an RGBA image would read the colour hidden under transparent pixels, so the same
    design saved with black or white under its transparency would get near-inverted hashes.
    """
    if image.mode not in ("RGBA", "LA"):
        return image.convert("L")
    grey = Image.new("L", image.size, WHITE)
    grey.paste(image.convert("L"), mask=image.getchannel("A"))
    return grey


def _visible_colours(image):
    """The mean colour a person sees in each cell of a COLOUR_GRID x COLOUR_GRID grid, transparency on white.

    The perceptual hashes read grey only: the same artwork in red and in blue hashes within a few bits (2-4 of 64
    for red and blue swapped, measured), yet a shop prints and sells each colourway as a design of its own.
    """
    small = image.resize((COLOUR_GRID, COLOUR_GRID), Image.Resampling.BOX)  # alpha-weighted for RGBA and LA
    if small.mode in ("RGBA", "LA"):
        on_white = Image.new("RGBA", small.size, (WHITE, WHITE, WHITE, 255))
        small = Image.alpha_composite(on_white, small.convert("RGBA"))
    return small.convert("RGB").tobytes()


def _thumbnails(shared, sizes):
    """WebP thumbnails in the order of ``sizes``, and the smallest as an image; each smaller one is made from the
    next larger (~3x cheaper).

    Alpha is kept: apparel designs are often white artwork on transparency for dark garments, which would
    vanish composited on white; the page draws thumbnails on a neutral background instead.
    """
    made = {}
    source, data = shared, None
    for size in sorted(set(sizes), reverse=True):
        thumb = _fit(source, size)
        if thumb is not source or data is None:  # an image that fits both sizes is encoded once (~2 ms each)
            buffer = io.BytesIO()
            thumb.save(buffer, "WEBP", quality=WEBP_QUALITY, method=WEBP_METHOD)
            data = buffer.getvalue()
        made[size] = Thumbnail(size=size, width=thumb.width, height=thumb.height, data=data)
        source = thumb
    return [made[size] for size in sizes], source


def _fit(image, size):
    """``image`` scaled so that its longest side is ``size``; never upscaled (a smaller image is returned as is)."""
    scale = size / max(image.size)
    if scale >= 1:
        return image
    target = (max(1, round(image.width * scale)), max(1, round(image.height * scale)))
    return image.resize(target, Image.Resampling.BICUBIC, reducing_gap=THUMBNAIL_REDUCING_GAP)


def _hash_to_int(image_hash):
    """The hash bits as an unsigned int, first bit most significant (the order of str(image_hash))."""
    return int.from_bytes(np.packbits(image_hash.hash.flatten()).tobytes(), "big")

