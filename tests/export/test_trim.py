"""Truncation in the serving graph equals tensorflow-text's round robin.

`round_robin_trim` (core TensorFlow ops, so TF Serving images with an older
tensorflow-text can load the export) is compared with
`tf_text.RoundRobinTrimmer` on random segment lengths and budgets.
"""

import numpy as np
import pytest
import tensorflow as tf
import tensorflow_text as tf_text

from keras_bert_impl.tokenization.packing import round_robin_trim


def _ragged(lengths, offset):
    values = [list(range(offset, offset + n)) for n in lengths]
    return tf.ragged.constant(values, tf.int32, ragged_rank=1)


def test_round_robin_trim_matches_tensorflow_text():
    rng = np.random.default_rng(0)
    for _ in range(12):
        batch = int(rng.integers(1, 5))
        first = _ragged(rng.integers(0, 12, batch), 0)
        second = _ragged(rng.integers(0, 12, batch), 100)
        budget = int(rng.integers(1, 15))
        for segments in (
            [first],
            [first, second],
            [
                first.with_row_splits_dtype(tf.int32),
                second.with_row_splits_dtype(tf.int32),
            ],
        ):
            want = tf_text.RoundRobinTrimmer(budget).trim(segments)
            got = round_robin_trim(segments, budget)
            for w, g in zip(want, got, strict=True):
                assert g.to_list() == w.to_list(), (segments, budget)


def test_round_robin_trim_examples():
    a, b = _ragged([5, 1, 6], 0), _ragged([5, 6, 1], 100)
    trimmed = round_robin_trim([a, b], 5)
    got = [s.row_lengths().numpy().tolist() for s in trimmed]
    assert got == [[3, 1, 4], [2, 4, 1]]  # odd budget: first keeps one more
    with pytest.raises(ValueError, match="1 or 2 segments"):
        round_robin_trim([a, a, a], 5)
