"""Classification and regression inputs: CSV / TSV / JSON Lines → batches.

`read_classification` reads single texts or text pairs and their labels
(columns named or found by their usual names); `classification_dataset`
packs them with `BertTokenizer.encode` inside `tf.data` into the
`(features, labels)` batches `BertClassifier` and `BertRegressor` take:
`features` a dict of int32 `token_ids`, `segment_ids` and `padding_mask`
padded to `max_seq_length`, labels int32 class ids (or float32 scores for
regression). The files are read and checked in Python when the dataset is
built; tokenization runs in parallel with training.
"""

import dataclasses
import logging

import tensorflow as tf

from keras_bert_impl.data.batching import PACKED_BYTES
from keras_bert_impl.data.batching import as_label_map
from keras_bert_impl.data.batching import check_buckets
from keras_bert_impl.data.batching import check_lengths
from keras_bert_impl.data.batching import count_truncated
from keras_bert_impl.data.batching import encoded_batches
from keras_bert_impl.data.labels import LabelMap
from keras_bert_impl.data.tables import pick_column
from keras_bert_impl.data.tables import read_records

logger = logging.getLogger(__name__)

TEXT_COLUMNS = ("text", "sentence", "sentence1", "question", "premise")
TEXT_PAIR_COLUMNS = ("text_pair", "sentence2", "hypothesis")
LABEL_COLUMN = "label"


@dataclasses.dataclass
class ClassificationExamples:
    """Texts, optional second texts and raw labels read from files."""

    texts: list
    pairs: list | None
    labels: list | None
    where: list  # "file:line" of each example
    columns: dict  # argument -> column name used


def read_classification(
    files,
    text_column: str | None = None,
    text_pair_column: str | None = None,
    label_column: str | None = LABEL_COLUMN,
    file_format: str = "auto",
) -> ClassificationExamples:
    """Reads single texts or text pairs and their labels.

    Args:
        files: paths, folders or globs of CSV / TSV / JSON Lines files
            (header row for CSV/TSV; `.gz` read through gzip).
        text_column: the text column. Defaults to the first present of
            `"text"`, `"sentence"`, `"sentence1"`, `"question"`,
            `"premise"`.
        text_pair_column: the second text (pairs). Defaults to the first
            present of `"text_pair"`, `"sentence2"`, `"hypothesis"`, or no
            pair when none is.
        label_column: the label column, `"label"` by default; `None` reads
            texts only (prediction).
        file_format: `"auto"` (from the names), `"csv"`, `"tsv"`,
            `"jsonl"`.

    Raises:
        ValueError: a column is missing (naming it and the columns found),
            a record lacks a value, or the files hold no example.
    """
    texts, pairs, labels, where = [], [], [], []
    columns = None
    for record in read_records(files, file_format):
        if columns is None:
            columns = {
                "text_column": pick_column(
                    record, text_column, TEXT_COLUMNS, "text_column"
                ),
                "text_pair_column": pick_column(
                    record,
                    text_pair_column,
                    TEXT_PAIR_COLUMNS,
                    "text_pair_column",
                    required=False,
                ),  # fmt: skip
                "label_column": None
                if label_column is None
                else pick_column(record, label_column, (), "label_column"),
            }
        values = {}
        for argument, name in columns.items():
            if name is None:
                continue
            if name not in record.fields:
                pick_column(record, name, (), argument)  # raises
            value = record.fields[name]
            if value is None or (
                argument != "label_column" and not isinstance(value, str)
            ):
                raise ValueError(
                    f"{record.where}: column {name!r} must hold text. "
                    f"Received: {value!r}"
                )
            values[argument] = value
        texts.append(values["text_column"])
        if columns["text_pair_column"] is not None:
            pairs.append(values["text_pair_column"])
        if columns["label_column"] is not None:
            labels.append(values["label_column"])
        where.append(record.where)
    if columns is None:
        raise ValueError(
            f"No examples in {files!r}: the files are empty (or hold only "
            "a header). Pass a non-empty training or evaluation set."
        )
    return ClassificationExamples(
        texts=texts,
        pairs=pairs if columns["text_pair_column"] is not None else None,
        labels=labels if columns["label_column"] is not None else None,
        where=where,
        columns=columns,
    )


def split_labels(label, where, separator="|"):
    """The label set of one multi-label example: a JSON list, or a string
    of labels joined by `separator` (empty: no label).

    Example:
    >>> split_labels("sport | politics", "f:2"), split_labels([], "f:3")
    (['sport', 'politics'], [])
    """
    if isinstance(label, list | tuple):
        names = [str(n).strip() for n in label]
    elif isinstance(label, str):
        names = [n.strip() for n in label.split(separator)]
    else:
        raise ValueError(
            f"{where}: a multi-label example needs a list of labels (JSON "
            f"Lines) or labels joined by {separator!r} (CSV/TSV). Received: "
            f"{label!r}"
        )
    names = [n for n in names if n]
    if len(set(names)) != len(names):
        raise ValueError(f"{where}: a label is repeated. Received: {label!r}")
    return names


def _label_ids(examples, label_map, regression, multi_label=False,
               separator="|"):  # fmt: skip
    if multi_label:
        rows = []
        for label, where in zip(examples.labels, examples.where, strict=True):
            hot = [0.0] * len(label_map)
            for name in split_labels(label, where, separator):
                hot[label_map.index(name, where)] = 1.0
            rows.append(hot)
        return tf.constant(rows, tf.float32, shape=[len(rows), len(label_map)])
    if regression:
        values = []
        for label, where in zip(examples.labels, examples.where, strict=True):
            try:
                values.append(float(label))
            except (TypeError, ValueError):
                raise ValueError(
                    f"{where}: a regression label must be a number. "
                    f"Received: {label!r}"
                ) from None
        return tf.constant(values, tf.float32)
    pairs = zip(examples.labels, examples.where, strict=True)
    ids = [label_map.index(label, where) for label, where in pairs]
    return tf.constant(ids, tf.int32)


def classification_dataset(
    files,
    tokenizer,
    label_map=None,
    max_seq_length: int = 128,
    batch_size: int = 32,
    shuffle: bool = False,
    seed: int = 0,
    regression: bool = False,
    *,
    text_column: str | None = None,
    text_pair_column: str | None = None,
    label_column: str | None = LABEL_COLUMN,
    file_format: str = "auto",
    drop_remainder: bool = False,
    length_buckets=None,
    multi_label: bool = False,
    label_separator: str = "|",
) -> tf.data.Dataset:
    """Batches of (paired) texts and labels for classification or regression.

    Texts are packed `[CLS] A [SEP]` or `[CLS] A [SEP] B [SEP]` by
    `tokenizer.encode` inside `tf.data` (the longer segment is truncated
    first when a pair does not fit), once: the packed examples stay in
    memory when they fit in 1 GB, so later epochs skip the tokenizer
    (`keras_bert_impl.data.batching.encoded_batches`).

    Args:
        files: paths, folders or globs of CSV / TSV / JSON Lines files,
            optionally gzipped. See `read_classification` for columns.
        tokenizer: a `BertTokenizer`.
        label_map: a `LabelMap` (or list of names). `None` builds one from
            these files' labels (training); pass the training map for
            evaluation so ids agree, and an unknown label raises
            `ValueError` naming it and its file and line. Ignored for
            regression.
        max_seq_length: int. Padded length. Defaults to `128`.
        batch_size: int. Defaults to `32`.
        shuffle: bool. Shuffle all examples, anew every epoch. Defaults to
            `False`.
        seed: int. Shuffling seed: the same seed gives the same order.
        regression: bool. Labels are numbers (float32), as in STS-B.
        text_column, text_pair_column, label_column, file_format: see
            `read_classification`. `label_column=None` gives features only
            (prediction).
        drop_remainder: bool. Drop a last partial batch (fully static
            shapes). Defaults to `False`.
        multi_label: bool. Each example has a set of labels (possibly
            empty): a JSON Lines list, or labels joined by
            `label_separator` in a CSV/TSV cell; labels are multi-hot
            float32 `(batch, num_labels)`. Defaults to `False`.
        label_separator: str. Separator of multi-label cells. Defaults to
            `"|"`.
        length_buckets: optional increasing ints (e.g. `(32, 64, 128)`):
            each batch is cut to the smallest bucket that holds its longest
            example, so short inputs do not pay for `max_seq_length`
            positions; an XLA model compiles once per bucket. Defaults to
            `None` (always `max_seq_length`).

    Returns:
        A `tf.data.Dataset` of `(features, labels)` (or `features` when
        `label_column=None`), with attributes `label_map` (`None` for
        regression), `num_examples`, `text_pair` (whether the files have
        a second text) and `num_truncated` (examples longer than
        `max_seq_length`, cut to fit; also logged).

    Example:
    >>> import os, tempfile
    >>> path = os.path.join(tempfile.mkdtemp(), "train.csv")
    >>> with open(path, "w") as f:
    ...     _ = f.write("text,label\\nhello world,pos\\nworld,neg\\n")
    >>> from keras_bert_impl import BertTokenizer
    >>> tok = BertTokenizer(["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]",
    ...                      "hello", "world"])
    >>> ds = classification_dataset(path, tok, max_seq_length=6)
    >>> ds.label_map.names
    ('neg', 'pos')
    >>> x, y = next(iter(ds))
    >>> x["token_ids"].numpy().tolist(), y.numpy().tolist()
    ([[2, 5, 6, 3, 0, 0], [2, 6, 3, 0, 0, 0]], [1, 0])
    """
    check_lengths(max_seq_length, batch_size)
    buckets = check_buckets(length_buckets, max_seq_length)
    examples = read_classification(
        files, text_column, text_pair_column, label_column, file_format
    )
    label_map = as_label_map(label_map)
    with_labels = examples.labels is not None
    if with_labels and not regression and label_map is None:
        if multi_label:
            label_map = LabelMap.from_labels(
                name
                for label, where in zip(
                    examples.labels, examples.where, strict=True
                )
                for name in split_labels(label, where, label_separator)
            )
        else:
            label_map = LabelMap.from_labels(examples.labels)
    texts = {"text": tf.constant(examples.texts, tf.string)}
    if examples.pairs is not None:
        texts["text_pair"] = tf.constant(examples.pairs, tf.string)
    elements = texts
    if with_labels:
        elements = (
            texts,
            _label_ids(
                examples, label_map, regression, multi_label, label_separator
            ),
        )
    n = len(examples.texts)

    def encode(texts, labels=None):
        features = tokenizer.encode(
            texts["text"], texts.get("text_pair"), max_length=max_seq_length
        )
        # `encode` loses the static batch size (drop_remainder=True).
        shape = texts["text"].shape.concatenate([max_seq_length])
        features = {k: tf.ensure_shape(v, shape) for k, v in features.items()}
        return features if labels is None else (features, labels)

    ds = encoded_batches(
        tf.data.Dataset.from_tensor_slices(elements),
        encode,
        num_examples=n,
        example_bytes=PACKED_BYTES * max_seq_length,
        batch_size=batch_size,
        shuffle=shuffle,
        seed=seed,
        drop_remainder=drop_remainder,
        length_buckets=buckets,
    )
    ds.label_map = None if regression else label_map
    ds.num_examples = n
    ds.text_pair = examples.pairs is not None
    ds.num_truncated = count_truncated(
        examples.texts, examples.pairs, tokenizer, max_seq_length
    )
    if ds.num_truncated:
        logger.info(
            "%d of %d examples are longer than max_seq_length=%d and are "
            "truncated",
            ds.num_truncated, n, max_seq_length,
        )  # fmt: skip
    return ds
