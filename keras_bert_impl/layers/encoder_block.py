"""The post-LayerNorm Transformer encoder block of BERT."""

import math

import keras
from keras import ops

from keras_bert_impl.layers.dropout import Dropout
from keras_bert_impl.layers.initializers import activation_fn
from keras_bert_impl.layers.initializers import truncated_normal


@keras.saving.register_keras_serializable(package="keras_bert_impl")
class TransformerEncoderBlock(keras.layers.Layer):
    """Self-attention and feed-forward, each with residual then LayerNorm.

    The "post-LN" block of the original Transformer (arXiv 1706.03762) as
    BERT uses it: `x = LN(x + Dropout(MHA(x)))`, then
    `x = LN(x + Dropout(W2 · act(W1 · x)))`. Attention scores and softmax
    are computed in float32 under mixed precision, and padded keys are
    excluded with the padding mask.

    Args:
        num_heads: int. Attention heads; must divide the input width.
        intermediate_dim: int. Feed-forward inner width.
        activation: str. `"gelu"` (exact erf), `"gelu_approximate"` (tanh
            form), `"relu"` or `"tanh"`. Defaults to `"gelu"`.
        dropout: float. Dropout on both residual branches. Defaults to
            `0.1`.
        attention_dropout: float. Dropout on attention probabilities.
            Defaults to `0.1`.
        layer_norm_epsilon: float. Defaults to `1e-12`.
        initializer_range: float. Stddev of the truncated-normal kernel
            initializer. Defaults to `0.02`.
        **kwargs: Forwarded to `keras.layers.Layer`.

    Call arguments:
        inputs: float tensor of shape `(batch_size, seq_len, hidden_dim)`.
        padding_mask: int or bool tensor of shape `(batch_size, seq_len)`;
            1 marks a real token, 0 padding. `None` attends everywhere.
        training: bool. Whether dropout is active.

    Returns:
        Float tensor of shape `(batch_size, seq_len, hidden_dim)`.

    Example:
    >>> block = TransformerEncoderBlock(num_heads=2, intermediate_dim=16)
    >>> x = np.ones((2, 5, 8), "float32")
    >>> tuple(block(x, padding_mask=np.ones((2, 5), "int32")).shape)
    (2, 5, 8)
    """

    def __init__(
        self,
        num_heads,
        intermediate_dim,
        activation="gelu",
        dropout=0.1,
        attention_dropout=0.1,
        layer_norm_epsilon=1e-12,
        initializer_range=0.02,
        **kwargs,
    ):
        if not isinstance(num_heads, int) or num_heads <= 0:
            raise ValueError(
                "`num_heads` must be a positive integer. Received: "
                f"num_heads={num_heads!r}"
            )
        if not isinstance(intermediate_dim, int) or intermediate_dim <= 0:
            raise ValueError(
                "`intermediate_dim` must be a positive integer. Received: "
                f"intermediate_dim={intermediate_dim!r}"
            )
        for name, value in (
            ("dropout", dropout),
            ("attention_dropout", attention_dropout),
        ):
            if not 0 <= value < 1:
                raise ValueError(
                    f"`{name}` must be in [0, 1). Received: {name}={value}"
                )
        self._activation_fn = activation_fn(activation)  # validates
        super().__init__(**kwargs)
        self.num_heads = num_heads
        self.intermediate_dim = intermediate_dim
        self.activation = activation
        self.dropout = dropout
        self.attention_dropout = attention_dropout
        self.layer_norm_epsilon = layer_norm_epsilon
        self.initializer_range = initializer_range

        def dense(units, name):
            return keras.layers.Dense(
                units,
                kernel_initializer=truncated_normal(initializer_range),
                dtype=self.dtype_policy,
                name=name,
            )

        def layer_norm(name):
            return keras.layers.LayerNormalization(
                epsilon=layer_norm_epsilon, dtype=self.dtype_policy, name=name
            )

        def drop(rate, name):
            return Dropout(rate, dtype=self.dtype_policy, name=name)

        # Sizes that depend on the input width are set in build().
        self._dense = dense
        self.attention_dropout_layer = drop(
            attention_dropout, "attention_dropout"
        )
        self.attention_output_dropout = drop(
            dropout, "attention_output_dropout"
        )
        self.attention_layer_norm = layer_norm("attention_layer_norm")
        self.intermediate_dense = dense(intermediate_dim, "intermediate_dense")
        self.output_dropout = drop(dropout, "output_dropout")
        self.output_layer_norm = layer_norm("output_layer_norm")

    def build(self, inputs_shape, padding_mask_shape=None):
        hidden_dim = inputs_shape[-1]
        if hidden_dim % self.num_heads:
            raise ValueError(
                "The input width must be divisible by `num_heads`. "
                f"Received: hidden_dim={hidden_dim}, "
                f"num_heads={self.num_heads}"
            )
        self.hidden_dim = hidden_dim
        self.head_dim = hidden_dim // self.num_heads
        self.query_dense = self._dense(hidden_dim, "query")
        self.key_dense = self._dense(hidden_dim, "key")
        self.value_dense = self._dense(hidden_dim, "value")
        self.attention_output_dense = self._dense(
            hidden_dim, "attention_output_dense"
        )
        self.output_dense = self._dense(hidden_dim, "output_dense")
        for layer in (
            self.query_dense,
            self.key_dense,
            self.value_dense,
            self.attention_output_dense,
            self.intermediate_dense,
        ):
            layer.build(inputs_shape)
        self.attention_layer_norm.build(inputs_shape)
        self.output_dense.build(
            tuple(inputs_shape[:-1]) + (self.intermediate_dim,)
        )
        self.output_layer_norm.build(inputs_shape)
        self.built = True

    def _split_heads(self, x, batch_size, seq_len):
        # (batch * seq, hidden) -> (batch, heads, seq, head_dim)
        x = ops.reshape(x, (batch_size, seq_len, self.num_heads, self.head_dim))
        return ops.transpose(x, (0, 2, 1, 3))

    def _rows(self, x):
        # (batch, seq, hidden) -> (batch * seq, hidden): every dense layer
        # runs on 2-D rows, so its MatMul feeds its BiasAdd directly and
        # Grappler's remapper fuses them (+ the activation) into one
        # `_FusedMatMul` for TensorFlow's kernels; on 3-D input Keras'
        # `tensordot` puts a Reshape between them and nothing fuses.
        return ops.reshape(x, (-1, self.hidden_dim))

    def _attention(
        self, rows, query_rows, sizes, padding_mask, training, packed=None
    ):
        # `rows`: (batch * seq, hidden) keys and values; `query_rows`:
        # (batch * num_queries, hidden); `sizes`: (batch, seq, num_queries).
        # Returns (batch * num_queries, hidden). With `packed` (a
        # `PackedRows`), `rows` and `query_rows` are the real tokens only
        # (num_tokens, hidden), and so is the result: the projections run
        # on them, attention itself on the padded layout.
        batch_size, seq_len, num_queries = sizes
        spread = (lambda x: x) if packed is None else packed.unpack_flat
        # The 1/sqrt(head_dim) scale goes on the queries (as in Keras'
        # `MultiHeadAttention`), one pass over (queries, hidden) instead of
        # over the (heads, queries, keys) scores.
        q = ops.multiply(
            self.query_dense(query_rows), 1.0 / math.sqrt(self.head_dim)
        )
        q = self._split_heads(spread(q), batch_size, num_queries)
        k = self._split_heads(spread(self.key_dense(rows)), batch_size, seq_len)
        v = self._split_heads(
            spread(self.value_dense(rows)), batch_size, seq_len
        )
        scores = ops.matmul(q, ops.transpose(k, (0, 1, 3, 2)))
        # Softmax in float32 whatever the compute dtype.
        scores = ops.cast(scores, "float32")
        if padding_mask is not None:
            keep = ops.cast(padding_mask, "bool")[:, None, None, :]
            scores = ops.where(keep, scores, -1e9)
        probs = ops.softmax(scores, axis=-1)  # (batch, heads, queries, seq)
        probs = self.attention_dropout_layer(
            ops.cast(probs, self.compute_dtype), training=training
        )
        context = ops.matmul(probs, v)  # (batch, heads, queries, head_dim)
        context = ops.reshape(
            ops.transpose(context, (0, 2, 1, 3)), (-1, self.hidden_dim)
        )
        if packed is not None:
            context = packed.pack_flat(context)
        return self.attention_output_dense(context)

    def _feed_forward(self, x, training):
        # `x`: (batch * seq, hidden) rows.
        h = self._activation_fn(self.intermediate_dense(x))
        h = self.output_dense(h)
        return self.output_layer_norm(
            x + self.output_dropout(h, training=training)
        )

    def _block(self, inputs, queries, padding_mask, training):
        # Attention from `queries` (rows of `inputs`; None: all of them),
        # then the feed-forward, on 2-D rows; returns (batch, num_queries,
        # hidden).
        batch_size, seq_len = ops.shape(inputs)[0], ops.shape(inputs)[1]
        rows = self._rows(inputs)
        if queries is None:
            num_queries, query_rows = seq_len, rows
        else:
            num_queries, query_rows = ops.shape(queries)[1], self._rows(queries)
        x = self._rows_block(
            rows, query_rows, (batch_size, seq_len, num_queries),
            padding_mask, training,
        )  # fmt: skip
        return ops.reshape(x, (batch_size, num_queries, self.hidden_dim))

    def _rows_block(
        self, rows, query_rows, sizes, padding_mask, training, packed=None
    ):
        # The block on 2-D rows (see `_attention`), returns the query rows'
        # outputs.
        attended = self._attention(
            rows, query_rows, sizes, padding_mask, training, packed
        )
        x = self.attention_layer_norm(
            query_rows
            + self.attention_output_dropout(attended, training=training)
        )
        return self._feed_forward(x, training)

    def call(self, inputs, padding_mask=None, training=None):
        return self._block(inputs, None, padding_mask, training)

    def call_at_positions(
        self, inputs, positions, padding_mask=None, training=None
    ):
        """The block's output at `positions` only (a training fast path).

        Equals `ops.take_along_axis(block(inputs), positions[..., None],
        axis=1)`: every position attends to all of `inputs`, but the
        query, attention-output and feed-forward work is done at the
        requested positions only. `BertPretrainer` uses it on the last
        block, whose output is needed at `[CLS]` and the masked positions
        alone.

        Args:
            inputs: float tensor `(batch_size, seq_len, hidden_dim)`.
            positions: int tensor `(batch_size, num_positions)`.
            padding_mask: as in `call`.
            training: bool. Whether dropout is active.

        Returns:
            Float tensor `(batch_size, num_positions, hidden_dim)`.
        """
        inputs = ops.cast(inputs, self.compute_dtype)
        positions = ops.cast(positions, "int32")[:, :, None]
        rows = ops.take_along_axis(inputs, positions, axis=1)
        return self._block(inputs, rows, padding_mask, training)

    def call_packed(self, rows, packed, training=None):
        """The block on the real tokens of a padded batch only.

        Equals `packed.pack(block(packed.unpack(rows), padding_mask))`
        without computing anything at padding positions but attention:
        the dense layers, LayerNorms and activation see `num_tokens` rows
        instead of `batch_size * seq_len`. `BertEncoder` uses it under
        `packed_tokens()` (the served model on TensorFlow's kernels).

        Args:
            rows: float tensor `(num_tokens, hidden_dim)`, the real tokens
                in `packed.pack` order.
            packed: `PackedRows` of the batch's padding mask.
            training: bool. Whether dropout is active.

        Returns:
            Float tensor `(num_tokens, hidden_dim)`.
        """
        rows = ops.cast(rows, self.compute_dtype)
        sizes = (packed.batch_size, packed.seq_len, packed.seq_len)
        return self._rows_block(
            rows, rows, sizes, packed.padding_mask, training, packed
        )

    def compute_output_shape(self, inputs_shape, padding_mask_shape=None):
        return tuple(inputs_shape)

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "num_heads": self.num_heads,
                "intermediate_dim": self.intermediate_dim,
                "activation": self.activation,
                "dropout": self.dropout,
                "attention_dropout": self.attention_dropout,
                "layer_norm_epsilon": self.layer_norm_epsilon,
                "initializer_range": self.initializer_range,
            }
        )
        return config
