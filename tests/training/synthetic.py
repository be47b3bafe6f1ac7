"""Random pretraining batches with the data pipeline's exact structure."""

import numpy as np
import tensorflow as tf


def synthetic_arrays(
    seed,
    num_examples,
    seq_length=8,
    max_predictions=2,
    vocabulary_size=32,
    pad_predictions=True,
):
    """`(x, y, sample_weight)` NumPy arrays like `pretraining_dataset`'s."""
    rng = np.random.default_rng(seed)
    n = num_examples
    lengths = rng.integers(4, seq_length + 1, n)
    positions = np.arange(seq_length)
    padding_mask = (positions[None, :] < lengths[:, None]).astype("int32")
    token_ids = rng.integers(5, vocabulary_size, (n, seq_length)) * padding_mask
    token_ids[:, 0] = 2  # [CLS]
    segment_ids = (positions[None, :] >= lengths[:, None] // 2) * padding_mask
    mask_positions = np.stack(
        [rng.choice(np.arange(1, k), max_predictions, False) for k in lengths]
    )
    mask_weights = np.ones((n, max_predictions), "float32")
    if pad_predictions:
        mask_weights[::3, -1] = 0.0  # some padded prediction slots
    mask_positions = (mask_positions * mask_weights).astype("int32")
    x = {
        "token_ids": token_ids.astype("int32"),
        "segment_ids": segment_ids.astype("int32"),
        "padding_mask": padding_mask,
        "mask_positions": mask_positions,
    }
    y = {
        "masked_lm": (
            rng.integers(5, vocabulary_size, (n, max_predictions))
            * mask_weights
        ).astype("int32"),
        "next_sentence": rng.integers(0, 2, n).astype("int32"),
    }
    sample_weight = {
        "masked_lm": mask_weights,
        "next_sentence": np.ones(n, "float32"),
    }
    return x, y, sample_weight


def synthetic_dataset(seed, batch_size=4, num_batches=4, repeat=False, **kw):
    """A `tf.data.Dataset` of `num_batches` static-shape batches."""
    arrays = synthetic_arrays(seed, batch_size * num_batches, **kw)
    ds = tf.data.Dataset.from_tensor_slices(arrays)
    if repeat:
        ds = ds.repeat()
    return ds.batch(batch_size, drop_remainder=True)
