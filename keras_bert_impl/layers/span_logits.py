"""`SplitSpanLogits`: one `(batch, seq, 2)` head into start and end logits."""

import keras


class SplitSpanLogits(keras.layers.Layer):
    """`(batch_size, seq_len, 2)` -> start and end logits, each
    `(batch_size, seq_len)`.

    The last layer of `BertQuestionAnswering`.

    Example:
    >>> start, end = SplitSpanLogits()(np.zeros((2, 5, 2), "float32"))
    >>> tuple(start.shape), tuple(end.shape)
    ((2, 5), (2, 5))
    """

    def call(self, logits):
        return logits[..., 0], logits[..., 1]

    def compute_output_shape(self, shape):
        return tuple(shape[:-1]), tuple(shape[:-1])
