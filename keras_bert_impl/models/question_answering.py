"""`BertQuestionAnswering`: start and end logits over the positions (SQuAD)."""

import keras

from keras_bert_impl.layers.dropout import Dropout
from keras_bert_impl.layers.span_logits import SplitSpanLogits
from keras_bert_impl.models.task import BertTask
from keras_bert_impl.models.task import check_dropout
from keras_bert_impl.models.task import check_encoder
from keras_bert_impl.models.task import encoder_inputs
from keras_bert_impl.models.task import freeze_unused_pooler
from keras_bert_impl.models.task import head_initializer
from keras_bert_impl.models.task import sparse_accuracy
from keras_bert_impl.models.task import sparse_cross_entropy


@keras.saving.register_keras_serializable(package="keras_bert_impl")
class BertQuestionAnswering(BertTask):
    """Extractive QA (SQuAD): start and end logits over the positions.

    Feed `[CLS] question [SEP] context [SEP]`. The sequence output,
    dropout, then one dense layer to two logits per position, split into
    `"start_logits"` and `"end_logits"`. `compile()` defaults: the mean of
    the start and end cross-entropies (google-research/bert's
    `run_squad.py`: `(start_loss + end_loss) / 2`) and both accuracies.
    Labels are `{"start_logits": (batch_size,), "end_logits":
    (batch_size,)}` int token indices in the window (0, `[CLS]`, for no
    answer). Span decoding (n-best, maximum length, no-answer threshold)
    lives with the SQuAD data code. The encoder's pooler, unused here, is
    made non-trainable.

    Args:
        encoder: a `BertEncoder`.
        dropout: float. Defaults to `0.1`.
        **kwargs: `name`, `trainable`.

    Returns:
        dict of `"start_logits"` and `"end_logits"`, each
        `(batch_size, seq_len)`.

    Example:
    >>> encoder = build_encoder(BertConfig.preset("tiny", vocabulary_size=32,
    ...                                           num_layers=1))
    >>> model = BertQuestionAnswering(encoder)
    >>> ids = np.array([[2, 7, 3, 9, 10, 3]], "int32")
    >>> out = model({"token_ids": ids, "segment_ids": np.array(
    ...     [[0, 0, 0, 1, 1, 1]], "int32"), "padding_mask": 1 + 0 * ids})
    >>> sorted(out), tuple(out["start_logits"].shape)
    (['end_logits', 'start_logits'], (1, 6))
    """

    HEAD_LAYER = "span_logits"  # the head's dense layer, for checkpoints

    def __init__(self, encoder, dropout=0.1, **kwargs):
        check_encoder(encoder, type(self).__name__)
        dropout = check_dropout(dropout)
        dropout_layer = Dropout(
            dropout, dtype=encoder.dtype_policy, name="span_dropout"
        )
        dense = keras.layers.Dense(
            2,
            kernel_initializer=head_initializer(encoder),
            dtype=encoder.dtype_policy,
            name=self.HEAD_LAYER,
        )
        split = SplitSpanLogits(dtype=encoder.dtype_policy, name="split")
        freeze_unused_pooler(encoder)
        inputs = encoder_inputs()
        sequence = encoder(inputs)["sequence_output"]
        start, end = split(dense(dropout_layer(sequence)))
        outputs = {"start_logits": start, "end_logits": end}
        super().__init__(inputs=inputs, outputs=outputs, **kwargs)
        self.encoder = encoder
        self.dropout = dropout

    def _compile_defaults(self):
        loss = {
            "start_logits": sparse_cross_entropy("start_loss"),
            "end_logits": sparse_cross_entropy("end_loss"),
        }
        metrics = {
            "start_logits": [sparse_accuracy()],
            "end_logits": [sparse_accuracy()],
        }
        weights = {"start_logits": 0.5, "end_logits": 0.5}
        return loss, metrics, None, weights
