"""Pure hash maths for near-duplicate search by multi-index hashing, and the colour check that follows it.

A 64-bit perceptual hash is permuted and split into CHUNKS chunks of CHUNK_BITS bits, each stored in an
indexed column. By the pigeonhole principle a hash within Hamming distance d of the query agrees with it within
d // CHUNKS bits on at least one chunk, so a query probes a few values per chunk index and then verifies the
candidates' full distance. Bits are numbered from the most significant (bit 0 = the hash's first bit).
"""

import math
from functools import cache
from itertools import combinations

HASH_BITS = 64
MASK64 = (1 << HASH_BITS) - 1
CHUNKS = 4
CHUNK_BITS = HASH_BITS // CHUNKS
CHUNK_MASK = (1 << CHUNK_BITS) - 1

# Permuted bit i is original bit BIT_PERMUTATION[i]; from random.Random(20240611).sample(range(64), 64), fixed
# forever (stored chunks depend on it). Real phashes are skewed: the first bit (the DC term) is always 1 and
# values such as 0xcc33 or 0x9999 crowd whole chunks, because neighbouring DCT bits are correlated. Spreading
# each chunk's bits over the whole hash cut the candidates of crowded chunks from 13x to 4-5x those of uniform
# hashes (measured on 10^6 real designs, DESIGN.md).
BIT_PERMUTATION = (
    43, 16, 51, 9, 23, 45, 48, 55, 59, 21, 1, 14, 44, 63, 19, 38,
    7, 3, 26, 22, 49, 57, 5, 11, 47, 53, 12, 20, 0, 15, 50, 33,
    58, 37, 6, 31, 52, 32, 54, 56, 25, 40, 13, 39, 42, 18, 8, 61,
    17, 29, 46, 24, 34, 2, 27, 35, 60, 62, 10, 4, 30, 28, 36, 41,
)  # fmt: skip


def to_signed64(unsigned):
    """The signed 64-bit integer (PostgreSQL/SQLite bigint) with the same bits as ``unsigned`` (0..2**64-1)."""
    if not 0 <= unsigned <= MASK64:
        raise ValueError(f"{unsigned} is not an unsigned 64-bit integer")
    return unsigned - (1 << HASH_BITS) if unsigned >> (HASH_BITS - 1) else unsigned


def to_unsigned64(signed):
    """The unsigned 64-bit integer with the same bits as ``signed`` (-2**63..2**63-1)."""
    if not -(1 << (HASH_BITS - 1)) <= signed < 1 << (HASH_BITS - 1):
        raise ValueError(f"{signed} is not a signed 64-bit integer")
    return signed & MASK64


def _move_bits(value, destination_of):
    """Bit i of ``value`` (counted from the most significant) moved to bit ``destination_of[i]``."""
    moved = 0
    for source, destination in enumerate(destination_of):
        if value >> (HASH_BITS - 1 - source) & 1:
            moved |= 1 << (HASH_BITS - 1 - destination)
    return moved


def _byte_tables(destination_of):
    """For each of the 8 bytes, the moved bits of all 256 values: a permutation is then 8 lookups and ORs."""
    return tuple(
        tuple(_move_bits(byte << (8 * (7 - k)), destination_of) for byte in range(256)) for k in range(8)
    )


_DESTINATION = tuple(BIT_PERMUTATION.index(source) for source in range(HASH_BITS))
_PERMUTE_TABLES = _byte_tables(_DESTINATION)
_UNPERMUTE_TABLES = _byte_tables(BIT_PERMUTATION)


def _apply(tables, value):
    result = 0
    for k, table in enumerate(tables):
        result |= table[value >> (8 * (7 - k)) & 0xFF]
    return result


def hash_chunks(hash64):
    """The permuted hash split into CHUNKS unsigned CHUNK_BITS-bit values, most significant first.

    Accepts the hash signed or unsigned: the same bits give the same chunks.
    """
    permuted = _apply(_PERMUTE_TABLES, hash64 & MASK64)
    return tuple(permuted >> (CHUNK_BITS * (CHUNKS - 1 - k)) & CHUNK_MASK for k in range(CHUNKS))


def hash_from_chunks(chunks):
    """The unsigned hash whose hash_chunks() are ``chunks`` (the inverse of hash_chunks)."""
    permuted = 0
    for chunk in chunks:
        permuted = permuted << CHUNK_BITS | chunk
    return _apply(_UNPERMUTE_TABLES, permuted)


def hamming(a, b):
    """Number of differing bits between two 64-bit hashes, each signed or unsigned."""
    return ((a ^ b) & MASK64).bit_count()


@cache
def _flip_masks(radius):
    """Every CHUNK_BITS-bit mask with at most ``radius`` bits set, the fewest flips first."""
    return tuple(
        sum(1 << bit for bit in bits)
        for count in range(radius + 1)
        for bits in combinations(range(CHUNK_BITS), count)
    )


def chunk_probes(hash64, max_distance, *, radius=None):
    """For each chunk index k, the chunk values to look up to find every hash within ``max_distance``.

    These are the values within radius max_distance // CHUNKS of the query's chunk k (17 per chunk for radius 1,
    137 for radius 2, 697 for 3): any hash within max_distance matches at least one of them. The candidates
    found still need verify_candidates().
    ``radius`` narrows the probes below the pigeonhole radius: then only the hashes that agree that closely on
    some chunk are found, most but not all of those within max_distance.
    """
    if max_distance < 0:
        raise ValueError("max_distance must be >= 0")
    full = max_distance // CHUNKS
    masks = _flip_masks(min(full if radius is None else min(radius, full), CHUNK_BITS))
    return [(k, [chunk ^ mask for mask in masks]) for k, chunk in enumerate(hash_chunks(hash64))]


def verify_candidates(query, candidates, max_distance):
    """``[(id, distance)]`` for candidates within ``max_distance`` of ``query``, nearest first, then by id.

    ``candidates`` is an iterable of ``(id, hash)`` pairs, hashes signed or unsigned; an id found through
    several chunks is reported once.
    """
    distances = {}
    for candidate_id, candidate_hash in candidates:
        if candidate_id not in distances:
            distances[candidate_id] = hamming(query, candidate_hash)
    return sorted(
        ((candidate_id, distance) for candidate_id, distance in distances.items() if distance <= max_distance),
        key=lambda pair: (pair[1], pair[0]),
    )


# Largest colour change in any cell for two designs to still be copies of each other: a resize or a JPEG re-encode
# moved a cell by 2-4, a 2% crop by 18-24, while red and blue swapped moved one by 56 to 215 (measured on the test
# artwork, RGB 0-255).
COLOUR_MAX_DISTANCE = 40


def colour_distance(a, b):
    """The largest distance (Euclidean, RGB) between the same cell of two colour signatures, or 0 when either is
    missing (designs processed before signatures existed): then the hashes alone decide, as they did."""
    if not a or not b:
        return 0.0
    a, b = bytes(a), bytes(b)  # PostgreSQL gives a memoryview
    return max(math.dist(a[i:i + 3], b[i:i + 3]) for i in range(0, min(len(a), len(b)), 3))


# The candidate stage, in phash bits: 3% crops of textured pictures moved phash 10-22 bits, but the hash of the
# upload with its edges extended by 3% (its original, if it is such a crop) came within 11 of the original in 47
# of 49 real pictures, and the hash of its centre (a crop of it) finds the other way round. A full radius-2 probe
# (137 values a chunk, for distances 8-11) took 12-20 ms at 10^6 designs; radius 1 (17 values) finds every hash
# within 7 and, since 8-11 differing bits rarely spread evenly over four chunks, most of those within 11.
# The crop probes look up only their own chunk values (radius 0): on the bench that flagged the same 45 of 49 crops
# as radius 1, with 19 instead of ~50 index probes a chunk (candidate stage at 10^6 designs: p95 4.6 -> 2.5 ms).
CANDIDATE_MAX_DISTANCE = 11
PADDED_PROBE_MAX_DISTANCE = 11
CROPPED_PROBE_MAX_DISTANCE = 7
CANDIDATE_CHUNK_RADIUS = 1
PROBE_CHUNK_RADIUS = 0
# Below this the unaligned 16x16 greys are too unlike to be worth aligning: the flagged 3% crops scored >= 0.71
# on the bench, copies of every other kind >= 0.9.
COARSE_MIN_CORRELATION = 0.5
GREY_MIN_CORRELATION = 0.91
CHROMA_MAX_DISTANCE = 25.0
MARK_CHROMA_MAX_DISTANCE = 25.0
MARKS_MIN_CORRELATION = 0.85
MARKS_MAX_OFFSET = 12  # of 255: the mark box may move this much (a 3% crop moves a corner mark by ~6)
MARKS_MAX_COLOUR = 40.0
# A turn must fit this much better than the best crop to count: copies turned 2-3 degrees gained 0.04-0.1, a
# watermarked text logo 0.014 (measured).
TURNED_MIN_GAIN = 0.03
SAME_PICTURE_CORRELATION = 0.995  # resized and re-encoded copies scored 0.984-1.0, watermarked ones from 0.92
LOW_DETAIL_GREY_STD = 12.0
LOW_DETAIL_MARK_AREA = 0.25


def candidate_queries(phash, probe_hashes=()):
    """``[(hash, max_distance, chunk_radius)]`` to look up for an upload: its own phash, then its crop probes
    (cropped, padded). ``chunk_radius`` narrows the chunk probes as in chunk_probes()."""
    probes = ((CROPPED_PROBE_MAX_DISTANCE, PROBE_CHUNK_RADIUS), (PADDED_PROBE_MAX_DISTANCE, PROBE_CHUNK_RADIUS))
    return [(phash, CANDIDATE_MAX_DISTANCE, CANDIDATE_CHUNK_RADIUS),
            *((value, *probe) for value, probe in zip(probe_hashes, probes, strict=False))]


def candidate_chunk_values(queries):
    """For each chunk index, the set of chunk values to probe for ``[(hash, max_distance, chunk_radius)]``."""
    values = [set() for _ in range(CHUNKS)]
    for phash, max_distance, radius in queries:
        for k, chunk_values in chunk_probes(phash, max_distance, radius=radius):
            values[k].update(chunk_values)
    return values


def matches_any(queries, candidate_hash, chunk_values=None):
    """Whether the candidate query for ``queries`` finds ``candidate_hash``: within the distance of one of them,
    and, given ``chunk_values`` (candidate_chunk_values()), sharing a probed chunk value."""
    if chunk_values is not None and not any(
            chunk in values for chunk, values in zip(hash_chunks(candidate_hash), chunk_values, strict=True)):
        return False
    return any(hamming(query, candidate_hash) <= distance for query, distance, _ in queries)


def duplicate_reason(comparison, *, distance, low_detail):
    """Why two designs are copies of each other (a few words a customer or staff reads), or None if they are not.

    ``comparison`` is imaging.fingerprint.compare() of the two; ``distance`` their phash bits apart.
    """
    turned = comparison.turned >= max(GREY_MIN_CORRELATION, comparison.grey + TURNED_MIN_GAIN)
    if ((comparison.grey < GREY_MIN_CORRELATION and not turned) or comparison.colour > CHROMA_MAX_DISTANCE
            or comparison.mark_colour > MARK_CHROMA_MAX_DISTANCE):
        return None
    if low_detail and comparison.mark_area < LOW_DETAIL_MARK_AREA and (
            comparison.marks < MARKS_MIN_CORRELATION or comparison.mark_offset > MARKS_MAX_OFFSET
            or comparison.mark_colour > MARKS_MAX_COLOUR):
        return None
    if turned:
        return "slightly turned copy"
    if comparison.crop < 1.0:
        return "cropped copy"
    return "same picture" if comparison.grey >= SAME_PICTURE_CORRELATION and comparison.colour <= 8 else "edited copy"


def duplicate_matches(query_fingerprint, candidates):
    """``[(id, distance, reason)]`` of the ``candidates`` (``(id, distance, fingerprint bytes)``) that are copies of
    the query, in their order. A candidate or query without a readable fingerprint is never a copy here."""
    from imaging.fingerprint import Fingerprint, coarse_correlation, compare

    query = Fingerprint.from_bytes(query_fingerprint)
    if query is None:
        return []
    low_detail = float(query.grey.std()) < LOW_DETAIL_GREY_STD
    matches = []
    for candidate_id, distance, stored in candidates:
        other = Fingerprint.from_bytes(stored)
        if other is None or coarse_correlation(query, other) < COARSE_MIN_CORRELATION:
            continue
        reason = duplicate_reason(compare(query, other), distance=distance,
                                  low_detail=low_detail or float(other.grey.std()) < LOW_DETAIL_GREY_STD)
        if reason:
            matches.append((candidate_id, distance, reason))
    return matches
