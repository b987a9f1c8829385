"""designs.similarity: signed storage, permuted chunks and the pigeonhole guarantee of the probes."""

import random

import pytest

from designs.similarity import (
    BIT_PERMUTATION,
    CHUNK_BITS,
    CHUNKS,
    MASK64,
    chunk_probes,
    hamming,
    hash_chunks,
    hash_from_chunks,
    to_signed64,
    to_unsigned64,
    verify_candidates,
)

SEED = 20240611


def flip_bits(value, count, rng):
    for bit in rng.sample(range(64), count):
        value ^= 1 << bit
    return value


def test_bit_permutation_is_a_permutation_of_64_positions():
    assert sorted(BIT_PERMUTATION) == list(range(64))
    assert BIT_PERMUTATION != tuple(range(64))
    assert CHUNKS * CHUNK_BITS == 64


@pytest.mark.parametrize(
    ("unsigned", "signed"),
    [
        (0, 0), (1, 1), (2**63 - 1, 2**63 - 1), (2**63, -(2**63)), (MASK64, -1),
        (0xEB96_BCE4_8562_9B09, -0x1469_431B_7A9D_64F7),  # a real phash: the top bit is always set
    ],
)
def test_signed_and_unsigned_forms_convert_both_ways(unsigned, signed):
    assert to_signed64(unsigned) == signed
    assert to_unsigned64(signed) == unsigned


def test_signed_roundtrip_on_random_hashes():
    rng = random.Random(SEED)
    for _ in range(1000):
        value = rng.getrandbits(64)
        assert to_unsigned64(to_signed64(value)) == value
        assert -(2**63) <= to_signed64(value) < 2**63


@pytest.mark.parametrize("bad", [-1, 2**64])
def test_to_signed64_refuses_values_that_do_not_fit(bad):
    with pytest.raises(ValueError):
        to_signed64(bad)


@pytest.mark.parametrize("bad", [2**63, -(2**63) - 1])
def test_to_unsigned64_refuses_values_that_do_not_fit(bad):
    with pytest.raises(ValueError):
        to_unsigned64(bad)


def test_chunks_are_16_bit_and_roundtrip():
    rng = random.Random(SEED)
    for _ in range(1000):
        value = rng.getrandbits(64)
        chunks = hash_chunks(value)
        assert len(chunks) == CHUNKS and all(0 <= chunk < 2**CHUNK_BITS for chunk in chunks)
        assert hash_from_chunks(chunks) == value
        assert hash_chunks(to_signed64(value)) == chunks  # the stored signed form gives the same chunks


def test_chunks_follow_the_permutation():
    # Original bit BIT_PERMUTATION[i] (bit 0 = most significant) lands at bit i of the concatenated chunks.
    for i, source in enumerate(BIT_PERMUTATION):
        chunks = hash_chunks(1 << (63 - source))
        concatenated = sum(chunk << (CHUNK_BITS * (CHUNKS - 1 - k)) for k, chunk in enumerate(chunks))
        assert concatenated == 1 << (63 - i)


def test_permutation_spreads_the_always_set_top_bit_and_neighbouring_bits():
    # The DC bit and its correlated neighbours must not all land in the first chunk, as they would unpermuted.
    chunk_of_bit = {source: i // CHUNK_BITS for i, source in enumerate(BIT_PERMUTATION)}

    assert len({chunk_of_bit[bit] for bit in range(8)}) >= 3


def test_hamming_counts_differing_bits_for_signed_and_unsigned_inputs():
    assert hamming(0, 0) == 0
    assert hamming(0, MASK64) == 64
    assert hamming(0b1011, 0b0001) == 2
    assert hamming(-1, MASK64) == 0
    assert hamming(to_signed64(0x8000_0000_0000_0001), 1) == 1


def test_probe_counts_per_radius():
    for max_distance, per_chunk in [(0, 1), (3, 1), (4, 17), (6, 17), (8, 137), (10, 137), (12, 697)]:
        probes = chunk_probes(0x0123_4567_89AB_CDEF, max_distance)
        assert [k for k, _ in probes] == list(range(CHUNKS))
        assert [len(values) for _, values in probes] == [per_chunk] * CHUNKS
        assert all(len(set(values)) == len(values) for _, values in probes)


def test_probes_start_with_the_exact_chunk_and_stay_within_the_radius():
    query = 0xEB96_BCE4_8562_9B09
    for (_, values), chunk in zip(chunk_probes(query, 10), hash_chunks(query), strict=True):
        assert values[0] == chunk
        assert all(0 <= value < 2**CHUNK_BITS and (value ^ chunk).bit_count() <= 2 for value in values)


def test_negative_distance_is_refused():
    with pytest.raises(ValueError):
        chunk_probes(0, -1)


def test_pigeonhole_every_hash_within_the_distance_matches_a_probe():
    rng = random.Random(SEED)
    for trial in range(3000):
        max_distance = rng.choice([4, 6, 8, 10])
        query = rng.getrandbits(64)
        near = flip_bits(query, rng.randint(0, max_distance), rng)
        probes = chunk_probes(query if trial % 2 else to_signed64(query), max_distance)
        near_chunks = hash_chunks(near)

        assert any(near_chunks[k] in values for k, values in probes), (query, near, max_distance)


def test_pigeonhole_holds_for_adversarial_spreads():
    # The worst case spreads the differing bits evenly over the chunks, right at the radius + 1 in three of them.
    rng = random.Random(SEED)
    position = {source: i for i, source in enumerate(BIT_PERMUTATION)}
    for _ in range(500):
        query = rng.getrandbits(64)
        max_distance = 7  # radius 1: chunks may differ by 2, 2, 2 and then only 1
        by_chunk = [[bit for bit in range(64) if position[bit] // CHUNK_BITS == k] for k in range(CHUNKS)]
        flips = [*rng.sample(by_chunk[0], 2), *rng.sample(by_chunk[1], 2), *rng.sample(by_chunk[2], 2),
                 *rng.sample(by_chunk[3], 1)]
        near = query
        for bit in flips:
            near ^= 1 << (63 - bit)
        assert hamming(query, near) == max_distance

        matched = [k for k, values in chunk_probes(query, max_distance) if hash_chunks(near)[k] in values]

        assert matched == [3]


def test_verify_keeps_the_candidates_within_the_distance_nearest_first():
    rng = random.Random(SEED)
    query = rng.getrandbits(64)
    at = {name: flip_bits(query, distance, rng) for name, distance in [("a", 3), ("b", 0), ("c", 7), ("d", 3)]}
    candidates = [("c", at["c"]), ("d", to_signed64(at["d"])), ("a", at["a"]), ("b", at["b"]), ("a", at["a"])]

    assert verify_candidates(query, candidates, 6) == [("b", 0), ("a", 3), ("d", 3)]
    assert verify_candidates(to_signed64(query), iter(candidates), 7)[-1] == ("c", 7)
    assert verify_candidates(query, [], 6) == []


def test_colour_distance_is_the_largest_cell_change_and_zero_when_a_signature_is_missing():
    from designs.similarity import colour_distance

    grey = bytes([128] * 48)
    one_cell_red = bytes([255, 0, 0]) + grey[3:]
    assert colour_distance(grey, grey) == 0
    assert colour_distance(grey, one_cell_red) == pytest.approx((127**2 + 128**2 + 128**2) ** 0.5)
    assert colour_distance(memoryview(grey), one_cell_red) == colour_distance(grey, one_cell_red)  # as PostgreSQL
    assert colour_distance(None, grey) == colour_distance(grey, b"") == 0  # processed before signatures existed


def test_a_narrower_radius_finds_a_far_hash_only_where_one_chunk_agrees_closely():
    from designs.similarity import candidate_chunk_values, matches_any

    rng = random.Random(SEED)
    query = rng.getrandbits(64)
    position = {source: BIT_PERMUTATION.index(source) for source in range(64)}
    by_chunk = [[bit for bit in range(64) if position[bit] // CHUNK_BITS == k] for k in range(CHUNKS)]

    def flipped(per_chunk):
        near = query
        for k, count in enumerate(per_chunk):
            for bit in rng.sample(by_chunk[k], count):
                near ^= 1 << (63 - bit)
        return near

    assert [len(values) for _, values in chunk_probes(query, 11, radius=1)] == [17] * CHUNKS
    assert chunk_probes(query, 5, radius=3) == chunk_probes(query, 5)  # never wider than the pigeonhole radius
    values = candidate_chunk_values([(query, 11, 1)])
    uneven, even = flipped([1, 4, 4, 2]), flipped([3, 3, 3, 2])
    assert hamming(query, uneven) == hamming(query, even) == 11
    assert matches_any([(query, 11, 1)], uneven, values)
    assert not matches_any([(query, 11, 1)], even, values)
    assert matches_any([(query, 11, 1)], even)  # the exact search finds it
    assert not matches_any([(query, 10, 1)], uneven, values)
