"""`keras_bert_impl.layers.Dropout`: Keras' dropout with Philox masks."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from keras_bert_impl.layers import Dropout


class TestDropout:
    @pytest.mark.parametrize("jit_compile", [False, True])
    def test_rate_and_scaling(self, jit_compile):
        layer = Dropout(0.1, seed=3)
        x = tf.ones((64, 1024))
        fn = tf.function(
            lambda x: layer(x, training=True), jit_compile=jit_compile
        )
        y = fn(x).numpy()
        kept = y != 0
        assert abs(1 - kept.mean() - 0.1) < 0.005
        np.testing.assert_allclose(y[kept], 1 / 0.9, rtol=1e-6)
        # A new mask on every call (the seed generator advances).
        assert (fn(x).numpy() != y).any()

    def test_inference_and_zero_rate_are_identity(self):
        x = np.random.RandomState(0).randn(4, 8).astype("float32")
        np.testing.assert_array_equal(Dropout(0.5)(x, training=False), x)
        np.testing.assert_array_equal(Dropout(0.0)(x, training=True), x)

    def test_same_seed_same_masks(self):
        x = tf.ones((8, 128))
        a = Dropout(0.3, seed=7)
        b = Dropout(0.3, seed=7)
        for _ in range(2):
            np.testing.assert_array_equal(
                a(x, training=True), b(x, training=True)
            )

    def test_noise_shape_broadcasts(self):
        y = Dropout(0.5, noise_shape=(None, 1), seed=1)(
            tf.ones((16, 32)), training=True
        ).numpy()
        for row in y:
            assert len(set(row.tolist())) == 1  # whole rows kept or dropped

    def test_config_round_trip(self):
        layer = Dropout(0.2, seed=5, name="d")
        config = keras.saving.serialize_keras_object(layer)
        assert config["registered_name"] == "keras_bert_impl>Dropout"
        again = keras.saving.deserialize_keras_object(config)
        assert type(again) is Dropout
        assert again.get_config() == layer.get_config()
