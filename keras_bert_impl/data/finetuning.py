"""Fine-tuning inputs: labelled files → `(features, labels)` for `fit`.

Every dataset yields the batches the task models of
`keras_bert_impl.models.tasks` take: `features` is a dict of int32
`token_ids`, `segment_ids` and `padding_mask` (1 = real token) padded to
`max_seq_length` (static shapes: an XLA-compiled model compiles once),
and `labels` matches the model output:

- classification, pairs: labels int32 `(batch,)`;
- regression: labels float32 `(batch,)`;
- token classification: labels int32 `(batch, L)` and a third element,
  `sample_weight` float32 `(batch, L)`;
- question answering: labels `{"start_logits": int32 (batch,),
  "end_logits": int32 (batch,)}`;
- multiple choice: features `(batch, num_choices, L)`, labels int32
  `(batch,)`.

The files are read (and checked) in Python when the dataset is built —
fine-tuning sets are small — and tokenized inside `tf.data` with the
`BertTokenizer`'s TensorFlow ops, so tokenization runs in parallel with
training. The returned dataset carries `label_map` (the `LabelMap` used,
for the model's `label_names`) and `num_examples` as attributes.

Public entry points: `classification_dataset`, `read_classification`,
`LabelMap` (and, from their modules, the NER, SQuAD and multiple choice
pipelines re-exported below).

Example (token classification with `ner_dataset`: a word's label sits on
its first WordPiece, the other pieces weigh 0; extractive QA with
`squad_dataset`: `[CLS] question [SEP] context [SEP]`, the answer's first
and last context tokens as labels):
>>> from keras_bert_impl import BertTokenizer
>>> tok = BertTokenizer(["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]",
...                      "who", "is", "new", "york", "big", "##ger", "?"])
>>> s = NerSentence(["New", "York", "is", "bigger"],
...                 ["B-LOC", "I-LOC", "O", "O"])
>>> ds = ner_dataset([s], tok, max_seq_length=8)
>>> ds.label_map.names
('O', 'B-LOC', 'I-LOC')
>>> x, y, w = next(iter(ds))
>>> x["token_ids"].numpy().tolist()
[[2, 7, 8, 6, 9, 10, 3, 0]]
>>> y.numpy().tolist(), w.numpy().tolist()
([[0, 1, 2, 0, 0, 0, 0, 0]], [[0.0, 1.0, 1.0, 1.0, 1.0, 0.0, 0.0, 0.0]])
>>> ex = SquadExample("q1", "Who is bigger?", "New York is bigger",
...                   answers=[("New York", 0)])
>>> ds = squad_dataset([ex], tok, max_seq_length=14, max_query_length=5)
>>> x, y = next(iter(ds))
>>> x["token_ids"].numpy().tolist()
[[2, 5, 6, 9, 10, 11, 3, 7, 8, 6, 9, 10, 3, 0]]
>>> x["segment_ids"].numpy().tolist()
[[0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 0]]
>>> y["start_logits"].numpy().tolist(), y["end_logits"].numpy().tolist()
([7], [8])
"""

import dataclasses
import logging

import tensorflow as tf

from keras_bert_impl.data.choice import choice_dataset
from keras_bert_impl.data.choice import read_choice
from keras_bert_impl.data.labels import LabelMap
from keras_bert_impl.data.ner import NerSentence
from keras_bert_impl.data.ner import align_words
from keras_bert_impl.data.ner import decode_word_labels
from keras_bert_impl.data.ner import ner_dataset
from keras_bert_impl.data.ner import read_conll
from keras_bert_impl.data.ner import read_peoples_daily
from keras_bert_impl.data.ner import word_entities
from keras_bert_impl.data.squad import SquadExample
from keras_bert_impl.data.squad import SquadWindows
from keras_bert_impl.data.squad import decode_squad
from keras_bert_impl.data.squad import read_squad
from keras_bert_impl.data.squad import squad_dataset
from keras_bert_impl.data.squad import squad_windows
from keras_bert_impl.data.tables import pick_column
from keras_bert_impl.data.tables import read_records

__all__ = [
    "LabelMap",
    "NerSentence",
    "align_words",
    "choice_dataset",
    "classification_dataset",
    "read_choice",
    "decode_word_labels",
    "ner_dataset",
    "read_classification",
    "read_conll",
    "read_peoples_daily",
    "read_squad",
    "squad_dataset",
    "squad_windows",
    "decode_squad",
    "SquadExample",
    "SquadWindows",
    "word_entities",
]

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


def _label_ids(examples, label_map, regression):
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


def count_truncated(texts, pairs, tokenizer, max_seq_length, chunk=1024):
    """How many examples do not fit `max_seq_length` (and get truncated)."""
    special = 2 if pairs is None else 3
    count = 0
    for i in range(0, len(texts), chunk):
        n = tokenizer.tokenize(texts[i : i + chunk]).row_lengths()
        if pairs is not None:
            n += tokenizer.tokenize(pairs[i : i + chunk]).row_lengths()
        count += int(
            tf.reduce_sum(tf.cast(n + special > max_seq_length, tf.int32))
        )
    return count


def as_label_map(label_map) -> LabelMap | None:
    """`None`, a `LabelMap`, or a sequence of names → `LabelMap` or `None`."""
    if label_map is None or isinstance(label_map, LabelMap):
        return label_map
    return LabelMap(label_map)


def _check_lengths(max_seq_length, batch_size):
    for name, value in (
        ("max_seq_length", max_seq_length),
        ("batch_size", batch_size),
    ):
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ValueError(
                f"`{name}` must be a positive integer. Received: "
                f"{name}={value!r}"
            )


def bucket_lengths(features, length_buckets):
    """Cuts a padded batch to the smallest bucket holding its longest row.

    Args:
        features: dict of `(batch, L)` (or `(batch, C, L)`) int tensors with
            a `padding_mask`.
        length_buckets: increasing ints, the last equal to `L`.
    """
    mask = features["padding_mask"]
    longest = tf.reduce_max(tf.reduce_sum(mask, axis=-1))
    buckets = tf.constant(length_buckets, tf.int32)
    index = tf.searchsorted(buckets, longest[tf.newaxis], side="left")[0]
    length = tf.gather(buckets, tf.minimum(index, len(length_buckets) - 1))
    return {k: v[..., :length] for k, v in features.items()}


def _check_buckets(length_buckets, max_seq_length):
    if length_buckets is None:
        return None
    buckets = [int(b) for b in length_buckets]
    if buckets != sorted(set(buckets)) or buckets[0] < 1:
        raise ValueError(
            "`length_buckets` must be increasing positive ints. Received: "
            f"length_buckets={length_buckets!r}"
        )
    if buckets[-1] > max_seq_length:
        raise ValueError(
            "`length_buckets` must not exceed `max_seq_length` "
            f"({max_seq_length}). Received: length_buckets={length_buckets!r}"
        )
    if buckets[-1] < max_seq_length:
        buckets.append(max_seq_length)
    return tuple(buckets)


def finish(ds, num_examples, batch_size, shuffle, seed, drop_remainder):
    """Shuffles (seeded, every epoch anew) and batches an example dataset."""
    if shuffle:
        ds = ds.shuffle(num_examples, seed=seed, reshuffle_each_iteration=True)
    return ds.batch(batch_size, drop_remainder=drop_remainder)


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
) -> tf.data.Dataset:
    """Batches of (paired) texts and labels for classification or regression.

    Texts are packed `[CLS] A [SEP]` or `[CLS] A [SEP] B [SEP]` by
    `tokenizer.encode` inside `tf.data` (the longer segment is truncated
    first when a pair does not fit).

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
        length_buckets: optional increasing ints (e.g. `(32, 64, 128)`):
            each batch is cut to the smallest bucket that holds its longest
            example, so short inputs do not pay for `max_seq_length`
            positions; an XLA model compiles once per bucket. Defaults to
            `None` (always `max_seq_length`).

    Returns:
        A `tf.data.Dataset` of `(features, labels)` (or `features` when
        `label_column=None`), with attributes `label_map` (`None` for
        regression), `num_examples` and `num_truncated` (examples longer
        than `max_seq_length`, cut to fit; also logged).

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
    _check_lengths(max_seq_length, batch_size)
    buckets = _check_buckets(length_buckets, max_seq_length)
    examples = read_classification(
        files, text_column, text_pair_column, label_column, file_format
    )
    label_map = as_label_map(label_map)
    with_labels = examples.labels is not None
    if with_labels and not regression and label_map is None:
        label_map = LabelMap.from_labels(examples.labels)
    texts = {"text": tf.constant(examples.texts, tf.string)}
    if examples.pairs is not None:
        texts["text_pair"] = tf.constant(examples.pairs, tf.string)
    elements = texts
    if with_labels:
        elements = (texts, _label_ids(examples, label_map, regression))
    n = len(examples.texts)
    ds = tf.data.Dataset.from_tensor_slices(elements)
    ds = finish(ds, n, batch_size, shuffle, seed, drop_remainder)

    def encode(texts, labels=None):
        features = tokenizer.encode(
            texts["text"], texts.get("text_pair"), max_length=max_seq_length
        )
        # `encode` loses the static batch size (drop_remainder=True).
        shape = texts["text"].shape.concatenate([max_seq_length])
        features = {k: tf.ensure_shape(v, shape) for k, v in features.items()}
        if buckets is not None:
            features = bucket_lengths(features, buckets)
        return features if labels is None else (features, labels)

    ds = ds.map(encode, num_parallel_calls=tf.data.AUTOTUNE)
    ds = ds.prefetch(tf.data.AUTOTUNE)
    ds.label_map = None if regression else label_map
    ds.num_examples = n
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
