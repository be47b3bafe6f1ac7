"""`predict_savedmodel`: raw text through an exported SavedModel."""

import os

import numpy as np

# First and second text input of `serving_default`, by kind of model.
_PAIR_INPUTS = (
    ("text", "text_pair"),
    ("question", "context"),
    ("text", "choices"),
)


def load_savedmodel(path: str | os.PathLike):
    """Loads an export as TF Serving would: TensorFlow + tensorflow-text.

    Returns:
        The loaded object; its `signatures` are `serving_default`,
        `from_ids` and `tokenize`.

    Raises:
        FileNotFoundError: no `saved_model.pb` in `path`.
    """
    path = os.fspath(path)
    if not os.path.isfile(os.path.join(path, "saved_model.pb")):
        raise FileNotFoundError(
            f"No SavedModel at {path!r} (no saved_model.pb): pass a version "
            "directory, e.g. savedmodels/<name>/1."
        )
    import tensorflow as tf
    import tensorflow_text  # noqa: F401  (registers the tokenizer's ops)

    return tf.saved_model.load(path)


def predict_savedmodel(
    path: str | os.PathLike,
    texts: list[str],
    pairs: list | None = None,
) -> list[dict]:
    """Runs `serving_default` of an export on raw text.

    Args:
        path: str or path. A version directory written by
            `export_savedmodel`.
        texts: list of str. The first text input (`text`, or `question`
            for question answering).
        pairs: optional list, one entry per text: the second text
            (`text_pair`, or `context` for question answering) or, for
            multiple choice, the list of choices. Required exactly when the
            model takes two inputs.

    Returns:
        One dict per text, output name -> JSON-friendly value (str, int,
        float or nested lists of them).

    Raises:
        ValueError: `pairs` given to a single-text model, missing for a
            pair model, or not one per text.
    """
    import tensorflow as tf

    signature = load_savedmodel(path).signatures["serving_default"]
    names = list(signature.structured_input_signature[1])
    second = None
    for first_name, second_name in _PAIR_INPUTS:
        if second_name in names:
            names, second = [first_name], second_name
    texts = [str(t) for t in texts]
    inputs = {names[0]: tf.constant(texts, tf.string)}
    if second is None and pairs is not None:
        raise ValueError(
            "This model takes one text; `pairs` must be None. Received: "
            f"{len(pairs)} pairs"
        )
    if second is not None:
        if pairs is None or len(pairs) != len(texts):
            raise ValueError(
                f"This model takes a second input ({second!r}), one per "
                f"text. Received: {len(texts)} texts and "
                f"{'no' if pairs is None else len(pairs)} pairs"
            )
        inputs[second] = tf.constant(pairs, tf.string)
    outputs = {k: v.numpy() for k, v in signature(**inputs).items()}
    return [
        {k: _plain(v[i]) for k, v in sorted(outputs.items())}
        for i in range(len(texts))
    ]


def _plain(value):
    """numpy -> Python; bytes decoded as UTF-8."""
    value = np.asarray(value).tolist()
    return _decode(value)


def _decode(value):
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    if isinstance(value, list):
        return [_decode(v) for v in value]
    return value
