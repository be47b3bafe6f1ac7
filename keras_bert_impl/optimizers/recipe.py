"""BERT's optimization recipe: AdamW (or LAMB), warmup + linear decay.

The one place that builds the package's optimizers: `create_optimizer`
(pretraining), `create_finetune_optimizer` (fine-tuning, the run's length
known) and `default_finetuning_optimizer` (the task models' `compile()`
default), all excluding `DECAY_EXCLUDED_NAMES` from weight decay.

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

from keras_bert_impl.checks import check_fraction
from keras_bert_impl.checks import check_positive_int
from keras_bert_impl.optimizers.adamw import AdamW
from keras_bert_impl.optimizers.schedules import WarmupLinearDecay

# Substrings of variable names kept out of weight decay. LayerNorm
# variables are `.../layer_norm/gamma` and `.../beta`; biases `.../bias`
# (the masked-LM head's `output_bias` too). Keras matches them against the
# variable name, which is the short name (`gamma`) or the full path
# depending on where the optimizer looks, so both forms are listed.
DECAY_EXCLUDED_NAMES = ("layer_norm", "LayerNorm", "gamma", "beta", "bias")
OPTIMIZERS = ("adamw", "lamb")


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


def warmup_steps_for(total_steps: int, warmup_ratio: float = 0.1) -> int:
    """Warmup updates: `warmup_ratio` of `total_steps`, rounded down.

    Example:
    >>> warmup_steps_for(1000), warmup_steps_for(9), warmup_steps_for(1)
    (100, 0, 0)
    """
    return min(int(warmup_ratio * total_steps), max(total_steps - 1, 0))


def create_finetune_optimizer(
    total_steps: int,
    learning_rate: float = 3e-5,
    warmup_ratio: float = 0.1,
    weight_decay: float = 0.01,
    *,
    clipnorm: float | None = 1.0,
    beta_1: float = 0.9,
    beta_2: float = 0.999,
    epsilon: float = 1e-6,
    loss_scale: bool = False,
) -> keras.optimizers.Optimizer:
    """The paper's fine-tuning optimizer for a run of `total_steps` updates.

    AdamW (LayerNorm and bias variables excluded from weight decay),
    warmup over `warmup_ratio` of the run, then linear decay to 0: the
    `create_optimizer` recipe with fine-tuning's defaults.

    Args:
        total_steps: int. Optimizer updates of the whole run
            (`epochs × steps_per_epoch`); the rate reaches 0 there.
        learning_rate: float. Peak rate. Defaults to `3e-5`.
        warmup_ratio: float in [0, 1). Defaults to `0.1`.
        weight_decay: float. Defaults to `0.01`.
        clipnorm: optional float. Global norm clipping. Defaults to `1.0`.
        beta_1, beta_2, epsilon: Adam's.
        loss_scale: bool. Wrap in `keras.optimizers.LossScaleOptimizer`
            (dynamic loss scaling), needed for `"mixed_float16"`.

    Returns:
        An `AdamW` whose `learning_rate` is a `WarmupLinearDecay`.

    Example:
    >>> opt = create_finetune_optimizer(total_steps=100)
    >>> schedule = opt._learning_rate
    >>> [round(float(schedule(t)), 8) for t in (0, 10, 55, 100)]
    [0.0, 3e-05, 1.5e-05, 0.0]
    """
    check_positive_int(total_steps=total_steps)
    check_fraction("warmup_ratio", warmup_ratio)
    return create_optimizer(
        learning_rate,
        total_steps=total_steps,
        warmup_steps=warmup_steps_for(total_steps, warmup_ratio),
        optimizer="adamw",
        weight_decay=weight_decay,
        beta_1=beta_1,
        beta_2=beta_2,
        epsilon=epsilon,
        global_clipnorm=clipnorm,
        loss_scale=loss_scale,
    )


def default_finetuning_optimizer(learning_rate: float = 3e-5):
    """AdamW for fine-tuning at a constant rate (no schedule).

    The default of the task models' `compile()`: weight decay 0.01
    (LayerNorm and bias variables excluded), betas 0.9 / 0.999, epsilon
    1e-6, global gradient clipping at 1.0 — the paper's optimizer without
    its warmup + linear decay, which needs the run's length
    (`create_finetune_optimizer` adds it).

    Example:
    >>> opt = default_finetuning_optimizer()
    >>> type(opt).__name__, round(float(opt.learning_rate), 8)
    ('AdamW', 3e-05)
    >>> opt.weight_decay, opt.global_clipnorm
    (0.01, 1.0)
    """
    optimizer = AdamW(
        learning_rate=learning_rate,
        weight_decay=0.01,
        beta_1=0.9,
        beta_2=0.999,
        epsilon=1e-6,
        global_clipnorm=1.0,
    )
    optimizer.exclude_from_weight_decay(var_names=list(DECAY_EXCLUDED_NAMES))
    return optimizer
