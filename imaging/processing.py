"""Pure Pillow processing of an inspected upload: one decode for the size, perceptual hashes, detail score, colour
signature and WebP thumbnails.

No Django here: functions take binary file objects and return plain dataclasses; damaged data raises ImageRejected.
"""

import io
import struct
import zlib
from dataclasses import dataclass, field

import imagehash
import numpy as np
from PIL import Image

from imaging import fingerprint
from imaging.inspection import ACCEPTED_FORMATS, ImageRejected, bomb_rejected

REDUCED_SIDE_FACTOR = 2  # shared image >= 2x the largest thumbnail: thumbnails resample, never just box-average
COLOUR_GRID = 4  # cells a side of the colour signature: 16 mean colours, 48 bytes
CROP_PROBE = 0.03  # of each side: the crop the extra candidate hashes stand for
PROBE_SIDE = 128  # px: the grey that is padded for the "original of a crop" hash
HASH_SIDE = 32  # px: imagehash.phash reads a 32x32 greyscale; dhash and "detail" are measured on the same grid
HASH_REDUCING_GAP = 3.0  # box-reduce to >= 96 px before LANCZOS: ~10x faster; vs a plain LANCZOS, 39/40 designs
#                          kept the same phash (one moved 2 bits) and dhash moved 0-3 bits (measured)
THUMBNAIL_REDUCING_GAP = 1.5  # 2000->640 px in 19 ms instead of 28-38 (2.0/None), 43 dB PSNR vs LANCZOS (measured)
WEBP_QUALITY = 80  # visually clean for previews; 640 px thumbnails of the bench designs are ~20-25 KB
WEBP_METHOD = 2  # 640 px: 2-2.5x faster than the default 4 for ~5% more bytes; 6 took 1.9 s with alpha (measured)
REDUCE_BAND_ROWS = 16  # output rows per band of edge fix-ups (_reduce_premultiplied)
REDUCE_SPAN_GAP = 8  # output px of uniform alpha between two edge spans before they are fixed up separately
WHITE = 255

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
    fingerprint: bytes = b""  # imaging.fingerprint.Fingerprint.to_bytes(): what decides a near duplicate
    probe_hashes: tuple = ()  # phashes of this picture cropped and padded by CROP_PROBE: extra candidate queries
    thumbnails: list[Thumbnail] = field(default_factory=list)


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
        visible = _visible_grey(shared)
        grey = visible.resize((HASH_SIDE, HASH_SIDE), Image.Resampling.LANCZOS, reducing_gap=HASH_REDUCING_GAP)
        probes = _crop_probe_hashes(visible)
        thumbnails, smallest = _thumbnails(shared, thumbnail_sizes)
        colours = _visible_colours(smallest)  # 16 cells: the smallest thumbnail has every colour they need
        on_white = _on_white(smallest)
        print_fingerprint = fingerprint.fingerprint(on_white.convert("L"), on_white).to_bytes()
    except Image.DecompressionBombError as exc:
        raise bomb_rejected(exc, 2 * Image.MAX_IMAGE_PIXELS) from exc
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
        fingerprint=print_fingerprint,
        probe_hashes=probes,
        thumbnails=thumbnails,
    )


def _crop_probe_hashes(visible):
    """phashes of the picture as a copy cropped by CROP_PROBE a side would be, and as its original would be if this
    is such a crop (edges extended): the candidate search probes with them too, since a crop moves phash 10-20
    bits on textured pictures."""
    cropped_side = 1 - 2 * CROP_PROBE
    width, height = visible.size
    box = (width * CROP_PROBE, height * CROP_PROBE, width * (1 - CROP_PROBE), height * (1 - CROP_PROBE))
    cropped = visible.resize((HASH_SIDE, HASH_SIDE), Image.Resampling.LANCZOS, box=box, reducing_gap=HASH_REDUCING_GAP)
    small = np.asarray(visible.resize((PROBE_SIDE, PROBE_SIDE), Image.Resampling.BOX, reducing_gap=2.0))
    margin = round(PROBE_SIDE * CROP_PROBE / cropped_side)
    padded = Image.fromarray(np.pad(small, margin, mode="edge"))
    padded = padded.resize((HASH_SIDE, HASH_SIDE), Image.Resampling.LANCZOS)
    return tuple(_hash_to_int(imagehash.phash(image)) for image in (cropped, padded))


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


def _on_white(image):
    """``image`` in RGB as a person sees it: transparency composited onto white."""
    if image.mode not in ("RGBA", "LA"):
        return image.convert("RGB")
    on_white = Image.new("RGBA", image.size, (WHITE, WHITE, WHITE, 255))
    return Image.alpha_composite(on_white, image.convert("RGBA")).convert("RGB")


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
