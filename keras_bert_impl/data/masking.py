"""Dynamic masked-LM masking as a pure function of `(token_ids, seed)`."""

import numpy as np
import tensorflow as tf


class MaskedLMMasker:
    """Chooses and replaces masked-LM targets in a batch, BERT's way.

    Selection: `masking_rate` (15%) of the selectable tokens of each
    sequence — every token but `[CLS]`, `[SEP]`, `[PAD]` and `[MASK]` — at
    most `max_predictions`; the count is `masking_rate × n` rounded
    stochastically (so the rate is exact on average, also for short
    sequences) and at least one. With `whole_word_masking`, whole words (a
    piece and its `##` continuations) are selected together until the
    count is reached. Replacement: of the selected tokens,
    `mask_token_rate` (80%) become `[MASK]`, `random_token_rate` (10%) a
    random non-special token and the rest stay unchanged.

    Everything is stateless TensorFlow random ops on the given seed: the
    same `(token_ids, seed)` gives the same output, in `tf.data` or not.
    Rates can be pinned to 0 or 1 to get exact outputs in tests.

    Args:
        vocabulary: list of str, the WordPiece vocabulary (for the special
            ids, the `##` continuations and the random replacements).
        max_predictions: int. Fixed number of prediction slots.
        masking_rate: float. Defaults to `0.15`.
        mask_token_rate: float. Defaults to `0.8`.
        random_token_rate: float. Defaults to `0.1`.
        whole_word_masking: bool. Defaults to `False`.
        unselectable_tokens: tokens never selected. Defaults to
            `("[CLS]", "[SEP]", "[PAD]", "[MASK]")`.

    Call arguments:
        token_ids: int32 tensor `(batch_size, seq_len)`.
        seed: int tensor of shape `(2,)`, a stateless-random seed.

    Returns:
        A dict: `token_ids` (with replacements), `mask_positions`,
        `mask_ids` (the original ids) and `mask_weights` (1.0 for a real
        prediction, 0.0 for a padding slot), each `(batch_size,
        max_predictions)` after the first.

    Example:
    >>> vocab = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "a", "b"]
    >>> masker = MaskedLMMasker(vocab, max_predictions=3, masking_rate=1.0,
    ...                         mask_token_rate=1.0, random_token_rate=0.0)
    >>> out = masker(tf.constant([[2, 5, 6, 3, 0]]), tf.constant([1, 2]))
    >>> out["token_ids"].numpy().tolist(), out["mask_ids"].numpy().tolist()
    ([[2, 4, 4, 3, 0]], [[5, 6, 0]])
    """

    def __init__(
        self,
        vocabulary,
        max_predictions,
        masking_rate=0.15,
        mask_token_rate=0.8,
        random_token_rate=0.1,
        whole_word_masking=False,
        unselectable_tokens=("[CLS]", "[SEP]", "[PAD]", "[MASK]"),
    ):
        vocabulary = list(vocabulary)
        if not isinstance(max_predictions, int) or max_predictions <= 0:
            raise ValueError(
                "`max_predictions` must be a positive integer. Received: "
                f"max_predictions={max_predictions!r}"
            )
        for name, value in (
            ("masking_rate", masking_rate),
            ("mask_token_rate", mask_token_rate),
            ("random_token_rate", random_token_rate),
        ):
            if not 0 <= value <= 1:
                raise ValueError(
                    f"`{name}` must be in [0, 1]. Received: {name}={value}"
                )
        if mask_token_rate + random_token_rate > 1:
            raise ValueError(
                "`mask_token_rate + random_token_rate` must be at most 1. "
                f"Received: {mask_token_rate} + {random_token_rate}"
            )
        missing = [
            t for t in (*unselectable_tokens, "[MASK]") if t not in vocabulary
        ]
        if missing:
            raise ValueError(
                f"The vocabulary lacks the special token(s) {missing}."
            )
        self.max_predictions = max_predictions
        self.masking_rate = masking_rate
        self.mask_token_rate = mask_token_rate
        self.random_token_rate = random_token_rate
        self.whole_word_masking = whole_word_masking
        index = {t: i for i, t in enumerate(vocabulary)}
        self.mask_id = index["[MASK]"]
        special = [index[t] for t in unselectable_tokens]
        selectable = np.ones(len(vocabulary), bool)
        selectable[special] = False
        self._selectable = tf.constant(selectable)
        bracketed = np.array(
            [t.startswith("[") and t.endswith("]") for t in vocabulary]
        )
        self._replacements = tf.constant(
            np.flatnonzero(~bracketed).astype("int32")
        )
        self._continuation = tf.constant(
            np.array([t.startswith("##") for t in vocabulary])
        )

    def __call__(self, token_ids, seed):
        token_ids = tf.cast(token_ids, tf.int32)
        seeds = tf.random.experimental.stateless_split(
            tf.cast(seed, tf.int64), 4
        )
        batch, length = tf.shape(token_ids)[0], tf.shape(token_ids)[1]
        candidate = tf.gather(self._selectable, token_ids)
        n = tf.reduce_sum(tf.cast(candidate, tf.float32), axis=1)
        jitter = tf.random.stateless_uniform([batch], seeds[0])
        count = tf.floor(n * self.masking_rate + jitter)
        count = tf.minimum(count, float(self.max_predictions))
        if self.masking_rate > 0:
            count = tf.maximum(count, tf.minimum(n, 1.0))
        count = tf.cast(count, tf.int32)[:, None]

        scores = tf.random.stateless_uniform([batch, length], seeds[1])
        if self.whole_word_masking:
            selected = self._select_words(token_ids, candidate, scores, count)
        else:
            scores = tf.where(candidate, scores, 2.0)
            rank = tf.argsort(tf.argsort(scores, axis=1, stable=True), axis=1)
            selected = candidate & (rank < count)

        draw = tf.random.stateless_uniform([batch, length], seeds[2])
        random_ids = tf.gather(
            self._replacements,
            tf.random.stateless_uniform(
                [batch, length],
                seeds[3],
                maxval=tf.shape(self._replacements)[0],
                dtype=tf.int32,
            ),
        )
        masked = tf.where(
            selected & (draw < self.mask_token_rate),
            self.mask_id,
            tf.where(
                selected
                & (draw < self.mask_token_rate + self.random_token_rate),
                random_ids,
                token_ids,
            ),
        )

        # Selected positions first, in order, then padding slots.
        positions = tf.range(length)[None, :] + tf.zeros_like(token_ids)
        key = tf.where(selected, positions, length + positions)
        pad = tf.fill([batch, self.max_predictions], 2 * length)
        key = tf.sort(tf.concat([key, pad], axis=1), axis=1)
        key = key[:, : self.max_predictions]
        valid = key < length
        mask_positions = tf.where(valid, key, 0)
        mask_ids = tf.where(
            valid, tf.gather(token_ids, mask_positions, batch_dims=1), 0
        )
        return {
            "token_ids": masked,
            "mask_positions": mask_positions,
            "mask_ids": mask_ids,
            "mask_weights": tf.cast(valid, tf.float32),
        }

    def _select_words(self, token_ids, candidate, scores, count):
        """Whole words in random order while the running count fits."""
        length = tf.shape(token_ids)[1]
        continuation = tf.gather(self._continuation, token_ids) & candidate
        starts = candidate & ~continuation
        word = tf.cumsum(tf.cast(starts, tf.int32), axis=1) - 1
        word = tf.maximum(word, 0)
        token_score = tf.gather(scores, word, batch_dims=1)
        token_score = tf.where(candidate, token_score, 2.0)
        order = tf.argsort(token_score, axis=1, stable=True)
        running = tf.cumsum(
            tf.cast(tf.gather(candidate, order, batch_dims=1), tf.int32),
            axis=1,
        )
        running = tf.gather(running, tf.argsort(order, axis=1), batch_dims=1)
        # The running count at each word's last piece, spread to its pieces.
        flat = word + length * tf.range(tf.shape(token_ids)[0])[:, None]
        word_end = tf.math.unsorted_segment_max(
            tf.reshape(tf.where(candidate, running, 0), [-1]),
            tf.reshape(flat, [-1]),
            tf.size(token_ids),
        )
        word_end = tf.reshape(tf.gather(word_end, flat), tf.shape(token_ids))
        return candidate & (word_end <= count)
