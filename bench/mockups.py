"""Mockups: one render of a 4500x5400 RGBA print file onto the demo t-shirt, our way beside the naive way.

    python -m bench mockups

Ours draws the design from its 640 px WebP thumbnail (made once by design processing, as the worker stores it);
the naive way decodes the full original PNG and composites that. Everything else is the same code: decode the
garment photo, `render_mockup` with shading, encode the full-size and preview WebPs. Times are the median of
RUNS interleaved runs, as wall-clock and as CPU time (steadier on a busy machine); "peak MB over base" is the
peak RSS of a fresh process doing one render, less its RSS before (interpreter and imports).
No database and no storage: the files are read from a temporary folder, so only the image work is measured.
"""

import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from PIL import Image

from bench.imaging import make_print_file
from bench.timing import own_peak_rss_mb, print_table
from imaging import compositing
from imaging.processing import process_image
from mockups.demo_garments import demo_garments

RUNS = 5
DESIGN_SIZE = (4500, 5400)  # px: a typical DTG print file
# Not imported from the models, which would need Django set up: designs.models.THUMBNAIL_SIZES[-1] and
# mockups.models.MOCKUP_PREVIEW_SIDE.
THUMBNAIL_SIDE = 640  # px
PREVIEW_SIDE = 480  # px


def write_files(folder):
    """The original PNG, its 640 px thumbnail as design processing stores it, and the t-shirt photo (JPEG)."""
    original = folder / "design.png"
    make_print_file(*DESIGN_SIZE, seed=0, transparent=True).save(original, compress_level=6)
    with open(original, "rb") as fp:
        thumbnail = next(t for t in process_image(fp, thumbnail_sizes=(256, THUMBNAIL_SIDE)).thumbnails
                         if t.size == THUMBNAIL_SIDE)
    (folder / "design-640.webp").write_bytes(thumbnail.data)
    tee = demo_garments()[0]
    tee.draw().save(folder / "tee.jpg", quality=90)
    (folder / "area").write_text(",".join(map(str, tee.area)))
    return folder


def render(folder, design_name):
    """One mockup as the worker makes it, with the design decoded from `design_name`; returns the bytes written."""
    area = compositing.PrintArea(*map(int, (folder / "area").read_text().split(",")))
    with Image.open(folder / "tee.jpg") as photo, Image.open(folder / design_name) as design:
        rendered = compositing.render_mockup(photo, design, area, shading=True)
    full = compositing.encode_webp(rendered)
    preview = compositing.encode_webp(compositing.fit_within(rendered, PREVIEW_SIDE))
    return len(full) + len(preview)


def ours(folder):
    return render(folder, "design-640.webp")


def naive(folder):
    return render(folder, "design.png")


WAYS = {"ours: from the 640 px thumbnail": ours, "naive: from the full original": naive}


def peak_rss_mb(folder, way):
    """(base, peak) RSS in MB of a fresh interpreter rendering one mockup `way`."""
    out = subprocess.run([sys.executable, "-m", "bench.mockups", "--peak", way, str(folder)], check=True,
                         capture_output=True, text=True).stdout.split()
    return float(out[0]), float(out[1])


def main():
    with tempfile.TemporaryDirectory() as tmp:
        print(f"generating a {DESIGN_SIZE[0]}x{DESIGN_SIZE[1]} RGBA print file and its thumbnail...", flush=True)
        folder = write_files(Path(tmp))
        sizes = {name: (folder / name).stat().st_size / 1e6 for name in ("design.png", "design-640.webp")}
        wall = {name: [] for name in WAYS}
        cpu = {name: [] for name in WAYS}
        for func in WAYS.values():
            func(folder)  # warm-up: imports, first allocations
        for _ in range(RUNS):
            for name, func in WAYS.items():  # interleaved, so machine noise hits both alike
                start, start_cpu = time.perf_counter(), time.process_time()
                func(folder)
                wall[name].append((time.perf_counter() - start) * 1000)
                cpu[name].append((time.process_time() - start_cpu) * 1000)
        ours_ms, ours_cpu = (statistics.median(values[next(iter(WAYS))]) for values in (wall, cpu))
        rows = []
        for name, source, way in zip(WAYS, ("design-640.webp", "design.png"), ("ours", "naive"), strict=True):
            wall_ms, cpu_ms = statistics.median(wall[name]), statistics.median(cpu[name])
            base_mb, peak_mb = peak_rss_mb(folder, way)
            rows.append([name, f"{sizes[source]:.2f}", f"{wall_ms:.0f}", f"{wall_ms / ours_ms:.1f}x", f"{cpu_ms:.0f}",
                         f"{cpu_ms / ours_cpu:.1f}x", f"{peak_mb - base_mb:.0f}"])
        print(f"\nmockup render, median of {RUNS} (decode + composite with shading + WebP full and preview)")
        print_table(["way", "source MB", "wall ms", "ratio", "CPU ms", "CPU ratio", "peak MB over base"], rows)


if __name__ == "__main__":
    if sys.argv[1:2] == ["--peak"]:
        before = own_peak_rss_mb()
        {"ours": ours, "naive": naive}[sys.argv[2]](Path(sys.argv[3]))
        print(before, own_peak_rss_mb())
    else:
        main()
