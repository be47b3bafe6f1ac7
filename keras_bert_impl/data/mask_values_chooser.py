"""What a selected token becomes: BERT's 80/10/10 replacement policy."""

import numpy as np
import tensorflow as tf


class MaskValuesChooser:
    """Replaces selected tokens: `[MASK]`, a random token, or unchanged.

    The replacement policy of `MaskedLMMasker` (the counterpart of
    tensorflow-text's `MaskValuesChooser`, but stateless). Each selected
    token independently becomes `[MASK]` with probability
    `mask_token_rate` (80%), a uniformly random non-special token (not a
    `[...]` entry) with probability `random_token_rate` (10%), and stays
    unchanged otherwise.

    Args:
        vocabulary: list of str.
        mask_token_rate: float. Defaults to `0.8`.
        random_token_rate: float. Defaults to `0.1`.

    Call arguments:
        token_ids: int tensor `(batch_size, seq_len)`.
        selected: bool tensor of the same shape.
        seed: int tensor `(2,)`, a stateless-random seed.

    Returns:
        int32 tensor: `token_ids` with the selected ones replaced.

    Example:
    >>> vocab = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "a", "b"]
    >>> choose = MaskValuesChooser(vocab, mask_token_rate=1.0,
    ...                            random_token_rate=0.0)
    >>> ids = tf.constant([[2, 5, 6, 3]])
    >>> choose(ids, ids == 6, tf.constant([0, 1])).numpy()
    array([[2, 5, 4, 3]], dtype=int32)
    """

    def __init__(self, vocabulary, mask_token_rate=0.8, random_token_rate=0.1):
        vocabulary = list(vocabulary)
        for name, value in (
            ("mask_token_rate", mask_token_rate),
            ("random_token_rate", random_token_rate),
        ):
            if not 0 <= value <= 1:
                raise ValueError(
                    f"`{name}` must be in [0, 1]. Received: {name}={value}"
                )
        if mask_token_rate + random_token_rate > 1 + 1e-9:
            raise ValueError(
                "`mask_token_rate + random_token_rate` must be at most 1. "
                f"Received: {mask_token_rate} + {random_token_rate}"
            )
        if "[MASK]" not in vocabulary:
            raise ValueError("The vocabulary lacks the special token [MASK].")
        self.mask_token_rate = mask_token_rate
        self.random_token_rate = random_token_rate
        self.mask_id = vocabulary.index("[MASK]")
        bracketed = np.array(
            [t.startswith("[") and t.endswith("]") for t in vocabulary]
        )
        self._replacements = tf.constant(
            np.flatnonzero(~bracketed).astype("int32")
        )

    def __call__(self, token_ids, selected, seed):
        token_ids = tf.cast(token_ids, tf.int32)
        draw_seed, id_seed = tf.unstack(
            tf.random.experimental.stateless_split(tf.cast(seed, tf.int64), 2)
        )
        shape = tf.shape(token_ids)
        draw = tf.random.stateless_uniform(shape, draw_seed)
        random_ids = tf.gather(
            self._replacements,
            tf.random.stateless_uniform(
                shape,
                id_seed,
                maxval=tf.shape(self._replacements)[0],
                dtype=tf.int32,
            ),
        )
        rate = self.mask_token_rate
        return tf.where(
            selected & (draw < rate),
            self.mask_id,
            tf.where(
                selected & (draw < rate + self.random_token_rate),
                random_ids,
                token_ids,
            ),
        )
