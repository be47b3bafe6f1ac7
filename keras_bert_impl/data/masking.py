"""Dynamic masked-LM masking as a pure function of `(token_ids, seed)`.

Why not tensorflow-text's `mask_language_model` or keras-hub's
`MaskedLMMaskGenerator` (which wraps it): their selector and chooser draw
with stateful random ops (`tf.random.shuffle`, `tf.random.uniform`), so
the same ids and seed do not give the same masks once inside `tf.data`,
and the selection count is not rounded without bias. The policies here
keep their split — a selector (`RandomTokenSelector`) and a chooser
(`MaskValuesChooser`), each injectable — on stateless random ops.
"""

import tensorflow as tf

from keras_bert_impl.data.mask_values_chooser import MaskValuesChooser
from keras_bert_impl.data.token_selector import DEFAULT_UNSELECTABLE
from keras_bert_impl.data.token_selector import RandomTokenSelector


class MaskedLMMasker:
    """Chooses and replaces masked-LM targets in a batch, BERT's way.

    Selection (`RandomTokenSelector`): `masking_rate` (15%) of the tokens
    other than `[CLS]`, `[SEP]`, `[PAD]` and `[MASK]`, at most
    `max_predictions` per sequence, optionally whole words. Replacement
    (`MaskValuesChooser`): of the selected tokens, `mask_token_rate` (80%)
    become `[MASK]`, `random_token_rate` (10%) a random non-special token
    and the rest stay unchanged. Either policy can be replaced by any
    callable with the same call signature (`selector(token_ids, seed)` →
    bool mask, `chooser(token_ids, selected, seed)` → ids).

    Stateless: the same `(token_ids, seed)` gives the same output, in
    `tf.data` or not. Rates pinned to 0 or 1 give exact outputs.

    Args:
        vocabulary: list of str, the WordPiece vocabulary.
        max_predictions: int. Fixed number of prediction slots.
        masking_rate: float. Defaults to `0.15`.
        mask_token_rate: float. Defaults to `0.8`.
        random_token_rate: float. Defaults to `0.1`.
        whole_word_masking: bool. Defaults to `False`.
        unselectable_tokens: tokens never selected.
        selector: optional selection policy (replaces the four arguments
            above).
        chooser: optional replacement policy (replaces the two rates).

    Call arguments:
        token_ids: int tensor `(batch_size, seq_len)`.
        seed: int tensor of shape `(2,)`, a stateless-random seed.

    Returns:
        A dict: `token_ids` (with replacements) `(batch_size, seq_len)`,
        and `(batch_size, max_predictions)` tensors `mask_positions`
        (selected positions in increasing order, then zeros), `mask_ids`
        (the original ids there, then zeros) and `mask_weights` (1.0 for a
        real prediction, 0.0 for a padding slot). These are
        google-research/bert's `masked_lm_positions`, `masked_lm_ids` and
        `masked_lm_weights`.

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
        unselectable_tokens=DEFAULT_UNSELECTABLE,
        selector=None,
        chooser=None,
    ):
        vocabulary = list(vocabulary)
        if (
            isinstance(max_predictions, bool)
            or not isinstance(max_predictions, int)
            or max_predictions <= 0
        ):
            raise ValueError(
                "`max_predictions` must be a positive integer. Received: "
                f"max_predictions={max_predictions!r}"
            )
        if not 0 <= masking_rate <= 1:
            raise ValueError(
                "`masking_rate` must be in [0, 1]. Received: "
                f"masking_rate={masking_rate}"
            )
        self.max_predictions = max_predictions
        self.selector = selector or RandomTokenSelector(
            vocabulary,
            max_predictions,
            selection_rate=masking_rate,
            whole_word_masking=whole_word_masking,
            unselectable_tokens=unselectable_tokens,
        )
        self.chooser = chooser or MaskValuesChooser(
            vocabulary, mask_token_rate, random_token_rate
        )

    def __call__(self, token_ids, seed):
        token_ids = tf.cast(token_ids, tf.int32)
        select_seed, choose_seed = tf.unstack(
            tf.random.experimental.stateless_split(tf.cast(seed, tf.int64), 2)
        )
        length = tf.shape(token_ids)[1]
        selected = tf.cast(self.selector(token_ids, select_seed), tf.bool)
        # A custom selector may pick more than there are slots: keep the
        # first `max_predictions`, so every replaced token is predicted.
        rank = tf.cumsum(tf.cast(selected, tf.int32), axis=1)
        selected = selected & (rank <= self.max_predictions)
        masked = self.chooser(token_ids, selected, choose_seed)

        # Selected positions first, in order, then padding slots.
        positions = tf.range(length)[None, :] + tf.zeros_like(token_ids)
        key = tf.where(selected, positions, length + positions)
        pad = tf.fill(
            [tf.shape(token_ids)[0], self.max_predictions], 2 * length
        )
        key = tf.sort(tf.concat([key, pad], axis=1), axis=1)
        key = key[:, : self.max_predictions]
        valid = key < length
        mask_positions = tf.where(valid, key, 0)
        mask_ids = tf.where(
            valid, tf.gather(token_ids, mask_positions, batch_dims=1), 0
        )
        return {
            "token_ids": tf.cast(masked, tf.int32),
            "mask_positions": mask_positions,
            "mask_ids": mask_ids,
            "mask_weights": tf.cast(valid, tf.float32),
        }
