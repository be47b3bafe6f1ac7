"""Multiple choice (SWAG style): a context and C endings → `(b, C, L)`.

Each example is packed C times, `[CLS] context [SEP] question ending
[SEP]`, one row per ending, and the label is the index of the right ending.
Columns (CSV / TSV with a header, or JSON Lines):

- the context: `context`, `sent1` or `startphrase` (first present);
- an optional question / ending prefix: `question` or `sent2` (SWAG's
  `sent2` starts the ending sentence), joined to every ending by a space;
- the endings: `ending0`, `ending1`, ... (every column named `ending<k>`,
  in order of `k`), or in JSON Lines a list under `endings`;
- the label: `label`, the 0-based index of the right ending.

Every example must have the same number of endings (the model's
`num_choices`).
"""

import dataclasses
import re

import tensorflow as tf

from keras_bert_impl.data.batching import PACKED_BYTES
from keras_bert_impl.data.batching import check_buckets
from keras_bert_impl.data.batching import check_lengths
from keras_bert_impl.data.batching import encoded_batches
from keras_bert_impl.data.tables import pick_column
from keras_bert_impl.data.tables import read_records

CONTEXT_COLUMNS = ("context", "sent1", "startphrase")
QUESTION_COLUMNS = ("question", "sent2")
_ENDING = re.compile(r"^ending(\d+)$")


@dataclasses.dataclass
class ChoiceExamples:
    """Contexts, endings (question prefix joined) and labels."""

    contexts: list
    endings: list  # list of lists, C each
    labels: list | None
    where: list


def _endings(record, ending_columns):
    if ending_columns == ["endings"]:
        value = record.fields["endings"]
        if not isinstance(value, list):
            raise ValueError(
                f"{record.where}: 'endings' must be a list of texts. "
                f"Received: {value!r}"
            )
        return [str(v) for v in value]
    return [str(record.fields[c]) for c in ending_columns]


def read_choice(
    files,
    context_column: str | None = None,
    question_column: str | None = None,
    label_column: str | None = "label",
    file_format: str = "auto",
) -> ChoiceExamples:
    """Reads SWAG-style multiple choice examples (see the module docstring).

    Raises:
        ValueError: a missing column, no `ending<k>` columns, a different
            number of endings, a label that is not an index of an ending
            (naming the file and line), or no example.
    """
    contexts, endings, labels, where = [], [], [], []
    columns = None
    for record in read_records(files, file_format):
        if columns is None:
            ctx = pick_column(
                record, context_column, CONTEXT_COLUMNS, "context_column"
            )
            question = pick_column(
                record, question_column, QUESTION_COLUMNS,
                "question_column", required=False,
            )  # fmt: skip
            found = sorted(
                (int(m[1]), name)
                for name in record.fields
                if (m := _ENDING.match(name))
            )
            ending_columns = [name for _, name in found]
            if not ending_columns and "endings" in record.fields:
                ending_columns = ["endings"]
            if not ending_columns:
                raise ValueError(
                    f"No ending columns in {record.where}: expected "
                    "'ending0', 'ending1', ... (or a JSON 'endings' list); "
                    f"the columns are {sorted(record.fields)}."
                )
            label = (
                None
                if label_column is None
                else pick_column(record, label_column, (), "label_column")
            )
            columns = (ctx, question, ending_columns, label)
        ctx, question, ending_columns, label = columns
        for name in [ctx, question, label]:
            if name is not None and name not in record.fields:
                pick_column(record, name, (), "column")  # raises
        options = _endings(record, ending_columns)
        if endings and len(options) != len(endings[0]):
            raise ValueError(
                f"{record.where}: {len(options)} endings, the first example "
                f"has {len(endings[0])}. Every example needs the same "
                "number of choices."
            )
        if question is not None:
            prefix = str(record.fields[question]).strip()
            options = [f"{prefix} {o}".strip() for o in options]
        if label is not None:
            value = record.fields[label]
            try:
                index = int(value)
            except (TypeError, ValueError):
                index = -1
            if not 0 <= index < len(options) or str(index) != str(value):
                raise ValueError(
                    f"{record.where}: label {value!r} is not the index of "
                    f"one of the {len(options)} endings (0 to "
                    f"{len(options) - 1})."
                )
            labels.append(index)
        contexts.append(str(record.fields[ctx]))
        endings.append(options)
        where.append(record.where)
    if columns is None:
        raise ValueError(
            f"No examples in {files!r}: the files are empty. Pass a "
            "non-empty set."
        )
    return ChoiceExamples(
        contexts, endings, labels if columns[3] is not None else None, where
    )


def choice_dataset(
    files,
    tokenizer,
    max_seq_length: int = 128,
    batch_size: int = 16,
    shuffle: bool = False,
    seed: int = 0,
    *,
    context_column: str | None = None,
    question_column: str | None = None,
    label_column: str | None = "label",
    file_format: str = "auto",
    drop_remainder: bool = False,
    length_buckets=None,
) -> tf.data.Dataset:
    """`(features, labels)` batches for `BertMultipleChoice`.

    Args:
        files: CSV / TSV / JSON Lines paths or globs (see the module
            docstring for columns), or `ChoiceExamples`.
        tokenizer: a `BertTokenizer`.
        max_seq_length: int. Length of each (context, ending) row.
        batch_size, shuffle, seed, drop_remainder, length_buckets: as for
            `classification_dataset`.
        context_column, question_column, label_column, file_format: see
            `read_choice`; `label_column=None` gives features only.

    Returns:
        A `tf.data.Dataset` of `(features, labels)`: int32 features
        `(batch, num_choices, max_seq_length)`, int32 labels `(batch,)`;
        attributes `num_choices` and `num_examples`.

    Example:
    >>> import os, tempfile
    >>> path = os.path.join(tempfile.mkdtemp(), "swag.csv")
    >>> with open(path, "w") as f:
    ...     _ = f.write("startphrase,ending0,ending1,label\\nhello,world,"
    ...                 "hello,0\\n")
    >>> from keras_bert_impl import BertTokenizer
    >>> tok = BertTokenizer(["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]",
    ...                      "hello", "world"])
    >>> x, y = next(iter(choice_dataset(path, tok, max_seq_length=6)))
    >>> x["token_ids"].numpy().tolist(), y.numpy().tolist()
    ([[[2, 5, 3, 6, 3, 0], [2, 5, 3, 5, 3, 0]]], [0])
    """

    check_lengths(max_seq_length, batch_size)
    buckets = check_buckets(length_buckets, max_seq_length)
    if isinstance(files, ChoiceExamples):
        examples = files
    else:
        examples = read_choice(
            files, context_column, question_column, label_column, file_format
        )
    num_choices = len(examples.endings[0])
    texts = {
        "context": tf.constant(examples.contexts, tf.string),
        "endings": tf.constant(examples.endings, tf.string),
    }
    elements = texts
    if examples.labels is not None:
        elements = (texts, tf.constant(examples.labels, tf.int32))
    n = len(examples.contexts)

    def encode(texts, labels=None):
        endings = texts["endings"]  # (b, C)
        contexts = tf.repeat(texts["context"], num_choices)
        flat = tokenizer.encode(
            contexts, tf.reshape(endings, [-1]), max_length=max_seq_length
        )
        batch = endings.shape[0]
        shape = [-1 if batch is None else batch, num_choices, max_seq_length]
        features = {k: tf.reshape(v, shape) for k, v in flat.items()}
        features = {
            k: tf.ensure_shape(v, [batch, num_choices, max_seq_length])
            for k, v in features.items()
        }
        return features if labels is None else (features, labels)

    ds = encoded_batches(
        tf.data.Dataset.from_tensor_slices(elements),
        encode,
        num_examples=n,
        example_bytes=PACKED_BYTES * max_seq_length * num_choices,
        batch_size=batch_size,
        shuffle=shuffle,
        seed=seed,
        drop_remainder=drop_remainder,
        length_buckets=buckets,
    )
    ds.num_choices = num_choices
    ds.num_examples = n
    return ds
