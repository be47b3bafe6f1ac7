import keras
import numpy as np
import pytest

from keras_bert_impl.layers import BertMaskedLMHead
from tests.helpers import run_layer_checks
from tests.reference import gelu
from tests.reference import layer_norm


def _inputs():
    x = np.random.default_rng(0).normal(size=(2, 8, 16)).astype("float32")
    positions = np.array([[1, 2, 0], [3, 3, 7]], "int32")
    return x, positions


class TestBertMaskedLMHead:
    def test_layer_checks(self):
        x, positions = _inputs()
        run_layer_checks(
            BertMaskedLMHead,
            {"vocabulary_size": 32},
            {"sequence_output": x, "mask_positions": positions},
            expected_output_shape=(2, 3, 32),
            # transform kernel+bias, gamma, beta, output kernel, output bias
            expected_num_trainable_weights=6,
        )

    def test_matches_hand_computed_logits(self):
        x, positions = _inputs()
        head = BertMaskedLMHead(vocabulary_size=32)
        out = np.asarray(head(x, mask_positions=positions))
        gathered = np.take_along_axis(x, positions[:, :, None], axis=1)
        h = gathered @ np.asarray(head.transform_dense.kernel)
        h = layer_norm(
            gelu(h + np.asarray(head.transform_dense.bias)), 1, 0, 1e-12
        )
        expected = h @ np.asarray(head.output_kernel) + np.asarray(
            head.output_bias
        )
        np.testing.assert_allclose(out, expected, atol=1e-5)

    def test_gather_equals_full_sequence(self):
        x, positions = _inputs()
        head = BertMaskedLMHead(vocabulary_size=32)
        full = np.asarray(head(x))  # every position
        gathered = np.asarray(head(x, mask_positions=positions))
        np.testing.assert_allclose(
            gathered,
            np.take_along_axis(full, positions[:, :, None], axis=1),
            atol=1e-6,
        )

    def test_tied_to_token_embedding(self):
        x, positions = _inputs()
        embedding = keras.layers.ReversibleEmbedding(32, 16)
        embedding.build((None, None))
        head = BertMaskedLMHead(vocabulary_size=32, token_embedding=embedding)
        out = np.asarray(head(x, mask_positions=positions))
        # Tied: no output kernel of its own; the embedding matrix is the
        # only weight besides the 4 transform weights and the output bias.
        assert not hasattr(head, "output_kernel")
        paths = [w.path for w in head.trainable_weights]
        assert len(paths) == 6
        assert any(w is embedding.embeddings for w in head.trainable_weights)
        h = np.asarray(
            head.layer_norm(
                head._activation_fn(
                    head.transform_dense(
                        np.take_along_axis(x, positions[:, :, None], axis=1)
                    )
                )
            )
        )
        expected = h @ np.asarray(embedding.embeddings).T
        np.testing.assert_allclose(out, expected, atol=1e-5)

    def test_mismatched_embedding(self):
        embedding = keras.layers.ReversibleEmbedding(10, 16)
        with pytest.raises(ValueError, match="vocabulary"):
            BertMaskedLMHead(vocabulary_size=32, token_embedding=embedding)

    def test_invalid_vocabulary_size(self):
        with pytest.raises(ValueError, match="vocabulary_size"):
            BertMaskedLMHead(vocabulary_size=0)
