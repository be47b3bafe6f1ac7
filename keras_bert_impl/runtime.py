"""The XLA policy of every compiled step: `jit_compile="auto"`.

Keras' own `"auto"` means XLA off on a CPU-only machine and under
`tf.distribute`. This package's `"auto"` picks the mode measured faster:
XLA on GPU and TPU; on a CPU-only host, XLA for the pretraining step of
small models (float32 or bfloat16) and TensorFlow's own (oneDNN) kernels
for larger ones and for fine-tuning steps (measured in
`benchmarks/bench_jit_auto.py`; the numbers are in the README's
Performance section). `True` and `False` are always honoured.

It also refuses to train in a process set up for serving only
(`check_weights_may_change`).
"""

import os

import tensorflow as tf

from keras_bert_impl.checks import check_jit_compile

# On a CPU-only host, XLA's code generation beats TensorFlow's oneDNN
# kernels only while the matmuls are small: pretraining steps up to this
# hidden size (tiny) gain from XLA (float32 1.20x, bfloat16 1.08x), larger
# ones tie (mini float32 1.01x) or lose (bfloat16 from mini up: 0.48-0.75x);
# a fine-tuning step (no vocabulary-sized MLM head to fuse) is faster on
# the oneDNN kernels at every size (benchmarks/bench_jit_auto.py; README,
# Performance).
CPU_XLA_MAX_HIDDEN_DIM = 128


STEPS = ("pretraining", "fine-tuning")

# TensorFlow's oneDNN MatMul kernels read this once per process: when true,
# each kernel converts its weight into oneDNN's blocked layout at its first
# call and reuses that copy for ever. A serving process gains (bfloat16
# exports 1.00-1.30x in two runs, benchmarks/bench_onednn_weights.py); a
# training step would run its forward pass on the first weights it saw.
FROZEN_WEIGHTS_ENV = "TF_ONEDNN_ASSUME_FROZEN_WEIGHTS"


def resolve_jit_compile(
    jit_compile, compute_dtypes, hidden_dim=None, step="pretraining"
) -> bool:
    """This package's `jit_compile="auto"`: the mode measured faster.

    With a GPU or TPU: XLA. On a CPU-only host: TensorFlow's own (oneDNN)
    kernels for fine-tuning steps at every size and for float16 compute
    (not measured to gain on a CPU); for float32 and bfloat16 pretraining
    steps, XLA up to hidden size `CPU_XLA_MAX_HIDDEN_DIM` (tiny),
    TensorFlow's kernels above.

    Args:
        jit_compile: `True`, `False` or `"auto"`.
        compute_dtypes: the compute dtypes of the model's layers.
        hidden_dim: optional int. The encoder's hidden size (unknown:
            treated as small).
        step: `"pretraining"` (masked LM + NSP, and a bare encoder) or
            `"fine-tuning"` (a task model's step).

    Returns:
        bool.

    Raises:
        ValueError: any other `jit_compile` or `step`.

    Example:
    >>> resolve_jit_compile(True, ["bfloat16"])
    True
    >>> resolve_jit_compile("auto", ["float32"], hidden_dim=128)  # CPU
    True
    >>> resolve_jit_compile("auto", ["float32"], hidden_dim=768)  # CPU
    False
    >>> resolve_jit_compile("auto", ["bfloat16"], hidden_dim=128)  # CPU
    True
    >>> resolve_jit_compile("auto", ["bfloat16"], hidden_dim=256)  # CPU
    False
    >>> resolve_jit_compile("auto", ["float32"], 128, "fine-tuning")  # CPU
    False
    """
    if step not in STEPS:
        raise ValueError(
            f"`step` must be one of {STEPS}. Received: step={step!r}"
        )
    fixed = _explicit_or_accelerator(jit_compile)
    if fixed is not None:
        return fixed
    if step == "fine-tuning" or "float16" in compute_dtypes:
        return False
    return hidden_dim is None or hidden_dim <= CPU_XLA_MAX_HIDDEN_DIM


# On a CPU-only host a served float32 request runs XLA-compiled (padded to
# its shape bucket) while it is small against the model's width, and on
# TensorFlow's kernels (unpadded, Grappler's fused matmuls) above. XLA
# saves a per-op cost, fixed per layer; the matmul work, which TensorFlow's
# kernels do at least as fast and without padding, grows as padded tokens
# x hidden_dim^2. Measured (benchmarks/bench_serving_xla_tokens.py, 2
# cores, the export run as TF Serving runs it, 2026-12-07): all-MiniLM-L6-v2
# (hidden 384) XLA 1.20-1.23x at 32 padded tokens, 1.01-1.10x at 64,
# 0.97-1.11x at 128, 0.59-0.99x from 256; base (768) 0.97x at 32 (1.09x in
# an earlier run through `tf.saved_model.load`, before the attention
# changes), 0.82-1.03x from 64; mini (256) 1.43x at 32 down to
# 0.93-1.09x at 256; small (512) 1.12x at 32, 1.03x at 64, 0.92-1.08x at
# 128. They cross at about padded tokens x hidden^2 = 128 x 384^2.
SERVING_XLA_MAX_WORK = 128 * 384 * 384
# `resolve_serving_jit_compile`'s answer for "every request".
XLA_ALL_REQUESTS = 2**31 - 1


def serving_xla_max_tokens(hidden_dim: int) -> int:
    """The largest power of two of padded tokens whose work stays within
    `SERVING_XLA_MAX_WORK` at this hidden size (at least 1).

    Example:
    >>> [serving_xla_max_tokens(h) for h in (128, 256, 384, 512, 768, 1024)]
    [1024, 256, 128, 64, 32, 16]
    """
    tokens = max(1, SERVING_XLA_MAX_WORK // (int(hidden_dim) ** 2))
    return 1 << (tokens.bit_length() - 1)


def serving_compiles(padded_rows, padded_length, xla_max_tokens):
    """Whether a request of this padded shape runs XLA-compiled under the
    budget `resolve_serving_jit_compile` returns (ints or tensors).

    Example:
    >>> serving_compiles(1, 128, 128), serving_compiles(2, 128, 128)
    (True, False)
    """
    return padded_rows * padded_length <= xla_max_tokens


def resolve_serving_jit_compile(
    jit_compile, precision: str, hidden_dim: int
) -> int:
    """`export_savedmodel`'s `jit_compile`: which requests run XLA-compiled.

    A served request runs either XLA-compiled, padded to a shape bucket
    (one compilation per bucket), or on TensorFlow's own (oneDNN) kernels
    on its unpadded batch. XLA pays per call where the model's work is
    small against its op count; TensorFlow's kernels, with Grappler's
    fused MatMul+BiasAdd+GELU and no padding, win above.

    `True`: every request XLA-compiled. `False`: none. `"auto"`: with a
    GPU or TPU on the exporting host, every request; on a CPU-only host, a
    float32 export runs requests of up to `serving_xla_max_tokens(
    hidden_dim)` padded tokens (padded rows x padded length; 128 for
    hidden size 384, 32 for 768) XLA-compiled and larger ones on
    TensorFlow's kernels, and a bfloat16 (or float16) export runs every
    request on TensorFlow's kernels (oneDNN's bf16 matmuls; XLA was
    slower at every measured batch; README, Serving).

    Returns:
        int: the largest request, in padded tokens, that runs XLA-compiled;
        0 for none, `XLA_ALL_REQUESTS` for all.

    Example:
    >>> resolve_serving_jit_compile("auto", "float32", 384)  # CPU
    128
    >>> resolve_serving_jit_compile("auto", "bfloat16", 384)  # CPU
    0
    >>> resolve_serving_jit_compile(True, "bfloat16", 384) == XLA_ALL_REQUESTS
    True
    """
    fixed = _explicit_or_accelerator(jit_compile)
    if fixed is not None:
        return XLA_ALL_REQUESTS if fixed else 0
    if precision in ("bfloat16", "float16"):
        return 0
    return serving_xla_max_tokens(hidden_dim)


def _explicit_or_accelerator(jit_compile):
    """`jit_compile` when it is a bool, `True` for "auto" on a GPU/TPU
    host, `None` for "auto" on a CPU-only host (the caller's rule)."""
    if isinstance(check_jit_compile(jit_compile), bool):
        return jit_compile
    # Physical devices: listing them does not initialize the TensorFlow
    # runtime, which must stay unconfigured until a multi-worker strategy
    # sets up its collective ops.
    if any(tf.config.list_physical_devices(kind) for kind in ("GPU", "TPU")):
        return True
    return None


def compute_dtypes(model) -> set:
    """The compute dtypes of a Keras model's layers (the model's own
    policy left out: a task model keeps float32 at its top)."""
    return {
        layer.compute_dtype
        for layer in model._flatten_layers(include_self=False)
    }


def model_jit_compile(model, jit_compile) -> bool:
    """`resolve_jit_compile` for a Keras model: its layers' compute dtypes,
    its encoder's hidden size (the largest `hidden_dim` among its layers,
    if any has one) and its kind of step (the model's `JIT_STEP`,
    `"pretraining"` when it has none)."""
    layers = list(model._flatten_layers(include_self=True))
    sizes = [
        layer.hidden_dim
        for layer in layers
        if isinstance(getattr(layer, "hidden_dim", None), int)
    ]
    return resolve_jit_compile(
        jit_compile,
        compute_dtypes(model),
        max(sizes) if sizes else None,
        getattr(model, "JIT_STEP", "pretraining"),
    )


def check_weights_may_change():
    """Raises if this process told TensorFlow that weights never change.

    With `TF_ONEDNN_ASSUME_FROZEN_WEIGHTS` true (`1` or `true`, as
    TensorFlow reads it), TensorFlow's oneDNN kernels keep the first
    weights they see: training would silently compute with stale weights
    (a plain Keras model's 5-epoch fit: loss 0.78 -> 0.70 instead of
    0.77 -> 0.48, `tests/reliability/test_runs.py`). The setting is for
    serving processes only.

    Raises:
        RuntimeError: the variable is set to a true value.

    Example:
    >>> check_weights_may_change()  # not set here: nothing happens
    """
    value = os.environ.get(FROZEN_WEIGHTS_ENV, "")
    if value.strip().lower() in ("1", "true"):
        raise RuntimeError(
            f"{FROZEN_WEIGHTS_ENV}={value} is set in this process: "
            "TensorFlow's oneDNN kernels then keep the first weights they "
            "see, so training would run on stale weights. It is a setting "
            "for serving processes only (see an export's "
            "assets.extra/SERVING.md); unset it, or set it to 0, before "
            "training."
        )


class XLADefaultMixin:
    """Makes this package's `jit_compile="auto"` the default of `compile`.

    Mixed into the package's models before `keras.Model`; a user still
    chooses with `compile(..., jit_compile=True/False)`. `fit` and
    `train_on_batch` first run `check_weights_may_change`.
    """

    def compile(self, *args, jit_compile="auto", **kwargs):
        super().compile(
            *args, jit_compile=model_jit_compile(self, jit_compile), **kwargs
        )

    def fit(self, *args, **kwargs):
        check_weights_may_change()
        return super().fit(*args, **kwargs)

    def train_on_batch(self, *args, **kwargs):
        check_weights_may_change()
        return super().train_on_batch(*args, **kwargs)
