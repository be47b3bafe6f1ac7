"""Shared test helpers.

`run_layer_checks`: the checks every layer of the package must pass,
modeled on Keras's and keras-hub's `run_layer_test`. `imports_peers`: does
a script need the benchmark peers (outside the test extra) at import?
"""

import ast
import json

import keras
import numpy as np


def _json(obj):
    return json.dumps(obj, sort_keys=True, default=str)


def run_layer_checks(
    cls,
    init_kwargs,
    inputs,
    expected_output_shape,
    expected_num_trainable_weights,
    run_mixed_precision=True,
    run_training=True,
):
    """Runs config, build, symbolic, eager, XLA-fit and bf16 checks.

    Args:
        cls: the layer class.
        init_kwargs: dict of constructor arguments.
        inputs: dict of call arguments (numpy arrays), by call-argument
            name, e.g. `{"token_ids": ..., "segment_ids": ...}`.
        expected_output_shape: tuple.
        expected_num_trainable_weights: int.
    """
    # 1. get_config -> from_config -> get_config is JSON-equal, and so is
    #    the serialize_keras_object round trip.
    layer = cls(**init_kwargs)
    config = layer.get_config()
    again = cls.from_config(config).get_config()
    assert _json(config) == _json(again)
    serialized = keras.saving.serialize_keras_object(layer)
    restored = keras.saving.deserialize_keras_object(serialized)
    assert type(restored) is cls
    assert _json(restored.get_config()) == _json(config)

    # 2. build(shape) alone creates every weight.
    layer = cls(**init_kwargs)
    layer.build(**{f"{k}_shape": v.shape for k, v in inputs.items()})
    assert layer.built
    assert len(layer.trainable_weights) == expected_num_trainable_weights
    num_weights = len(layer.weights)

    # 3. A symbolic call matches compute_output_shape.
    symbolic = {
        k: keras.KerasTensor(v.shape, dtype=str(v.dtype))
        for k, v in inputs.items()
    }
    out = layer(**symbolic)
    assert tuple(out.shape) == tuple(expected_output_shape)
    shapes = {f"{k}_shape": v.shape for k, v in inputs.items()}
    assert tuple(layer.compute_output_shape(**shapes)) == tuple(
        expected_output_shape
    )

    # 4. An eager call has the expected shape and dtype, and builds nothing
    #    new.
    out = layer(**inputs)
    assert tuple(out.shape) == tuple(expected_output_shape)
    assert keras.backend.standardize_dtype(out.dtype) == "float32"
    assert len(layer.weights) == num_weights

    # 5. One fit step compiled with XLA.
    if run_training:
        layer = cls(**init_kwargs)
        model_inputs = {
            k: keras.Input(shape=v.shape[1:], dtype=str(v.dtype), name=k)
            for k, v in inputs.items()
        }
        model = keras.Model(model_inputs, layer(**model_inputs))
        model.compile(optimizer="sgd", loss="mse", jit_compile=True)
        target = np.zeros(expected_output_shape, "float32")
        history = model.fit(inputs, target, batch_size=len(target), verbose=0)
        assert np.isfinite(history.history["loss"][0])

    # 6. Mixed bfloat16: bf16 outputs, float32 variables.
    if run_mixed_precision:
        layer = cls(**init_kwargs, dtype="mixed_bfloat16")
        out = layer(**inputs)
        assert keras.backend.standardize_dtype(out.dtype) == "bfloat16"
        for weight in layer.weights:
            assert weight.dtype == "float32", weight.path


# Packages of the benchmark peers, installed by the `bench` extra only.
PEER_PACKAGES = ("torch", "transformers", "keras_hub")


def imports_peers(path):
    """Whether the script at `path` imports a peer package at top level
    (so the test extra cannot run its module-level code)."""
    with open(path, encoding="utf-8") as f:
        tree = ast.parse(f.read(), str(path))
    names = set()
    for node in tree.body:
        if isinstance(node, ast.Import):
            names |= {a.name.split(".")[0] for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module.split(".")[0])
    return bool(names & set(PEER_PACKAGES))
