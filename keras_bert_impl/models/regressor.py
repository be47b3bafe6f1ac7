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
        label_names: optional list of one str: the score's name (Hugging
            Face's `id2label`, e.g. `["similarity"]`). Defaults to `None`.
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

    HEAD_LAYER = "score"  # the head's dense layer, for checkpoints

    def __init__(
        self, encoder, dropout=0.1, text_pair=False, label_names=None, **kwargs
    ):
        if label_names is not None:
            label_names = tuple(str(n) for n in label_names)
            if len(label_names) != 1:
                raise ValueError(
                    "A regressor has one output: `label_names` names it, "
                    f"once. Received: label_names={list(label_names)!r}"
                )
        check_encoder(encoder, type(self).__name__, pooled=True)
        dropout = check_dropout(dropout)
        dropout_layer = Dropout(
            dropout, dtype=encoder.dtype_policy, name="regressor_dropout"
        )
        dense = keras.layers.Dense(
            1,
            kernel_initializer=head_initializer(encoder),
            dtype=encoder.dtype_policy,
            name=self.HEAD_LAYER,
        )
        inputs = encoder_inputs()
        pooled = encoder(inputs)["pooled_output"]
        outputs = dense(dropout_layer(pooled))
        super().__init__(inputs=inputs, outputs=outputs, **kwargs)
        self.encoder = encoder
        self.dropout = dropout
        self.text_pair = bool(text_pair)
        self.label_names = label_names

    def _task_config(self):
        names = None if self.label_names is None else list(self.label_names)
        return {"text_pair": self.text_pair, "label_names": names}

    def _compile_defaults(self):
        metrics = [
            keras.metrics.MeanAbsoluteError(name="mae"),
            StreamingPearsonCorrelation(name="pearson"),
        ]
        return keras.losses.MeanSquaredError(name="loss"), metrics, None, None
