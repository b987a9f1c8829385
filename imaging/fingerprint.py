"""Pure Pillow/numpy fingerprints that decide whether two designs are copies of each other.

The 64-bit phash finds candidates fast; it cannot tell a 3% crop from a different picture that happens to hash
close. A fingerprint keeps a small aligned greyscale and colour thumbnail of what a person sees (transparency on
white), and for low-detail designs the box where the marks are, so that candidates can be compared directly with a
few percent of crop tolerance. Computed once per design in the worker; compared at processing time only.
"""

from dataclasses import dataclass
from functools import cached_property

import numpy as np
from PIL import Image

VERSION = 1
GREY_SIDE = 64  # px a side, aspect squashed: crops are compared on it at COMPARE_SIDE
COLOUR_SIDE = 16
MARK_SIDE = 32
COMPARE_SIDE = 32
SIZE = 1 + GREY_SIDE**2 + 3 * COLOUR_SIDE**2 + 4 + 3 + MARK_SIDE**2  # bytes
MARK_CONTRAST = 32  # grey levels from the background colour for a pixel to count as a mark


@dataclass(frozen=True)
class Fingerprint:
    grey: np.ndarray  # GREY_SIDE x GREY_SIDE uint8
    colour: np.ndarray  # COLOUR_SIDE x COLOUR_SIDE x 3 uint8
    mark_box: tuple  # (left, top, right, bottom) of the marks, 0-255 of the canvas; all 0 when blank
    mark_colour: tuple  # mean RGB of the marks
    marks: np.ndarray  # MARK_SIDE x MARK_SIDE uint8: the mark box's content, squashed

    @cached_property
    def coarse(self):
        """The grey at 16x16 as a zero-mean unit vector: a cheap first look before the aligned comparison."""
        cells = self.grey.reshape(16, GREY_SIDE // 16, 16, GREY_SIDE // 16).mean(axis=(1, 3)).ravel()
        cells -= cells.mean()
        norm = np.linalg.norm(cells)
        return cells / norm if norm else cells

    @cached_property
    def aligned(self):
        """The grey cropped by each of CROP_FRACTIONS, at COMPARE_SIDE, as zero-mean unit rows: one matrix
        product then correlates every alignment of two fingerprints (~0.1 ms a candidate instead of ~0.4)."""
        return _unit_rows(_crop(Image.fromarray(self.grey), fraction) for fraction in CROP_FRACTIONS)

    @cached_property
    def turned(self):
        """The grey turned by each of TURNS and cropped to TURNED_FRACTION, as aligned's rows are."""
        image = Image.fromarray(self.grey)
        return _unit_rows(_crop(image.rotate(angle, Image.Resampling.BILINEAR), TURNED_FRACTION) for angle in TURNS)

    def to_bytes(self):
        return (bytes([VERSION]) + self.grey.tobytes() + self.colour.tobytes() + bytes(self.mark_box)
                + bytes(self.mark_colour) + self.marks.tobytes())

    @classmethod
    def from_bytes(cls, data):
        """The fingerprint stored by to_bytes(), or None for missing or older data."""
        data = bytes(data or b"")  # PostgreSQL gives a memoryview
        if len(data) != SIZE or data[0] != VERSION:
            return None
        at = 1
        grey = np.frombuffer(data, np.uint8, GREY_SIDE**2, at).reshape(GREY_SIDE, GREY_SIDE)
        at += GREY_SIDE**2
        colour = np.frombuffer(data, np.uint8, 3 * COLOUR_SIDE**2, at).reshape(COLOUR_SIDE, COLOUR_SIDE, 3)
        at += 3 * COLOUR_SIDE**2
        box, mark_colour = tuple(data[at:at + 4]), tuple(data[at + 4:at + 7])
        marks = np.frombuffer(data, np.uint8, MARK_SIDE**2, at + 7).reshape(MARK_SIDE, MARK_SIDE)
        return cls(grey, colour, box, mark_colour, marks)


def fingerprint(visible_grey, visible_rgb):
    """The fingerprint of a picture given as an L image and an RGB image of what a person sees."""
    grey = visible_grey.resize((GREY_SIDE, GREY_SIDE), Image.Resampling.BOX, reducing_gap=2.0)
    colour = visible_rgb.resize((COLOUR_SIDE, COLOUR_SIDE), Image.Resampling.BOX)
    box, mark_colour, marks = _marks(visible_grey, visible_rgb)
    return Fingerprint(np.asarray(grey), np.asarray(colour), box, mark_colour, marks)


def _marks(small, rgb):
    """The box (0-255 of each side) of the pixels that stand out from the background, their mean colour, and
    the box's content."""
    pixels = np.asarray(small).astype(np.int16)
    border = np.concatenate([pixels[0], pixels[-1], pixels[:, 0], pixels[:, -1]])
    background = int(np.median(border))
    rows, columns = np.nonzero(np.abs(pixels - background) > MARK_CONTRAST)
    if not rows.size:
        return (0, 0, 0, 0), (0, 0, 0), np.full((MARK_SIDE, MARK_SIDE), background, np.uint8)
    height, width = pixels.shape
    left, top, right, bottom = columns.min(), rows.min(), columns.max() + 1, rows.max() + 1
    content = small.resize((MARK_SIDE, MARK_SIDE), Image.Resampling.BOX,
                           box=(int(left), int(top), int(right), int(bottom)))
    box = (left * 255 // width, top * 255 // height, right * 255 // width, bottom * 255 // height)
    mark_colour = np.asarray(rgb)[rows, columns].mean(axis=0).round()
    return tuple(int(v) for v in box), tuple(int(v) for v in mark_colour), np.asarray(content)


CROP_FRACTIONS = (1.0, 0.97, 0.94, 0.91)  # of each side kept: a copy cropped up to ~4.5% a side still aligns
# Degrees a copy may have been turned (a scan, a photo of a print): on the bench, turns of 1-3 degrees were
# flagged 38 of 49 times instead of 30, with no more false duplicates. The crop keeps clear of the corners a
# 3 degree turn leaves.
TURNS = (-3.0, -1.5, 1.5, 3.0)
TURNED_FRACTION = 0.91


@dataclass(frozen=True)
class Comparison:
    grey: float  # best Pearson correlation of the aligned greyscale thumbnails, -1..1
    colour: float  # 90th percentile of the aligned cells' chroma distance (YCbCr, 0-255)
    marks: float  # correlation of the mark boxes' content (1 when both are blank)
    mark_offset: int  # largest difference between the two mark boxes' sides, 0-255 of the canvas
    mark_colour: float  # distance between the chroma (CbCr) of the marks' mean colours
    mark_area: float  # the larger mark box's share of the canvas, 0-1
    crop: float  # the fraction of a side that the best alignment kept (1.0: none)
    turned: float  # best correlation of the first grey turned by one of TURNS with the second, both cropped


def _crop(image, fraction):
    """The centre ``fraction`` of each side of a GREY_SIDE image, at COMPARE_SIDE, as float32 pixels."""
    margin = GREY_SIDE * (1 - fraction) / 2
    box = (margin, margin, GREY_SIDE - margin, GREY_SIDE - margin)
    return np.asarray(image.resize((COMPARE_SIDE, COMPARE_SIDE), Image.Resampling.BILINEAR, box=box), np.float32)


def _unit_rows(crops):
    rows = np.stack([crop.ravel() for crop in crops])
    rows -= rows.mean(axis=1, keepdims=True)
    norms = np.linalg.norm(rows, axis=1, keepdims=True)
    return np.divide(rows, norms, out=np.zeros_like(rows), where=norms > 0)


def _correlation(a, b):
    a = a - a.mean()
    b = b - b.mean()
    norm = float(np.sqrt((a * a).sum() * (b * b).sum()))
    return float((a * b).sum()) / norm if norm else (1.0 if not a.any() and not b.any() else 0.0)


def _chroma(colour, fraction):
    image = Image.fromarray(colour)
    margin = COLOUR_SIDE * (1 - fraction) / 2
    cells = image.resize((8, 8), Image.Resampling.BOX, box=(margin, margin, COLOUR_SIDE - margin, COLOUR_SIDE - margin))
    return np.asarray(cells.convert("YCbCr"), np.float32)[..., 1:]


def _rgb_chroma(rgb):
    """Cb and Cr (ITU-R BT.601, as Pillow's YCbCr) of one RGB colour."""
    r, g, b = (float(v) for v in rgb)
    return np.array([-0.168736 * r - 0.331264 * g + 0.5 * b, 0.5 * r - 0.418688 * g - 0.081312 * b])


def coarse_correlation(a, b):
    """Correlation of the unaligned 16x16 greys (1 when both are flat); ~20x cheaper than compare()."""
    if not a.coarse.any() and not b.coarse.any():
        return 1.0
    return float(a.coarse @ b.coarse)


def compare(a, b):
    """How alike two fingerprints are, at the crop alignment that fits them best, and turned."""
    scores = a.aligned @ b.aligned.T  # [i, j]: a cropped by fraction i against b cropped by fraction j
    pairs = [(0, k) for k in range(len(CROP_FRACTIONS))] + [(k, 0) for k in range(1, len(CROP_FRACTIONS))]
    if not a.aligned.any() and not b.aligned.any():
        best, best_pair, turned = 1.0, (0, 0), 1.0  # two flat pictures
    else:
        best_pair = max(pairs, key=lambda pair: scores[pair])
        best = float(scores[best_pair])
        turned = float((a.turned @ b.aligned[CROP_FRACTIONS.index(TURNED_FRACTION)]).max())
    fraction_a, fraction_b = (CROP_FRACTIONS[i] for i in best_pair)
    chroma = np.linalg.norm(_chroma(a.colour, fraction_a) - _chroma(b.colour, fraction_b), axis=-1)
    blank_a, blank_b = not any(a.mark_box), not any(b.mark_box)
    if blank_a or blank_b:
        marks, offset = (1.0, 0) if blank_a and blank_b else (0.0, 255)
    else:
        marks = _correlation(a.marks.astype(np.float32), b.marks.astype(np.float32))
        offset = max(abs(x - y) for x, y in zip(a.mark_box, b.mark_box, strict=True))
    mark_colour = float(np.linalg.norm(_rgb_chroma(a.mark_colour) - _rgb_chroma(b.mark_colour)))
    area = max((box[2] - box[0]) * (box[3] - box[1]) / 255**2 for box in (a.mark_box, b.mark_box))
    cells = np.sort(chroma.ravel())  # the 90th percentile, without np.percentile's ~0.2 ms of overhead
    return Comparison(grey=best, colour=float(cells[round(0.9 * (cells.size - 1))]), marks=marks, mark_offset=offset,
                      mark_colour=mark_colour, mark_area=area, crop=min(fraction_a, fraction_b), turned=turned)
