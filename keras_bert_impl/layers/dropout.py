"""Dropout whose mask is drawn with the Philox generator."""

import keras


@keras.saving.register_keras_serializable(package="keras_bert_impl")
class Dropout(keras.layers.Dropout):
    """`keras.layers.Dropout` drawing its mask with Philox on TensorFlow.

    Keras' TensorFlow backend draws the mask with
    `tf.nn.experimental.stateless_dropout`, whose random algorithm is
    "auto-selected": inside an XLA-compiled function on the CPU that is
    ThreeFry, which XLA's CPU backend runs many times slower than Philox
    (`benchmarks/bench_dropout.py`; the numbers are in the README). BERT
    draws a mask for every attention probability and hidden state, so
    with the auto-selected algorithm the masks cost more than the matmuls
    of a small model's XLA train step. This layer asks for Philox explicitly
    (TensorFlow code in `layers/`: the package's one backend-specific
    path); the rate, the seeding (a Keras `SeedGenerator`) and every other
    behaviour are `keras.layers.Dropout`'s (other backends run it
    unchanged).

    Args: as `keras.layers.Dropout` (`rate`, `noise_shape`, `seed`).

    Example:
    >>> layer = Dropout(0.5, seed=1)
    >>> x = np.ones((2, 1000), "float32")
    >>> y = np.asarray(layer(x, training=True))
    >>> sorted(set(np.round(y.ravel(), 3).tolist()))  # dropped or 1 / 0.5
    [0.0, 2.0]
    >>> bool(abs((y == 0).mean() - 0.5) < 0.05)
    True
    >>> bool((np.asarray(layer(x, training=False)) == x).all())
    True
    """

    def call(self, inputs, training=False):
        if not training or self.rate <= 0:
            return inputs
        if keras.backend.backend() != "tensorflow":
            return super().call(inputs, training=training)
        import tensorflow as tf

        seed = self.seed_generator.next()
        # stateless ops under XLA want an int32 seed (as Keras casts it).
        seed = tf.cast(tf.math.floormod(seed, tf.int32.max - 1), "int32")
        noise_shape = None
        if self.noise_shape is not None:
            shape = tf.shape(inputs)
            noise_shape = [
                shape[i] if d is None else d
                for i, d in enumerate(self.noise_shape)
            ]
        return tf.nn.experimental.stateless_dropout(
            inputs,
            rate=self.rate,
            seed=seed,
            rng_alg="philox",
            noise_shape=noise_shape,
        )
