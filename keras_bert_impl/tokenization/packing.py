"""The one packer: `[CLS] A [SEP] (B [SEP])`, truncation and segment ids.

Every model input of the package is packed here, in TensorFlow ops (it
runs in `tf.data`, eagerly, and in the serving graph of an export):

* `BertTokenizer.encode` pads every row to `max_length` (static shapes
  for training and an XLA-compiled model);
* the serving signatures pad to the longest row of the request (the
  compiled model does no work on padding the batch does not need);
* the pretraining pipeline packs its NSP pairs, already cut to length by
  the paper's random truncation, padded to `max_length`.

Truncation is Google BERT's `_truncate_seq_pair`: the longer segment loses
a token first (with equal lengths the second one), so a long pair keeps
`ceil(budget / 2)` tokens of A and `floor(budget / 2)` of B, and a short
segment keeps all its tokens and leaves the rest to the other. That is
what `tf_text.RoundRobinTrimmer` computes; it is done here from the row
lengths with TensorFlow core ops, because the tensorflow-text op
(`TFText>RoundRobinTrim`) is missing from TF Serving images that embed an
older tensorflow-text and reads out of bounds on segments with different
row counts.
"""

import tensorflow as tf
import tensorflow_text as tf_text


def round_robin_trim(segments, budget):
    """Cuts one or two ragged segments to `budget` tokens per row in total.

    Args:
        segments: list of one or two `tf.RaggedTensor`s
            `(batch_size, (tokens))`.
        budget: int. Tokens to keep per row, all segments together.

    Returns:
        The trimmed segments, as a list.

    Example:
    >>> a = tf.ragged.constant([[1, 2, 3, 4], [5]])
    >>> b = tf.ragged.constant([[6, 7, 8], [9, 10, 11, 12]])
    >>> [s.to_list() for s in round_robin_trim([a, b], 5)]
    [[[1, 2, 3], [5]], [[6, 7], [9, 10, 11, 12]]]
    """
    lengths = [tf.cast(s.row_lengths(), tf.int64) for s in segments]
    half = tf.constant((budget + 1) // 2, tf.int64)
    budget = tf.constant(budget, tf.int64)
    if len(segments) == 1:
        keeps = [tf.minimum(lengths[0], budget)]
    elif len(segments) == 2:
        first = tf.minimum(lengths[0], tf.maximum(half, budget - lengths[1]))
        keeps = [first, tf.minimum(lengths[1], budget - first)]
    else:
        raise ValueError(
            f"Expected 1 or 2 segments. Received: {len(segments)} segments"
        )
    trimmed = []
    for segment, keep in zip(segments, keeps, strict=True):
        splits = segment.row_splits.dtype
        positions = tf.ragged.range(
            tf.cast(segment.row_lengths(), tf.int64), row_splits_dtype=splits
        )
        mask = positions < tf.expand_dims(keep, 1)
        trimmed.append(tf.ragged.boolean_mask(segment, mask))
    return trimmed


def pack_segments(
    segments,
    max_length: int,
    *,
    cls_id: int,
    sep_id: int,
    pad_id: int = 0,
    pad_to_max_length: bool = True,
):
    """Packs token segments into the model's three int32 inputs.

    Args:
        segments: list of one or two int `tf.RaggedTensor`s
            `(batch_size, (tokens))`: segment A and optionally B, with the
            same number of rows.
        max_length: int. Longest packed row, special tokens included; the
            segments are cut to fit (see the module docstring).
        cls_id, sep_id, pad_id: int. Ids of `[CLS]`, `[SEP]`, `[PAD]`.
        pad_to_max_length: bool. Pad every row to `max_length` (static
            shape); `False` pads to the longest packed row of the batch.

    Returns:
        `(inputs, trimmed)`: dict of int32 `token_ids`, `segment_ids`
        (0 for `[CLS]`, A and its `[SEP]`, 1 after) and `padding_mask`
        (1 = real token) `(batch_size, seq_len)`; and the trimmed segments.

    Raises:
        ValueError: `max_length` leaves no room for a token, or not one or
            two segments.
        tf.errors.InvalidArgumentError: (when run) the two segments have
            different numbers of rows.

    Example:
    >>> a = tf.ragged.constant([[7, 8], [9]])
    >>> b = tf.ragged.constant([[5], [6, 6, 6]])
    >>> inputs, _ = pack_segments([a, b], 7, cls_id=2, sep_id=3)
    >>> inputs["token_ids"].numpy().tolist()
    [[2, 7, 8, 3, 5, 3, 0], [2, 9, 3, 6, 6, 6, 3]]
    >>> inputs["segment_ids"].numpy().tolist()
    [[0, 0, 0, 0, 1, 1, 0], [0, 0, 0, 1, 1, 1, 1]]
    """
    if len(segments) not in (1, 2):
        raise ValueError(
            f"Expected 1 or 2 segments. Received: {len(segments)} segments"
        )
    budget = int(max_length) - len(segments) - 1
    if budget < 1:
        raise ValueError(
            f"`max_length` must exceed the {len(segments) + 1} special "
            f"tokens. Received: max_length={max_length}"
        )
    if len(segments) == 2:
        # Rows of B paired with the wrong A would be silently wrong data.
        check = tf.debugging.assert_equal(
            segments[0].nrows(out_type=tf.int64),
            segments[1].nrows(out_type=tf.int64),
            message="The two text segments need the same number of rows "
            "(one second text per first text)",
        )
        with tf.control_dependencies([check]):
            segments = [tf.identity(s) for s in segments]
    trimmed = round_robin_trim(segments, budget)
    ids, segment_ids = tf_text.combine_segments(
        trimmed, start_of_sequence_id=cls_id, end_of_segment_id=sep_id
    )
    ids = tf.cast(ids, tf.int32)
    shape = [None, int(max_length)] if pad_to_max_length else None
    inputs = {
        "token_ids": ids.to_tensor(pad_id, shape=shape),
        "segment_ids": tf.cast(segment_ids, tf.int32).to_tensor(0, shape=shape),
        "padding_mask": tf.ones_like(ids).to_tensor(0, shape=shape),
    }
    return inputs, trimmed
