"""Argument checks shared by every floor (no TensorFlow import).

Each check raises `ValueError` naming the argument and the value received,
in the Keras style ("`batch_size` must be a positive integer. Received:
batch_size=0"), so a mistake surfaces before any graph is built.
"""


def check_jit_compile(value):
    """`value` if it is `True`, `False` or `"auto"`.

    Example:
    >>> check_jit_compile("auto")
    'auto'
    >>> check_jit_compile("yes")
    Traceback (most recent call last):
    ...
    ValueError: `jit_compile` must be True, False or 'auto'. Received: jit_compile='yes'
    """  # noqa: E501
    if not (isinstance(value, bool) or value == "auto"):
        raise ValueError(
            "`jit_compile` must be True, False or 'auto'. Received: "
            f"jit_compile={value!r}"
        )
    return value


def is_positive_int(value) -> bool:
    """True for a positive `int` (a `bool` is not one)."""
    return isinstance(value, int) and not isinstance(value, bool) and value > 0


def check_positive_int(**values) -> None:
    """Raises `ValueError` unless every value is a positive integer.

    Example:
    >>> check_positive_int(batch_size=32, epochs=3)
    >>> check_positive_int(batch_size=0)
    Traceback (most recent call last):
    ...
    ValueError: `batch_size` must be a positive integer. Received: batch_size=0
    """
    for name, value in values.items():
        if not is_positive_int(value):
            raise ValueError(
                f"`{name}` must be a positive integer. Received: "
                f"{name}={value!r}"
            )


def check_fraction(name: str, value, upper_open: bool = True) -> float:
    """`value` as a float in [0, 1) (or [0, 1] with `upper_open=False`).

    Example:
    >>> check_fraction("dropout", 0.1)
    0.1
    """
    ok = isinstance(value, int | float) and not isinstance(value, bool)
    ok = ok and 0 <= value and (value < 1 if upper_open else value <= 1)
    if not ok:
        bound = ")" if upper_open else "]"
        raise ValueError(
            f"`{name}` must be a number in [0, 1{bound}. Received: "
            f"{name}={value!r}"
        )
    return float(value)
