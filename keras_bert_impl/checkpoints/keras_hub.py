"""Bridge to keras-hub: `BertBackbone` <-> `BertEncoder`, same weights.

`from_keras_hub` turns a `keras_hub.models.BertBackbone` (keras-hub 0.32)
into this package's `BertEncoder`, and `to_keras_hub` does the reverse; the
two models give the same `sequence_output` and `pooled_output` (within
1e-5 in float32). keras-hub is an optional dependency, imported only inside
these functions: `pip install keras-hub==0.32.*`.

The two models have the same architecture (post-LayerNorm BERT, learned
positions, tanh pooler on `[CLS]`, padded keys masked out) and the same
weights up to layout: keras-hub keeps the attention projections as
`EinsumDense` kernels split by head, `(hidden_dim, num_heads, head_dim)`
for query/key/value and `(num_heads, head_dim, hidden_dim)` for the output,
where this package has `Dense` kernels `(hidden_dim, hidden_dim)`. The
head axis is the slower one in both, so the conversion is a reshape.

What keras-hub's `BertBackbone` cannot express:

* It always uses the tanh-approximate GELU and a LayerNorm epsilon of
  1e-12, whatever the original checkpoint used. Real BERT and MiniLM
  checkpoints on Hugging Face use the exact (erf) GELU; `to_keras_hub`
  converts such an encoder only with `approximate_gelu=True`, and the
  outputs then differ slightly (see `to_keras_hub`).
* It has one dropout rate, used for attention probabilities too, and a
  fixed initializer stddev of 0.02 (which matters for fresh weights only).
"""

import logging

import numpy as np
from keras import ops

from keras_bert_impl.checkpoints.layout import expected_shapes
from keras_bert_impl.checkpoints.layout import model_variables
from keras_bert_impl.config import BertConfig
from keras_bert_impl.models.encoder import BertEncoder
from keras_bert_impl.models.encoder import build_encoder

logger = logging.getLogger(__name__)

KERAS_HUB_REQUIREMENT = "keras-hub==0.32.*"
# Fixed by keras-hub's BertBackbone (bert_backbone.py), not configurable.
KERAS_HUB_ACTIVATION = "gelu_approximate"
KERAS_HUB_LAYER_NORM_EPSILON = 1e-12
KERAS_HUB_INITIALIZER_RANGE = 0.02
# Documented bounds on the max abs difference of all-MiniLM-L6-v2's outputs
# (real tokens), exact vs approximate GELU; measured 4.7e-3 and 2.6e-4 (see
# `to_keras_hub`; tests/checkpoints/test_keras_hub.py checks them).
MINILM_GELU_DIFFERENCE = {"sequence_output": 1e-2, "pooled_output": 1e-3}
_MAX_LISTED = 10


def name_table(config):
    """Returns `{canonical name: (keras-hub name, keras-hub shape)}`.

    Canonical names are this package's (see `layout.py`); keras-hub names
    are the weight paths inside a `BertBackbone`. Every pair holds the same
    numbers in the same order, so converting is a reshape between the
    keras-hub shape and the canonical one (`expected_shapes(config)`).

    Args:
        config: `BertConfig`.

    Returns:
        dict, one entry per encoder weight, in `expected_shapes` order.

    Example:
    >>> table = name_table(BertConfig(
    ...     vocabulary_size=32, hidden_dim=16, num_layers=2, num_heads=2,
    ...     intermediate_dim=32, max_sequence_length=8))
    >>> table["transformer_layer_1/query/kernel"]
    ('transformer_layer_1/self_attention_layer/query/kernel', (16, 2, 8))
    >>> table["transformer_layer_1/attention_output_dense/kernel"][1]
    (2, 8, 16)
    """
    h, inner = config.hidden_dim, config.intermediate_dim
    heads = (config.num_heads, h // config.num_heads)
    table = {
        "embeddings/token_embedding/embeddings": (
            "token_embedding/embeddings",
            (config.vocabulary_size, h),
        ),
        "embeddings/segment_embedding/embeddings": (
            "segment_embedding/embeddings",
            (config.num_segments, h),
        ),
        "embeddings/position_embeddings": (
            "position_embedding/embeddings",
            (config.max_sequence_length, h),
        ),
    }
    _norm(table, "embeddings/layer_norm", "embeddings_layer_norm", h)
    for i in range(config.num_layers):
        ours = f"transformer_layer_{i}"
        attention = f"{ours}/self_attention_layer"
        for part in ("query", "key", "value"):
            table[f"{ours}/{part}/kernel"] = (
                f"{attention}/{part}/kernel",
                (h, *heads),
            )
            table[f"{ours}/{part}/bias"] = (f"{attention}/{part}/bias", heads)
        table[f"{ours}/attention_output_dense/kernel"] = (
            f"{attention}/attention_output/kernel",
            (*heads, h),
        )
        table[f"{ours}/attention_output_dense/bias"] = (
            f"{attention}/attention_output/bias",
            (h,),
        )
        _norm(
            table,
            f"{ours}/attention_layer_norm",
            f"{ours}/self_attention_layer_norm",
            h,
        )
        _dense(
            table,
            f"{ours}/intermediate_dense",
            f"{ours}/feedforward_intermediate_dense",
            (h, inner),
        )
        _dense(
            table,
            f"{ours}/output_dense",
            f"{ours}/feedforward_output_dense",
            (inner, h),
        )
        _norm(
            table,
            f"{ours}/output_layer_norm",
            f"{ours}/feedforward_layer_norm",
            h,
        )
    _dense(table, "pooler/pooled_dense", "pooled_dense", (h, h))
    return table


def _dense(table, ours, hub, kernel_shape):
    """Adds a `Dense` layer, same layout on both sides."""
    table[f"{ours}/kernel"] = (f"{hub}/kernel", kernel_shape)
    table[f"{ours}/bias"] = (f"{hub}/bias", kernel_shape[-1:])


def _norm(table, ours, hub, width):
    """Adds a `LayerNormalization` layer."""
    table[f"{ours}/gamma"] = (f"{hub}/gamma", (width,))
    table[f"{ours}/beta"] = (f"{hub}/beta", (width,))


def from_keras_hub(backbone, dtype=None):
    """Converts a keras-hub `BertBackbone` to a `BertEncoder`.

    The encoder gets the backbone's sizes and dropout (also as
    `attention_dropout`: keras-hub has one rate), keras-hub's fixed
    `hidden_activation="gelu_approximate"` and `layer_norm_epsilon=1e-12`,
    the initializer stddev of its embeddings (0.02), and a copy of its
    weights. Its `sequence_output` and `pooled_output` equal the
    backbone's within 1e-5 (float32). Every weight's name and shape is
    checked before any is copied.

    Args:
        backbone: `keras_hub.models.BertBackbone`.
        dtype: optional dtype policy of the encoder, e.g.
            `"mixed_bfloat16"` (variables stay float32). Defaults to the
            backbone's policy.

    Returns:
        A `BertEncoder` with the backbone's weights.

    Raises:
        ImportError: keras-hub is not installed.
        ValueError: `backbone` is not a `BertBackbone`, or its weights do
            not match its config (the message names each tensor).

    Example:
    >>> import keras_hub
    >>> backbone = keras_hub.models.BertBackbone(
    ...     vocabulary_size=32, num_layers=2, num_heads=2, hidden_dim=16,
    ...     intermediate_dim=32, max_sequence_length=8)
    >>> encoder = from_keras_hub(backbone)
    >>> encoder.hidden_activation, encoder.num_layers
    ('gelu_approximate', 2)
    >>> ids = np.array([[2, 7, 9, 3, 0, 0]], "int32")
    >>> inputs = {"token_ids": ids, "segment_ids": 0 * ids,
    ...           "padding_mask": (ids > 0).astype("int32")}
    >>> np.allclose(encoder(inputs)["pooled_output"],
    ...             backbone(inputs)["pooled_output"], atol=1e-5)
    True
    """
    keras_hub = _import_keras_hub("from_keras_hub")
    if not isinstance(backbone, keras_hub.models.BertBackbone):
        raise ValueError(
            "`backbone` must be a keras_hub.models.BertBackbone. Received: "
            f"backbone={type(backbone).__name__}"
        )
    initializer = backbone.get_layer("token_embedding").embeddings_initializer
    config = BertConfig(
        vocabulary_size=backbone.vocabulary_size,
        hidden_dim=backbone.hidden_dim,
        num_layers=backbone.num_layers,
        num_heads=backbone.num_heads,
        intermediate_dim=backbone.intermediate_dim,
        hidden_activation=KERAS_HUB_ACTIVATION,
        dropout=backbone.dropout,
        attention_dropout=backbone.dropout,
        max_sequence_length=backbone.max_sequence_length,
        num_segments=backbone.num_segments,
        initializer_range=getattr(
            initializer, "stddev", KERAS_HUB_INITIALIZER_RANGE
        ),
        layer_norm_epsilon=KERAS_HUB_LAYER_NORM_EPSILON,
    )
    table = name_table(config)
    hub_arrays = _read_validated(
        _backbone_variables(backbone),
        dict(table.values()),
        "keras-hub BertBackbone",
    )
    ours = expected_shapes(config)
    arrays = {
        canonical: hub_arrays[hub].reshape(ours[canonical])
        for canonical, (hub, _) in table.items()
    }
    encoder = build_encoder(
        config, dtype=_policy_name(backbone.dtype_policy, dtype)
    )
    _assign(model_variables(encoder), arrays)
    return encoder


def to_keras_hub(encoder, approximate_gelu=False, dtype=None):
    """Converts a `BertEncoder` to a keras-hub `BertBackbone`.

    keras-hub's `BertBackbone` always uses the tanh-approximate GELU and a
    LayerNorm epsilon of 1e-12, with a single dropout rate. An encoder with
    `hidden_activation="gelu_approximate"`, `layer_norm_epsilon=1e-12` and
    `attention_dropout == dropout` converts exactly: the backbone's
    outputs equal the encoder's within 1e-5 (float32), and
    `from_keras_hub` gives back bit-identical weights.

    An encoder with the exact (erf) GELU, as in the real BERT and MiniLM
    checkpoints, cannot be represented exactly and is refused unless
    `approximate_gelu=True`; then it is converted anyway and one warning
    is logged. The outputs then differ by the gap between the two GELU
    forms, compounded over the layers. Measured on the real
    all-MiniLM-L6-v2 (6 layers, hidden 384; 14 sentences of up to 54
    tokens, outputs up to 6.2 in magnitude), max abs difference at real
    tokens: 4.7e-3 on `sequence_output` (mean 4.1e-4) and 2.6e-4 on
    `pooled_output`; its mean-pooled, normalized sentence embeddings move
    by at most 3.2e-4 (cosine similarity >= 0.999997). The documented
    bounds are 1e-2 and 1e-3 (`MINILM_GELU_DIFFERENCE`). For exact
    outputs, use this package's encoder instead.

    Args:
        encoder: `BertEncoder`.
        approximate_gelu: bool. Convert an exact-GELU encoder to keras-hub's
            approximate GELU. Defaults to `False`.
        dtype: optional dtype policy of the backbone, e.g.
            `"mixed_bfloat16"`. Defaults to the encoder's policy.

    Returns:
        A `keras_hub.models.BertBackbone` with the encoder's weights.

    Raises:
        ImportError: keras-hub is not installed.
        ValueError: `encoder` is not a `BertEncoder`, or it uses something
            a `BertBackbone` cannot express: the exact GELU (without
            `approximate_gelu=True`), another activation, a LayerNorm
            epsilon other than 1e-12, or `attention_dropout != dropout`.
            The message names the field.

    Example:
    >>> encoder = build_encoder(BertConfig(
    ...     vocabulary_size=32, hidden_dim=16, num_layers=2, num_heads=2,
    ...     intermediate_dim=32, max_sequence_length=8,
    ...     hidden_activation="gelu_approximate"))
    >>> backbone = to_keras_hub(encoder)
    >>> type(backbone).__name__, backbone.num_layers
    ('BertBackbone', 2)
    >>> ids = np.array([[2, 7, 9, 3, 0, 0]], "int32")
    >>> inputs = {"token_ids": ids, "segment_ids": 0 * ids,
    ...           "padding_mask": (ids > 0).astype("int32")}
    >>> np.allclose(encoder(inputs)["sequence_output"],
    ...             backbone(inputs)["sequence_output"], atol=1e-5)
    True
    """
    keras_hub = _import_keras_hub("to_keras_hub")
    if not isinstance(encoder, BertEncoder):
        raise ValueError(
            "`encoder` must be a keras_bert_impl BertEncoder. Received: "
            f"encoder={type(encoder).__name__}"
        )
    config = encoder.bert_config
    _check_representable(config, approximate_gelu)
    table = name_table(config)
    arrays = _read_validated(
        model_variables(encoder), expected_shapes(config), "BertEncoder"
    )
    backbone = keras_hub.models.BertBackbone(
        vocabulary_size=config.vocabulary_size,
        num_layers=config.num_layers,
        num_heads=config.num_heads,
        hidden_dim=config.hidden_dim,
        intermediate_dim=config.intermediate_dim,
        dropout=config.dropout,
        max_sequence_length=config.max_sequence_length,
        num_segments=config.num_segments,
        dtype=_policy_name(encoder.get_layer("embeddings").dtype_policy, dtype),
    )
    hub_arrays = {
        hub: arrays[canonical].reshape(shape)
        for canonical, (hub, shape) in table.items()
    }
    _assign(_backbone_variables(backbone), hub_arrays)
    if config.hidden_activation != KERAS_HUB_ACTIVATION:
        logger.warning(
            "to_keras_hub: the encoder uses the exact GELU "
            "(hidden_activation=%r) and keras-hub's BertBackbone the tanh "
            "approximation, so the backbone's outputs differ slightly from "
            "the encoder's (max abs 4.7e-3 on all-MiniLM-L6-v2's "
            "sequence_output).",
            config.hidden_activation,
        )
    return backbone


def _check_representable(config, approximate_gelu):
    """Raises `ValueError` for a config keras-hub's backbone cannot express."""
    activation = config.hidden_activation
    if activation == "gelu":
        if not approximate_gelu:
            raise ValueError(
                "The encoder uses the exact (erf) GELU, but keras-hub's "
                "BertBackbone always uses the tanh-approximate GELU, so it "
                "cannot reproduce the encoder's outputs exactly (they would "
                "differ by up to 4.7e-3, as measured on all-MiniLM-L6-v2). "
                "Pass `approximate_gelu=True` to convert anyway, or convert "
                "an encoder built with hidden_activation='gelu_approximate'. "
                f"Received: hidden_activation={activation!r}"
            )
    elif activation != KERAS_HUB_ACTIVATION:
        raise ValueError(
            "keras-hub's BertBackbone supports only the GELU activation "
            "(tanh approximation); an encoder with another "
            "hidden_activation cannot be converted. Received: "
            f"hidden_activation={activation!r}"
        )
    if config.layer_norm_epsilon != KERAS_HUB_LAYER_NORM_EPSILON:
        raise ValueError(
            "keras-hub's BertBackbone has a fixed LayerNorm epsilon of "
            "1e-12; an encoder with another layer_norm_epsilon cannot be "
            "converted exactly. Received: "
            f"layer_norm_epsilon={config.layer_norm_epsilon!r}"
        )
    if config.attention_dropout != config.dropout:
        raise ValueError(
            "keras-hub's BertBackbone uses one dropout rate for attention "
            "probabilities and residual branches, so attention_dropout "
            "must equal dropout (rebuild the encoder with "
            "`config.replace(attention_dropout=config.dropout)` and copy "
            "the weights). Received: "
            f"attention_dropout={config.attention_dropout!r}, "
            f"dropout={config.dropout!r}"
        )


def _import_keras_hub(caller):
    """Imports keras-hub, or raises `ImportError` saying how to install it."""
    try:
        import keras_hub
    except ImportError as e:
        raise ImportError(
            f"{caller} needs keras-hub, an optional dependency of "
            f"keras_bert_impl: `pip install {KERAS_HUB_REQUIREMENT}`."
        ) from e
    return keras_hub


def _policy_name(source_policy, dtype):
    """`dtype` if given, else the name of the source model's policy."""
    return source_policy.name if dtype is None else dtype


def _backbone_variables(backbone):
    """Returns `{keras-hub name: variable}` of a `BertBackbone`.

    Names are the variable paths from the backbone's top-level layer on
    (`transformer_layer_0/self_attention_layer/query/kernel`), whatever
    name scope the backbone was built in.
    """
    variables = {}
    for layer in backbone.layers:
        for variable in layer.weights:
            parts = variable.path.split("/")
            if layer.name not in parts:
                raise ValueError(  # an internal inconsistency
                    f"Internal error: variable {variable.path} of layer "
                    f"{layer.name!r} has no {layer.name!r} in its path."
                )
            name = "/".join(parts[parts.index(layer.name) :])
            if name in variables:
                raise ValueError(
                    f"The keras-hub BertBackbone has two variables named "
                    f"{name!r}."
                )
            variables[name] = variable
    return variables


def _read_validated(variables, expected, what):
    """Checks names and shapes of every variable, then reads them.

    Args:
        variables: `{name: keras.Variable}`.
        expected: `{name: shape}`.
        what: str. The model, for error messages.

    Returns:
        `{name: float32 array}`.
    """
    problems = [
        f"missing weight {name!r}: expected shape {list(shape)}, found none"
        for name, shape in expected.items()
        if name not in variables
    ]
    for name, variable in variables.items():
        if name not in expected:
            problems.append(
                f"unexpected weight {name!r} of shape {list(variable.shape)}"
            )
        elif tuple(variable.shape) != tuple(expected[name]):
            problems.append(
                f"weight {name!r} has shape {list(variable.shape)}, "
                f"expected {list(expected[name])}"
            )
    if problems:
        listed = problems[:_MAX_LISTED]
        if len(problems) > _MAX_LISTED:
            listed.append(f"... and {len(problems) - _MAX_LISTED} more")
        raise ValueError(
            f"The {what} does not match the layout its config implies; "
            "nothing was converted:\n  " + "\n  ".join(listed)
        )
    return {
        name: np.asarray(ops.convert_to_numpy(variables[name]), "float32")
        for name in expected
    }


def _assign(variables, arrays):
    """Assigns every array; names and shapes were validated already."""
    if set(variables) != set(arrays):
        raise ValueError(  # an internal inconsistency, not a user error
            "Internal error: the name table does not match the model: "
            f"{sorted(set(variables) ^ set(arrays))}"
        )
    for name, variable in variables.items():
        if tuple(variable.shape) != arrays[name].shape:
            raise ValueError(  # an internal inconsistency, not a user error
                f"Internal error: variable {name} has shape "
                f"{tuple(variable.shape)}, array {arrays[name].shape}"
            )
    for name, variable in variables.items():
        variable.assign(arrays[name].astype(variable.dtype))
