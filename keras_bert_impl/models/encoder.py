"""The BERT encoder backbone as a functional Keras model.

References:
    Devlin et al., "BERT: Pre-training of Deep Bidirectional Transformers for
    Language Understanding", arXiv 1810.04805.
"""

import contextlib
import contextvars

import keras

from keras_bert_impl.config import BertConfig
from keras_bert_impl.layers.embedding import BertEmbedding
from keras_bert_impl.layers.encoder_block import TransformerEncoderBlock
from keras_bert_impl.layers.packed_rows import PackedRows
from keras_bert_impl.layers.pooler import BertPooler
from keras_bert_impl.runtime import XLADefaultMixin

INPUT_NAMES = ("token_ids", "segment_ids", "padding_mask")

_PACKED_TOKENS = contextvars.ContextVar("packed_tokens", default=False)


@contextlib.contextmanager
def packed_tokens():
    """Within it, a `BertEncoder` called for inference skips the padding.

    Its blocks run on the real tokens alone (`TransformerEncoderBlock.
    call_packed`, `layers/packed_rows.py`); only attention sees the padded
    layout. The outputs are the same at real positions (to float rounding)
    and zeros at padding positions. Shapes are known only at run time, so
    it is for TensorFlow's own kernels, not XLA: the export traces its
    unpadded path (`export/signatures.py`) under it. A batch without
    padding runs in the usual layout and its attention skips the mask (a
    run-time branch). Takes effect when the model
    is called (traced) inside the `with`; calls with `training=True` are
    not affected.

    Example:
    >>> encoder = BertEncoder(vocabulary_size=32, hidden_dim=16,
    ...                       num_layers=2, num_heads=2, intermediate_dim=32,
    ...                       max_sequence_length=8)
    >>> ids = np.array([[2, 7, 9, 3], [2, 5, 3, 0]], "int32")
    >>> inputs = {"token_ids": ids, "segment_ids": 0 * ids,
    ...           "padding_mask": (ids > 0).astype("int32")}
    >>> padded = encoder(inputs)["pooled_output"]
    >>> with packed_tokens():
    ...     packed = encoder(inputs)["pooled_output"]
    >>> bool(np.allclose(padded, packed, atol=1e-6))
    True
    """
    token = _PACKED_TOKENS.set(True)
    try:
        yield
    finally:
        _PACKED_TOKENS.reset(token)


def _forward(
    inputs, embeddings, blocks, pooler, return_all_layers, packed, masked=True
):
    """The encoder's wiring, once: embeddings, blocks, pooler.

    `packed` False builds the functional graph (and runs it padded);
    True runs the blocks on the real tokens only (`packed_tokens`).
    `masked` False: the batch has no padding, attention skips the mask.
    """
    mask = inputs["padding_mask"]
    x = embeddings(inputs["token_ids"], inputs["segment_ids"])
    rows = PackedRows(mask) if packed else None
    unpack = rows.unpack if packed else (lambda x: x)
    if packed:
        x = rows.pack(x)
    layer_outputs = []
    for block in blocks:
        if packed:
            x = block.call_packed(x, rows)
        else:
            x = block(x, padding_mask=mask if masked else None)
        layer_outputs.append(x)
    outputs = {"sequence_output": unpack(x)}
    if pooler is not None:
        outputs["pooled_output"] = pooler(outputs["sequence_output"])
    if return_all_layers:
        outputs["encoder_outputs"] = [unpack(y) for y in layer_outputs[:-1]]
        outputs["encoder_outputs"].append(outputs["sequence_output"])
    return outputs


@keras.saving.register_keras_serializable(package="keras_bert_impl")
class BertEncoder(XLADefaultMixin, keras.Model):
    """BERT: embeddings, `num_layers` Transformer blocks and the pooler.

    A functional `keras.Model` (so `summary()`, `.keras` saving and
    `tf.saved_model` export work as for any Keras model) whose constructor
    arguments are exactly the fields of `BertConfig`; build it from a config
    with `build_encoder(config)`.

    Args:
        vocabulary_size, hidden_dim, num_layers, num_heads,
        intermediate_dim, hidden_activation, dropout, attention_dropout,
        max_sequence_length, num_segments, initializer_range,
        layer_norm_epsilon: see `BertConfig` (same names, same defaults).
        return_all_layers: bool. Also output `"encoder_outputs"`, the list
            of every block's output. Defaults to `False`.
        pooler: bool. Build the pooler (`"pooled_output"`, a tanh dense
            layer on `[CLS]`). `False` for checkpoints saved without one
            (Hugging Face's masked-LM, token-classification and QA models,
            many sentence-transformers exports). Defaults to `True`.
        dtype: optional dtype policy for every layer, e.g.
            `"mixed_bfloat16"` (float32 variables, bf16 compute).
        **kwargs: `name`, `trainable`.

    Call arguments:
        inputs: dict of int32 tensors `token_ids`, `segment_ids` and
            `padding_mask`, each of shape `(batch_size, seq_len)`;
            `padding_mask` is 1 for real tokens and 0 for padding.

    Returns:
        A dict with `"sequence_output"` `(batch_size, seq_len, hidden_dim)`
        and `"pooled_output"` `(batch_size, hidden_dim)` (tanh dense on the
        `[CLS]` position; not with `pooler=False`), plus
        `"encoder_outputs"` if requested.

    Example:
    >>> encoder = BertEncoder(vocabulary_size=32, hidden_dim=16,
    ...                       num_layers=2, num_heads=2, intermediate_dim=32,
    ...                       max_sequence_length=8)
    >>> ids = np.array([[2, 7, 9, 3, 0, 0]], "int32")
    >>> out = encoder({"token_ids": ids, "segment_ids": 0 * ids,
    ...                "padding_mask": (ids > 0).astype("int32")})
    >>> tuple(out["sequence_output"].shape), tuple(out["pooled_output"].shape)
    ((1, 6, 16), (1, 16))
    """

    def __init__(
        self,
        vocabulary_size=30522,
        hidden_dim=768,
        num_layers=12,
        num_heads=12,
        intermediate_dim=3072,
        hidden_activation="gelu",
        dropout=0.1,
        attention_dropout=0.1,
        max_sequence_length=512,
        num_segments=2,
        initializer_range=0.02,
        layer_norm_epsilon=1e-12,
        return_all_layers=False,
        pooler=True,
        dtype=None,
        **kwargs,
    ):
        config = BertConfig(  # validates every field, naming the bad one
            vocabulary_size=vocabulary_size,
            hidden_dim=hidden_dim,
            num_layers=num_layers,
            num_heads=num_heads,
            intermediate_dim=intermediate_dim,
            hidden_activation=hidden_activation,
            dropout=dropout,
            attention_dropout=attention_dropout,
            max_sequence_length=max_sequence_length,
            num_segments=num_segments,
            initializer_range=initializer_range,
            layer_norm_epsilon=layer_norm_epsilon,
        )
        # === Layers ===
        embeddings = BertEmbedding(
            vocabulary_size=vocabulary_size,
            hidden_dim=hidden_dim,
            max_sequence_length=max_sequence_length,
            num_segments=num_segments,
            dropout=dropout,
            initializer_range=initializer_range,
            layer_norm_epsilon=layer_norm_epsilon,
            dtype=dtype,
            name="embeddings",
        )
        blocks = [
            TransformerEncoderBlock(
                num_heads=num_heads,
                intermediate_dim=intermediate_dim,
                activation=hidden_activation,
                dropout=dropout,
                attention_dropout=attention_dropout,
                layer_norm_epsilon=layer_norm_epsilon,
                initializer_range=initializer_range,
                dtype=dtype,
                name=f"transformer_layer_{i}",
            )
            for i in range(num_layers)
        ]
        pooler_layer = None
        if pooler:
            pooler_layer = BertPooler(
                hidden_dim, initializer_range, dtype=dtype, name="pooler"
            )

        # === Functional graph ===
        inputs = {
            name: keras.Input(shape=(None,), dtype="int32", name=name)
            for name in INPUT_NAMES
        }
        outputs = _forward(
            inputs, embeddings, blocks, pooler_layer, return_all_layers,
            packed=False,
        )  # fmt: skip
        super().__init__(inputs=inputs, outputs=outputs, dtype=dtype, **kwargs)

        # === Config ===
        self.bert_config = config
        for field, value in config.to_dict().items():
            setattr(self, field, value)
        self.return_all_layers = return_all_layers
        self.pooler = bool(pooler)
        # The functional model's own policy is float32 whatever `dtype` the
        # layers got, so keep the argument itself for get_config.
        self._dtype_arg = (
            None if dtype is None else keras.dtype_policies.get(dtype)
        )

    def call(self, inputs, training=None, mask=None, **kwargs):
        if training or not _PACKED_TOKENS.get():
            return super().call(inputs, training=training, mask=mask, **kwargs)
        inputs = {
            name: keras.ops.convert_to_tensor(inputs[name], "int32")
            for name in INPUT_NAMES
        }
        blocks = [
            self.get_layer(f"transformer_layer_{i}")
            for i in range(self.num_layers)
        ]
        pooler = self.get_layer("pooler") if self.pooler else None

        def packed():
            return _forward(
                inputs, self.get_layer("embeddings"), blocks, pooler,
                self.return_all_layers, packed=True,
            )  # fmt: skip

        def unpadded():
            return _forward(
                inputs, self.get_layer("embeddings"), blocks, pooler,
                self.return_all_layers, packed=False, masked=False,
            )  # fmt: skip

        # Without padding there is nothing to skip, and moving the rows in
        # and out of the padded layout for attention would cost 2-5%; nor
        # is there a mask to apply to the attention scores.
        no_padding = keras.ops.all(
            keras.ops.cast(inputs["padding_mask"], "bool")
        )
        return keras.ops.cond(no_padding, unpadded, packed)

    @property
    def token_embedding(self):
        """The `ReversibleEmbedding` holding the token-embedding matrix."""
        return self.get_layer("embeddings").token_embedding

    def get_config(self):
        return {
            "name": self.name,
            "trainable": self.trainable,
            "dtype": (
                None
                if self._dtype_arg is None
                else keras.dtype_policies.serialize(self._dtype_arg)
            ),
            **self.bert_config.to_dict(),
            "return_all_layers": self.return_all_layers,
            "pooler": self.pooler,
        }

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        if isinstance(config.get("dtype"), dict):
            config["dtype"] = keras.dtype_policies.deserialize(config["dtype"])
        return cls(**config)


def build_encoder(
    config, return_all_layers=False, dtype=None, name=None, pooler=True
):
    """Builds a `BertEncoder` from a `BertConfig` (or a preset name).

    This is the one way to go from a config to a model: the config's field
    names are the encoder's constructor arguments.

    Args:
        config: `BertConfig`, or a preset name such as `"tiny"` or `"base"`.
        return_all_layers: bool. Also output every block's output.
        dtype: optional dtype policy, e.g. `"mixed_bfloat16"`.
        name: optional model name. Defaults to `"bert_encoder"`.
        pooler: bool. Build the pooler. Defaults to `True`.

    Returns:
        A `BertEncoder` with freshly initialized weights.

    Example:
    >>> encoder = build_encoder(BertConfig.preset("tiny", vocabulary_size=64))
    >>> encoder.count_params()
    487296
    """
    if isinstance(config, str):
        config = BertConfig.preset(config)
    if not isinstance(config, BertConfig):
        raise ValueError(
            "`config` must be a BertConfig or a preset name. Received: "
            f"{type(config).__name__}"
        )
    return BertEncoder(
        **config.to_dict(),
        return_all_layers=return_all_layers,
        pooler=pooler,
        dtype=dtype,
        name=name or "bert_encoder",
    )


def find_encoder(model):
    """The `BertEncoder` of a model (the model itself, or a sublayer)."""
    if isinstance(model, BertEncoder):
        return model
    for layer in model._flatten_layers(include_self=False, recursive=True):
        if isinstance(layer, BertEncoder):
            return layer
    raise ValueError(
        "The model holds no keras_bert_impl BertEncoder. Received: model of "
        f"type {type(model).__name__}"
    )
