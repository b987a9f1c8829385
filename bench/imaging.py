"""Benchmark designs.imaging.process_image against a bare decode and a naive pipeline.

Run from the project root: ``.venv/bin/python -m bench.imaging``. It writes its own synthetic print files
(3 transparent 4500x5400 PNGs, 3 4000x3000 JPEGs) to a temporary folder and prints one row per file:
times are the median of RUNS runs; "peak MB" is the peak RSS of a fresh process running process_image once,
"base MB" that process's RSS before the call (interpreter and imports).
"""

import io
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import imagehash
import numpy as np
from PIL import Image, ImageDraw, ImageFont

from bench.timing import own_peak_rss_mb
from imaging.processing import WEBP_METHOD, WEBP_QUALITY, process_image

RUNS = 3
THUMBNAIL_SIZES = (256, 640)
GRAIN = 2  # +-levels of noise: 4500x5400 RGBA PNGs come out 7-9 MB, 4000x3000 JPEGs ~2.6 MB


def make_print_file(width, height, *, seed, transparent, grain=GRAIN):
    """A synthetic design: noisy gradients, shapes and text, on transparency when ``transparent``; more ``grain``
    makes a larger file."""
    rng = np.random.default_rng(seed)
    # Smooth colour fields from a coarse random grid, plus grain so the file does not compress to nothing.
    small = rng.integers(0, 256, (height // 600 + 2, width // 600 + 2, 3), dtype=np.uint8)
    image = Image.fromarray(small, "RGB").resize((width, height), Image.Resampling.BICUBIC)
    # Photos are grainy all over; designs have a "photographic" band, the rest smooth like vector artwork.
    grain_rows, amplitude = (height * 2 // 5, grain) if transparent else (height, 6 * grain)
    grain = rng.integers(-amplitude, amplitude + 1, (grain_rows, width, 1), dtype=np.int16)  # luminance grain
    pixels = np.asarray(image).copy()
    pixels[:grain_rows] = np.clip(pixels[:grain_rows] + grain, 0, 255)
    image = Image.fromarray(pixels, "RGB")
    del grain, pixels
    draw = ImageDraw.Draw(image)
    for _ in range(12):
        x0, y0 = int(rng.integers(0, width * 3 // 4)), int(rng.integers(0, height * 3 // 4))
        x1, y1 = x0 + int(rng.integers(width // 10, width // 3)), y0 + int(rng.integers(height // 10, height // 3))
        colour = tuple(int(c) for c in rng.integers(0, 256, 3))
        shape = draw.ellipse if rng.random() < 0.5 else draw.rectangle
        shape((x0, y0, x1, y1), fill=colour, outline=(0, 0, 0), width=width // 200)
    font = ImageFont.load_default(size=width // 9)
    draw.text((width // 12, height * 2 // 5), "THREADLINE", font=font, fill=(20, 20, 20), stroke_width=width // 300,
              stroke_fill=(255, 255, 255))
    if not transparent:
        return image
    mask = Image.new("L", (width, height), 0)
    mask_draw = ImageDraw.Draw(mask)
    mask_draw.ellipse((width // 20, height // 20, width * 19 // 20, height * 19 // 20), fill=255)
    mask_draw.rectangle((0, height * 2 // 5, width, height * 3 // 5), fill=255)
    image.putalpha(mask)
    return image


def write_files(folder):
    paths = []
    for seed in range(3):
        path = folder / f"design-{seed}.png"
        make_print_file(4500, 5400, seed=seed, transparent=True).save(path, compress_level=6)
        paths.append(path)
    for seed in range(3):
        path = folder / f"photo-{seed}.jpg"
        make_print_file(4000, 3000, seed=10 + seed, transparent=False).save(path, quality=90)
        paths.append(path)
    return paths


def floor(path):
    with Image.open(path) as im:
        im.load()


def ours(path):
    with open(path, "rb") as fp:
        process_image(fp, thumbnail_sizes=THUMBNAIL_SIZES)


def naive(path):
    """What a first version usually does: every hash and thumbnail from the full-size image."""
    with Image.open(path) as im:
        imagehash.phash(im)
    with Image.open(path) as im:
        imagehash.dhash(im)
    with Image.open(path) as full:
        full.load()
        for size in THUMBNAIL_SIZES:
            thumb = full.copy()
            thumb.thumbnail((size, size), Image.Resampling.LANCZOS)
            thumb.save(io.BytesIO(), "WEBP", quality=WEBP_QUALITY, method=WEBP_METHOD)


def median_ms(funcs, path):
    """Median milliseconds of each function; runs are interleaved so that machine noise hits all alike."""
    times = {func: [] for func in funcs}
    for _ in range(RUNS):
        for func in funcs:
            start = time.perf_counter()
            func(path)
            times[func].append((time.perf_counter() - start) * 1000)
    return [statistics.median(times[func]) for func in funcs]


def peak_rss_mb(path):
    """Peak RSS (MB) of a fresh interpreter before (imports only) and after one process_image."""
    out = subprocess.run([sys.executable, "-m", "bench.imaging", "--peak", str(path)], check=True,
                         capture_output=True, text=True).stdout.split()
    return float(out[0]), float(out[1])


def main():
    with tempfile.TemporaryDirectory() as tmp:
        print("generating synthetic print files...", flush=True)
        paths = write_files(Path(tmp))
        ours(paths[-1])  # warm-up: the first phash imports scipy
        header = (f"{'file':<14}{'MB':>7}{'pixels':>11}{'floor ms':>10}{'ours ms':>9}{'ours/floor':>11}"
                  f"{'naive ms':>10}{'naive/ours':>11}{'peak MB':>9}{'base MB':>9}")
        print(header)
        print("-" * len(header))
        for path in paths:
            with Image.open(path) as im:
                pixels = im.width * im.height
            floor_ms, ours_ms, naive_ms = median_ms((floor, ours, naive), path)
            base_mb, peak_mb = peak_rss_mb(path)
            print(f"{path.name:<14}{path.stat().st_size / 1e6:>7.1f}{pixels / 1e6:>10.1f}M{floor_ms:>10.0f}"
                  f"{ours_ms:>9.0f}{ours_ms / floor_ms:>11.2f}{naive_ms:>10.0f}{naive_ms / ours_ms:>11.1f}"
                  f"{peak_mb:>9.0f}{base_mb:>9.0f}", flush=True)


if __name__ == "__main__":
    if sys.argv[1:2] == ["--peak"]:
        before = own_peak_rss_mb()
        ours(sys.argv[2])
        print(before, own_peak_rss_mb())
    else:
        main()
