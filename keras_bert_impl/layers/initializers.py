"""The one weight initializer BERT uses everywhere."""

import keras


def truncated_normal(stddev):
    """A fresh truncated-normal initializer (never share one instance)."""
    return keras.initializers.TruncatedNormal(stddev=stddev)


def activation_fn(name):
    """Maps a `BertConfig.hidden_activation` name to a Keras activation."""
    if name == "gelu":
        return lambda x: keras.activations.gelu(x, approximate=False)
    if name == "gelu_approximate":
        return lambda x: keras.activations.gelu(x, approximate=True)
    if name in ("relu", "tanh"):
        return keras.activations.get(name)
    raise ValueError(
        "`activation` must be one of 'gelu', 'gelu_approximate', 'relu', "
        f"'tanh'. Received: activation={name!r}"
    )
