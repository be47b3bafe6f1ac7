"""`BertMultipleChoice`: one score per (context, choice) pair (SWAG)."""

import keras

from keras_bert_impl.layers.choice_folding import FoldChoices
from keras_bert_impl.layers.choice_folding import UnfoldChoices
from keras_bert_impl.layers.dropout import Dropout
from keras_bert_impl.models.encoder import INPUT_NAMES
from keras_bert_impl.models.task import BertTask
from keras_bert_impl.models.task import check_dropout
from keras_bert_impl.models.task import check_encoder
from keras_bert_impl.models.task import head_initializer
from keras_bert_impl.models.task import sparse_accuracy
from keras_bert_impl.models.task import sparse_cross_entropy


@keras.saving.register_keras_serializable(package="keras_bert_impl")
class BertMultipleChoice(BertTask):
    """Multiple choice (SWAG): one score per (context, choice) pair.

    Inputs are `(batch_size, num_choices, seq_len)`: each choice packed
    with the context as `[CLS] context [SEP] choice [SEP]`. Every pair
    runs through the encoder; its pooled output, dropout and a dense layer
    to one unit give the choice's logit. `compile()` defaults:
    cross-entropy over the choices and accuracy; labels are the index of
    the right choice `(batch_size,)`.

    Args:
        encoder: a `BertEncoder`.
        num_choices: optional int, at least 2. Fixes the choice axis;
            `None` (default) accepts any number.
        dropout: float. Defaults to `0.1`.
        **kwargs: `name`, `trainable`.

    Call arguments:
        inputs: dict of int32 `token_ids`, `segment_ids`, `padding_mask`,
            each `(batch_size, num_choices, seq_len)`.

    Returns:
        Logits `(batch_size, num_choices)`.

    Example:
    >>> encoder = build_encoder(BertConfig.preset("tiny", vocabulary_size=32,
    ...                                           num_layers=1))
    >>> model = BertMultipleChoice(encoder, num_choices=4)
    >>> ids = np.full((2, 4, 6), 5, "int32")
    >>> logits = model({"token_ids": ids, "segment_ids": 0 * ids,
    ...                 "padding_mask": 1 + 0 * ids})
    >>> tuple(logits.shape)
    (2, 4)
    """

    HEAD_LAYER = "choice_score"  # the head's dense layer, for checkpoints

    def __init__(self, encoder, num_choices=None, dropout=0.1, **kwargs):
        check_encoder(encoder, type(self).__name__, pooled=True)
        if num_choices is not None and (
            isinstance(num_choices, bool)
            or not isinstance(num_choices, int)
            or num_choices < 2
        ):
            raise ValueError(
                "`num_choices` must be None (any number) or an integer >= 2. "
                f"Received: num_choices={num_choices!r}"
            )
        dropout = check_dropout(dropout)
        fold = FoldChoices(name="fold_choices")
        unfold = UnfoldChoices(name="unfold_choices")
        dropout_layer = Dropout(
            dropout, dtype=encoder.dtype_policy, name="choice_dropout"
        )
        dense = keras.layers.Dense(
            1,
            kernel_initializer=head_initializer(encoder),
            dtype=encoder.dtype_policy,
            name=self.HEAD_LAYER,
        )
        inputs = {
            name: keras.Input(
                shape=(num_choices, None), dtype="int32", name=name
            )
            for name in INPUT_NAMES
        }
        flat = {name: fold(inputs[name]) for name in INPUT_NAMES}
        pooled = encoder(flat)["pooled_output"]
        scores = dense(dropout_layer(pooled))
        outputs = unfold(scores, inputs["token_ids"])
        super().__init__(inputs=inputs, outputs=outputs, **kwargs)
        self.encoder = encoder
        self.num_choices = num_choices
        self.dropout = dropout

    def _task_config(self):
        return {"num_choices": self.num_choices}

    def _compile_defaults(self):
        return sparse_cross_entropy(), [sparse_accuracy()], None, None
