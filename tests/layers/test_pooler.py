import numpy as np
import pytest

from keras_bert_impl.layers import BertPooler
from tests.helpers import run_layer_checks


class TestBertPooler:
    def test_layer_checks(self):
        x = np.random.default_rng(0).normal(size=(2, 8, 16)).astype("float32")
        run_layer_checks(
            BertPooler,
            {"hidden_dim": 16},
            {"sequence_output": x},
            expected_output_shape=(2, 16),
            expected_num_trainable_weights=2,
        )

    def test_tanh_dense_on_first_position(self):
        x = np.random.default_rng(1).normal(size=(2, 8, 16)).astype("float32")
        pooler = BertPooler(hidden_dim=16)
        out = np.asarray(pooler(x))
        kernel = np.asarray(pooler.dense.kernel)
        bias = np.asarray(pooler.dense.bias)
        np.testing.assert_allclose(
            out, np.tanh(x[:, 0] @ kernel + bias), atol=1e-6
        )

    def test_invalid_hidden_dim(self):
        with pytest.raises(ValueError, match="hidden_dim"):
            BertPooler(hidden_dim=0)
