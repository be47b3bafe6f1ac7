"""BERT's optimization recipe: AdamW (or LAMB), warmup + linear decay.

The defaults are those of the paper and of google-research/bert's
`optimization.py`: Adam with decoupled weight decay 0.01 that skips the
LayerNorm and bias variables, beta_1 0.9, beta_2 0.999, epsilon 1e-6, a
learning rate that rises linearly from 0 over `warmup_steps` and then
decays linearly to 0 at `total_steps`, and gradients clipped to a global
norm of 1.0. LAMB (You et al., arXiv 1904.00962) is the large-batch option.

References:
    Devlin et al., "BERT: Pre-training of Deep Bidirectional Transformers for
    Language Understanding", arXiv 1810.04805, appendix A.2. Loshchilov and
    Hutter, "Decoupled Weight Decay Regularization", arXiv 1711.05101.
"""

import keras

from keras_bert_impl.optimizers.adamw import AdamW

# Substrings of variable names kept out of weight decay. LayerNorm
# variables are `.../layer_norm/gamma` and `.../beta`; biases `.../bias`
# (the masked-LM head's `output_bias` too). Keras matches them against the
# variable name, which is the short name (`gamma`) or the full path
# depending on where the optimizer looks, so both forms are listed.
DECAY_EXCLUDED_NAMES = ("layer_norm", "LayerNorm", "gamma", "beta", "bias")
OPTIMIZERS = ("adamw", "lamb")


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


def create_optimizer(
    learning_rate: float = 1e-4,
    total_steps: int = 1_000_000,
    warmup_steps: int = 10_000,
    *,
    optimizer: str = "adamw",
    weight_decay: float = 0.01,
    beta_1: float = 0.9,
    beta_2: float = 0.999,
    epsilon: float = 1e-6,
    global_clipnorm: float | None = 1.0,
    gradient_accumulation_steps: int = 1,
    loss_scale: bool = False,
) -> keras.optimizers.Optimizer:
    """Builds BERT's optimizer: AdamW or LAMB, warmup + decay, clipping.

    Args:
        learning_rate: float. Peak learning rate. Defaults to `1e-4`.
        total_steps: int. Optimizer updates of the whole run (the schedule
            reaches 0 there).
        warmup_steps: int. Updates of linear warmup.
        optimizer: str. `"adamw"` (the paper's) or `"lamb"` (large
            batches).
        weight_decay: float. Decoupled weight decay; LayerNorm and bias
            variables are excluded (`DECAY_EXCLUDED_NAMES`). Defaults to
            `0.01`.
        beta_1, beta_2, epsilon: Adam moments. Defaults `0.9`, `0.999`,
            `1e-6` (the original code's).
        global_clipnorm: optional float. Clip the gradients (after
            accumulation and all-reduce) to this global norm. Defaults to
            `1.0`.
        gradient_accumulation_steps: int. Micro-batches averaged per
            update (`1` = none). Each `fit` step is one micro-batch; the
            weights change every `k` steps.
        loss_scale: bool. Wrap in `keras.optimizers.LossScaleOptimizer`
            (dynamic loss scaling), needed for `"mixed_float16"`.

    Returns:
        A Keras optimizer.

    Raises:
        ValueError: an argument is out of range.

    Example:
    >>> opt = create_optimizer(1e-3, total_steps=100, warmup_steps=10)
    >>> type(opt).__name__, opt.weight_decay, opt.global_clipnorm
    ('AdamW', 0.01, 1.0)
    """
    if optimizer not in OPTIMIZERS:
        raise ValueError(
            f"`optimizer` must be one of {OPTIMIZERS}. Received: "
            f"optimizer={optimizer!r}"
        )
    if weight_decay < 0:
        raise ValueError(
            "`weight_decay` must be >= 0. Received: "
            f"weight_decay={weight_decay}"
        )
    if global_clipnorm is not None and not global_clipnorm > 0:
        raise ValueError(
            "`global_clipnorm` must be positive or None. Received: "
            f"global_clipnorm={global_clipnorm}"
        )
    schedule = WarmupLinearDecay(
        learning_rate, total_steps, warmup_steps, gradient_accumulation_steps
    )
    kwargs = dict(
        learning_rate=schedule,
        weight_decay=weight_decay or None,
        beta_1=beta_1,
        beta_2=beta_2,
        epsilon=epsilon,
        global_clipnorm=global_clipnorm,
        gradient_accumulation_steps=(
            gradient_accumulation_steps
            if gradient_accumulation_steps > 1
            else None
        ),
    )
    if optimizer == "adamw":
        opt = AdamW(**kwargs)
    else:
        opt = keras.optimizers.Lamb(**kwargs)
    if weight_decay:
        opt.exclude_from_weight_decay(var_names=list(DECAY_EXCLUDED_NAMES))
    if loss_scale:
        opt = keras.optimizers.LossScaleOptimizer(opt)
    return opt
