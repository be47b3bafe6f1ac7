"""The next-sentence-prediction head of BERT pretraining."""

import keras

from keras_bert_impl.layers.initializers import truncated_normal


@keras.saving.register_keras_serializable(package="keras_bert_impl")
class BertNextSentenceHead(keras.layers.Layer):
    """Two logits from the pooled output: is B the continuation of A?

    Logit 0 means "B follows A" (IsNext) and logit 1 "B is random"
    (NotNext), the convention of the original code and of Hugging Face.

    Args:
        initializer_range: float. Defaults to `0.02`.
        **kwargs: Forwarded to `keras.layers.Layer`.

    Call arguments:
        pooled_output: float tensor of shape `(batch_size, hidden_dim)`.

    Returns:
        Float tensor of logits, shape `(batch_size, 2)`.

    Example:
    >>> head = BertNextSentenceHead()
    >>> tuple(head(np.ones((3, 8), "float32")).shape)
    (3, 2)
    """

    def __init__(self, initializer_range=0.02, **kwargs):
        super().__init__(**kwargs)
        self.initializer_range = initializer_range
        self.dense = keras.layers.Dense(
            2,
            kernel_initializer=truncated_normal(initializer_range),
            dtype=self.dtype_policy,
            name="dense",
        )

    def build(self, pooled_output_shape):
        self.dense.build(pooled_output_shape)
        self.built = True

    def call(self, pooled_output):
        return self.dense(pooled_output)

    def compute_output_shape(self, pooled_output_shape):
        return (pooled_output_shape[0], 2)

    def get_config(self):
        config = super().get_config()
        config.update({"initializer_range": self.initializer_range})
        return config
