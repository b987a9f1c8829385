"""`python -m bench duplicates`: does the duplicate flag find real copies and leave different pictures alone?

Every base is a real photograph or piece of artwork shipped inside a well-known package (bench/duplicates/
sources.py); the copies and look-alikes are made from them here, in memory, each encoded as a file and sent
through the worker's own processing (imaging.processing.process_image). The library holds every base; each copy
is then looked up as an upload would be. Columns: the duplicate flag as the worker now decides it, as it decided
before this bench existed (phash <= 6, dhash for near-blank, 16-cell colour check), the design page's "similar"
list, and plain imagehash.phash <= 10 of the decoded file.

    python -m bench duplicates [--cache DIR]    # archives are fetched once with pip into DIR (var/bench/sources)
"""

import argparse
import io
import random
import time
from dataclasses import dataclass
from pathlib import Path

import imagehash
from PIL import Image

from bench.duplicates import sources, variants

REPO = Path(__file__).resolve().parents[2]
NEAR_BLANK_PAIRS = 12
OLD_DUPLICATE_DISTANCE, OLD_LOW_DETAIL, OLD_COLOUR_MAX = 6, 8.0, 40  # the rule before issue 18
REFERENCE_DISTANCE = 10


@dataclass
class Entry:
    label: str
    processed: object  # imaging.processing.ProcessedImage
    plain_phash: imagehash.ImageHash


def encode(image, fmt, **params):
    buffer = io.BytesIO()
    if fmt == "JPEG" and image.mode == "RGBA":
        image = variants._flat(image)
    image.save(buffer, fmt, **params)
    return buffer.getvalue()


def process(label, data):
    from imaging.processing import process_image

    processed = process_image(io.BytesIO(data), thumbnail_sizes=(256, 640))
    return Entry(label, processed, imagehash.phash(variants._flat(Image.open(io.BytesIO(data)).convert("RGBA"))))


def _differs(first, second, level):
    """Whether two same-size pictures differ by more than `level` grey levels somewhere that matters (95th pct)."""
    import numpy as np

    a = np.asarray(variants._flat(first.convert("RGBA")), np.int16)
    b = np.asarray(variants._flat(second.convert("RGBA")), np.int16)
    return float(np.percentile(np.abs(a - b).max(axis=-1), 95)) > level


def build(cache):
    """(library entries, [(kind, expected label or None, entry)] queries)."""
    rng = random.Random(18)
    bases = sources.load_bases(cache)
    library, queries = [], []
    for base in bases:
        library.append(process(base.label, encode(base.image, "PNG")))
        for kind, (make, _) in variants.COPIES.items():
            if kind == "JPEG quality 60":
                data = encode(base.image, "JPEG", quality=60)
            elif kind == "WebP re-save":
                data = encode(base.image, "WEBP", quality=80)
            elif kind == "logo on another background" and base.image.mode != "RGBA":
                continue
            else:
                data = encode(make(base.image, rng), "PNG")
            queries.append((kind, base.label, process(f"{base.label} {kind}", data)))
        for kind, make in variants.LOOK_ALIKES.items():
            other = make(base.image, rng)
            if _differs(base.image, other, 40):  # a grey picture turned or a symmetric one mirrored is the same
                queries.append((kind, None, process(f"{base.label} {kind}", encode(other, "PNG"))))
        if base.stereo_partner is not None:
            queries.append(("other eye of a stereo pair", None,
                            process(f"{base.label} right", encode(base.stereo_partner, "JPEG", quality=90))))
    for index, (kind, first, second) in enumerate(variants.near_blank_pairs(rng, NEAR_BLANK_PAIRS)):
        label = f"near-blank {index} {kind}"
        library.append(process(label, encode(first, "PNG")))
        copy = encode(variants.resize_half(first, rng), "PNG")
        queries.append(("near-blank: 50% copy", label, process(f"{label} copy", copy)))
        queries.append(("near-blank: other mark, same corner", None, process(f"{label} other", encode(second, "PNG"))))
    return library, queries


def old_flag(query, library):
    from designs.similarity import colour_distance, hamming

    matches = sorted((hamming(query.processed.phash, entry.processed.phash), entry.label) for entry in library
                     if hamming(query.processed.phash, entry.processed.phash) <= OLD_DUPLICATE_DISTANCE)
    by_label = {entry.label: entry for entry in library}
    for _, label in matches:
        other = by_label[label].processed
        if ((query.processed.detail >= OLD_LOW_DETAIL
             or hamming(other.dhash, query.processed.dhash) <= OLD_DUPLICATE_DISTANCE)
                and colour_distance(other.colours, query.processed.colours) <= OLD_COLOUR_MAX):
            return label
    return None


def new_flag(query, library, timings):
    from designs import similarity

    queries = similarity.candidate_queries(query.processed.phash, query.processed.probe_hashes)
    chunk_values = similarity.candidate_chunk_values(queries)
    candidates = [(entry.label, similarity.hamming(query.processed.phash, entry.processed.phash),
                   entry.processed.fingerprint) for entry in library
                  if similarity.matches_any(queries, entry.processed.phash, chunk_values)]
    started = time.perf_counter()
    matches = similarity.duplicate_matches(query.processed.fingerprint, sorted(candidates, key=lambda c: c[1]))
    timings.append((time.perf_counter() - started) * 1000)
    return matches[0][0] if matches else None


def main():
    import django

    django.setup()
    from designs import similarity
    from designs.selectors import SIMILAR_MAX_DISTANCE

    parser = argparse.ArgumentParser(prog="python -m bench duplicates")
    parser.add_argument("--cache", default=str(REPO / "var" / "bench" / "sources"))
    parser.add_argument("--misses", action="store_true", help="name every upload the flag got wrong")
    parser.add_argument("--reuse", help=argparse.SUPPRESS)  # a pickle of the built set, while tuning
    args = parser.parse_args()
    started = time.perf_counter()
    if args.reuse and Path(args.reuse).exists():
        import pickle

        library, queries = pickle.loads(Path(args.reuse).read_bytes())
    else:
        library, queries = build(args.cache)
        if args.reuse:
            import pickle

            Path(args.reuse).write_bytes(pickle.dumps((library, queries)))
    built_s = time.perf_counter() - started
    rows, timings, kinds = [], [], {}
    for kind, expected, query in queries:
        kinds.setdefault(kind, []).append((expected, query))
    totals = {"new": 0, "old": 0, "reference": 0}
    for kind, items in kinds.items():
        counts = {"new": 0, "old": 0, "similar": 0, "reference": 0}
        wrong = {"new": 0, "old": 0, "reference": 0}
        for expected, query in items:
            nearest = min(library, key=lambda entry: query.plain_phash - entry.plain_phash)
            flags = {"new": new_flag(query, library, timings), "old": old_flag(query, library),
                     "reference": nearest.label if query.plain_phash - nearest.plain_phash <= REFERENCE_DISTANCE
                     else None}
            for name, flagged in flags.items():
                if flagged is not None and flagged == expected:
                    counts[name] += 1
                elif flagged is not None:
                    wrong[name] += 1
                if name == "new" and args.misses and flagged != expected:
                    print(f"  {'missed' if flagged is None else 'WRONG'}: {query.label} (flagged {flagged})")
            if expected is not None:
                base = next(entry for entry in library if entry.label == expected)
                distance = similarity.hamming(base.processed.phash, query.processed.phash)
                counts["similar"] += distance <= SIMILAR_MAX_DISTANCE
        for name in totals:
            totals[name] += wrong[name]
        size = len(items)
        if items[0][0] is None:
            rows.append([kind, size, "-", "-", "-", "-", wrong["new"], wrong["old"], wrong["reference"]])
        else:
            goal = next((g for k, (_, g) in variants.COPIES.items() if k == kind), None)
            rows.append([kind, size, f"{counts['new']}/{size}" + (f" (>= {goal:.0%})" if goal else ""),
                         f"{counts['old']}/{size}", f"{counts['similar']}/{size}", f"{counts['reference']}/{size}",
                         wrong["new"], wrong["old"], wrong["reference"]])
    from bench.timing import print_table, summary

    sources_named = sorted({entry.label.split("/")[0] for entry in library if "/" in entry.label})
    print(f"\nDuplicate flag on {len(library)} library designs ({len(library) - NEAR_BLANK_PAIRS} real bases from "
          f"{', '.join(sources_named)}; {NEAR_BLANK_PAIRS} near-blank) and {len(queries)} uploads "
          f"(built and processed in {built_s:.0f} s)\n")
    print_table(["variant", "files", "flagged (now)", "flagged (before)", "similar list", "phash <= 10",
                 "false dup (now)", "false dup (before)", "false dup (phash <= 10)"], rows)
    median, p95 = summary(timings)
    print(f"\nfalse duplicates in all: now {totals['new']}, before {totals['old']}, phash <= 10 {totals['reference']}; "
          f"second stage per upload: median {median:.2f} ms, p95 {p95:.2f} ms (candidates within "
          f"{similarity.CANDIDATE_MAX_DISTANCE} bits)")
