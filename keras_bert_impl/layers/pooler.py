"""The BERT pooler: a tanh dense layer on the `[CLS]` position."""

import keras

from keras_bert_impl.layers.initializers import truncated_normal


@keras.saving.register_keras_serializable(package="keras_bert_impl")
class BertPooler(keras.layers.Layer):
    """Takes the first (`[CLS]`) position and applies `tanh(W · x + b)`.

    Args:
        hidden_dim: int. Output width (equal to the input width in BERT).
        initializer_range: float. Defaults to `0.02`.
        **kwargs: Forwarded to `keras.layers.Layer`.

    Call arguments:
        sequence_output: float tensor `(batch_size, seq_len, hidden_dim)`.

    Returns:
        Float tensor of shape `(batch_size, hidden_dim)`.

    Example:
    >>> pooler = BertPooler(hidden_dim=8)
    >>> tuple(pooler(np.ones((2, 5, 8), "float32")).shape)
    (2, 8)
    """

    def __init__(self, hidden_dim, initializer_range=0.02, **kwargs):
        if not isinstance(hidden_dim, int) or hidden_dim <= 0:
            raise ValueError(
                "`hidden_dim` must be a positive integer. Received: "
                f"hidden_dim={hidden_dim!r}"
            )
        super().__init__(**kwargs)
        self.hidden_dim = hidden_dim
        self.initializer_range = initializer_range
        self.dense = keras.layers.Dense(
            hidden_dim,
            activation="tanh",
            kernel_initializer=truncated_normal(initializer_range),
            dtype=self.dtype_policy,
            name="pooled_dense",
        )

    def build(self, sequence_output_shape):
        self.dense.build((sequence_output_shape[0], sequence_output_shape[-1]))
        self.built = True

    def call(self, sequence_output):
        return self.dense(sequence_output[:, 0, :])

    def compute_output_shape(self, sequence_output_shape):
        return (sequence_output_shape[0], self.hidden_dim)

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "hidden_dim": self.hidden_dim,
                "initializer_range": self.initializer_range,
            }
        )
        return config
