"""The numeric precision of an export: float32, or weights in bfloat16.

`mixed_bfloat16` (Keras' training policy) keeps float32 variables and
casts every weight to bfloat16 at every call. A served model never
updates its weights, so a `"bfloat16"` export instead stores each weight
once in bfloat16 and runs the matmuls on bfloat16 operands: on a CPU with
AVX-512 BF16 or AMX, TensorFlow's oneDNN kernels (and XLA's) run those at
up to several times the float32 rate, and the weights take half the
memory. Attention softmax stays in float32 (`EncoderBlock`), and the
outputs a client reads are float32 (`tasks.model_outputs`).
"""

import keras
import numpy as np

from keras_bert_impl.models.encoder import find_encoder

PRECISIONS = ("float32", "bfloat16")


def check_precision(precision):
    """`precision` if it is one of `PRECISIONS`, else a ValueError."""
    if precision not in PRECISIONS:
        raise ValueError(
            f"`precision` must be one of {PRECISIONS}. Received: "
            f"precision={precision!r}"
        )
    return precision


def with_precision(model, precision):
    """`model`, or a copy of it whose weights are `precision`.

    A model whose encoder layers already have the `precision` policy is
    returned as it is. Any other (e.g. one loaded with `mixed_bfloat16`,
    for a float32 export) is rebuilt from its config with the encoder's
    dtype policy set to `precision` (layers holding variables of that
    dtype) and gets the model's weights cast once. Heads built with the
    encoder's policy follow it; any other layer keeps its own.

    Args:
        model: a `BertEncoder` or a task model built on one.
        precision: str, one of `PRECISIONS`.

    Returns:
        A Keras model with the same outputs up to rounding.
    """
    check_precision(precision)
    layers = find_encoder(model).get_layer("embeddings")
    if layers.dtype_policy.name == precision:
        return model  # e.g. float32 layers for a float32 export
    config = keras.saving.serialize_keras_object(model)
    _set_encoder_dtype(config, precision)
    copy = keras.saving.deserialize_keras_object(config)
    sources, targets = model.weights, copy.weights
    if [w.path for w in sources] != [w.path for w in targets]:
        raise ValueError(
            f"Could not rebuild {type(model).__name__} in {precision}: its "
            "config does not reproduce its weights. Export it with "
            "precision='float32'."
        )
    for source, target in zip(sources, targets, strict=True):
        value = np.asarray(keras.ops.convert_to_numpy(source))
        target.assign(
            value.astype(keras.backend.standardize_dtype(target.dtype))
        )
    return copy


def _set_encoder_dtype(serialized, precision):
    """Sets the dtype of every serialized `BertEncoder` in place."""
    if isinstance(serialized, dict):
        if serialized.get("class_name") == "BertEncoder":
            serialized["config"]["dtype"] = precision
        for value in serialized.values():
            _set_encoder_dtype(value, precision)
    elif isinstance(serialized, list):
        for value in serialized:
            _set_encoder_dtype(value, precision)
