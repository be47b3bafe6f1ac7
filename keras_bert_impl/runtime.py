"""The XLA policy of every compiled step: `jit_compile="auto"`.

Keras' own `"auto"` means XLA off on a CPU-only machine and under
`tf.distribute`. This package's `"auto"` compiles with XLA everywhere
except 16-bit compute on a host without GPU or TPU, where XLA's CPU
backend loses mixed precision's gain (measured in
`benchmarks/bench_pretrain_step.py`; the numbers are in the README's
Performance section). `True` and `False` are always honoured.
"""

import tensorflow as tf

JIT_CHOICES = (True, False, "auto")


def resolve_jit_compile(jit_compile, compute_dtypes) -> bool:
    """This package's `jit_compile="auto"`: XLA, except 16-bit on CPU.

    Args:
        jit_compile: `True`, `False` or `"auto"`.
        compute_dtypes: the compute dtypes of the model's layers.

    Returns:
        bool.

    Raises:
        ValueError: any other `jit_compile`.

    Example:
    >>> resolve_jit_compile("auto", ["float32"])
    True
    >>> resolve_jit_compile(True, ["bfloat16"])
    True
    """
    if isinstance(jit_compile, bool):
        return jit_compile
    if jit_compile != "auto":
        raise ValueError(
            "`jit_compile` must be True, False or 'auto'. Received: "
            f"jit_compile={jit_compile!r}"
        )
    if not set(compute_dtypes) & {"bfloat16", "float16"}:
        return True
    return bool(
        tf.config.list_logical_devices("GPU")
        or tf.config.list_logical_devices("TPU")
    )


class XLADefaultMixin:
    """Makes this package's `jit_compile="auto"` the default of `compile`.

    Mixed into the package's models before `keras.Model`; a user still
    chooses with `compile(..., jit_compile=True/False)`.
    """

    def compile(self, *args, jit_compile="auto", **kwargs):
        super().compile(
            *args,
            jit_compile=resolve_jit_compile(
                jit_compile,
                {
                    layer.compute_dtype
                    for layer in self._flatten_layers(include_self=False)
                },
            ),
            **kwargs,
        )
