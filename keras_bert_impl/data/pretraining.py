"""`pretraining_dataset`: text files → masked-LM + NSP batches for `fit`.

Data flow, per epoch:

1. `read_documents` streams documents (lists of sentences) from the files;
2. documents are tokenized 64 at a time with the in-graph `BertTokenizer`
   (or read back from the optional TFRecord cache of tokenized documents);
3. a bounded buffer of `document_buffer` tokenized documents feeds
   `SentencePairGenerator` (NSP pairs as in the paper's generator); a
   random B is drawn from the other documents in that buffer and the last
   `document_buffer` ones already used — never from A's own document;
4. pairs are packed as `[CLS] A [SEP] B [SEP]`, padded to
   `max_seq_length`, and shuffled in a `shuffle_buffer` of examples;
5. each batch is masked by `MaskedLMMasker` with a seed drawn from
   `tf.data.Dataset.random(seed, rerandomize_each_iteration=True)`, so every
   epoch sees new masks and the same `seed` reproduces the whole stream.

Memory is bounded by the two buffers (`2 × document_buffer` tokenized
documents and `shuffle_buffer` packed examples, by default 2,000 documents
and 10,000 × 3 × `max_seq_length` int32), whatever the corpus size.

Glossary: the batch's `mask_positions`, `y["masked_lm"]` and
`sample_weight["masked_lm"]` are the original code's
`masked_lm_positions`, `masked_lm_ids` and `masked_lm_weights`.
"""

import collections
import hashlib
import itertools
import math
import os
import random

import numpy as np
import tensorflow as tf

from keras_bert_impl.data.corpus import CorpusStats
from keras_bert_impl.data.corpus import read_documents
from keras_bert_impl.data.corpus import resolve_files
from keras_bert_impl.data.masking import MaskedLMMasker
from keras_bert_impl.data.pairs import SentencePairGenerator

_TOKENIZE_BATCH = 64


def default_max_predictions(max_seq_length: int, masking_rate=0.15) -> int:
    """`ceil(masking_rate × max_seq_length)`: 20 at 128, 77 at 512."""
    return max(1, math.ceil(masking_rate * max_seq_length))


def _fingerprint(files, tokenizer, corpus_format, errors):
    digest = hashlib.sha256()
    for path in files:
        stat = os.stat(path)
        digest.update(f"{os.path.abspath(path)}|{stat.st_size}|".encode())
        digest.update(f"{stat.st_mtime_ns}\n".encode())
    digest.update("\n".join(tokenizer.vocabulary).encode())
    digest.update(
        f"{tokenizer.lower_case}|{tokenizer.strip_accents}|"
        f"{corpus_format}|{errors}".encode()
    )
    return digest.hexdigest()[:16]


def _tokenize_documents(documents, tokenizer):
    """Yields each document as a list of lists of token ids (batched)."""
    iterator = iter(documents)
    while True:
        batch = list(itertools.islice(iterator, _TOKENIZE_BATCH))
        if not batch:
            return
        sentences = [s for doc in batch for s in doc]
        ragged = tokenizer.tokenize(tf.constant(sentences))
        values = ragged.flat_values.numpy().tolist()
        splits = ragged.row_splits.numpy().tolist()
        tokenized = [
            values[splits[i] : splits[i + 1]] for i in range(len(sentences))
        ]
        start = 0
        for doc in batch:
            yield tokenized[start : start + len(doc)]
            start += len(doc)


def _cached_documents(path):
    """Reads tokenized documents back from a TFRecord cache file."""
    for record in tf.data.TFRecordDataset(path).as_numpy_iterator():
        example = tf.train.Example.FromString(record)
        ids = example.features.feature["ids"].int64_list.value
        lengths = example.features.feature["lengths"].int64_list.value
        bounds = np.cumsum([0, *lengths]).tolist()
        yield [
            list(ids[bounds[i] : bounds[i + 1]]) for i in range(len(lengths))
        ]


def _writing_cache(documents, path):
    """Yields documents while writing them; renames into place when done."""
    tmp = f"{path}.tmp-{os.getpid()}"
    with tf.io.TFRecordWriter(tmp) as writer:
        for doc in documents:
            feature = {
                "ids": tf.train.Feature(
                    int64_list=tf.train.Int64List(
                        value=[t for s in doc for t in s]
                    )
                ),
                "lengths": tf.train.Feature(
                    int64_list=tf.train.Int64List(value=[len(s) for s in doc])
                ),
            }
            writer.write(
                tf.train.Example(
                    features=tf.train.Features(feature=feature)
                ).SerializeToString()
            )
            yield doc
    os.replace(tmp, path)  # only a complete pass becomes the cache


def example_stream(
    files,
    tokenizer,
    max_seq_length=128,
    seed=0,
    short_seq_prob=0.1,
    nsp_probability=0.5,
    corpus_format="auto",
    errors="strict",
    document_buffer=1000,
    cache_dir=None,
    text_field="text",
    stats=None,
):
    """Yields unbatched, unmasked examples as dicts of Python values.

    The Python stage of `pretraining_dataset` (one pass over the corpus),
    exposed for inspection and tests. Each example has `tokens_a`,
    `tokens_b`, `next_sentence` (1 = B is random), `document` (A's index
    in reading order) and `b_document` (B's; equal to `document` for a
    real continuation).
    """
    files = resolve_files(files)
    generator = SentencePairGenerator(
        max_seq_length, short_seq_prob, nsp_probability
    )
    rng = random.Random(seed)
    stats = stats if stats is not None else CorpusStats()
    documents = None
    if cache_dir is not None:
        os.makedirs(cache_dir, exist_ok=True)
        key = _fingerprint(files, tokenizer, corpus_format, errors)
        path = os.path.join(cache_dir, f"documents-{key}.tfrecord")
        if os.path.exists(path):
            documents = _cached_documents(path)
    if documents is None:
        texts = read_documents(
            files, corpus_format, errors, text_field=text_field, stats=stats
        )
        documents = _tokenize_documents(texts, tokenizer)
        if cache_dir is not None:
            documents = _writing_cache(documents, path)

    documents = enumerate(documents)
    ahead = collections.deque(itertools.islice(documents, document_buffer))
    behind = collections.deque(maxlen=document_buffer)
    while ahead:
        index, doc = ahead.popleft()
        ahead.extend(itertools.islice(documents, 1))
        pool_size = len(ahead) + len(behind)
        chosen = {}

        def other(ahead=ahead, behind=behind, pool_size=pool_size, box=chosen):
            if pool_size == 0:
                raise ValueError(
                    "The corpus has a single document: next-sentence "
                    "prediction needs at least two (a random B comes from "
                    "another document)."
                )
            k = rng.randrange(pool_size)
            picked = ahead[k] if k < len(ahead) else behind[k - len(ahead)]
            box["b"] = picked[0]
            return picked[1]

        for tokens_a, tokens_b, random_next in generator.pairs(doc, other, rng):
            yield {
                "tokens_a": tokens_a,
                "tokens_b": tokens_b,
                "next_sentence": int(random_next),
                "document": index,
                "b_document": chosen["b"] if random_next else index,
            }
        behind.append((index, doc))


def pack_pair(tokens_a, tokens_b, max_seq_length, cls_id, sep_id, pad_id=0):
    """`[CLS] A [SEP] B [SEP]` → padded token, segment and mask arrays.

    Example:
    >>> ids, seg, mask = pack_pair([7, 8], [9], 8, cls_id=2, sep_id=3)
    >>> ids.tolist()
    [2, 7, 8, 3, 9, 3, 0, 0]
    >>> seg.tolist()
    [0, 0, 0, 0, 1, 1, 0, 0]
    >>> mask.tolist()
    [1, 1, 1, 1, 1, 1, 0, 0]
    """
    tokens = [cls_id, *tokens_a, sep_id, *tokens_b, sep_id]
    if len(tokens) > max_seq_length:
        raise ValueError(
            f"A packed pair has {len(tokens)} tokens, more than "
            f"max_seq_length={max_seq_length}."
        )
    pad = max_seq_length - len(tokens)
    token_ids = np.array(tokens + [pad_id] * pad, "int32")
    segment_ids = np.array(
        [0] * (len(tokens_a) + 2) + [1] * (len(tokens_b) + 1) + [0] * pad,
        "int32",
    )
    padding_mask = np.array([1] * len(tokens) + [0] * pad, "int32")
    return token_ids, segment_ids, padding_mask


def pretraining_dataset(
    files,
    tokenizer,
    max_seq_length: int = 128,
    batch_size: int = 32,
    seed: int = 0,
    *,
    short_seq_prob: float = 0.1,
    nsp_probability: float = 0.5,
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
        short_seq_prob: float. Share of documents cut to a shorter random
            target length. Defaults to `0.1`.
        nsp_probability: float. Share of random B segments. Defaults to
            `0.5`.
        masking_rate, mask_token_rate, random_token_rate,
            whole_word_masking: see `MaskedLMMasker` (15%, 80/10/10).
        max_predictions_per_seq: int. Prediction slots; defaults to
            `ceil(masking_rate × max_seq_length)` (20 at 128).
        corpus_format: `"auto"`, `"sentences"`, `"documents"`, `"jsonl"`.
        errors: `"strict"` (a non-UTF-8 line raises, naming file and line)
            or `"replace"`.
        text_field: JSON Lines field with the text. Defaults to `"text"`.
        repeat: bool. Repeat forever (new pairs and masks each pass).
        shuffle_buffer: int. Examples in the shuffle buffer.
        document_buffer: int. Documents held ahead (and behind) for random
            B segments.
        drop_remainder: bool. Keep static batch shapes (XLA). Defaults to
            `True`.
        cache_dir: optional folder for a TFRecord cache of the tokenized
            documents: the first complete pass writes it, later passes and
            runs skip tokenization (masking stays dynamic).
        input_context: a `tf.distribute.InputContext` (from
            `distribute_datasets_from_function`): with at least as many
            files as input pipelines, each pipeline reads its own files.
        stats: optional `CorpusStats` to count skipped input.

    Returns:
        A `tf.data.Dataset` of `(x, y, sample_weight)`:
        `x = {"token_ids", "segment_ids", "padding_mask"}` int32
        `(batch_size, max_seq_length)` and `x["mask_positions"]` int32
        `(batch_size, max_predictions)`; `y = {"masked_lm": original ids at
        the masked positions, "next_sentence": 0 if B follows A, 1 if
        random}`; `sample_weight = {"masked_lm": 1.0 for a real prediction
        and 0.0 for a padding slot, "next_sentence": ones}`.

    Raises:
        ValueError: no files, an empty corpus, a single document, invalid
            arguments, or a vocabulary without the special tokens.
    """
    for name, value in (
        ("max_seq_length", max_seq_length),
        ("batch_size", batch_size),
        ("shuffle_buffer", shuffle_buffer),
        ("document_buffer", document_buffer),
    ):
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ValueError(
                f"`{name}` must be a positive integer. Received: "
                f"{name}={value!r}"
            )
    if max_seq_length < 5:
        raise ValueError(
            "`max_seq_length` must be at least 5 ([CLS] A [SEP] B [SEP]). "
            f"Received: max_seq_length={max_seq_length}"
        )
    files = resolve_files(files)
    if input_context is not None and input_context.num_input_pipelines > 1:
        n, i = (
            input_context.num_input_pipelines,
            input_context.input_pipeline_id,
        )
        if len(files) >= n:
            files = files[i::n]
    _check_corpus(files, corpus_format, errors, text_field)
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
    SentencePairGenerator(max_seq_length, short_seq_prob, nsp_probability)
    cls_id, sep_id, pad_id = (
        tokenizer.cls_id,
        tokenizer.sep_id,
        tokenizer.pad_id,
    )
    passes = itertools.count()

    def generate():
        pass_seed = seed * 1_000_003 + next(passes)
        for example in example_stream(
            files,
            tokenizer,
            max_seq_length,
            seed=pass_seed,
            short_seq_prob=short_seq_prob,
            nsp_probability=nsp_probability,
            corpus_format=corpus_format,
            errors=errors,
            document_buffer=document_buffer,
            cache_dir=cache_dir,
            text_field=text_field,
            stats=stats,
        ):
            token_ids, segment_ids, padding_mask = pack_pair(
                example["tokens_a"],
                example["tokens_b"],
                max_seq_length,
                cls_id,
                sep_id,
                pad_id,
            )
            yield token_ids, segment_ids, padding_mask, example["next_sentence"]

    spec = tf.TensorSpec([max_seq_length], tf.int32)
    ds = tf.data.Dataset.from_generator(
        generate,
        output_signature=(spec, spec, spec, tf.TensorSpec([], tf.int32)),
    )
    ds = ds.shuffle(shuffle_buffer, seed=seed, reshuffle_each_iteration=True)
    if repeat:
        ds = ds.repeat()
    ds = ds.batch(batch_size, drop_remainder=drop_remainder)
    seeds = tf.data.Dataset.random(
        seed=seed, rerandomize_each_iteration=True
    ).batch(2)

    def to_batch(example, mask_seed):
        token_ids, segment_ids, padding_mask, next_sentence = example
        masked = masker(token_ids, mask_seed)
        x = {
            "token_ids": masked["token_ids"],
            "segment_ids": segment_ids,
            "padding_mask": padding_mask,
            "mask_positions": masked["mask_positions"],
        }
        y = {"masked_lm": masked["mask_ids"], "next_sentence": next_sentence}
        weights = {
            "masked_lm": masked["mask_weights"],
            "next_sentence": tf.ones_like(next_sentence, tf.float32),
        }
        return x, y, weights

    ds = tf.data.Dataset.zip(ds, seeds).map(
        to_batch, num_parallel_calls=tf.data.AUTOTUNE
    )
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
