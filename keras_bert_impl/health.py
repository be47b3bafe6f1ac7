"""Training health, measured inside the compiled train step.

What a user watches to see whether a run learns or is about to diverge:

* `grad_norm`: the global norm of the gradients before clipping (divided
  by the loss scale under `mixed_float16`), every step;
* `weight_norm`: the global norm of the trainable weights after the update;
* `update_ratio`: the global norm of the update (weights after minus
  before) over `weight_norm` — around 1e-3 per step for a healthy AdamW run,
  far above when the learning rate is too high.

The last two need a copy of the weights before the update (taken every
step) and two more passes over the weights, which cost 2-4% of a `tiny`
step on a CPU (`benchmarks/bench_health.py`); so those passes run on a
sample of the steps: every `interval`-th update (10 by default) and the
first step after each read, so every logged window has at least one (the
practice of Megatron-LM, which computes its parameter norm on logging
steps only), except the optimizer's very first update, which a warmup
from a rate of 0 (BERT's schedule) leaves at 0 (a window of that step
alone has no weight numbers). The gradient norm costs nothing
measurable and is taken on every step.

`TrainingHealth` keeps their running sums in variables that the step adds
to (no host round trip per step); `TrainingTensorBoard` reads and resets
them at each log and writes their means, next to the perplexity
(`exp` of the masked-LM loss), the loss scale and tokens per second, which
it computes from the logs. The variables are held out of Keras' and
TensorFlow's tracking: they are not model weights, not in `.keras` files,
checkpoints or exports. `HealthMixin` gives a Keras model the train step
that records them (Keras' own step, its update through
`TrainingHealth.apply`).
"""

import keras
import tensorflow as tf

NAMES = ("grad_norm", "weight_norm", "update_ratio")
SAMPLED = ("weight_norm", "update_ratio")
INTERVAL = 10  # the default sampling interval of SAMPLED


class TrainingHealth:
    """Running sums of the health numbers since the last `read_and_reset`.

    Args:
        interval: the weight norm and the update ratio are measured on
            every `interval`-th optimizer update and on the first step after
            each `read_and_reset` (1: every step), never on the first
            update of all (iteration 0).
    """

    def __init__(self, interval=INTERVAL):
        # A variable, not a constant of the traced step: a new interval
        # takes effect at the next step without retracing.
        self._interval = tf.Variable(
            INTERVAL, dtype=tf.int64, trainable=False, name="health_interval"
        )
        self.interval = interval
        self._sums = {
            name: tf.Variable(0.0, trainable=False, name=f"health_{name}")
            for name in NAMES
        }
        self._count = tf.Variable(0.0, trainable=False, name="health_count")
        self._sampled = tf.Variable(0.0, trainable=False, name="health_sampled")

    @property
    def interval(self) -> int:
        return self._interval_value

    @interval.setter
    def interval(self, interval):
        if (
            isinstance(interval, bool)
            or not isinstance(interval, int)
            or interval < 1
        ):
            raise ValueError(
                f"Health interval must be a positive integer, got {interval!r}."
            )
        self._interval_value = interval
        self._interval.assign(interval)

    def apply(self, optimizer, gradients, variables):
        """`optimizer.apply(gradients, variables)`, recording this step's
        numbers (call inside the compiled step, in place of the update).

        Args:
            optimizer: a Keras optimizer (a `LossScaleOptimizer` too: the
                gradient norm is divided by its scale before the update).
            gradients: the raw gradients (before clipping, maybe scaled).
            variables: the trainable variables.
        """
        grads = [
            tf.cast(tf.convert_to_tensor(g), tf.float32)  # IndexedSlices too
            for g in gradients
            if g is not None
        ]
        grad_norm = tf.linalg.global_norm(grads)
        scale = loss_scale_of(optimizer)
        if scale is not None:
            grad_norm = grad_norm / tf.cast(scale, tf.float32)
        self._sums["grad_norm"].assign_add(grad_norm)
        self._count.assign_add(1.0)

        iteration = optimizer.iterations
        sample = tf.logical_and(
            iteration > 0,  # under warmup from 0 the first update is 0
            tf.logical_or(
                tf.equal(self._sampled, 0.0),
                tf.equal(
                    iteration % tf.cast(self._interval, iteration.dtype), 0
                ),
            ),
        )
        # The copy is taken on every step and only the passes over it are
        # conditional: a conditional around the update itself made XLA
        # copy the weights and optimizer states in and out of it (tiny's
        # pretraining step +2.5% [+2.1, +3.1], against +0.4% [-0.3, +1.2]
        # this way; bench_health.py, 100 pairs).
        before = [tf.identity(v.value) for v in variables]
        optimizer.apply(gradients, variables)

        def measured():
            after = [tf.cast(v.value, tf.float32) for v in variables]
            weight_norm = tf.linalg.global_norm(after)
            update_norm = tf.linalg.global_norm(
                [
                    a - tf.cast(b, tf.float32)
                    for a, b in zip(after, before, strict=True)
                ]
            )
            self._sums["weight_norm"].assign_add(weight_norm)
            self._sums["update_ratio"].assign_add(
                update_norm / tf.maximum(weight_norm, 1e-12)
            )
            self._sampled.assign_add(1.0)
            return tf.constant(True)

        return tf.cond(sample, measured, lambda: tf.constant(False))

    def read_and_reset(self) -> dict:
        """The means since the last call (empty if no step ran; without
        the weight numbers if no step since was sampled)."""
        count = float(self._count.numpy())
        if count == 0:
            return {}
        sampled = float(self._sampled.numpy())
        out = {"grad_norm": float(self._sums["grad_norm"].numpy()) / count}
        for name in SAMPLED if sampled else ():
            out[name] = float(self._sums[name].numpy()) / sampled
        for variable in (*self._sums.values(), self._count, self._sampled):
            variable.assign(0.0)
        return out


class _Untracked:
    """Keeps a value out of Keras' and TensorFlow's attribute tracking."""

    __slots__ = ("value",)

    def __init__(self, value):
        self.value = value


def health_of(model):
    """The model's `TrainingHealth` (created on first use, eagerly)."""
    box = getattr(model, "_health_box", None)
    if box is None:
        box = _Untracked(
            TrainingHealth(getattr(model, "health_interval", INTERVAL))
        )
        object.__setattr__(model, "_health_box", box)
    return box.value


def sync_health(model):
    """Before a `fit` or `train_on_batch` builds or reuses its step: the
    model's `TrainingHealth`, created here (outside tf.function) if new,
    sampling at the model's current `health_interval`."""
    health_of(model).interval = getattr(model, "health_interval", INTERVAL)


def loss_scale_of(optimizer):
    """The dynamic loss scale of a `LossScaleOptimizer`, else `None`."""
    scale = getattr(optimizer, "dynamic_scale", None)
    return None if scale is None else scale


class HealthMixin:
    """Keras' train step, plus the health numbers of `TrainingHealth`.

    Mix in before `keras.Model`. `track_health = False` (an attribute)
    turns the recording off (Keras' own step then runs unchanged);
    `health_interval` is `TrainingHealth`'s sampling interval, read at
    each `fit` and `train_on_batch` (a change applies from the next one).
    """

    track_health = True
    health_interval = INTERVAL

    def make_train_function(self, force=False):
        if self.track_health:
            sync_health(self)
        return super().make_train_function(force=force)

    def train_step(self, data):
        if not self.track_health:
            return super().train_step(data)
        x, y, sample_weight = keras.utils.unpack_x_y_sample_weight(data)
        with tf.GradientTape() as tape:
            y_pred = self(x, training=True)
            loss = self._compute_loss(
                x=x, y=y, y_pred=y_pred, sample_weight=sample_weight,
                training=True,
            )  # fmt: skip
            self._loss_tracker.update_state(
                loss, sample_weight=tf.shape(tf.nest.flatten(x)[0])[0]
            )
            scaled = self.optimizer.scale_loss(loss)
        variables = self.trainable_weights
        gradients = tape.gradient(scaled, variables)
        health_of(self).apply(self.optimizer, gradients, variables)
        return self.compute_metrics(x, y, y_pred, sample_weight=sample_weight)
