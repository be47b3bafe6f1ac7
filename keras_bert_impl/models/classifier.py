"""`BertClassifier`: one text or a text pair -> class logits (one class,
or any set of labels with `multi_label=True`)."""

import keras

from keras_bert_impl.layers.dropout import Dropout
from keras_bert_impl.metrics import MultiLabelScore
from keras_bert_impl.models.task import BertTask
from keras_bert_impl.models.task import check_dropout
from keras_bert_impl.models.task import check_encoder
from keras_bert_impl.models.task import check_labels
from keras_bert_impl.models.task import encoder_inputs
from keras_bert_impl.models.task import head_initializer
from keras_bert_impl.models.task import sparse_accuracy
from keras_bert_impl.models.task import sparse_cross_entropy


@keras.saving.register_keras_serializable(package="keras_bert_impl")
class BertClassifier(BertTask):
    """Sequence classification: one text or a text pair -> class logits.

    `[CLS] A [SEP]` or `[CLS] A [SEP] B [SEP]` (the segment ids mark B):
    the encoder's pooled output, dropout, then a dense layer to
    `num_classes` logits. `compile()` defaults: sparse categorical
    cross-entropy from logits and accuracy. Labels are int class indices
    `(batch_size,)` into `label_names`.

    With `multi_label=True` every label is a yes/no question of its own
    (tagging, toxicity; Hugging Face's `problem_type=
    "multi_label_classification"`): a label is predicted when the sigmoid
    of its logit exceeds `threshold`. `compile()` defaults: binary
    cross-entropy from logits, micro- and macro-averaged F1 and micro
    precision and recall at the threshold
    (`keras_bert_impl.metrics.MultiLabelScore`). Labels are multi-hot
    float `(batch_size, num_classes)`.

    Args:
        encoder: a `BertEncoder`.
        num_classes: int, at least 2. Defaults to `len(label_names)`.
        label_names: optional list of str, one per class (the label map,
            kept through `.keras` saving as the tuple `label_names`).
        dropout: float. Dropout on the pooled output. Defaults to `0.1`.
        text_pair: bool. Whether the model is fed text pairs (recorded for
            export and prediction; the graph is the same). Defaults to
            `False`.
        multi_label: bool. Independent labels (sigmoid) instead of one
            class (softmax). Defaults to `False`.
        threshold: float in (0, 1). Probability above which a label is
            predicted (`multi_label` only). Defaults to `0.5`.
        **kwargs: `name`, `trainable`.

    Call arguments:
        inputs: dict of int32 `token_ids`, `segment_ids`, `padding_mask`,
            each `(batch_size, seq_len)`.

    Returns:
        Logits `(batch_size, num_classes)`.

    Example:
    >>> encoder = build_encoder(BertConfig.preset("tiny", vocabulary_size=32,
    ...                                           num_layers=1))
    >>> model = BertClassifier(encoder, label_names=["neg", "pos"])
    >>> ids = np.array([[2, 7, 9, 3, 0]], "int32")
    >>> logits = model({"token_ids": ids, "segment_ids": 0 * ids,
    ...                 "padding_mask": (ids > 0).astype("int32")})
    >>> tuple(logits.shape), model.num_classes, model.label_names
    ((1, 2), 2, ('neg', 'pos'))
    """

    HEAD_LAYER = "logits"  # the head's dense layer, for checkpoints

    def __init__(
        self,
        encoder,
        num_classes=None,
        label_names=None,
        dropout=0.1,
        text_pair=False,
        multi_label=False,
        threshold=0.5,
        **kwargs,
    ):
        check_encoder(encoder, type(self).__name__, pooled=True)
        num_classes, label_names = check_labels(
            num_classes, label_names, min_classes=1 if multi_label else 2
        )
        dropout = check_dropout(dropout)
        if not 0 < threshold < 1:
            raise ValueError(
                "`threshold` must be in (0, 1). Received: "
                f"threshold={threshold!r}"
            )
        # === Layers ===
        dropout_layer = Dropout(
            dropout, dtype=encoder.dtype_policy, name="classifier_dropout"
        )
        dense = keras.layers.Dense(
            num_classes,
            kernel_initializer=head_initializer(encoder),
            dtype=encoder.dtype_policy,
            name=self.HEAD_LAYER,
        )
        # === Functional graph ===
        inputs = encoder_inputs()
        pooled = encoder(inputs)["pooled_output"]
        outputs = dense(dropout_layer(pooled))
        super().__init__(inputs=inputs, outputs=outputs, **kwargs)
        # === Config ===
        self.encoder = encoder
        self.num_classes = num_classes
        self._label_names = label_names
        self.dropout = dropout
        self.text_pair = bool(text_pair)
        self.multi_label = bool(multi_label)
        self.threshold = float(threshold)

    @property
    def label_names(self):
        """The class names (tuple of str), or `None`."""
        return self._label_names

    def _task_config(self):
        names = self._label_names
        return {
            "num_classes": self.num_classes,
            "label_names": None if names is None else list(names),
            "text_pair": self.text_pair,
            "multi_label": self.multi_label,
            "threshold": self.threshold,
        }

    def _compile_defaults(self):
        if not self.multi_label:
            return sparse_cross_entropy(), [sparse_accuracy()], None, None
        n, t = self.num_classes, self.threshold
        metrics = [
            MultiLabelScore(n, "f1", "micro", t),
            MultiLabelScore(n, "f1", "macro", t),
            MultiLabelScore(n, "precision", "micro", t, name="precision"),
            MultiLabelScore(n, "recall", "micro", t, name="recall"),
        ]
        loss = keras.losses.BinaryCrossentropy(from_logits=True, name="loss")
        return loss, metrics, None, None
