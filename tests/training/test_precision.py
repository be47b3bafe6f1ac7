"""Mixed precision: float32 LayerNorm and softmax, XLA through `pretrain`.

No global dtype policy is set: the policy goes to the model as `dtype=`.
"""

import json
import os

import keras
import numpy as np
import pytest

from keras_bert_impl import build_encoder
from keras_bert_impl.training.pretrain import PretrainingModel
from keras_bert_impl.training.pretrain import pretrain
from keras_bert_impl.training.pretrain import resolve_config
from tests.training.conftest import tiny_run_config
from tests.training.synthetic import synthetic_arrays

# Relative rounding error of one value stored in the compute dtype.
ROUNDING = {"mixed_bfloat16": 2.0**-8, "mixed_float16": 2.0**-11}


def _layer_norm_reference(x, gamma, beta, epsilon):
    x = np.asarray(x, "float64")
    mean = x.mean(axis=-1, keepdims=True)
    variance = x.var(axis=-1, keepdims=True)
    return (x - mean) / np.sqrt(variance + epsilon) * gamma + beta


def _as_float64(x):
    return keras.ops.convert_to_numpy(keras.ops.cast(x, "float32")).astype(
        "float64"
    )


@pytest.mark.parametrize("dtype", ["mixed_bfloat16", "mixed_float16"])
def test_layer_norm_and_softmax_compute_in_float32(
    tiny_config, monkeypatch, dtype
):
    """Spies on every LayerNormalization call and every `keras.ops.softmax`
    call of one mixed-precision pretrainer forward pass."""
    model = PretrainingModel(build_encoder(tiny_config, dtype=dtype))
    x, _, _ = synthetic_arrays(0, 2)

    softmax_calls = []
    real_softmax = keras.ops.softmax

    def spy_softmax(inputs, axis=-1):
        outputs = real_softmax(inputs, axis=axis)
        softmax_calls.append(
            (keras.ops.dtype(inputs), keras.ops.dtype(outputs))
        )
        return outputs

    norm_calls = []
    real_call = keras.layers.LayerNormalization.call

    def spy_call(self, inputs, *args, **kwargs):
        outputs = real_call(self, inputs, *args, **kwargs)
        norm_calls.append((self, inputs, outputs))
        return outputs

    # encoder_block.py calls `ops.softmax` on the public `keras.ops`.
    monkeypatch.setattr(keras.ops, "softmax", spy_softmax)
    monkeypatch.setattr(keras.layers.LayerNormalization, "call", spy_call)
    model(x, training=False)
    monkeypatch.undo()

    # Attention probabilities: one softmax per block, float32 in and out.
    assert softmax_calls == [("float32", "float32")] * tiny_config.num_layers
    # Embedding LN + 2 per block, all under the mixed policy; then the
    # masked-LM head's LN (whose policy is the pretrainer's to choose).
    assert len(norm_calls) == 1 + 2 * tiny_config.num_layers + 1
    compute = "bfloat16" if dtype == "mixed_bfloat16" else "float16"
    for layer, _, _ in norm_calls[:-1]:
        assert layer.dtype_policy.name == dtype, layer.path
        assert layer.compute_dtype == compute, layer.path
    # Rows with a large mean and a small spread. Statistics computed in
    # the 16-bit dtype lose them (checked when written: errors of 0.1-1
    # against a tolerance of 0.002-0.009, with E[x²] - E[x]² or with the
    # centred variance, as the mean ≈ 1001.9 is not representable);
    # float32 statistics of the same 16-bit inputs meet it.
    row = 1000.0 + 0.25 * np.arange(16, dtype="float32")
    stress = np.tile(row, (2, 3, tiny_config.hidden_dim // 16))
    for layer, inputs, outputs in norm_calls:
        assert layer.gamma.dtype == layer.beta.dtype == "float32"
        assert keras.ops.dtype(inputs) == layer.compute_dtype, layer.path
        assert keras.ops.dtype(outputs) == layer.compute_dtype, layer.path
        # A float32 layer: float32 statistics of x ≈ 1000 carry ~1e-4.
        rtol = 2 * ROUNDING.get(layer.dtype_policy.name, 2.0**-10)
        gamma = np.asarray(layer.gamma, "float64")
        beta = np.asarray(layer.beta, "float64")
        stress_inputs = keras.ops.cast(stress, layer.compute_dtype)
        for given, got in (
            (inputs, outputs),
            (stress_inputs, layer(stress_inputs)),
        ):
            expected = _layer_norm_reference(
                _as_float64(given), gamma, beta, layer.epsilon
            )
            np.testing.assert_allclose(
                _as_float64(got),
                expected,
                rtol=rtol,
                atol=rtol * np.abs(expected).max(),
                err_msg=layer.path,
            )


class _WeightsMoved(keras.callbacks.Callback):
    """Keeps the trainable weights at the start and the end of `fit`."""

    def on_train_begin(self, logs=None):
        self.before = [np.array(v) for v in self.model.trainable_variables]

    def on_train_end(self, logs=None):
        self.after = [np.array(v) for v in self.model.trainable_variables]


@pytest.mark.large
@pytest.mark.parametrize("dtype", ["mixed_bfloat16", "mixed_float16"])
def test_pretrain_mixed_precision_under_xla(tmp_path, dtype):
    """`pretrain(dtype=..., jit_compile=True)`: finite losses, float32
    variables that move, loss scaling for float16, and the resolved
    `warmup_steps` / `max_predictions_per_seq` in pretraining_config.json.
    (XLA is forced: the default `"auto"` leaves it off for 16-bit on CPU.)"""
    config = tiny_run_config(
        tmp_path,
        dtype=dtype,
        jit_compile=True,
        steps=10,
        steps_per_epoch=10,
        validation=None,
        warmup_steps=None,
        max_predictions_per_seq=None,
    )
    spy = _WeightsMoved()
    history = pretrain(config, callbacks=[spy], verbose=0)
    model = history.model
    assert model.jit_compile is True
    # (The functional encoder's own policy stays float32; its layers' is
    # the one given.)
    block = model.encoder.get_layer("transformer_layer_0")
    assert block.dtype_policy.name == dtype
    for name, values in history.history.items():
        assert np.isfinite(values).all(), name
    assert all(v.dtype == "float32" for v in model.trainable_variables)
    moved = [
        not np.array_equal(a, b)
        for a, b in zip(spy.before, spy.after, strict=True)
    ]
    assert all(np.isfinite(a).all() for a in spy.after)
    assert sum(moved) > len(moved) // 2, f"{sum(moved)}/{len(moved)} moved"
    if dtype == "mixed_float16":
        assert isinstance(model.optimizer, keras.optimizers.LossScaleOptimizer)
    with open(os.path.join(config.logdir, "pretraining_config.json")) as f:
        saved = json.load(f)
    # 10% of 10 updates; ceil(0.15 × 8 tokens).
    assert saved["warmup_steps"] == 1
    assert saved["max_predictions_per_seq"] == 2
    assert len(saved.pop("vocab_sha256")) == 64
    assert saved == resolve_config(config).to_dict()
