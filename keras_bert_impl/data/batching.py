"""What every fine-tuning dataset shares: checks, label maps, batching.

The task readers (`classification`, `ner`, `squad`, `choice`) import
these at the top; none of them imports another reader.
"""

import tensorflow as tf

from keras_bert_impl.checks import check_positive_int
from keras_bert_impl.data.labels import LabelMap


def check_lengths(max_seq_length, batch_size) -> None:
    """Raises `ValueError` unless both are positive integers."""
    check_positive_int(max_seq_length=max_seq_length, batch_size=batch_size)


def as_label_map(label_map) -> LabelMap | None:
    """`None`, a `LabelMap`, or a sequence of names → `LabelMap` or `None`.

    Example:
    >>> as_label_map(["neg", "pos"]).names
    ('neg', 'pos')
    """
    if label_map is None or isinstance(label_map, LabelMap):
        return label_map
    return LabelMap(label_map)


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


def check_buckets(length_buckets, max_seq_length):
    """Validated `length_buckets` ending at `max_seq_length`, or `None`.

    Example:
    >>> check_buckets([32, 64], 128)
    (32, 64, 128)
    """
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


def shuffle_and_batch(
    ds, num_examples, batch_size, shuffle, seed, drop_remainder, ragged=False
):
    """Shuffles (seeded, anew every epoch) if asked, then batches."""
    if shuffle:
        ds = ds.shuffle(num_examples, seed=seed, reshuffle_each_iteration=True)
    batch = ds.ragged_batch if ragged else ds.batch
    return batch(batch_size, drop_remainder=drop_remainder)


# Bytes of one packed position: int32 token, segment and mask ids.
PACKED_BYTES = 12
# Packed examples are kept in memory when they fit in this many bytes.
CACHE_LIMIT_BYTES = 1 << 30
# Examples per call of a reader's `encode` when packing for the cache.
ENCODE_CHUNK = 256


def encoded_batches(
    ds,
    encode,
    *,
    num_examples,
    example_bytes,
    batch_size,
    shuffle,
    seed,
    drop_remainder,
    ragged=False,
    length_buckets=None,
    finish=None,
):
    """Batches of encoded examples, tokenized once for all epochs.

    A reader's `encode` (tokenizer and packer, TF ops) runs on batches of
    raw elements. Creating a `tf.data` iterator instantiates that function
    anew (tensorflow-text builds its tokenizer's kernels then: a quarter
    of a second per epoch with a 5,000-token vocabulary, whatever the
    dataset's size), so a short run of many small epochs spends most of
    its time there. When the packed examples fit in `CACHE_LIMIT_BYTES`
    (`num_examples * example_bytes`), every example is therefore encoded
    once, in chunks, and kept in memory (`Dataset.cache`); shuffling and
    batching then run on the packed rows, and later epochs never touch the
    tokenizer. Larger sets are shuffled as raw elements and encoded batch
    by batch every epoch (the memory of a shuffle buffer of packed rows is
    the same as the cache's). Both paths give the same batches in the same
    order: a seeded shuffle's order depends only on the number of elements.

    Args:
        ds: dataset of raw examples (one element per example).
        encode: raw batch -> encoded batch (every component batched).
        num_examples, example_bytes: ints; the packed size estimate.
        batch_size, shuffle, seed, drop_remainder: as `shuffle_and_batch`.
        ragged: bool. Raw elements have ragged components.
        length_buckets: optional checked buckets: each batch's features
            (the element, or its first component) are cut by
            `bucket_lengths`.
        finish: optional encoded batch -> batch, after the cut.
    """
    if num_examples * example_bytes <= CACHE_LIMIT_BYTES:
        batch = ds.ragged_batch if ragged else ds.batch
        ds = batch(ENCODE_CHUNK)
        ds = ds.map(encode, num_parallel_calls=tf.data.AUTOTUNE)
        # `unbatch` forgets the number of elements; Keras needs it.
        ds = ds.unbatch().apply(
            tf.data.experimental.assert_cardinality(num_examples)
        )
        ds = ds.cache()
        ds = shuffle_and_batch(
            ds, num_examples, batch_size, shuffle, seed, drop_remainder
        )
    else:
        ds = shuffle_and_batch(
            ds, num_examples, batch_size, shuffle, seed, drop_remainder, ragged
        )
        ds = ds.map(encode, num_parallel_calls=tf.data.AUTOTUNE)
    if length_buckets is not None:

        def cut(features, *rest):
            features = bucket_lengths(features, length_buckets)
            return (features, *rest) if rest else features

        ds = ds.map(cut, num_parallel_calls=tf.data.AUTOTUNE)
    if finish is not None:
        ds = ds.map(finish, num_parallel_calls=tf.data.AUTOTUNE)
    return ds.prefetch(tf.data.AUTOTUNE)
