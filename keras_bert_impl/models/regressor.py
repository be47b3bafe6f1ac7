"""`BertRegressor`: one text or a text pair -> one score (STS-B)."""

import keras

from keras_bert_impl.layers.dropout import Dropout
from keras_bert_impl.metrics import StreamingPearsonCorrelation
from keras_bert_impl.models.task import BertTask
from keras_bert_impl.models.task import check_dropout
from keras_bert_impl.models.task import check_encoder
from keras_bert_impl.models.task import encoder_inputs
from keras_bert_impl.models.task import head_initializer


@keras.saving.register_keras_serializable(package="keras_bert_impl")
class BertRegressor(BertTask):
    """Regression (STS-B style): one text or a pair -> one float score.

    The pooled output, dropout, a dense layer to one unit. `compile()`
    defaults: mean squared error, mean absolute error (`"mae"`) and
    Pearson's r over the whole epoch (`"pearson"`). Labels are float
    `(batch_size,)`.

    Args:
        encoder: a `BertEncoder`.
        dropout: float. Dropout on the pooled output. Defaults to `0.1`.
        text_pair: bool. Whether the model is fed text pairs (recorded for
            export and prediction). Defaults to `False`.
        **kwargs: `name`, `trainable`.

    Returns:
        Scores `(batch_size, 1)`.

    Example:
    >>> encoder = build_encoder(BertConfig.preset("tiny", vocabulary_size=32,
    ...                                           num_layers=1))
    >>> model = BertRegressor(encoder, text_pair=True)
    >>> ids = np.array([[2, 7, 3, 9, 3]], "int32")
    >>> scores = model({"token_ids": ids, "segment_ids": np.array(
    ...     [[0, 0, 0, 1, 1]], "int32"), "padding_mask": 1 + 0 * ids})
    >>> tuple(scores.shape)
    (1, 1)
    """

    def __init__(self, encoder, dropout=0.1, text_pair=False, **kwargs):
        check_encoder(encoder, type(self).__name__)
        dropout = check_dropout(dropout)
        dropout_layer = Dropout(
            dropout, dtype=encoder.dtype_policy, name="regressor_dropout"
        )
        dense = keras.layers.Dense(
            1,
            kernel_initializer=head_initializer(encoder),
            dtype=encoder.dtype_policy,
            name="score",
        )
        inputs = encoder_inputs()
        pooled = encoder(inputs)["pooled_output"]
        outputs = dense(dropout_layer(pooled))
        super().__init__(inputs=inputs, outputs=outputs, **kwargs)
        self.encoder = encoder
        self.dropout = dropout
        self.text_pair = bool(text_pair)

    def _task_config(self):
        return {"text_pair": self.text_pair}

    def _compile_defaults(self):
        metrics = [
            keras.metrics.MeanAbsoluteError(name="mae"),
            StreamingPearsonCorrelation(name="pearson"),
        ]
        return keras.losses.MeanSquaredError(name="loss"), metrics, None, None
