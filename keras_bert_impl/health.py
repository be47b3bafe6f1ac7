"""Training health, measured inside the compiled train step.

What a user watches to see whether a run learns or is about to diverge:

* `grad_norm`: the global norm of the gradients before clipping (divided
  by the loss scale under `mixed_float16`);
* `weight_norm`: the global norm of the trainable weights after the update;
* `update_ratio`: the global norm of the update (weights after minus
  before) over `weight_norm` — around 1e-3 per step for a healthy AdamW run,
  far above when the learning rate is too high.

`TrainingHealth` keeps their running sums in variables that the step adds
to (no host round trip per step); `TrainingTensorBoard` reads and resets
them at each log and writes their means, next to the perplexity
(`exp` of the masked-LM loss), the loss scale and tokens per second, which
it computes from the logs. The variables are held out of Keras' and
TensorFlow's tracking: they are not model weights, not in `.keras` files,
checkpoints or exports. `HealthMixin` gives a Keras model the train step
that records them (Keras' own step plus the three numbers).
"""

import keras
import tensorflow as tf

NAMES = ("grad_norm", "weight_norm", "update_ratio")


class TrainingHealth:
    """Running sums of the health numbers since the last `read_and_reset`."""

    def __init__(self):
        self._sums = {
            name: tf.Variable(0.0, trainable=False, name=f"health_{name}")
            for name in NAMES
        }
        self._count = tf.Variable(0.0, trainable=False, name="health_count")

    def snapshot(self, variables):
        """The weights before the update (what `record` compares with)."""
        return [tf.identity(v.value) for v in variables]

    def record(self, gradients, variables, before, loss_scale=None):
        """Adds one step's numbers (call inside the compiled step, after the
        optimizer update).

        Args:
            gradients: the raw gradients (before clipping, maybe scaled).
            variables: the trainable variables, updated.
            before: `snapshot(variables)` taken before the update.
            loss_scale: optional scalar the loss was multiplied by.
        """
        grads = [
            tf.cast(tf.convert_to_tensor(g), tf.float32)  # IndexedSlices too
            for g in gradients
            if g is not None
        ]
        grad_norm = tf.linalg.global_norm(grads)
        if loss_scale is not None:
            grad_norm = grad_norm / tf.cast(loss_scale, tf.float32)
        after = [tf.cast(v.value, tf.float32) for v in variables]
        weight_norm = tf.linalg.global_norm(after)
        update_norm = tf.linalg.global_norm(
            [
                a - tf.cast(b, tf.float32)
                for a, b in zip(after, before, strict=True)
            ]
        )
        values = {
            "grad_norm": grad_norm,
            "weight_norm": weight_norm,
            "update_ratio": update_norm / tf.maximum(weight_norm, 1e-12),
        }
        for name, value in values.items():
            self._sums[name].assign_add(value)
        self._count.assign_add(1.0)

    def read_and_reset(self) -> dict:
        """The means since the last call (empty if no step ran)."""
        count = float(self._count.numpy())
        if count == 0:
            return {}
        out = {name: float(v.numpy()) / count for name, v in self._sums.items()}
        for variable in (*self._sums.values(), self._count):
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
        box = _Untracked(TrainingHealth())
        object.__setattr__(model, "_health_box", box)
    return box.value


def loss_scale_of(optimizer):
    """The dynamic loss scale of a `LossScaleOptimizer`, else `None`."""
    scale = getattr(optimizer, "dynamic_scale", None)
    return None if scale is None else scale


class HealthMixin:
    """Keras' train step, plus the health numbers of `TrainingHealth`.

    Mix in before `keras.Model`. `track_health = False` (an attribute)
    turns the recording off (Keras' own step then runs unchanged).
    """

    track_health = True

    def make_train_function(self, force=False):
        if self.track_health:
            health_of(self)  # its variables, created outside tf.function
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
        health = health_of(self)
        before = health.snapshot(variables)
        self.optimizer.apply_gradients(zip(gradients, variables, strict=True))
        health.record(
            gradients, variables, before, loss_scale_of(self.optimizer)
        )
        return self.compute_metrics(x, y, y_pred, sample_weight=sample_weight)
