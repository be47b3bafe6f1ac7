"""The BERT embedding sum: token + segment + learned position, normalized."""

import keras
from keras import ops

from keras_bert_impl.layers.dropout import Dropout
from keras_bert_impl.layers.initializers import truncated_normal


@keras.saving.register_keras_serializable(package="keras_bert_impl")
class BertEmbedding(keras.layers.Layer):
    """Sum of token, segment and position embeddings, then LayerNorm, dropout.

    The token embedding is a `keras.layers.ReversibleEmbedding`, so the
    masked-LM head can project back onto the vocabulary with the same
    (tied) matrix.

    Args:
        vocabulary_size: int. Number of distinct token ids.
        hidden_dim: int. Width of every embedding vector.
        max_sequence_length: int. Number of learned positions.
        num_segments: int. Number of segment ids. Defaults to `2`.
        dropout: float. Dropout rate applied last. Defaults to `0.1`.
        initializer_range: float. Stddev of the truncated-normal
            initializer. Defaults to `0.02`.
        layer_norm_epsilon: float. Defaults to `1e-12`.
        **kwargs: Forwarded to `keras.layers.Layer` (`name`, `dtype`, ...).

    Call arguments:
        token_ids: int tensor of shape `(batch_size, seq_len)`.
        segment_ids: int tensor of shape `(batch_size, seq_len)`.
        training: bool. Whether dropout is active.

    Returns:
        Float tensor of shape `(batch_size, seq_len, hidden_dim)`.

    Example:
    >>> layer = BertEmbedding(vocabulary_size=20, hidden_dim=8,
    ...                       max_sequence_length=16)
    >>> ids = np.ones((2, 5), "int32")
    >>> tuple(layer(ids, np.zeros_like(ids)).shape)
    (2, 5, 8)
    """

    def __init__(
        self,
        vocabulary_size,
        hidden_dim,
        max_sequence_length,
        num_segments=2,
        dropout=0.1,
        initializer_range=0.02,
        layer_norm_epsilon=1e-12,
        **kwargs,
    ):
        for name, value in (
            ("vocabulary_size", vocabulary_size),
            ("hidden_dim", hidden_dim),
            ("max_sequence_length", max_sequence_length),
            ("num_segments", num_segments),
        ):
            if not isinstance(value, int) or value <= 0:
                raise ValueError(
                    f"`{name}` must be a positive integer. Received: "
                    f"{name}={value!r}"
                )
        if not 0 <= dropout < 1:
            raise ValueError(
                f"`dropout` must be in [0, 1). Received: dropout={dropout}"
            )
        super().__init__(**kwargs)
        self.vocabulary_size = vocabulary_size
        self.hidden_dim = hidden_dim
        self.max_sequence_length = max_sequence_length
        self.num_segments = num_segments
        self.dropout = dropout
        self.initializer_range = initializer_range
        self.layer_norm_epsilon = layer_norm_epsilon
        self.token_embedding = keras.layers.ReversibleEmbedding(
            vocabulary_size,
            hidden_dim,
            tie_weights=True,
            embeddings_initializer=truncated_normal(initializer_range),
            dtype=self.dtype_policy,
            name="token_embedding",
        )
        self.segment_embedding = keras.layers.Embedding(
            num_segments,
            hidden_dim,
            embeddings_initializer=truncated_normal(initializer_range),
            dtype=self.dtype_policy,
            name="segment_embedding",
        )
        self.layer_norm = keras.layers.LayerNormalization(
            epsilon=layer_norm_epsilon,
            dtype=self.dtype_policy,
            name="layer_norm",
        )
        self.dropout_layer = Dropout(
            dropout, dtype=self.dtype_policy, name="dropout"
        )

    def build(self, token_ids_shape, segment_ids_shape=None):
        self.token_embedding.build(token_ids_shape)
        self.segment_embedding.build(token_ids_shape)
        self.position_embeddings = self.add_weight(
            name="position_embeddings",
            shape=(self.max_sequence_length, self.hidden_dim),
            initializer=truncated_normal(self.initializer_range),
        )
        self.layer_norm.build(tuple(token_ids_shape) + (self.hidden_dim,))
        self.built = True

    def call(self, token_ids, segment_ids, training=None):
        seq_len = ops.shape(token_ids)[1]
        positions = ops.slice(
            self.position_embeddings, (0, 0), (seq_len, self.hidden_dim)
        )  # (seq_len, hidden_dim)
        x = self.token_embedding(token_ids) + self.segment_embedding(
            segment_ids
        )
        x = x + ops.cast(positions, x.dtype)[None, :, :]
        x = self.layer_norm(x)  # (batch_size, seq_len, hidden_dim)
        return self.dropout_layer(x, training=training)

    def compute_output_shape(self, token_ids_shape, segment_ids_shape=None):
        return tuple(token_ids_shape) + (self.hidden_dim,)

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "vocabulary_size": self.vocabulary_size,
                "hidden_dim": self.hidden_dim,
                "max_sequence_length": self.max_sequence_length,
                "num_segments": self.num_segments,
                "dropout": self.dropout,
                "initializer_range": self.initializer_range,
                "layer_norm_epsilon": self.layer_norm_epsilon,
            }
        )
        return config
