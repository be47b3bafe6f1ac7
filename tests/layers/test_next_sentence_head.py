import numpy as np

from keras_bert_impl.layers import BertNextSentenceHead
from tests.helpers import run_layer_checks


class TestBertNextSentenceHead:
    def test_layer_checks(self):
        x = np.random.default_rng(0).normal(size=(2, 16)).astype("float32")
        run_layer_checks(
            BertNextSentenceHead,
            {},
            {"pooled_output": x},
            expected_output_shape=(2, 2),
            expected_num_trainable_weights=2,
        )

    def test_is_a_dense_layer(self):
        x = np.random.default_rng(1).normal(size=(3, 16)).astype("float32")
        head = BertNextSentenceHead()
        out = np.asarray(head(x))
        expected = x @ np.asarray(head.dense.kernel) + np.asarray(
            head.dense.bias
        )
        np.testing.assert_allclose(out, expected, atol=1e-6)
