"""`SentencePairGenerator`: the paper's pair semantics, with pinned rates."""

import random

import pytest

from keras_bert_impl.data import SentencePairGenerator
from keras_bert_impl.data.pairs import truncate_pair

# Sentences of distinct ids, so any run of tokens locates itself.
DOC = [list(range(10 * i, 10 * i + 3 + i % 4)) for i in range(1, 30)]
OTHER = [list(range(1000 + 10 * i, 1000 + 10 * i + 5)) for i in range(20)]
FLAT = [t for s in DOC for t in s]


def _contiguous(run, flat):
    start = flat.index(run[0])
    return flat[start : start + len(run)] == run


def _pairs(generator, seed=0, doc=DOC):
    return list(generator.pairs(doc, OTHER, random.Random(seed)))


def test_real_continuations_only():
    gen = SentencePairGenerator(32, short_seq_prob=0.0, nsp_prob=0.0)
    pairs = _pairs(gen)
    assert pairs and not any(r for _, _, r in pairs)
    for a, b, _ in pairs:
        assert len(a) + len(b) <= 29
        assert _contiguous(a, FLAT) and _contiguous(b, FLAT)
        assert FLAT.index(a[-1]) < FLAT.index(b[0])  # B after A
    # Chunks are consumed in order and (untruncated) start on a sentence.
    starts = [FLAT.index(a[0]) for a, _, _ in pairs]
    assert starts == sorted(starts)


def test_random_b_only_from_the_other_document():
    gen = SentencePairGenerator(32, short_seq_prob=0.0, nsp_prob=1.0)
    pairs = _pairs(gen)
    other = {t for s in OTHER for t in s}
    assert pairs and all(r for _, _, r in pairs)
    for a, b, _ in pairs:
        assert set(b) <= other and set(a) <= set(FLAT)
    # The unused part of a chunk goes back: the whole document is still
    # covered by A segments.
    covered = {t for a, _, _ in pairs for t in a}
    assert len(covered) > 0.6 * len(FLAT)


def test_target_length_and_short_sequences():
    full = SentencePairGenerator(64, short_seq_prob=0.0, nsp_prob=0.0)
    short = SentencePairGenerator(64, short_seq_prob=1.0, nsp_prob=0.0)
    n_full = len(_pairs(full))
    n_short = sum(len(_pairs(short, seed)) for seed in range(20)) / 20
    assert n_short > n_full  # shorter targets make more, shorter pairs
    for seed in range(20):
        for a, b, _ in _pairs(short, seed):
            assert len(a) + len(b) <= 61


def test_one_sentence_document_still_pairs():
    gen = SentencePairGenerator(16, short_seq_prob=0.0, nsp_prob=0.0)
    (a, b, random_next), = _pairs(gen, doc=[[5, 6, 7, 8]])  # fmt: skip
    assert a + b == [5, 6, 7, 8] and a and b and not random_next
    assert _pairs(gen, doc=[[5]]) == []  # one token: no real pair
    assert _pairs(gen, doc=[]) == []


def test_long_sentence_is_truncated():
    gen = SentencePairGenerator(16, short_seq_prob=0.0, nsp_prob=0.0)
    long = [list(range(100, 200)), list(range(300, 320))]
    for seed in range(10):
        for a, b, _ in _pairs(gen, seed, doc=long):
            assert len(a) + len(b) == 13
            assert _contiguous(a, long[0] + long[1])


def test_truncate_pair_trims_the_longer_at_both_ends():
    ends = set()
    for seed in range(20):
        a, b = list(range(10)), [50, 51]
        truncate_pair(a, b, 8, random.Random(seed))
        assert b == [50, 51] and len(a) == 6 and _contiguous(a, list(range(10)))
        ends.add((a[0] > 0, a[-1] < 9))
    assert (True, True) in ends  # cut at the front and at the back


@pytest.mark.parametrize(
    "kwargs", [{"max_seq_length": 4}, {"max_seq_length": 8, "nsp_prob": 2}]
)
def test_invalid_arguments(kwargs):
    with pytest.raises(ValueError):
        SentencePairGenerator(**kwargs)
