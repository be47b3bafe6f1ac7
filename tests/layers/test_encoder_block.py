import numpy as np
import pytest

from keras_bert_impl.layers import TransformerEncoderBlock
from tests.helpers import run_layer_checks
from tests.reference import bert_forward

KWARGS = dict(num_heads=2, intermediate_dim=32)


def _inputs(seed=0):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(2, 8, 16)).astype("float32")
    mask = np.array([[1] * 8, [1] * 5 + [0] * 3], "int32")
    return x, mask


class TestTransformerEncoderBlock:
    def test_layer_checks(self):
        x, mask = _inputs()
        run_layer_checks(
            TransformerEncoderBlock,
            KWARGS,
            {"inputs": x, "padding_mask": mask},
            expected_output_shape=(2, 8, 16),
            # q, k, v, attention output, intermediate, output: kernel+bias;
            # two LayerNorms: gamma+beta.
            expected_num_trainable_weights=16,
        )

    @pytest.mark.parametrize("activation", ["gelu", "gelu_approximate"])
    def test_matches_numpy_reference(self, activation):
        x, mask = _inputs()
        block = TransformerEncoderBlock(
            **KWARGS, activation=activation, dropout=0.0, attention_dropout=0.0
        )
        out = np.asarray(block(x, padding_mask=mask))

        def dense(layer):
            return np.asarray(layer.kernel), np.asarray(layer.bias)

        def norm(layer):
            return np.asarray(layer.gamma), np.asarray(layer.beta)

        params = {
            "q": dense(block.query_dense),
            "k": dense(block.key_dense),
            "v": dense(block.value_dense),
            "attn_out": dense(block.attention_output_dense),
            "inter": dense(block.intermediate_dense),
            "out": dense(block.output_dense),
            "attn_ln": norm(block.attention_layer_norm),
            "out_ln": norm(block.output_layer_norm),
        }
        # Run only the block: identity embeddings of the input vectors.
        ref, _ = bert_forward(
            {
                "word": x.reshape(16, 16).astype("float64"),
                "segment": np.zeros((1, 16)),
                "position": np.zeros((8, 16)),
                "emb_ln": (None, None),
                "layers": [params],
                "pooler": (np.eye(16), np.zeros(16)),
            },
            np.arange(16).reshape(2, 8),
            np.zeros((2, 8), "int64"),
            mask,
            num_heads=2,
            approximate_gelu=activation == "gelu_approximate",
            skip_embedding_norm=True,
        )
        np.testing.assert_allclose(out, ref, atol=1e-5)

    def test_padded_positions_do_not_leak(self):
        x, mask = _inputs()
        block = TransformerEncoderBlock(
            **KWARGS, dropout=0.0, attention_dropout=0.0
        )
        out = np.asarray(block(x, padding_mask=mask))
        changed = x.copy()
        changed[1, 5:] = 123.0  # only padded positions differ
        out2 = np.asarray(block(changed, padding_mask=mask))
        np.testing.assert_allclose(out[1, :5], out2[1, :5], atol=1e-6)
        np.testing.assert_allclose(out[0], out2[0], atol=1e-6)

    def test_dropout_active_only_in_training(self):
        x, mask = _inputs()
        block = TransformerEncoderBlock(**KWARGS, dropout=0.5)
        a = np.asarray(block(x, padding_mask=mask))
        b = np.asarray(block(x, padding_mask=mask))
        np.testing.assert_array_equal(a, b)
        c = np.asarray(block(x, padding_mask=mask, training=True))
        assert not np.allclose(a, c)

    @pytest.mark.parametrize(
        "bad, field",
        [
            ({"num_heads": 0}, "num_heads"),
            ({"intermediate_dim": -1}, "intermediate_dim"),
            ({"dropout": 1.0}, "dropout"),
            ({"attention_dropout": -0.5}, "attention_dropout"),
            ({"activation": "swish"}, "activation"),
        ],
    )
    def test_invalid_arguments(self, bad, field):
        with pytest.raises(ValueError, match=field):
            TransformerEncoderBlock(**{**KWARGS, **bad})

    def test_width_not_divisible_by_heads(self):
        block = TransformerEncoderBlock(num_heads=3, intermediate_dim=8)
        with pytest.raises(ValueError, match="num_heads"):
            block.build((2, 4, 16))
