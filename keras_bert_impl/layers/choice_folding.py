"""Folding the choice axis of multiple choice in and out of the batch.

`FoldChoices` turns `(batch_size, num_choices, seq_len)` inputs into
`(batch_size × num_choices, seq_len)` rows the encoder takes;
`UnfoldChoices` turns the per-row scores back into
`(batch_size, num_choices)` logits. Used by `BertMultipleChoice`.
"""

import keras
from keras import ops


class FoldChoices(keras.layers.Layer):
    """`(batch_size, num_choices, seq_len)` -> `(batch_size × num_choices,
    seq_len)`.

    Example:
    >>> tuple(FoldChoices()(np.zeros((2, 4, 6), "int32")).shape)
    (8, 6)
    """

    def call(self, x):
        return ops.reshape(x, (-1, ops.shape(x)[-1]))

    def compute_output_shape(self, shape):
        rows = None if None in shape[:2] else shape[0] * shape[1]
        return (rows, shape[-1])


class UnfoldChoices(keras.layers.Layer):
    """Scores `(batch_size × num_choices, 1)` -> `(batch_size,
    num_choices)`, the choice axis read from `token_ids`.

    Example:
    >>> scores = np.arange(8, dtype="float32").reshape(8, 1)
    >>> tuple(UnfoldChoices()(scores, np.zeros((2, 4, 6), "int32")).shape)
    (2, 4)
    """

    def call(self, scores, token_ids):
        shape = ops.shape(token_ids)
        return ops.reshape(scores, (shape[0], shape[1]))

    def compute_output_shape(self, scores_shape, token_ids_shape):
        return tuple(token_ids_shape[:2])
