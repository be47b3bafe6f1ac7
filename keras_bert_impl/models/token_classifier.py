"""`BertTokenClassifier`: logits for every WordPiece position (NER)."""

import keras

from keras_bert_impl.layers.dropout import Dropout
from keras_bert_impl.models.task import BertTask
from keras_bert_impl.models.task import check_dropout
from keras_bert_impl.models.task import check_encoder
from keras_bert_impl.models.task import check_labels
from keras_bert_impl.models.task import encoder_inputs
from keras_bert_impl.models.task import freeze_unused_pooler
from keras_bert_impl.models.task import head_initializer
from keras_bert_impl.models.task import sparse_accuracy
from keras_bert_impl.models.task import sparse_cross_entropy


@keras.saving.register_keras_serializable(package="keras_bert_impl")
class BertTokenClassifier(BertTask):
    """Token classification (NER): logits for every WordPiece position.

    The sequence output, dropout, a dense layer to `num_classes` logits
    per position. `compile()` defaults: cross-entropy and accuracy
    averaged over the positions whose sample weight is non-zero
    (`reduction="mean_with_sample_weight"`): feed `(features, labels,
    sample_weight)` with weight 1 on the first piece of each word and 0 on
    other pieces, specials and padding. Without sample weights every
    position (padding included) counts. The encoder's pooler, unused here,
    is made non-trainable.

    Args:
        encoder: a `BertEncoder`.
        num_classes: int, at least 2. Defaults to `len(label_names)`.
        label_names: optional list of str (e.g. BIO tags), one per class.
        dropout: float. Defaults to `0.1`.
        **kwargs: `name`, `trainable`.

    Returns:
        Logits `(batch_size, seq_len, num_classes)`.

    Example:
    >>> encoder = build_encoder(BertConfig.preset("tiny", vocabulary_size=32,
    ...                                           num_layers=1))
    >>> model = BertTokenClassifier(encoder, label_names=["O", "B-PER",
    ...                                                   "I-PER"])
    >>> ids = np.array([[2, 7, 9, 3, 0]], "int32")
    >>> logits = model({"token_ids": ids, "segment_ids": 0 * ids,
    ...                 "padding_mask": (ids > 0).astype("int32")})
    >>> tuple(logits.shape)
    (1, 5, 3)
    """

    HEAD_LAYER = "logits"  # the head's dense layer, for checkpoints

    def __init__(
        self, encoder, num_classes=None, label_names=None, dropout=0.1, **kwargs
    ):
        check_encoder(encoder, type(self).__name__)
        num_classes, label_names = check_labels(num_classes, label_names)
        dropout = check_dropout(dropout)
        dropout_layer = Dropout(
            dropout, dtype=encoder.dtype_policy, name="token_dropout"
        )
        dense = keras.layers.Dense(
            num_classes,
            kernel_initializer=head_initializer(encoder),
            dtype=encoder.dtype_policy,
            name=self.HEAD_LAYER,
        )
        freeze_unused_pooler(encoder)
        inputs = encoder_inputs()
        sequence = encoder(inputs)["sequence_output"]
        outputs = dense(dropout_layer(sequence))
        super().__init__(inputs=inputs, outputs=outputs, **kwargs)
        self.encoder = encoder
        self.num_classes = num_classes
        self._label_names = label_names
        self.dropout = dropout

    @property
    def label_names(self):
        """The tag names (tuple of str), or `None`."""
        return self._label_names

    def _task_config(self):
        names = self._label_names
        return {
            "num_classes": self.num_classes,
            "label_names": None if names is None else list(names),
        }

    def _compile_defaults(self):
        loss = sparse_cross_entropy(reduction="mean_with_sample_weight")
        return loss, None, [sparse_accuracy()], None
