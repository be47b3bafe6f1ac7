"""BERT's learning-rate schedule: linear warmup, then linear decay."""

import keras


@keras.saving.register_keras_serializable(package="keras_bert_impl")
class WarmupLinearDecay(keras.optimizers.schedules.LearningRateSchedule):
    """Linear warmup from 0 to `peak_learning_rate`, then linear decay to 0.

    At optimizer step `t` (counted from 0) the rate is
    `peak × t / warmup_steps` while `t < warmup_steps`, then
    `peak × (total_steps - t) / (total_steps - warmup_steps)`, and 0 from
    `total_steps` on.

    With gradient accumulation Keras calls the schedule with the count of
    micro-batches; pass the same `gradient_accumulation_steps` here and the
    schedule counts optimizer updates instead (`t = micro_step // k`).

    Args:
        peak_learning_rate: float. The rate reached after warmup.
        total_steps: int. Optimizer updates of the whole run.
        warmup_steps: int. Updates of linear warmup (may be 0). Defaults to
            `0`.
        gradient_accumulation_steps: int. Micro-batches per update.
            Defaults to `1`.

    Example:
    >>> schedule = WarmupLinearDecay(1e-3, total_steps=100, warmup_steps=10)
    >>> [round(float(schedule(t)), 6) for t in (0, 5, 10, 55, 100, 200)]
    [0.0, 0.0005, 0.001, 0.0005, 0.0, 0.0]
    """

    def __init__(
        self,
        peak_learning_rate: float,
        total_steps: int,
        warmup_steps: int = 0,
        gradient_accumulation_steps: int = 1,
    ):
        if not peak_learning_rate > 0:
            raise ValueError(
                "`peak_learning_rate` must be positive. Received: "
                f"peak_learning_rate={peak_learning_rate}"
            )
        if int(total_steps) < 1:
            raise ValueError(
                "`total_steps` must be at least 1. Received: "
                f"total_steps={total_steps}"
            )
        if not 0 <= int(warmup_steps) < int(total_steps):
            raise ValueError(
                "`warmup_steps` must be in [0, total_steps). Received: "
                f"warmup_steps={warmup_steps}, total_steps={total_steps}"
            )
        if int(gradient_accumulation_steps) < 1:
            raise ValueError(
                "`gradient_accumulation_steps` must be at least 1. Received: "
                f"gradient_accumulation_steps={gradient_accumulation_steps}"
            )
        self.peak_learning_rate = float(peak_learning_rate)
        self.total_steps = int(total_steps)
        self.warmup_steps = int(warmup_steps)
        self.gradient_accumulation_steps = int(gradient_accumulation_steps)

    def __call__(self, step):
        step = keras.ops.floor_divide(
            keras.ops.cast(step, "int64"), self.gradient_accumulation_steps
        )
        step = keras.ops.cast(step, "float32")
        peak = self.peak_learning_rate
        warmup = peak * step / max(self.warmup_steps, 1)
        decay_span = float(self.total_steps - self.warmup_steps)
        decay = peak * (self.total_steps - step) / decay_span
        rate = keras.ops.where(step < self.warmup_steps, warmup, decay)
        return keras.ops.clip(rate, 0.0, peak)

    def get_config(self):
        return {
            "peak_learning_rate": self.peak_learning_rate,
            "total_steps": self.total_steps,
            "warmup_steps": self.warmup_steps,
            "gradient_accumulation_steps": self.gradient_accumulation_steps,
        }
