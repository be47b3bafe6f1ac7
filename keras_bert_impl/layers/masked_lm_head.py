"""The masked-language-model head of BERT pretraining."""

import keras
from keras import ops

from keras_bert_impl.layers.initializers import activation_fn
from keras_bert_impl.layers.initializers import truncated_normal


@keras.saving.register_keras_serializable(package="keras_bert_impl")
class BertMaskedLMHead(keras.layers.Layer):
    """Vocabulary logits at the masked positions only.

    Gathers the hidden vectors at `mask_positions` first, so the
    `hidden_dim × vocabulary_size` projection runs on the ~15% of positions
    that carry a prediction, then applies `LayerNorm(act(W · x + b))` and
    the output projection. With `token_embedding` given (a
    `keras.layers.ReversibleEmbedding`), the projection is the transposed
    token-embedding matrix (weight tying, as in the paper), plus this
    layer's own `output_bias`; otherwise the layer owns an output kernel.

    Args:
        vocabulary_size: int. Number of output logits.
        activation: str. Transform activation, as `BertConfig`'s
            `hidden_activation`. Defaults to `"gelu"`.
        layer_norm_epsilon: float. Defaults to `1e-12`.
        initializer_range: float. Defaults to `0.02`.
        token_embedding: optional `keras.layers.ReversibleEmbedding` to tie
            the output projection to. Not serialized: a model that ties
            (e.g. `BertPretrainer`) passes it again when rebuilt.
        **kwargs: Forwarded to `keras.layers.Layer`.

    Call arguments:
        sequence_output: float tensor `(batch_size, seq_len, hidden_dim)`.
        mask_positions: int tensor `(batch_size, num_predictions)`, the
            positions to predict. `None` predicts at every position.

    Returns:
        Float logits of shape `(batch_size, num_predictions,
        vocabulary_size)` (or `(batch_size, seq_len, vocabulary_size)`).

    Example:
    >>> head = BertMaskedLMHead(vocabulary_size=10)
    >>> x = np.ones((2, 6, 8), "float32")
    >>> tuple(head(x, mask_positions=np.array([[1, 2], [0, 5]])).shape)
    (2, 2, 10)
    """

    def __init__(
        self,
        vocabulary_size,
        activation="gelu",
        layer_norm_epsilon=1e-12,
        initializer_range=0.02,
        token_embedding=None,
        **kwargs,
    ):
        if not isinstance(vocabulary_size, int) or vocabulary_size <= 0:
            raise ValueError(
                "`vocabulary_size` must be a positive integer. Received: "
                f"vocabulary_size={vocabulary_size!r}"
            )
        if token_embedding is not None and (
            token_embedding.input_dim != vocabulary_size
        ):
            raise ValueError(
                "`token_embedding` has a vocabulary of "
                f"{token_embedding.input_dim}, the head expects "
                f"vocabulary_size={vocabulary_size}."
            )
        self._activation_fn = activation_fn(activation)
        super().__init__(**kwargs)
        self.vocabulary_size = vocabulary_size
        self.activation = activation
        self.layer_norm_epsilon = layer_norm_epsilon
        self.initializer_range = initializer_range
        self.token_embedding = token_embedding
        self.transform_dense = None  # width known in build()
        self.layer_norm = keras.layers.LayerNormalization(
            epsilon=layer_norm_epsilon,
            dtype=self.dtype_policy,
            name="layer_norm",
        )

    def build(self, sequence_output_shape, mask_positions_shape=None):
        hidden_dim = sequence_output_shape[-1]
        self.transform_dense = keras.layers.Dense(
            hidden_dim,
            kernel_initializer=truncated_normal(self.initializer_range),
            dtype=self.dtype_policy,
            name="transform_dense",
        )
        self.transform_dense.build(sequence_output_shape)
        self.layer_norm.build(sequence_output_shape)
        if self.token_embedding is None:
            self.output_kernel = self.add_weight(
                name="output_kernel",
                shape=(hidden_dim, self.vocabulary_size),
                initializer=truncated_normal(self.initializer_range),
            )
        self.output_bias = self.add_weight(
            name="output_bias",
            shape=(self.vocabulary_size,),
            initializer="zeros",
        )
        self.built = True

    def call(self, sequence_output, mask_positions=None):
        x = sequence_output
        if mask_positions is not None:
            positions = ops.cast(mask_positions, "int32")[:, :, None]
            x = ops.take_along_axis(x, positions, axis=1)
        x = self.layer_norm(self._activation_fn(self.transform_dense(x)))
        if self.token_embedding is not None:
            logits = self.token_embedding(x, reverse=True)
        else:
            logits = ops.matmul(x, ops.cast(self.output_kernel, x.dtype))
        return logits + ops.cast(self.output_bias, logits.dtype)

    def compute_output_shape(
        self, sequence_output_shape, mask_positions_shape=None
    ):
        if mask_positions_shape is None:
            return tuple(sequence_output_shape[:-1]) + (self.vocabulary_size,)
        return tuple(mask_positions_shape) + (self.vocabulary_size,)

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "vocabulary_size": self.vocabulary_size,
                "activation": self.activation,
                "layer_norm_epsilon": self.layer_norm_epsilon,
                "initializer_range": self.initializer_range,
            }
        )
        return config
