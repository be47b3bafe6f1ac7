"""The training-health numbers of the compiled step (`keras_bert_impl.health`)
against values computed from the weights themselves: plain SGD moves the
weights by exactly `learning_rate x gradient`, so the weights before and
after each step give the gradient norm, the weight norm and the update
ratio without the code under test."""

import keras
import numpy as np
import pytest

from keras_bert_impl.health import HealthMixin
from keras_bert_impl.health import TrainingHealth
from keras_bert_impl.health import health_of
from keras_bert_impl.training.distribute import ReplicaXLAMixin

LEARNING_RATE = 0.1


class KerasStepNet(HealthMixin, keras.Model):
    """Keras' own train step with the health numbers (task models)."""

    health_interval = 3

    def __init__(self):
        super().__init__()
        self.hidden = keras.layers.Dense(5, activation="tanh")
        self.out = keras.layers.Dense(2)

    def call(self, x):
        return self.out(self.hidden(x))


class ReplicaStepNet(ReplicaXLAMixin, KerasStepNet):
    """The pretraining model's step (`training/distribute.py`)."""


def _flat(model):
    return np.concatenate(
        [
            np.ravel(keras.ops.convert_to_numpy(v))
            for v in model.trainable_weights
        ]
    )


@pytest.mark.parametrize("cls", [KerasStepNet, ReplicaStepNet])
@pytest.mark.parametrize("jit_compile", [False, True])
def test_numbers_match_the_weights_and_are_sampled(cls, jit_compile):
    keras.utils.set_random_seed(0)
    rng = np.random.default_rng(0)
    x = rng.normal(size=(8, 4)).astype("float32")
    y = rng.normal(size=(8, 2)).astype("float32")
    model = cls()
    model.compile(
        optimizer=keras.optimizers.SGD(LEARNING_RATE),
        loss="mse",
        jit_compile=jit_compile,
    )
    model(x)

    def steps(n):
        grad_norms, weight_norms, ratios = [], [], []
        for _ in range(n):
            before = _flat(model)
            model.train_on_batch(x, y)
            after = _flat(model)
            grad_norms.append(np.linalg.norm(before - after) / LEARNING_RATE)
            weight_norms.append(np.linalg.norm(after))
            ratios.append(np.linalg.norm(after - before) / weight_norms[-1])
        return grad_norms, weight_norms, ratios

    # Update 0 alone: its gradient norm, no weight numbers (the first
    # update of all is never sampled: warmup from 0 leaves it at 0).
    grad_norms, _, _ = steps(1)
    read = health_of(model).read_and_reset()
    assert set(read) == {"grad_norm"}
    np.testing.assert_allclose(read["grad_norm"], grad_norms[0], 1e-4)
    # Updates 1..5: the gradient norm every step; the weights on update 1
    # (the first since the last read) and update 3 (3 % 3 == 0).
    grad_norms, weight_norms, ratios = steps(5)
    read = health_of(model).read_and_reset()
    np.testing.assert_allclose(read["grad_norm"], np.mean(grad_norms), 1e-4)
    np.testing.assert_allclose(
        read["weight_norm"], np.mean([weight_norms[0], weight_norms[2]]), 1e-5
    )
    np.testing.assert_allclose(
        read["update_ratio"], np.mean([ratios[0], ratios[2]]), 1e-4
    )
    # Not the mean over all five steps (the sample is what was read).
    assert abs(read["update_ratio"] - np.mean(ratios)) > 1e-3 * np.mean(ratios)
    # Update 6 is the first after a read: sampled, and so is 6 % 3 == 0;
    # update 7 alone: sampled although 7 % 3 != 0.
    steps(1)
    health_of(model).read_and_reset()
    grad_norms, weight_norms, ratios = steps(1)
    read = health_of(model).read_and_reset()
    np.testing.assert_allclose(
        [read["grad_norm"], read["weight_norm"], read["update_ratio"]],
        [grad_norms[0], weight_norms[0], ratios[0]],
        rtol=1e-4,
    )
    assert health_of(model).read_and_reset() == {}  # no step since


def test_interval_is_validated():
    with pytest.raises(ValueError, match="positive integer, got 0"):
        TrainingHealth(interval=0)


@pytest.mark.parametrize("cls", [KerasStepNet, ReplicaStepNet])
def test_a_new_interval_applies_at_the_next_fit(cls):
    """`health_interval` is read at every `fit` / `train_on_batch`, not only
    the first: the traced step reads it from a variable."""
    rng = np.random.default_rng(0)
    x = rng.normal(size=(8, 4)).astype("float32")
    y = rng.normal(size=(8, 2)).astype("float32")
    model = cls()
    model.compile(optimizer=keras.optimizers.SGD(LEARNING_RATE), loss="mse")
    model.fit(x, y, batch_size=8, epochs=1, verbose=0)  # update 0
    health = health_of(model)
    assert health.interval == 3
    health.read_and_reset()

    def sampled_after(n):
        for _ in range(n):
            model.train_on_batch(x, y)
        count = float(health._sampled.numpy())
        health.read_and_reset()
        return count

    # Updates 1-4 at interval 3: 1 (first since the read) and 3.
    assert sampled_after(4) == 2
    model.health_interval = 1
    assert sampled_after(4) == 4  # every update, without a new trace
    assert health.interval == 1
    model.health_interval = 5
    model.fit(x, y, batch_size=8, epochs=4, verbose=0)  # updates 9-12
    assert float(health._sampled.numpy()) == 2  # 9 (first) and 10
