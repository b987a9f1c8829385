"""Designs: per-image processing (bench.imaging), a 50-image batch end to end with one and two workers, the upload
pipeline over HTTP under make run's set-up (bench.pipeline), and the near-duplicate query at 10^4, 10^5 and 10^6
designs beside a full Hamming scan and an in-memory scan.

    python -m bench designs                  # all four, on the configured database
    python -m bench designs --only neardup   # one part: imaging | batch | pipeline | neardup
The batch part starts real `qcluster` processes; stop `make run` first so its workers do not take the tasks.
The near-duplicate part needs PostgreSQL (DATABASE_URL); it adds its rows under a user named bench-library.
"""

import argparse
import contextlib
import io
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import django

BATCH_FILES = 50
NEARDUP_SIZES = (10_000, 100_000, 1_000_000)
QUERIES = 200  # near-duplicate lookups per size
REPO = Path(__file__).resolve().parent.parent


def main():
    parser = argparse.ArgumentParser(prog="python -m bench designs")
    parser.add_argument("--only", choices=["imaging", "batch", "pipeline", "neardup"])
    parser.add_argument("--rounds", type=int, default=3, help="pipeline rounds (default 3)")
    parser.add_argument("--sizes", default=",".join(map(str, NEARDUP_SIZES)))
    args = parser.parse_args()
    if args.only in (None, "imaging"):
        from bench import imaging

        sys.argv = [sys.argv[0]]
        imaging.main()
    if args.only in (None, "pipeline"):
        from bench import pipeline

        pipeline.main(rounds=args.rounds)
    django.setup()
    if args.only in (None, "batch"):
        batch_end_to_end()
    if args.only in (None, "neardup"):
        near_duplicate_queries([int(size) for size in args.sizes.split(",")])


# --- A 50-image batch, upload request to last design ready -----------------------------------------------------


def batch_files():
    """Realistic print files, made once and kept under var/bench-files: 10 RGBA PNGs of 4500x5400 (5-25 MB) and
    40 JPEGs of 4000x3000."""
    from django.conf import settings

    from bench.imaging import make_print_file

    folder = Path(settings.VAR_DIR) / "bench-files"
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for index in range(BATCH_FILES):
        big = index < 10
        path = folder / (f"print-{index:02d}.png" if big else f"photo-{index:02d}.jpg")
        if not path.exists():
            image = make_print_file(4500 if big else 4000, 5400 if big else 3000, seed=100 + index, transparent=big)
            image.save(path, compress_level=6) if big else image.save(path, quality=90)
        paths.append(path)
    return paths


def received(name, data):
    """The file as the upload handler leaves it once the bytes have arrived: spooled to a temporary file, with
    its SHA-256 computed on the way in (designs/uploads.py)."""
    import hashlib

    from django.core.files.uploadedfile import TemporaryUploadedFile

    uploaded = TemporaryUploadedFile(name, "application/octet-stream", len(data), None)
    uploaded.write(data)
    uploaded.flush()
    uploaded.seek(0)
    uploaded.sha256 = hashlib.sha256(data).hexdigest()
    return uploaded


def batch_end_to_end():
    from django.contrib.auth import get_user_model
    from django.db import connection

    from bench.timing import print_table
    from designs.models import UploadBatch
    from designs.services import design_batch_upload

    paths = batch_files()
    payload = [(path.name, path.read_bytes()) for path in paths]
    megabytes = sum(len(data) for _, data in payload) / 1e6
    rows = []
    for workers in (1, 2):
        owner = get_user_model().objects.create_user(f"bench-batch-{time.time_ns()}")
        cluster = subprocess.Popen([sys.executable, "manage.py", "qcluster"], cwd=REPO, start_new_session=True,
                                   env={**os.environ, "Q_WORKERS": str(workers)},
                                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            time.sleep(3)  # let the workers start before the clock does
            files = [received(name, data) for name, data in payload]
            started = time.perf_counter()
            result = design_batch_upload(owner=owner, files=files)
            request_s = time.perf_counter() - started
            for uploaded in files:
                uploaded.close()  # as Django does after a request; the stored ones were moved, not copied
            assert not result.rejected, result.rejected
            while True:
                connection.close()
                batch = UploadBatch.objects.get(pk=result.batch.pk)
                if batch.processed >= batch.total:
                    break
                time.sleep(0.2)
            total_s = time.perf_counter() - started
        finally:
            os.kill(cluster.pid, signal.SIGTERM)  # the main process stops its workers; the group may hold orphans
            try:
                cluster.wait(timeout=30)
            finally:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(cluster.pid, signal.SIGKILL)
        rows.append([workers, f"{request_s * 1000:.0f}", f"{total_s:.1f}", batch.ready, batch.failed])
    speedup = float(rows[0][2]) / float(rows[1][2])
    print(f"\nA {BATCH_FILES}-file batch ({megabytes:.0f} MB: 10 RGBA PNG 4500x5400, 40 JPEG 4000x3000) on "
          f"{connection.vendor}; upload service time (files already received) and upload-to-last-ready time\n")
    print_table(["workers", "upload request ms", "end to end s", "ready", "failed"], rows)
    print(f"\ntwo workers vs one: {speedup:.2f}x faster ({os.cpu_count()} cores)")


# --- Near-duplicate query at scale ------------------------------------------------------------------------------


VARIANTS = 5  # per artwork: itself, resized, JPEG re-encoded, cropped 5%, 5% brighter


def _artwork_variant_hashes(seed):
    """phashes of one generated artwork and its VARIANTS real variants (drawn at 128 px: phash looks at 32x32)."""
    import imagehash
    from PIL import Image, ImageDraw, ImageEnhance

    rng = random.Random(seed)
    image = Image.new("RGB", (128, 128), "white")
    draw = ImageDraw.Draw(image)
    for _ in range(rng.randrange(3, 9)):
        x0, y0 = rng.randrange(100), rng.randrange(100)
        box = (x0, y0, x0 + rng.randrange(7, 67), y0 + rng.randrange(7, 67))
        colour = (rng.randrange(256), rng.randrange(256), rng.randrange(256))
        (draw.ellipse if rng.random() < 0.5 else draw.rectangle)(box, fill=colour)
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=70)
    variants = [image, image.resize((85, 85)), Image.open(io.BytesIO(buffer.getvalue())),
                image.crop((3, 3, 125, 125)), ImageEnhance.Brightness(image).enhance(1.05)]
    return [int(str(imagehash.phash(variant)), 16) for variant in variants]


def real_variant_hashes(count):
    """`count` phashes of real image variants, VARIANTS consecutive ones per artwork: a library where most
    artworks are distinct and some come in a few versions, with the skew real phashes have (uniform random
    hashes would flatter the index). Cached in var/bench/, as drawing and hashing 10^6 images takes minutes."""
    from multiprocessing import Pool

    cache = REPO / "var" / "bench" / f"phashes-{count}.txt"
    if cache.exists():
        return [int(line, 16) for line in cache.read_text().split()]
    with Pool() as pool:
        chunks = pool.map(_artwork_variant_hashes, range(-(-count // VARIANTS)), chunksize=500)
    hashes = [value for chunk in chunks for value in chunk][:count]
    cache.parent.mkdir(parents=True, exist_ok=True)
    cache.write_text("\n".join(f"{value:016x}" for value in hashes))
    return hashes


def near_duplicate_queries(sizes):
    from django.contrib.auth import get_user_model
    from django.db import connection

    from bench.timing import print_table, summary
    from designs.models import Design
    from designs.services import near_duplicates
    from designs.similarity import hamming, to_signed64

    if connection.vendor != "postgresql":
        print("\nnear-duplicate bench skipped: it measures PostgreSQL (set DATABASE_URL)")
        return
    rng = random.Random(7)
    library_hashes = real_variant_hashes(max(sizes))
    owner, _ = get_user_model().objects.get_or_create(username="bench-library")
    rows = []
    for size in sizes:
        have = Design.objects.filter(owner=owner).count()
        if have < size:
            insert_library(owner, library_hashes[have:size])
            with connection.cursor() as cursor:
                cursor.execute("VACUUM ANALYZE designs_design")  # as autovacuum would: index-only scans need it
        queries = [library_hashes[rng.randrange(size)] for _ in range(QUERIES)]
        for distance in (6, 10):
            ours, matches = [], 0
            for query in queries:
                started = time.perf_counter()
                matches += len(near_duplicates(owner_id=owner.pk, phash=query, max_distance=distance))
                ours.append((time.perf_counter() - started) * 1000)
            scan = []
            for query in queries[:20]:
                started = time.perf_counter()
                with connection.cursor() as cursor:
                    cursor.execute("SELECT id FROM designs_design WHERE owner_id = %s AND "
                                   "bit_count((phash # %s)::bit(64)) <= %s", [owner.pk, to_signed64(query), distance])
                    cursor.fetchall()
                scan.append((time.perf_counter() - started) * 1000)
            started = time.perf_counter()
            library = list(Design.objects.filter(owner=owner).values_list("id", "phash"))
            load_ms = (time.perf_counter() - started) * 1000
            memory = []
            for query in queries[:20]:
                started = time.perf_counter()
                [pk for pk, value in library if hamming(query, value) <= distance]
                memory.append((time.perf_counter() - started) * 1000)
            del library
            our_median, our_p95 = summary(ours)
            scan_median, scan_p95 = summary(scan)
            memory_median, _ = summary(memory)
            rows.append([f"{size:,}", distance, f"{matches / len(queries):.1f}", f"{our_median:.2f}",
                         f"{our_p95:.2f}", f"{scan_median:.1f}", f"{scan_p95:.1f}",
                         f"{memory_median:.1f} (+{load_ms:.0f} load)", f"{scan_median / our_median:.0f}x"])
    print(f"\nNear-duplicate lookup on PostgreSQL, one owner's library of generated artworks in {VARIANTS} "
          f"real variants each; {QUERIES} queries per row (baselines: 20); ms\n")
    print_table(["designs", "distance", "matches/query", "index median", "index p95", "full scan median",
                 "full scan p95", "in-memory scan", "speed-up vs scan"], rows)
    upload_decisions(owner, library_hashes, sizes[-1], rng)


def upload_decisions(owner, library_hashes, size, rng):
    """The worker's whole duplicate decision for an upload (designs.services.find_near_duplicate): the candidate
    query with the phash and both crop probes, then the fingerprint comparison of the nearest candidates. Every
    candidate is given a fingerprint of another picture, so each one is compared and none ends the search."""
    import types

    from django.db import connection

    from bench.duplicates import encode, process
    from bench.timing import print_table, summary
    from designs.models import Design
    from designs.services import find_near_duplicate
    from designs.similarity import candidate_queries

    def flipped(value, bits):
        for bit in rng.sample(range(64), bits):
            value ^= 1 << bit
        return value

    from PIL import Image

    stored = process("bench", encode(Image.effect_mandelbrot((256, 256), (-2, -1.5, 1, 1.5), 100), "PNG"))
    query = process("query", encode(Image.radial_gradient("L").convert("RGB"), "PNG"))
    uploads = []
    for phash in (library_hashes[rng.randrange(size)] for _ in range(QUERIES)):
        uploads.append(types.SimpleNamespace(phash=phash, probe_hashes=(flipped(phash, 3), flipped(phash, 5)),
                                             fingerprint=query.processed.fingerprint, detail=query.processed.detail,
                                             dhash=0, colours=query.processed.colours))
    candidates = set()
    for upload in uploads:
        queries = candidate_queries(upload.phash, upload.probe_hashes)
        candidates.update(pk for pk, _ in Design.objects.phash_candidates_any(owner_id=owner.pk, queries=queries))
    Design.objects.filter(pk__in=candidates).update(fingerprint=stored.processed.fingerprint)
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE designs_design")  # the update left pages that index-only scans must visit
    design = types.SimpleNamespace(pk=None, owner_id=owner.pk)
    stage, whole = [], []
    for upload in uploads:
        queries = candidate_queries(upload.phash, upload.probe_hashes)
        started = time.perf_counter()
        Design.objects.phash_candidates_any(owner_id=owner.pk, queries=queries)
        stage.append((time.perf_counter() - started) * 1000)
        started = time.perf_counter()
        find_near_duplicate(design, upload)
        whole.append((time.perf_counter() - started) * 1000)
    print(f"\nUpload decision at {size:,} designs ({QUERIES} uploads, {len(candidates) / QUERIES:.1f} candidates "
          "each; budget: candidate stage p95 <= 3 ms, whole decision <= 10 ms); ms\n")
    print_table(["step", "median", "p95"], [["candidate query (phash + 2 crop probes)", *map("{:.2f}".format,
                                                                                          summary(stage))],
                                            ["whole decision (+ fingerprint comparison)", *map("{:.2f}".format,
                                                                                           summary(whole))]])


def insert_library(owner, hashes):
    """Ready designs of `owner` with these phashes (bulk COPY; no files behind them)."""
    import secrets
    import uuid

    from django.utils import timezone

    from designs.models import Design
    from designs.similarity import hash_chunks, to_signed64
    from ops.management.commands.seed_demo import _bulk_insert

    now = timezone.now()
    columns = ["id", "owner_id", "title", "original_name", "sha256", "format", "size_bytes", "width", "height",
               "status", "error", "attempts", "has_thumbnail", "thumb_width", "thumb_height", "phash", "dhash",
               "phash_0", "phash_1", "phash_2", "phash_3", "created_at", "updated_at"]
    rows = ((uuid.uuid4(), owner.pk, "bench", "bench.png", secrets.token_hex(32), "PNG", 0, 1, 1, "ready", "", 1,
             False, 0, 0, to_signed64(value), 0, *hash_chunks(value), now, now) for value in hashes)
    _bulk_insert(Design, columns, rows, total=len(hashes), label="library")
