"""Raw text through an exported SavedModel.

`predict_savedmodel` returns every output of `serving_default`;
`predict_rows` is what `keras-bert-impl predict --savedmodel` prints.
"""

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
    signature = load_savedmodel(path).signatures["serving_default"]
    return predict_signature(signature, texts, pairs)


def predict_signature(signature, texts, pairs=None) -> list[dict]:
    """`predict_savedmodel` on a loaded `serving_default` signature."""
    import tensorflow as tf

    first, second = _text_inputs(signature)
    _check_pairs(second, texts, pairs)
    texts = [str(t) for t in texts]
    inputs = {first: tf.constant(texts, tf.string)}
    if second is not None:
        inputs[second] = tf.constant(pairs, tf.string)
    outputs = {k: v.numpy() for k, v in signature(**inputs).items()}
    return [
        {k: _plain(v[i]) for k, v in sorted(outputs.items())}
        for i in range(len(texts))
    ]


def _text_inputs(signature):
    """(first input name, second input name or None) of `serving_default`."""
    names = list(signature.structured_input_signature[1])
    for first, second in _PAIR_INPUTS:
        if second in names:
            return first, second
    return names[0], None


def _check_pairs(second, texts, pairs):
    if second is None and pairs is not None:
        raise ValueError(
            "This model takes one text: leave out `pairs` (--text-pair). "
            f"Received: {len(pairs)} pairs"
        )
    if second is not None and (pairs is None or len(pairs) != len(texts)):
        raise ValueError(
            f"This model takes a second input ({second!r}), one per text "
            f"(`pairs`, --text-pair). Received: {len(texts)} texts and "
            f"{'no' if pairs is None else len(pairs)} pairs"
        )


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


# Left out of `predict_rows` (one vector per token; use `predict_savedmodel`).
_BULKY_OUTPUTS = ("sequence_output",)
CHOICE_SEPARATOR = "|"


def predict_rows(
    path: str | os.PathLike,
    texts: list[str],
    pairs: list[str] | None = None,
    batch_size: int = 32,
) -> list[dict]:
    """What `keras-bert-impl predict --savedmodel DIR` prints, one row per
    text.

    Args:
        path: str or path. A version directory written by
            `export_savedmodel`.
        texts: list of str. The first text input (`text`, or `question`
            for question answering). At least one.
        pairs: optional list of str, one per text: the second text, the QA
            context, or a multiple-choice row of choices joined by `|`.
        batch_size: int. Texts per call of `serving_default`. Defaults to
            `32`.

    Returns:
        One dict per text: `{"text": ..., ["text_pair": ...,] <output>:
        value, ...}` with the outputs of `serving_default` (for a
        classifier `label`, `probabilities` and `label_names`), except
        `sequence_output`.

    Raises:
        ValueError: no texts, a batch size below 1, or `pairs` that do not
            fit the model.
        FileNotFoundError: no SavedModel at `path`.
    """
    texts = [str(t) for t in texts]
    if not texts:
        raise ValueError(
            "predict --savedmodel needs at least one text. Received: texts=[]"
        )
    if batch_size < 1:
        raise ValueError(
            f"`batch_size` must be positive. Received: batch_size={batch_size}"
        )
    pairs = list(pairs) if pairs is not None else None
    signature = load_savedmodel(path).signatures["serving_default"]
    _, second = _text_inputs(signature)
    _check_pairs(second, texts, pairs)  # on all texts, before any batch
    feed = pairs
    if second == "choices":
        feed = [[c.strip() for c in p.split(CHOICE_SEPARATOR)] for p in pairs]
        if len({len(row) for row in feed}) > 1:
            raise ValueError(
                "Every text needs the same number of choices (separated by "
                f"{CHOICE_SEPARATOR!r}). Received: pairs={pairs!r}"
            )
    rows = []
    for b in range(0, len(texts), batch_size):
        chunk = texts[b : b + batch_size]
        chunk_feed = feed[b : b + batch_size] if feed is not None else None
        results = predict_signature(signature, chunk, chunk_feed)
        for i, result in enumerate(results):
            row = {"text": chunk[i]}
            if chunk_feed is not None:
                row["text_pair"] = chunk_feed[i]
            row.update(
                {k: v for k, v in result.items() if k not in _BULKY_OUTPUTS}
            )
            rows.append(row)
    return rows
