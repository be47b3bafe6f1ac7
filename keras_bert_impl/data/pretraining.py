"""`pretraining_dataset`: text files → masked-LM + NSP batches for `fit`.

Data flow, one pass = one epoch (all of it a `tf.data` pipeline):

1. files → lines: `tf.data.Dataset.from_tensor_slices(files)` interleaved
   into `TextLineDataset`s (gzip by extension), one file after the other.
   This is the source tf.data's auto-sharding splits **by file** under
   `tf.distribute` (`AutoShardPolicy.AUTO`/`FILE`); with fewer files than
   workers AUTO falls back to sharding by example, which is still correct
   (the stream is deterministic) but reads everything on every worker.
   `distribute_datasets_from_function` users pass `input_context`.
2. lines → documents (Python, `DocumentAssembler`, in batches of 256
   lines): UTF-8 decoding, JSON parsing, sentence splitting, document
   boundaries. Holds one partial document per open file.
3. documents → token ids: the in-graph `BertTokenizer`, in parallel —
   or, with `cache_dir`, the TFRecord cache of tokenized documents (one
   cache file per corpus file, written by the first call, with a progress
   bar when `verbose`; later epochs and runs skip steps 2–3; masking stays
   dynamic).
4. documents → NSP pairs (Python, `SentencePairGenerator`, the paper's
   generator): a random B comes from another document among the last
   `document_buffer` documents (and, for the first document, the next
   one), never from A's own document. Packed `[CLS] A [SEP] B [SEP]`,
   padded to `max_seq_length`.
5. examples are shuffled in a `shuffle_buffer`, batched, and each batch is
   masked by `MaskedLMMasker` with a seed that the pair stage draws per
   example, so every epoch gets new pairs and new masks and the same
   `seed` reproduces the whole stream.

Buffering (what memory holds, whatever the corpus size): at most
`document_buffer` tokenized documents (default 1,000) for random B
segments, one partial document per file being read, the
`shuffle_buffer` packed examples (default 10,000 × 3 × `max_seq_length`
int32, 15 MB at 128) and tf.data's prefetch buffers (a few batches).
Nothing holds the whole corpus.

Steps 2 and 4 are stateful Python (`tf.py_function`, run sequentially):
iterating the same dataset again continues their random state (a new
epoch); two iterators should not run over one dataset object at once.

Glossary: the batch's `mask_positions`, `y["masked_lm"]` and
`sample_weight["masked_lm"]` are google-research/bert's
`masked_lm_positions`, `masked_lm_ids` and `masked_lm_weights`.
"""

import collections
import hashlib
import logging
import math
import os
import random

import numpy as np
import tensorflow as tf

from keras_bert_impl.checks import check_positive_int
from keras_bert_impl.data.corpus import CorpusStats
from keras_bert_impl.data.corpus import DocumentAssembler
from keras_bert_impl.data.corpus import read_documents
from keras_bert_impl.data.corpus import resolve_format
from keras_bert_impl.data.masking import MaskedLMMasker
from keras_bert_impl.data.pairs import SentencePairGenerator
from keras_bert_impl.paths import resolve_files
from keras_bert_impl.tokenization.packing import pack_segments

_LINE_BATCH = 256
_DOCUMENT_BATCH = 64
_KEY_BITS = 32  # document key = file index << 32 | document number in file
logger = logging.getLogger(__name__)


def default_max_predictions(max_seq_length: int, masking_rate=0.15) -> int:
    """`ceil(masking_rate × max_seq_length)`: 20 at 128, 77 at 512.

    Example:
    >>> default_max_predictions(128), default_max_predictions(512)
    (20, 77)
    """
    return max(1, math.ceil(masking_rate * max_seq_length))


class _LineStage:
    """Step 2: batches of `(file index, line number, line)` → documents."""

    def __init__(self, files, assembler):
        self.files = files
        self.assembler = assembler
        self.numbers = {}
        self.bytes_read = 0  # text bytes seen so far (a progress measure)

    def __call__(self, indices, numbers, lines):
        sentences, lengths, keys = [], [], []
        for index, number, line in zip(
            indices.numpy().tolist(),
            numbers.numpy().tolist(),
            lines.numpy().tolist(),
            strict=True,
        ):
            path = self.files[index]
            if number == 1:
                self.numbers[index] = 0
            if number < 0:
                docs = self.assembler.end_file(path)
            else:
                self.bytes_read += len(line) + 1
                docs = self.assembler.line(path, number, line)
            for doc in docs:
                count = self.numbers.get(index, 0)
                self.numbers[index] = count + 1
                keys.append((index << _KEY_BITS) | count)
                lengths.append(len(doc))
                sentences.extend(doc)
        return (
            tf.constant(sentences, tf.string, shape=[len(sentences)]),
            tf.constant(lengths, tf.int64, shape=[len(lengths)]),
            tf.constant(keys, tf.int64, shape=[len(keys)]),
        )


def _document_batches(
    files,
    tokenizer,
    corpus_format,
    errors,
    text_field,
    stats,
    indices=None,
    stage=None,
):
    """Steps 1–3: batches `(token ids, sentence lengths, document lengths,
    document keys)`, flat (a 3-level ragged tensor, taken apart).

    `stage` is an optional `_LineStage` to use (its `bytes_read` tells a
    caller how far reading got)."""
    indices = list(range(len(files))) if indices is None else indices
    if stage is None:
        stage = _LineStage(
            files, DocumentAssembler(corpus_format, errors, text_field, stats)
        )
    chosen = [files[i] for i in indices]

    def per_file(path, index):
        gzip = tf.strings.regex_full_match(path, r".*\.gz")
        compression = tf.where(gzip, "GZIP", "")
        lines = tf.data.TextLineDataset(path, compression_type=compression)
        lines = lines.enumerate(start=1).map(lambda n, line: (index, n, line))
        end = tf.data.Dataset.from_tensors(
            (index, tf.constant(-1, tf.int64), tf.constant(b""))
        )
        return lines.concatenate(end)

    source = tf.data.Dataset.from_tensor_slices(
        (chosen, tf.constant(indices, tf.int64))
    )
    lines = source.interleave(per_file, cycle_length=1)

    def assemble(index, number, line):
        sentences, lengths, keys = tf.py_function(
            stage, [index, number, line], [tf.string, tf.int64, tf.int64]
        )
        sentences.set_shape([None])
        lengths.set_shape([None])
        keys.set_shape([None])
        return sentences, lengths, keys

    def tokenize(sentences, lengths, keys):
        tokens = tokenizer.tokenize(sentences)
        return (
            tf.cast(tokens.flat_values, tf.int32),
            tf.cast(tokens.row_lengths(), tf.int64),
            lengths,
            keys,
        )

    docs = lines.batch(_LINE_BATCH).map(assemble)
    return docs.map(tokenize, num_parallel_calls=tf.data.AUTOTUNE)


# === TFRecord cache of tokenized documents ===


def _cache_paths(
    files, cache_dir, tokenizer, corpus_format, errors, text_field
):
    settings = hashlib.sha256()
    settings.update("\n".join(tokenizer.vocabulary).encode())
    settings.update(
        f"{tokenizer.lower_case}|{tokenizer.strip_accents}|{corpus_format}|"
        f"{errors}|{text_field}".encode()
    )
    paths = []
    for path in files:
        stat = os.stat(path)
        digest = settings.copy()
        digest.update(
            f"{os.path.abspath(path)}|{stat.st_size}|{stat.st_mtime_ns}".encode()
        )
        name = os.path.basename(path)
        paths.append(
            os.path.join(
                cache_dir, f"{name}-{digest.hexdigest()[:16]}.tfrecord"
            )
        )
    return paths


def _serialize(token_ids, sentence_lengths, number):
    feature = {
        "token_ids": tf.train.Feature(
            int64_list=tf.train.Int64List(value=token_ids)
        ),
        "sentence_lengths": tf.train.Feature(
            int64_list=tf.train.Int64List(value=sentence_lengths)
        ),
        "document": tf.train.Feature(
            int64_list=tf.train.Int64List(value=[number])
        ),
    }
    return tf.train.Example(
        features=tf.train.Features(feature=feature)
    ).SerializeToString()


def _text_size(path):
    """Bytes of text in `path`: its size, or a gzip file's recorded size."""
    if not path.endswith(".gz"):
        return os.path.getsize(path)
    with open(path, "rb") as f:  # ISIZE: the last member's size mod 2**32
        f.seek(0, os.SEEK_END)
        if f.tell() < 4:
            return 0
        f.seek(-4, os.SEEK_END)
        return int.from_bytes(f.read(4), "little")


def write_document_cache(
    files,
    cache_paths,
    tokenizer,
    corpus_format="auto",
    errors="strict",
    text_field="text",
    stats=None,
    verbose=True,
):
    """Tokenizes `files` into TFRecord files `cache_paths` (one per file).

    Each record is one document: `token_ids` (all its ids), `sentence_lengths`
    and `document` (its number in the file). Files are written under a
    temporary name and renamed once complete, so an interrupted run leaves
    no partial cache. `pretraining_dataset(cache_dir=...)` calls this for
    the files whose cache is missing.

    Args:
        files: list of corpus paths.
        cache_paths: list of str, one output path per file.
        tokenizer: a `BertTokenizer`.
        corpus_format, errors, text_field, stats: see `pretraining_dataset`.
        verbose: bool. Show a `keras.utils.Progbar` over the text bytes
            read (for a `.gz` file, the uncompressed size its gzip trailer
            records). Defaults to `True`.
    """
    files = [os.fspath(f) for f in files]
    corpus_format = resolve_format(files, corpus_format)
    writers = {}
    stage = _LineStage(
        files, DocumentAssembler(corpus_format, errors, text_field, stats)
    )
    progbar = None
    if verbose:
        import keras

        total = sum(_text_size(path) for path in files)
        progbar = keras.utils.Progbar(total, unit_name="byte")

    def close(index):
        writer, tmp = writers.pop(index)
        writer.close()
        os.replace(tmp, cache_paths[index])

    try:
        batches = _document_batches(
            files, tokenizer, corpus_format, errors, text_field, stats,
            stage=stage,
        )  # fmt: skip
        for (
            flat,
            sentence_lengths,
            doc_lengths,
            keys,
        ) in batches.as_numpy_iterator():
            bounds = np.cumsum([0, *sentence_lengths])
            first = 0
            for length, key in zip(doc_lengths, keys, strict=True):
                index, number = (
                    int(key) >> _KEY_BITS,
                    int(key) & (2**_KEY_BITS - 1),
                )
                for done in [i for i in writers if i != index]:
                    close(done)
                if index not in writers:
                    tmp = f"{cache_paths[index]}.tmp-{os.getpid()}"
                    writers[index] = (tf.io.TFRecordWriter(tmp), tmp)
                lengths = sentence_lengths[first : first + length]
                ids = flat[bounds[first] : bounds[first + length]]
                writers[index][0].write(
                    _serialize(ids.tolist(), lengths.tolist(), number)
                )
                first += length
            if progbar is not None and stage.bytes_read < total:
                progbar.update(stage.bytes_read)
        for index in list(writers):
            close(index)
    finally:
        for writer, tmp in writers.values():
            writer.close()
            os.remove(tmp)
    for path in cache_paths:  # files without documents: an empty cache
        if not os.path.exists(path):
            with tf.io.TFRecordWriter(path):
                pass
    if progbar is not None:
        progbar.update(total, finalize=True)


def _cached_document_batches(cache_paths, indices):
    """Step 3 from the cache: the same batches as `_document_batches`."""
    spec = {
        "token_ids": tf.io.RaggedFeature(tf.int64),
        "sentence_lengths": tf.io.RaggedFeature(tf.int64),
        "document": tf.io.FixedLenFeature([], tf.int64),
    }

    def per_file(path, index):
        records = tf.data.TFRecordDataset(path)
        return records.map(lambda r: (index, r))

    def parse(index, records):
        parsed = tf.io.parse_example(records, spec)
        return (
            tf.cast(parsed["token_ids"].flat_values, tf.int32),
            parsed["sentence_lengths"].flat_values,
            parsed["sentence_lengths"].row_lengths(),
            tf.bitwise.bitwise_or(
                tf.bitwise.left_shift(index, _KEY_BITS), parsed["document"]
            ),
        )

    source = tf.data.Dataset.from_tensor_slices(
        ([cache_paths[i] for i in indices], tf.constant(indices, tf.int64))
    )
    records = source.interleave(per_file, cycle_length=1)
    return records.batch(_DOCUMENT_BATCH).map(
        parse, num_parallel_calls=tf.data.AUTOTUNE
    )


# === NSP pairs ===


class _PairStage:
    """Step 4: tokenized documents → packed NSP examples (bounded state).

    A document of fewer than two tokens gives no pair of its own (it could
    only give random-B pairs, which would tilt the NSP labels): it is
    skipped, counted in `stats.empty_documents` and logged, but one token
    may still serve as a random B; a document of no token is dropped.
    """

    def __init__(self, generator, document_buffer, seed, files=(), stats=None):
        self.generator = generator
        self.rng = random.Random(seed)
        self.behind = collections.deque(maxlen=document_buffer)
        self.waiting = []
        self.files = files
        self.stats = stats

    def _too_short(self, key, document):
        tokens = sum(len(s) for s in document)
        if tokens >= 2:
            return False
        if self.stats is not None:
            self.stats.empty_documents += 1
        index, number = key >> _KEY_BITS, key & (2**_KEY_BITS - 1)
        path = self.files[index] if index < len(self.files) else index
        logger.warning(
            "%s: document %d has %d token(s), too few for a sentence pair: "
            "skipped (counted in empty_documents)", path, number + 1, tokens,
        )  # fmt: skip
        return True

    def _other(self, key, box):
        pool = self.waiting + list(self.behind)
        for _ in range(8):
            candidate = pool[self.rng.randrange(len(pool))]
            if candidate[0] != key:
                break
        else:
            others = [c for c in pool if c[0] != key]
            candidate = others[self.rng.randrange(len(others))]
        box["b"] = candidate[0]
        return candidate[1]

    def _ready(self, key):
        return len({k for k, _ in self.waiting}) >= 2 or any(
            k != key for k, _ in self.behind
        )

    def __call__(self, flat, sentence_lengths, doc_lengths, keys):
        flat = flat.numpy().tolist()
        bounds = np.cumsum([0, *sentence_lengths.numpy().tolist()]).tolist()
        sentences = [
            flat[bounds[i] : bounds[i + 1]] for i in range(len(bounds) - 1)
        ]
        examples = []
        first = 0
        for length, key in zip(
            doc_lengths.numpy().tolist(), keys.numpy().tolist(), strict=True
        ):
            document = sentences[first : first + length]
            first += length
            if self._too_short(key, document) and not any(document):
                continue
            self.waiting = [w for w in self.waiting if w[0] != key]
            self.waiting.append((key, document))
            if not self._ready(key):
                continue
            for doc_key, doc in self.waiting:
                if sum(len(s) for s in doc) < 2:
                    continue  # counted by `_too_short`; still a random B
                box = {}
                for a, b, random_next in self.generator.pairs(
                    doc,
                    lambda k=doc_key, box=box: self._other(k, box),
                    self.rng,
                ):
                    examples.append(
                        (
                            a,
                            b,
                            random_next,
                            doc_key,
                            box["b"] if random_next else doc_key,
                        )
                    )
            self.behind.extend(self.waiting)
            self.waiting = []
        return self._pack(examples)

    def _pack(self, examples):
        """Segments A and B as flat ids + lengths, labels, keys, seeds."""
        n = len(examples)
        a = [t for e in examples for t in e[0]]
        b = [t for e in examples for t in e[1]]
        seeds = np.array(
            [
                [self.rng.getrandbits(62), self.rng.getrandbits(62)]
                for _ in examples
            ],
            np.int64,
        ).reshape(n, 2)
        return (
            np.array(a, np.int32),
            np.array([len(e[0]) for e in examples], np.int64),
            np.array(b, np.int32),
            np.array([len(e[1]) for e in examples], np.int64),
            np.array([int(e[2]) for e in examples], np.int32),
            np.array([e[3] for e in examples], np.int64),
            np.array([e[4] for e in examples], np.int64),
            seeds,
        )


_PAIR_KEYS = ("next_sentence", "document", "b_document", "seed")


def sentence_pair_dataset(
    files,
    tokenizer,
    max_seq_length: int = 128,
    seed: int = 0,
    *,
    short_seq_prob: float = 0.1,
    nsp_prob: float = 0.5,
    corpus_format: str = "auto",
    errors: str = "strict",
    text_field: str = "text",
    document_buffer: int = 1000,
    cache_dir: str | None = None,
    stats: CorpusStats | None = None,
    input_context=None,
    verbose: bool = True,
) -> tf.data.Dataset:
    """Unbatched, unmasked NSP examples: steps 1–4 of `pretraining_dataset`.

    Each element is a dict: `token_ids`, `segment_ids`, `padding_mask`
    (int32 `(max_seq_length,)`, `[CLS] A [SEP] B [SEP]` padded),
    `next_sentence` (int32, 1 = B is random), `document` and `b_document`
    (int64 keys `file_index << 32 | document number in the file` of A's
    and B's documents; equal for a real continuation) and `seed` (int64
    `(2,)`, a fresh random seed for masking). One pass over the files;
    iterate again (or `repeat()`) for new pairs.

    Arguments: see `pretraining_dataset`.
    """
    files = resolve_files(files)
    corpus_format = resolve_format(files, corpus_format)
    indices = list(range(len(files)))
    if input_context is not None and input_context.num_input_pipelines > 1:
        n, i = (
            input_context.num_input_pipelines,
            input_context.input_pipeline_id,
        )
        if len(files) >= n:
            indices = indices[i::n]
    generator = SentencePairGenerator(max_seq_length, short_seq_prob, nsp_prob)
    check_positive_int(document_buffer=document_buffer)
    if cache_dir is not None:
        os.makedirs(cache_dir, exist_ok=True)
        paths = _cache_paths(
            files, cache_dir, tokenizer, corpus_format, errors, text_field
        )
        missing = [i for i in indices if not os.path.exists(paths[i])]
        if missing:
            write_document_cache(
                [files[i] for i in missing], [paths[i] for i in missing],
                tokenizer, corpus_format, errors, text_field, stats,
                verbose=verbose,
            )  # fmt: skip
        docs = _cached_document_batches(paths, indices)
    else:
        docs = _document_batches(
            files, tokenizer, corpus_format, errors, text_field, stats, indices
        )
    stage = _PairStage(
        generator,
        document_buffer,
        seed,
        files,
        stats,
    )

    def pairs(flat, sentence_lengths, doc_lengths, keys):
        out = tf.py_function(
            stage,
            [flat, sentence_lengths, doc_lengths, keys],
            [tf.int32, tf.int64, tf.int32, tf.int64, tf.int32] + [tf.int64] * 3,
        )
        shapes = [[None]] * 7 + [[None, 2]]
        for tensor, shape in zip(out, shapes, strict=True):
            tensor.set_shape(shape)
        a_ids, a_lengths, b_ids, b_lengths, *rest = out
        # The paper's random truncation already made each pair fit.
        inputs, _ = pack_segments(
            [
                tf.RaggedTensor.from_row_lengths(a_ids, a_lengths),
                tf.RaggedTensor.from_row_lengths(b_ids, b_lengths),
            ],
            max_seq_length,
            cls_id=tokenizer.cls_id,
            sep_id=tokenizer.sep_id,
            pad_id=tokenizer.pad_id,
        )
        return {**inputs, **dict(zip(_PAIR_KEYS, rest, strict=True))}

    return docs.prefetch(2).map(pairs).unbatch()


def pretraining_dataset(
    files,
    tokenizer,
    max_seq_length: int = 128,
    batch_size: int = 32,
    seed: int = 0,
    *,
    short_seq_prob: float = 0.1,
    nsp_prob: float = 0.5,
    masking_rate: float = 0.15,
    max_predictions_per_seq: int | None = None,
    mask_token_rate: float = 0.8,
    random_token_rate: float = 0.1,
    whole_word_masking: bool = False,
    corpus_format: str = "auto",
    errors: str = "strict",
    text_field: str = "text",
    repeat: bool = True,
    shuffle_buffer: int = 10000,
    document_buffer: int = 1000,
    drop_remainder: bool = True,
    cache_dir: str | None = None,
    input_context: tf.distribute.InputContext | None = None,
    stats: CorpusStats | None = None,
    masker=None,
    verbose: bool = True,
) -> tf.data.Dataset:
    """Masked-LM + next-sentence batches from text files, for `model.fit`.

    Args:
        files: paths, folders or glob patterns; `.gz` files are read
            through gzip. Formats: see `keras_bert_impl.data.corpus`.
        tokenizer: a `BertTokenizer`.
        max_seq_length: int. Length of every example. Defaults to `128`.
        batch_size: int. Examples per batch (per input pipeline).
        seed: int. Seeds pairs, shuffling and masks: the same seed gives
            the same stream; every epoch draws new pairs and masks.
        short_seq_prob: float. Probability of a shorter random target
            length for a document. Defaults to `0.1`.
        nsp_prob: float. Probability that B is random (label 1). Defaults
            to `0.5`.
        masking_rate, mask_token_rate, random_token_rate,
            whole_word_masking: see `MaskedLMMasker` (15%, 80/10/10).
        max_predictions_per_seq: int. Prediction slots per example;
            defaults to `ceil(masking_rate × max_seq_length)` (20 at 128,
            77 at 512; google-research/bert used 20 at 128).
        corpus_format: `"auto"`, `"sentences"`, `"documents"`, `"jsonl"`.
        errors: `"strict"` (a non-UTF-8 line raises, naming file and line)
            or `"replace"` (decoded with U+FFFD, counted, logged).
        text_field: JSON Lines field with the text. Defaults to `"text"`.
        repeat: bool. Repeat forever (new pairs and masks each pass).
        shuffle_buffer: int. Examples in the shuffle buffer.
        document_buffer: int. Tokenized documents kept for random B
            segments.
        drop_remainder: bool. Keep static batch shapes (XLA). Defaults to
            `True`.
        cache_dir: optional folder for the TFRecord cache of tokenized
            documents (one file per corpus file, keyed by path, size,
            mtime, vocabulary and options). Missing entries are written by
            this call; then tokenization is skipped, masking stays
            dynamic.
        input_context: a `tf.distribute.InputContext` (from
            `distribute_datasets_from_function`): with at least as many
            files as input pipelines, each pipeline reads its own files.
            Without it, `tf.distribute` auto-shards by file.
        stats: optional `CorpusStats` counting skipped or repaired input
            (a document of fewer than two tokens gives no pair: it is
            skipped and counted in `empty_documents`).
        masker: optional masking callable `(token_ids, seed) → dict` (a
            `MaskedLMMasker` with custom policies); replaces the masking
            arguments.
        verbose: bool. Show a `keras.utils.Progbar` while the cache is
            written (see `write_document_cache`). Defaults to `True`.

    Returns:
        A `tf.data.Dataset` of `(x, y, sample_weight)`:
        `x = {"token_ids", "segment_ids", "padding_mask"}` int32
        `(batch_size, max_seq_length)` and `x["mask_positions"]` int32
        `(batch_size, max_predictions)`; `y = {"masked_lm": original ids at
        the masked positions, "next_sentence": 0 if B follows A, 1 if
        random}`; `sample_weight = {"masked_lm": 1.0 for a real prediction
        and 0.0 for a padding slot, "next_sentence": ones}`. `token_ids`
        already carry the replacements (`[MASK]`, random, unchanged).

    Raises:
        ValueError: no files, an empty corpus, a single document, invalid
            UTF-8 or JSON early in the corpus, invalid arguments, or a
            vocabulary without the special tokens. Bad input further on
            raises when iterating (naming the file and line).

    Example:
    >>> import tempfile, os
    >>> path = os.path.join(tempfile.mkdtemp(), "c.txt")
    >>> with open(path, "w") as f:
    ...     _ = f.write("A b c d.\\nE f g.\\n\\nH i j.\\nK l.\\n")
    >>> from keras_bert_impl import BertTokenizer
    >>> tok = BertTokenizer(["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]",
    ...                      *"abcdefghijkl."])
    >>> ds = pretraining_dataset([path], tok, 16, batch_size=2)
    >>> x, y, w = next(iter(ds))
    >>> tuple(x["token_ids"].shape), tuple(x["mask_positions"].shape)
    ((2, 16), (2, 3))
    >>> tuple(y["masked_lm"].shape), tuple(w["next_sentence"].shape)
    ((2, 3), (2,))
    """
    check_positive_int(
        max_seq_length=max_seq_length,
        batch_size=batch_size,
        shuffle_buffer=shuffle_buffer,
        document_buffer=document_buffer,
    )
    if max_seq_length < 5:
        raise ValueError(
            "`max_seq_length` must be at least 5 ([CLS] A [SEP] B [SEP]). "
            f"Received: max_seq_length={max_seq_length}"
        )
    files = resolve_files(files)
    corpus_format = resolve_format(files, corpus_format)
    if masker is None:
        if max_predictions_per_seq is None:
            max_predictions_per_seq = default_max_predictions(
                max_seq_length, masking_rate
            )
        masker = MaskedLMMasker(
            tokenizer.vocabulary,
            max_predictions_per_seq,
            masking_rate=masking_rate,
            mask_token_rate=mask_token_rate,
            random_token_rate=random_token_rate,
            whole_word_masking=whole_word_masking,
        )
    _check_corpus(files, corpus_format, errors, text_field)
    ds = sentence_pair_dataset(
        files, tokenizer, max_seq_length, seed,
        short_seq_prob=short_seq_prob, nsp_prob=nsp_prob,
        corpus_format=corpus_format, errors=errors, text_field=text_field,
        document_buffer=document_buffer, cache_dir=cache_dir, stats=stats,
        input_context=input_context, verbose=verbose,
    )  # fmt: skip
    ds = ds.shuffle(shuffle_buffer, seed=seed, reshuffle_each_iteration=True)
    if repeat:
        ds = ds.repeat()
    ds = ds.batch(batch_size, drop_remainder=drop_remainder)

    def to_batch(example):
        masked = masker(example["token_ids"], example["seed"][0])
        next_sentence = example["next_sentence"]
        x = {
            "token_ids": masked["token_ids"],
            "segment_ids": example["segment_ids"],
            "padding_mask": example["padding_mask"],
            "mask_positions": masked["mask_positions"],
        }
        y = {"masked_lm": masked["mask_ids"], "next_sentence": next_sentence}
        weights = {
            "masked_lm": masked["mask_weights"],
            "next_sentence": tf.ones_like(next_sentence, tf.float32),
        }
        return x, y, weights

    ds = ds.map(to_batch, num_parallel_calls=tf.data.AUTOTUNE)
    return ds.prefetch(tf.data.AUTOTUNE)


def _check_corpus(files, corpus_format, errors, text_field):
    """Fails early on an empty corpus or a single-document one."""
    found = 0
    for _ in read_documents(
        files, corpus_format, errors, text_field=text_field
    ):
        found += 1
        if found >= 2:
            return
    if found == 0:
        raise ValueError(
            f"The corpus is empty: no text in {len(files)} file(s) "
            f"({', '.join(files[:3])}{', ...' if len(files) > 3 else ''})."
        )
    raise ValueError(
        "The corpus has a single document: next-sentence prediction needs "
        "at least two (separate documents with a blank line in the "
        "'sentences' format, or one per line in 'documents')."
    )
