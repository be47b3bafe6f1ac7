import numpy as np
import pytest

from keras_bert_impl.layers import BertEmbedding
from tests.helpers import run_layer_checks
from tests.reference import layer_norm

KWARGS = dict(vocabulary_size=32, hidden_dim=16, max_sequence_length=8)


class TestBertEmbedding:
    def test_layer_checks(self, tiny_inputs):
        run_layer_checks(
            BertEmbedding,
            KWARGS,
            {
                "token_ids": tiny_inputs["token_ids"],
                "segment_ids": tiny_inputs["segment_ids"],
            },
            expected_output_shape=(2, 8, 16),
            # token, segment, position, gamma, beta
            expected_num_trainable_weights=5,
        )

    def test_matches_hand_computed_sum(self, tiny_inputs):
        layer = BertEmbedding(**KWARGS, dropout=0.0)
        ids, seg = tiny_inputs["token_ids"], tiny_inputs["segment_ids"]
        out = np.asarray(layer(ids, seg))
        expected = (
            np.asarray(layer.token_embedding.embeddings)[ids]
            + np.asarray(layer.segment_embedding.embeddings)[seg]
            + np.asarray(layer.position_embeddings)[None, :8]
        )
        expected = layer_norm(expected, 1.0, 0.0, 1e-12)
        np.testing.assert_allclose(out, expected, atol=1e-5)

    def test_shorter_sequences_use_leading_positions(self):
        layer = BertEmbedding(**KWARGS, dropout=0.0)
        ids = np.array([[5, 6, 7, 8, 9, 10, 11, 12]], "int32")
        full = np.asarray(layer(ids, 0 * ids))
        short = np.asarray(layer(ids[:, :3], 0 * ids[:, :3]))
        np.testing.assert_allclose(full[:, :3], short, atol=1e-6)

    @pytest.mark.parametrize(
        "bad, field",
        [
            ({"hidden_dim": 0}, "hidden_dim"),
            ({"vocabulary_size": -3}, "vocabulary_size"),
            ({"max_sequence_length": 0}, "max_sequence_length"),
            ({"num_segments": 0}, "num_segments"),
            ({"dropout": 1.5}, "dropout"),
        ],
    )
    def test_invalid_arguments(self, bad, field):
        with pytest.raises(ValueError, match=field):
            BertEmbedding(**{**KWARGS, **bad})
