import numpy as np
import pytest
import tensorflow as tf

from keras_bert_impl.data import MaskedLMMasker

VOCAB = [
    "[PAD]",
    "[UNK]",
    "[CLS]",
    "[SEP]",
    "[MASK]",
    "a",
    "b",
    "##c",
    "##d",
    "e",
]
IDS = tf.constant([[2, 5, 7, 8, 6, 9, 3, 0, 0], [2, 9, 3, 6, 3, 0, 0, 0, 0]])


class TestMaskedLMMasker:
    def test_rate_one_masks_every_selectable_token(self):
        masker = MaskedLMMasker(
            VOCAB, max_predictions=8, masking_rate=1.0,
            mask_token_rate=1.0, random_token_rate=0.0,
        )  # fmt: skip
        out = masker(IDS, tf.constant([0, 1]))
        np.testing.assert_array_equal(
            out["token_ids"],
            [[2, 4, 4, 4, 4, 4, 3, 0, 0], [2, 4, 3, 4, 3, 0, 0, 0, 0]],
        )
        np.testing.assert_array_equal(
            out["mask_positions"],
            [[1, 2, 3, 4, 5, 0, 0, 0], [1, 3, 0, 0, 0, 0, 0, 0]],
        )
        np.testing.assert_array_equal(
            out["mask_ids"],
            [[5, 7, 8, 6, 9, 0, 0, 0], [9, 6, 0, 0, 0, 0, 0, 0]],
        )
        np.testing.assert_array_equal(
            out["mask_weights"],
            [[1, 1, 1, 1, 1, 0, 0, 0], [1, 1, 0, 0, 0, 0, 0, 0]],
        )

    def test_unchanged_and_random_policies(self):
        keep = MaskedLMMasker(
            VOCAB, 8, masking_rate=1.0, mask_token_rate=0.0,
            random_token_rate=0.0,
        )  # fmt: skip
        out = keep(IDS, tf.constant([3, 4]))
        np.testing.assert_array_equal(out["token_ids"], IDS)
        rand = MaskedLMMasker(
            VOCAB, 8, masking_rate=1.0, mask_token_rate=0.0,
            random_token_rate=1.0,
        )  # fmt: skip
        out = rand(tf.constant([[2] + [5] * 200 + [3]]), tf.constant([3, 4]))
        replaced = out["token_ids"].numpy()[0, 1:-1]
        # Random replacements are never special tokens.
        assert set(replaced) <= {5, 6, 7, 8, 9} and len(set(replaced)) > 1

    def test_cap_and_never_special(self):
        masker = MaskedLMMasker(VOCAB, max_predictions=2, masking_rate=1.0)
        out = masker(IDS, tf.constant([5, 6]))
        assert out["mask_weights"].numpy().sum(1).tolist() == [2, 2]
        assert not np.isin(out["mask_ids"].numpy()[out["mask_weights"] > 0],
                           [0, 2, 3, 4]).any()  # fmt: skip

    def test_pure_function_of_ids_and_seed(self):
        masker = MaskedLMMasker(VOCAB, max_predictions=3)
        ids = tf.constant(np.random.default_rng(0).integers(5, 10, (64, 30)))
        a = masker(ids, tf.constant([1, 2]))
        b = masker(ids, tf.constant([1, 2]))
        c = masker(ids, tf.constant([1, 3]))
        for key in a:
            np.testing.assert_array_equal(a[key], b[key])
        assert not np.array_equal(a["mask_positions"], c["mask_positions"])
        # The same inside tf.data.
        ds = tf.data.Dataset.from_tensors(ids).map(
            lambda t: masker(t, tf.constant([1, 2]))
        )
        d = next(iter(ds))
        np.testing.assert_array_equal(a["token_ids"], d["token_ids"])

    def test_whole_word_masking_takes_whole_words(self):
        masker = MaskedLMMasker(
            VOCAB, max_predictions=6, masking_rate=0.5, mask_token_rate=1.0,
            random_token_rate=0.0, whole_word_masking=True,
        )  # fmt: skip
        ids = tf.constant([[2, 5, 7, 8, 6, 9, 5, 7, 3]] * 50)
        words = [[1, 2, 3], [4], [5], [6, 7]]
        out = masker(ids, tf.constant([9, 9]))["token_ids"].numpy()
        seen = set()
        for row in out:
            masked = set(np.flatnonzero(row == 4))
            for word in words:
                hit = masked & set(word)
                assert not hit or hit == set(word)
            seen.add(tuple(sorted(masked)))
        assert len(seen) > 3  # different words in different rows

    @pytest.mark.parametrize(
        "kwargs, match",
        [
            ({"max_predictions": 0}, "max_predictions"),
            ({"max_predictions": 2, "masking_rate": 1.5}, "masking_rate"),
            (
                {"max_predictions": 2, "mask_token_rate": 0.9,
                 "random_token_rate": 0.2},
                "at most 1",
            ),
        ],
    )  # fmt: skip
    def test_invalid_arguments(self, kwargs, match):
        with pytest.raises(ValueError, match=match):
            MaskedLMMasker(VOCAB, **kwargs)

    def test_vocab_without_mask_token(self):
        with pytest.raises(ValueError, match="MASK"):
            MaskedLMMasker(["[PAD]", "[CLS]", "[SEP]", "a"], 2)
