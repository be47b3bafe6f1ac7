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
    signature = load_savedmodel(path).signatures["serving_default"]
    return predict_signature(signature, texts, pairs)


def predict_signature(signature, texts, pairs=None) -> list[dict]:
    """`predict_savedmodel` on a loaded `serving_default` signature."""
    import tensorflow as tf

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


# Left out of the printed lines (one vector per token; use the Python API).
_BULKY_OUTPUTS = ("sequence_output",)
CHOICE_SEPARATOR = "|"


def run_savedmodel(args) -> int:
    """`keras-bert-impl predict --savedmodel DIR "text" ...`, one JSON line
    per text on stdout.

    Args:
        args: an `argparse.Namespace` (or any object) with
            `savedmodel` (str, a version directory written by
            `export_savedmodel`), `texts` (list of str) and, optionally,
            `pairs` (or `text_pair`, as `keras-bert-impl predict
            --text-pair` parses it; list of str or None, one per text: the
            second text, the QA context, or a multiple-choice row of choices
            joined by `|`).

    Returns:
        0. Each line is `{"text": ..., ["pair": ...,] <output>: value}`;
        `sequence_output` is left out.

    Raises:
        ValueError: no texts, or `pairs` that do not fit the model.
        FileNotFoundError: no SavedModel at `savedmodel`.
    """
    import json

    texts = list(getattr(args, "texts", None) or [])
    if not texts:
        raise ValueError(
            "predict --savedmodel needs at least one text. Received: texts=[]"
        )
    pairs = getattr(args, "pairs", None) or getattr(args, "text_pair", None)
    pairs = list(pairs) if pairs else None
    feed = pairs
    signature = load_savedmodel(args.savedmodel).signatures["serving_default"]
    takes_choices = "choices" in signature.structured_input_signature[1]
    if pairs is not None and takes_choices:
        feed = [[c.strip() for c in p.split(CHOICE_SEPARATOR)] for p in pairs]
        if len({len(row) for row in feed}) > 1:
            raise ValueError(
                "Every text needs the same number of choices (separated by "
                f"{CHOICE_SEPARATOR!r}). Received: pairs={pairs!r}"
            )
    results = predict_signature(signature, texts, feed)
    for i, result in enumerate(results):
        line = {"text": texts[i]}
        if pairs is not None:
            line["pair"] = feed[i]
        line.update(
            {k: v for k, v in result.items() if k not in _BULKY_OUTPUTS}
        )
        print(json.dumps(line, ensure_ascii=False))
    return 0
