"""Which tokens become masked-LM targets: BERT's 15% selection policy."""

import numpy as np
import tensorflow as tf

DEFAULT_UNSELECTABLE = ("[CLS]", "[SEP]", "[PAD]", "[MASK]")


class RandomTokenSelector:
    """Selects `selection_rate` of the selectable tokens of each sequence.

    The selection policy of `MaskedLMMasker` (the counterpart of
    tensorflow-text's `RandomItemSelector`, but stateless: a pure function
    of `(token_ids, seed)`). Selectable: every token but
    `unselectable_tokens` (`[CLS]`, `[SEP]`, `[PAD]`, `[MASK]`). Per
    sequence of `n` selectable tokens, the count is `selection_rate × n`
    rounded stochastically (so the rate is exact on average, also for
    short sequences), at least one, at most `max_selections`. With
    `whole_word_masking`, whole words (a piece and its `##`
    continuations, as in google-research/bert) are taken in random order
    while the running count fits.

    Args:
        vocabulary: list of str (for the special ids and `##` pieces).
        max_selections: int. Cap per sequence.
        selection_rate: float. Defaults to `0.15`.
        whole_word_masking: bool. Defaults to `False`.
        unselectable_tokens: tokens never selected.

    Call arguments:
        token_ids: int tensor `(batch_size, seq_len)`.
        seed: int tensor `(2,)`, a stateless-random seed.

    Returns:
        bool tensor `(batch_size, seq_len)`, True where selected.

    Example:
    >>> vocab = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "a", "##b"]
    >>> select = RandomTokenSelector(vocab, 4, selection_rate=1.0)
    >>> select(tf.constant([[2, 5, 6, 3, 0]]), tf.constant([0, 1])).numpy()
    array([[False,  True,  True, False, False]])
    """

    def __init__(
        self,
        vocabulary,
        max_selections,
        selection_rate=0.15,
        whole_word_masking=False,
        unselectable_tokens=DEFAULT_UNSELECTABLE,
    ):
        vocabulary = list(vocabulary)
        if (
            isinstance(max_selections, bool)
            or not isinstance(max_selections, int)
            or max_selections <= 0
        ):
            raise ValueError(
                "`max_selections` must be a positive integer. Received: "
                f"max_selections={max_selections!r}"
            )
        if not 0 <= selection_rate <= 1:
            raise ValueError(
                "`selection_rate` must be in [0, 1]. Received: "
                f"selection_rate={selection_rate}"
            )
        index = {t: i for i, t in enumerate(vocabulary)}
        missing = [t for t in unselectable_tokens if t not in index]
        if missing:
            raise ValueError(
                f"The vocabulary lacks the special token(s) {missing}."
            )
        self.max_selections = max_selections
        self.selection_rate = selection_rate
        self.whole_word_masking = whole_word_masking
        selectable = np.ones(len(vocabulary), bool)
        selectable[[index[t] for t in unselectable_tokens]] = False
        self._selectable = tf.constant(selectable)
        self._continuation = tf.constant(
            np.array([t.startswith("##") for t in vocabulary])
        )

    def __call__(self, token_ids, seed):
        token_ids = tf.cast(token_ids, tf.int32)
        count_seed, order_seed = tf.unstack(
            tf.random.experimental.stateless_split(tf.cast(seed, tf.int64), 2)
        )
        batch, length = tf.shape(token_ids)[0], tf.shape(token_ids)[1]
        candidate = tf.gather(self._selectable, token_ids)
        n = tf.reduce_sum(tf.cast(candidate, tf.float32), axis=1)
        jitter = tf.random.stateless_uniform([batch], count_seed)
        count = tf.floor(n * self.selection_rate + jitter)
        count = tf.minimum(count, float(self.max_selections))
        if self.selection_rate > 0:
            count = tf.maximum(count, tf.minimum(n, 1.0))
        count = tf.cast(count, tf.int32)[:, None]
        scores = tf.random.stateless_uniform([batch, length], order_seed)
        if self.whole_word_masking:
            return self._select_words(token_ids, candidate, scores, count)
        scores = tf.where(candidate, scores, 2.0)
        rank = tf.argsort(tf.argsort(scores, axis=1, stable=True), axis=1)
        return candidate & (rank < count)

    def _select_words(self, token_ids, candidate, scores, count):
        """Whole words in random order while the running count fits."""
        length = tf.shape(token_ids)[1]
        continuation = tf.gather(self._continuation, token_ids) & candidate
        starts = candidate & ~continuation
        word = tf.maximum(tf.cumsum(tf.cast(starts, tf.int32), axis=1) - 1, 0)
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
