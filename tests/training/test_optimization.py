"""BERT's optimizer: decay exclusions, schedule, accumulation, precision."""

import keras
import numpy as np
import pytest

from keras_bert_impl import build_encoder
from keras_bert_impl.optimizers import WarmupLinearDecay
from keras_bert_impl.optimizers import create_optimizer
from keras_bert_impl.training.pretrain import PretrainingModel
from tests.training.synthetic import synthetic_arrays
from tests.training.synthetic import synthetic_dataset


def _model(tiny_config, dtype=None, **changes):
    encoder = build_encoder(tiny_config.replace(**changes), dtype=dtype)
    return PretrainingModel(encoder)


class TestWarmupLinearDecay:
    @pytest.mark.parametrize(
        "step, expected",
        [(0, 0.0), (1, 2.5e-4), (4, 1e-3), (6, 7.5e-4), (12, 0.0), (99, 0.0)],
    )
    def test_values(self, step, expected):
        schedule = WarmupLinearDecay(1e-3, total_steps=12, warmup_steps=4)
        np.testing.assert_allclose(float(schedule(step)), expected, atol=1e-9)

    def test_counts_updates_under_accumulation(self):
        schedule = WarmupLinearDecay(
            1e-3, total_steps=12, warmup_steps=4, gradient_accumulation_steps=3
        )
        # Micro-steps 12, 13, 14 are update 4: the peak.
        for step in (12, 13, 14):
            np.testing.assert_allclose(float(schedule(step)), 1e-3)

    def test_config_round_trip(self):
        schedule = WarmupLinearDecay(2e-4, 100, 10, 2)
        config = keras.saving.serialize_keras_object(schedule)
        again = keras.saving.deserialize_keras_object(config)
        assert again.get_config() == schedule.get_config()

    @pytest.mark.parametrize(
        "kwargs, match",
        [
            (dict(peak_learning_rate=0, total_steps=10), "peak_learning_rate"),
            (dict(peak_learning_rate=1, total_steps=0), "total_steps"),
            (
                dict(peak_learning_rate=1, total_steps=5, warmup_steps=5),
                "warmup_steps",
            ),
        ],
    )
    def test_errors(self, kwargs, match):
        with pytest.raises(ValueError, match=match):
            WarmupLinearDecay(**kwargs)


class TestCreateOptimizer:
    def test_decay_excludes_layer_norm_and_bias(self, tiny_config):
        model = _model(tiny_config)
        lr, wd = 0.1, 0.5
        optimizer = create_optimizer(
            lr, total_steps=10, warmup_steps=0, weight_decay=wd
        )
        variables = model.trainable_variables
        before = [np.array(v) for v in variables]
        # Zero gradients: Adam moves nothing, only weight decay acts.
        optimizer.apply(
            [np.zeros(v.shape, "float32") for v in variables], variables
        )
        excluded = decayed = 0
        for v, old in zip(variables, before, strict=True):
            layer_norm = "layer_norm" in v.path
            bias = v.path.endswith("bias")
            if layer_norm or bias:
                np.testing.assert_array_equal(np.array(v), old, err_msg=v.path)
                excluded += 1
            else:
                np.testing.assert_allclose(
                    np.array(v), old * (1 - lr * wd), rtol=1e-6, err_msg=v.path
                )
                decayed += 1
        # Embedding LN + 2 per block + MLM LN; 6 biases per block + 4 more.
        assert excluded == 2 * (1 + 2 * 2 + 1) + 6 * 2 + 4
        assert decayed > 0

    def test_lamb_and_loss_scale(self):
        opt = create_optimizer(1e-3, 10, 1, optimizer="lamb", loss_scale=True)
        assert isinstance(opt, keras.optimizers.LossScaleOptimizer)
        assert isinstance(opt.inner_optimizer, keras.optimizers.Lamb)
        assert opt.inner_optimizer.global_clipnorm == 1.0

    @pytest.mark.parametrize(
        "kwargs, match",
        [
            (dict(optimizer="sgd"), "optimizer"),
            (dict(weight_decay=-1.0), "weight_decay"),
            (dict(global_clipnorm=0.0), "global_clipnorm"),
        ],
    )
    def test_errors(self, kwargs, match):
        with pytest.raises(ValueError, match=match):
            create_optimizer(1e-3, 10, 1, **kwargs)


@pytest.mark.large
@pytest.mark.parametrize(
    "dtype", ["float32", "mixed_bfloat16", "mixed_float16"]
)
def test_finite_losses_under_each_precision(tiny_config, dtype):
    model = _model(tiny_config, dtype=None if dtype == "float32" else dtype)
    model.compile(
        optimizer=create_optimizer(
            1e-3, 10, 1, loss_scale=dtype == "mixed_float16"
        ),
        jit_compile=False,  # XLA is covered by the pretrain tests
    )
    history = model.fit(synthetic_dataset(0, num_batches=2), verbose=0)
    for name, values in history.history.items():
        assert np.isfinite(values).all(), name
    assert all(v.dtype == "float32" for v in model.trainable_variables)


@pytest.mark.large
def test_gradient_accumulation_matches_one_big_batch(tiny_config):
    """2 micro-batches of 2 then one update == one batch of 4."""
    x, y, w = synthetic_arrays(3, 4, pad_predictions=False)
    finals = []
    for k, batch in ((1, 4), (2, 2)):
        keras.utils.set_random_seed(5)
        model = _model(tiny_config, dropout=0.0, attention_dropout=0.0)
        model.compile(
            optimizer=create_optimizer(
                1e-2, 4, 0, gradient_accumulation_steps=k
            ),
            jit_compile=False,
        )
        model.fit(
            x, y, sample_weight=w, batch_size=batch, verbose=0, shuffle=False
        )
        finals.append([np.array(v) for v in model.trainable_variables])
    for a, b in zip(*finals, strict=True):
        np.testing.assert_allclose(a, b, atol=2e-6)


@pytest.mark.large
def test_lamb_trains_under_xla(tiny_config):
    """LAMB, XLA-compiled: steps on one batch lower its loss, and every
    weight moves and stays finite."""
    x, y, w = synthetic_arrays(4, 4, pad_predictions=False)
    model = _model(tiny_config, dropout=0.0, attention_dropout=0.0)
    steps = 10
    model.compile(
        optimizer=create_optimizer(
            5e-2, total_steps=steps, warmup_steps=1, optimizer="lamb"
        ),
        jit_compile=True,
    )
    assert isinstance(model.optimizer, keras.optimizers.Lamb)
    before = [np.array(v) for v in model.trainable_variables]
    first = model.evaluate(x, y, sample_weight=w, verbose=0, return_dict=True)
    history = model.fit(
        x,
        y,
        sample_weight=w,
        batch_size=4,
        epochs=steps,
        verbose=0,
        shuffle=False,
    )
    last = model.evaluate(x, y, sample_weight=w, verbose=0, return_dict=True)
    assert int(model.optimizer.iterations) == steps
    assert np.isfinite(history.history["loss"]).all()
    # 4.17 -> 3.73 when written; a step that does nothing keeps 4.17.
    assert last["loss"] < 0.95 * first["loss"], (first, last)
    for v, old in zip(model.trainable_variables, before, strict=True):
        new = np.array(v)
        assert np.isfinite(new).all(), v.path
        assert not np.array_equal(new, old), v.path
