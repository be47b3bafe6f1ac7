"""Fine-tuning task models: heads on a `BertEncoder`, trained with `fit`.

Every task model is a functional `keras.Model` whose inputs are the
encoder's (`token_ids`, `segment_ids`, `padding_mask`, int32) and whose
constructor takes the encoder instance (keras-hub's task/backbone split):

* `BertClassifier`: single text or text pair, pooled output -> logits
  `(batch_size, num_classes)`.
* `BertRegressor`: pooled output -> one score `(batch_size, 1)` (STS-B).
* `BertTokenClassifier`: every position -> logits
  `(batch_size, seq_len, num_classes)` (NER).
* `BertQuestionAnswering`: every position -> `{"start_logits",
  "end_logits"}`, each `(batch_size, seq_len)` (SQuAD).
* `BertMultipleChoice`: `(batch_size, num_choices, seq_len)` inputs ->
  logits `(batch_size, num_choices)` (SWAG).

Heads get dropout (0.1 by default) and a truncated-normal kernel with the
encoder's `initializer_range`, as in the paper's code. `compile()` without
arguments uses each task's loss and metrics and a fine-tuning AdamW
(constant `3e-5`; use `keras_bert_impl.training.finetune` for the paper's
warmup + linear decay schedule), XLA-compiled. `label_names` (the label
map) are part of the config, so they survive `.keras` save and reload.
`from_checkpoint(path, ...)` starts any task from a Hugging Face folder, a
TF1 checkpoint or a pretraining run of this package.

References:
    Devlin et al., "BERT: Pre-training of Deep Bidirectional Transformers for
    Language Understanding", arXiv 1810.04805, section 4.
"""

import os

import keras
from keras import ops

from keras_bert_impl.layers.dropout import Dropout
from keras_bert_impl.models.encoder import INPUT_NAMES
from keras_bert_impl.models.encoder import BertEncoder
from keras_bert_impl.models.encoder import XLADefaultMixin
from keras_bert_impl.optimizers.adamw import AdamW

# Kept out of weight decay by the default fine-tuning optimizer: LayerNorm
# and bias variables. Same list as
# `keras_bert_impl.training.optimization.DECAY_EXCLUDED_NAMES` (models/ does
# not import training/; a test keeps the two equal).
DECAY_EXCLUDED_NAMES = ("layer_norm", "LayerNorm", "gamma", "beta", "bias")
DEFAULT_LEARNING_RATE = 3e-5
# Files a pretraining run folder (`keras-bert-impl pretrain --logdir`) holds:
# the encoder is exported to `<logdir>/encoder` as a Hugging Face folder.
_PRETRAINING_CONFIG = "pretraining_config.json"
_PRETRAINING_ENCODER = "encoder"
_VOCAB_FILE = "vocab.txt"


def default_finetuning_optimizer(learning_rate=DEFAULT_LEARNING_RATE):
    """AdamW for fine-tuning at a constant rate (no schedule).

    Weight decay 0.01 (LayerNorm and bias variables excluded), betas 0.9 /
    0.999, epsilon 1e-6 and global gradient clipping at 1.0: the paper's
    optimizer without its warmup + linear decay, which needs the run's
    length (`keras_bert_impl.training.finetune.create_finetune_optimizer`
    adds it).

    Example:
    >>> opt = default_finetuning_optimizer()
    >>> type(opt).__name__, round(float(opt.learning_rate), 8)
    ('AdamW', 3e-05)
    >>> opt.weight_decay, opt.global_clipnorm
    (0.01, 1.0)
    """
    optimizer = AdamW(
        learning_rate=learning_rate,
        weight_decay=0.01,
        beta_1=0.9,
        beta_2=0.999,
        epsilon=1e-6,
        global_clipnorm=1.0,
    )
    optimizer.exclude_from_weight_decay(var_names=list(DECAY_EXCLUDED_NAMES))
    return optimizer


# -- checks ------------------------------------------------------------------


def _check_encoder(encoder, cls_name):
    if not isinstance(encoder, BertEncoder):
        raise ValueError(
            f"`encoder` of {cls_name} must be a keras_bert_impl BertEncoder "
            "(from build_encoder or load_checkpoint). Received: "
            f"encoder of type {type(encoder).__name__}"
        )


def _check_dropout(dropout):
    if (
        isinstance(dropout, bool)
        or not isinstance(dropout, int | float)
        or not 0 <= dropout < 1
    ):
        raise ValueError(
            "`dropout` must be a float in [0, 1). Received: "
            f"dropout={dropout!r}"
        )
    return float(dropout)


def _check_labels(num_classes, label_names):
    """Returns `(num_classes, label_names as a tuple or None)`."""
    if label_names is not None:
        if isinstance(label_names, str | bytes) or not hasattr(
            label_names, "__iter__"
        ):
            raise ValueError(
                "`label_names` must be a list of str, one per class. "
                f"Received: label_names={label_names!r}"
            )
        label_names = tuple(label_names)
        bad = [n for n in label_names if not isinstance(n, str) or not n]
        if bad:
            raise ValueError(
                "`label_names` must hold non-empty strings. Received: "
                f"label_names={list(label_names)!r}"
            )
        dupes = sorted({n for n in label_names if label_names.count(n) > 1})
        if dupes:
            raise ValueError(
                f"`label_names` must be unique; {dupes} appear more than "
                f"once. Received: label_names={list(label_names)!r}"
            )
        if num_classes is None:
            num_classes = len(label_names)
    if (
        isinstance(num_classes, bool)
        or not isinstance(num_classes, int)
        or num_classes < 2
    ):
        raise ValueError(
            "`num_classes` must be an integer >= 2 (a single score is "
            "BertRegressor's job). Received: "
            f"num_classes={num_classes!r}"
        )
    if label_names is not None and len(label_names) != num_classes:
        raise ValueError(
            f"`label_names` must name each of the {num_classes} classes. "
            f"Received: {len(label_names)} names, "
            f"label_names={list(label_names)!r}, num_classes={num_classes}"
        )
    return num_classes, label_names


def _head_initializer(encoder):
    return keras.initializers.TruncatedNormal(stddev=encoder.initializer_range)


def _freeze_unused_pooler(encoder):
    """Marks the pooler non-trainable for heads on the sequence output.

    Its variables get no gradient there (Keras warns about each step);
    this changes the `encoder` object passed in.
    """
    encoder.get_layer("pooler").trainable = False


def _encoder_inputs(rank=2):
    shape = (None,) * (rank - 1)
    return {
        name: keras.Input(shape=shape, dtype="int32", name=name)
        for name in INPUT_NAMES
    }


# -- checkpoints -------------------------------------------------------------


def resolve_checkpoint(path):
    """The checkpoint inside `path`, and the `vocab.txt` that goes with it.

    A pretraining run folder of this package (it holds
    `pretraining_config.json`) resolves to its `encoder/` export; any other
    path (a Hugging Face folder or a TF1 checkpoint folder or prefix) is
    returned as is.

    Returns:
        `(checkpoint_path, vocab_path or None)`: the vocabulary found beside
        the weights (or in the run folder), if any.
    """
    path = os.fspath(path)
    if os.path.isfile(os.path.join(path, _PRETRAINING_CONFIG)):
        encoder_dir = os.path.join(path, _PRETRAINING_ENCODER)
        if not os.path.isdir(encoder_dir):
            raise ValueError(
                f"{path} is a pretraining run folder without an exported "
                f"encoder ({encoder_dir} is missing: no epoch has ended "
                "yet). Pass a run that has saved at least one epoch."
            )
        for folder in (encoder_dir, path):
            vocab = os.path.join(folder, _VOCAB_FILE)
            if os.path.isfile(vocab):
                return encoder_dir, vocab
        return encoder_dir, None
    folder = path if os.path.isdir(path) else os.path.dirname(path)
    vocab = os.path.join(folder, _VOCAB_FILE)
    return path, vocab if os.path.isfile(vocab) else None


def vocabulary_size_of(vocab):
    """Number of tokens of a tokenizer, a token list or a `vocab.txt` path."""
    size = getattr(vocab, "vocabulary_size", None)
    if size is not None:
        return int(size() if callable(size) else size)
    if isinstance(vocab, str | os.PathLike):
        from keras_bert_impl.tokenization.vocab import read_vocab

        return len(read_vocab(vocab))
    return len(vocab)


def check_vocabulary_size(model_vocabulary_size, vocab, source="the model"):
    """Raises `ValueError` if `vocab`'s size differs from the model's.

    A tokenizer larger than the embedding table would emit ids the model
    has no row for; a smaller one means the vocabulary is not the one the
    weights were trained with. Either way the pair is wrong.

    Args:
        model_vocabulary_size: int. The encoder's `vocabulary_size`.
        vocab: a `BertTokenizer`, a list of tokens or a `vocab.txt` path.
        source: str. What the model came from, for the message.

    Example:
    >>> check_vocabulary_size(5, ["[PAD]", "[UNK]", "[CLS]", "[SEP]"], "x")
    Traceback (most recent call last):
    ...
    ValueError: The tokenizer's vocabulary has 4 tokens but x has vocabulary_size=5 (its token-embedding rows). Use the vocab.txt the checkpoint was trained with (usually the one beside its weights).
    """  # noqa: E501
    size = vocabulary_size_of(vocab)
    if size != int(model_vocabulary_size):
        raise ValueError(
            f"The tokenizer's vocabulary has {size} tokens but {source} has "
            f"vocabulary_size={model_vocabulary_size} (its token-embedding "
            "rows). Use the vocab.txt the checkpoint was trained with "
            "(usually the one beside its weights)."
        )


def load_encoder(path, vocab=None, dtype=None):
    """Loads the encoder of any checkpoint, checking its vocabulary.

    Args:
        path: str. A Hugging Face folder (`config.json` +
            `model.safetensors`), a TF1 checkpoint (`bert_config.json` +
            `bert_model.ckpt.*`, folder or prefix), or a pretraining run
            folder of this package (its `encoder/` export is used).
        vocab: optional `BertTokenizer`, token list or `vocab.txt` path the
            task will be fed with; defaults to the `vocab.txt` beside the
            checkpoint, if any. Its size must equal the checkpoint's
            `vocabulary_size`.
        dtype: optional dtype policy, e.g. `"mixed_bfloat16"`.

    Returns:
        The `BertEncoder` with the checkpoint's weights.

    Raises:
        ValueError: the vocabulary size differs from the checkpoint's, or
            the checkpoint is invalid (see `load_checkpoint`).
        FileNotFoundError: no checkpoint at `path`.
    """
    from keras_bert_impl.checkpoints.io import load_checkpoint
    from keras_bert_impl.checkpoints.io import open_checkpoint

    checkpoint_path, found_vocab = resolve_checkpoint(path)
    if vocab is None:
        vocab = found_vocab
    if vocab is not None:
        config = open_checkpoint(checkpoint_path).config
        check_vocabulary_size(
            config.vocabulary_size, vocab, f"the checkpoint {path}"
        )
    encoder, _ = load_checkpoint(checkpoint_path, dtype=dtype)
    return encoder


# -- the task models ---------------------------------------------------------


class BertTask(XLADefaultMixin, keras.Model):
    """Base of the task models: encoder serialization, checkpoint start.

    Not used directly: see `BertClassifier`, `BertRegressor`,
    `BertTokenClassifier`, `BertQuestionAnswering`, `BertMultipleChoice`.
    """

    def _task_config(self):
        return {}

    def get_config(self):
        return {
            "name": self.name,
            "trainable": self.trainable,
            "encoder": keras.saving.serialize_keras_object(self.encoder),
            "dropout": self.dropout,
            **self._task_config(),
        }

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        config["encoder"] = keras.saving.deserialize_keras_object(
            config["encoder"]
        )
        return cls(**config)

    @classmethod
    def from_checkpoint(cls, path, vocab=None, dtype=None, **kwargs):
        """Builds the task on the encoder of a checkpoint.

        Args:
            path: str. A Hugging Face folder, a TF1 checkpoint, or a
                pretraining run folder of this package (see
                `load_encoder`).
            vocab: optional `BertTokenizer`, token list or `vocab.txt`
                path; its size must match the checkpoint's (defaults to the
                `vocab.txt` beside the checkpoint).
            dtype: optional dtype policy of the encoder.
            **kwargs: the task's other arguments (`num_classes`,
                `label_names`, `dropout`, ...).

        Returns:
            The task model; its head is freshly initialized.

        Raises:
            ValueError: vocabulary size mismatch, bad checkpoint, or a bad
                task argument.
        """
        return cls(load_encoder(path, vocab=vocab, dtype=dtype), **kwargs)

    def compile_from_config(self, config):
        # Keras skips (with a warning) recompiling a reloaded model whose
        # class overrides `compile`; ours only fills defaults, so the saved
        # compile arguments can be replayed as they are.
        config = keras.saving.deserialize_keras_object(config)
        self.compile(**config)
        if hasattr(self, "optimizer") and self.built:
            self.optimizer.build(self.trainable_variables)

    def _compile_defaults(self):
        """`(loss, metrics, weighted_metrics, loss_weights)` of the task."""
        raise NotImplementedError

    def compile(
        self,
        optimizer=None,
        loss=None,
        metrics=None,
        weighted_metrics=None,
        loss_weights=None,
        **kwargs,
    ):
        """Keras `compile` with the task's loss and metrics as defaults.

        `optimizer` defaults to `default_finetuning_optimizer()` (AdamW at a
        constant 3e-5); `jit_compile` to `True`. Each argument left `None`
        takes the task's default (see the class docstring); metrics take
        the default only when neither `metrics` nor `weighted_metrics` is
        given.
        """
        default_loss, default_metrics, default_weighted, default_weights = (
            self._compile_defaults()
        )
        if optimizer is None:
            optimizer = default_finetuning_optimizer()
        if loss is None:
            loss = default_loss
            if loss_weights is None:
                loss_weights = default_weights
        if metrics is None and weighted_metrics is None:
            metrics, weighted_metrics = default_metrics, default_weighted
        super().compile(
            optimizer=optimizer,
            loss=loss,
            metrics=metrics,
            weighted_metrics=weighted_metrics,
            loss_weights=loss_weights,
            **kwargs,
        )


def _sparse_ce(name="loss", **kwargs):
    return keras.losses.SparseCategoricalCrossentropy(
        from_logits=True, name=name, **kwargs
    )


def _accuracy():
    return keras.metrics.SparseCategoricalAccuracy(name="accuracy")


@keras.saving.register_keras_serializable(package="keras_bert_impl")
class BertClassifier(BertTask):
    """Sequence classification: one text or a text pair -> class logits.

    `[CLS] A [SEP]` or `[CLS] A [SEP] B [SEP]` (the segment ids mark B):
    the encoder's pooled output, dropout, then a dense layer to
    `num_classes` logits. `compile()` defaults: sparse categorical
    cross-entropy from logits and accuracy. Labels are int class indices
    `(batch_size,)` into `label_names`.

    Args:
        encoder: a `BertEncoder`.
        num_classes: int, at least 2. Defaults to `len(label_names)`.
        label_names: optional list of str, one per class (the label map,
            kept through `.keras` saving as the tuple `label_names`).
        dropout: float. Dropout on the pooled output. Defaults to `0.1`.
        text_pair: bool. Whether the model is fed text pairs (recorded for
            export and prediction; the graph is the same). Defaults to
            `False`.
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

    def __init__(
        self,
        encoder,
        num_classes=None,
        label_names=None,
        dropout=0.1,
        text_pair=False,
        **kwargs,
    ):
        _check_encoder(encoder, type(self).__name__)
        num_classes, label_names = _check_labels(num_classes, label_names)
        dropout = _check_dropout(dropout)
        # === Layers ===
        dropout_layer = Dropout(
            dropout, dtype=encoder.dtype_policy, name="classifier_dropout"
        )
        dense = keras.layers.Dense(
            num_classes,
            kernel_initializer=_head_initializer(encoder),
            dtype=encoder.dtype_policy,
            name="logits",
        )
        # === Functional graph ===
        inputs = _encoder_inputs()
        pooled = encoder(inputs)["pooled_output"]
        outputs = dense(dropout_layer(pooled))
        super().__init__(inputs=inputs, outputs=outputs, **kwargs)
        # === Config ===
        self.encoder = encoder
        self.num_classes = num_classes
        self._label_names = label_names
        self.dropout = dropout
        self.text_pair = bool(text_pair)

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
        }

    def _compile_defaults(self):
        return _sparse_ce(), [_accuracy()], None, None


@keras.saving.register_keras_serializable(package="keras_bert_impl")
class StreamingPearsonCorrelation(keras.metrics.Metric):
    """Pearson's r over every example seen (not a mean of batch values).

    Accumulates the count and the sums of `x`, `y`, `x²`, `y²` and `xy`,
    so the result over an epoch equals Pearson's r of all its predictions
    (STS-B's metric), whatever the batching.

    Example:
    >>> m = StreamingPearsonCorrelation()
    >>> m.update_state([1.0, 2.0], [[1.5], [2.0]])
    >>> m.update_state([3.0], [[3.5]])
    >>> round(float(m.result()), 4)  # numpy.corrcoef gives 0.9608
    0.9608
    """

    def __init__(self, name="pearson", dtype=None):
        super().__init__(name=name, dtype=dtype)
        self._sums = [
            self.add_variable(shape=(), initializer="zeros", name=n)
            for n in ("n", "x", "y", "xx", "yy", "xy")
        ]

    def update_state(self, y_true, y_pred, sample_weight=None):
        x = ops.reshape(ops.cast(y_true, "float32"), (-1,))
        y = ops.reshape(ops.cast(y_pred, "float32"), (-1,))
        w = ops.ones_like(x)
        if sample_weight is not None:
            w = ops.reshape(ops.cast(sample_weight, "float32"), (-1,))
        values = (w, w * x, w * y, w * x * x, w * y * y, w * x * y)
        for variable, value in zip(self._sums, values, strict=True):
            variable.assign_add(ops.sum(value))

    def result(self):
        n, sx, sy, sxx, syy, sxy = self._sums
        n = ops.maximum(n, 1.0)
        cov = sxy / n - (sx / n) * (sy / n)
        var_x = ops.maximum(sxx / n - ops.square(sx / n), 0.0)
        var_y = ops.maximum(syy / n - ops.square(sy / n), 0.0)
        return cov / ops.maximum(ops.sqrt(var_x * var_y), 1e-12)

    def reset_state(self):
        for variable in self._sums:
            variable.assign(0.0)


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
        _check_encoder(encoder, type(self).__name__)
        dropout = _check_dropout(dropout)
        dropout_layer = Dropout(
            dropout, dtype=encoder.dtype_policy, name="regressor_dropout"
        )
        dense = keras.layers.Dense(
            1,
            kernel_initializer=_head_initializer(encoder),
            dtype=encoder.dtype_policy,
            name="score",
        )
        inputs = _encoder_inputs()
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

    def __init__(
        self, encoder, num_classes=None, label_names=None, dropout=0.1, **kwargs
    ):
        _check_encoder(encoder, type(self).__name__)
        num_classes, label_names = _check_labels(num_classes, label_names)
        dropout = _check_dropout(dropout)
        dropout_layer = Dropout(
            dropout, dtype=encoder.dtype_policy, name="token_dropout"
        )
        dense = keras.layers.Dense(
            num_classes,
            kernel_initializer=_head_initializer(encoder),
            dtype=encoder.dtype_policy,
            name="logits",
        )
        _freeze_unused_pooler(encoder)
        inputs = _encoder_inputs()
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
        loss = _sparse_ce(reduction="mean_with_sample_weight")
        return loss, None, [_accuracy()], None


class _SplitSpanLogits(keras.layers.Layer):
    """`(batch, seq, 2)` -> start and end logits, each `(batch, seq)`."""

    def call(self, logits):
        return logits[..., 0], logits[..., 1]

    def compute_output_shape(self, shape):
        return tuple(shape[:-1]), tuple(shape[:-1])


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

    def __init__(self, encoder, dropout=0.1, **kwargs):
        _check_encoder(encoder, type(self).__name__)
        dropout = _check_dropout(dropout)
        dropout_layer = Dropout(
            dropout, dtype=encoder.dtype_policy, name="span_dropout"
        )
        dense = keras.layers.Dense(
            2,
            kernel_initializer=_head_initializer(encoder),
            dtype=encoder.dtype_policy,
            name="span_logits",
        )
        split = _SplitSpanLogits(dtype=encoder.dtype_policy, name="split")
        _freeze_unused_pooler(encoder)
        inputs = _encoder_inputs()
        sequence = encoder(inputs)["sequence_output"]
        start, end = split(dense(dropout_layer(sequence)))
        outputs = {"start_logits": start, "end_logits": end}
        super().__init__(inputs=inputs, outputs=outputs, **kwargs)
        self.encoder = encoder
        self.dropout = dropout

    def _compile_defaults(self):
        loss = {
            "start_logits": _sparse_ce("start_loss"),
            "end_logits": _sparse_ce("end_loss"),
        }
        metrics = {
            "start_logits": [_accuracy()],
            "end_logits": [_accuracy()],
        }
        weights = {"start_logits": 0.5, "end_logits": 0.5}
        return loss, metrics, None, weights


class _FoldChoices(keras.layers.Layer):
    """`(batch, choices, seq)` -> `(batch × choices, seq)`."""

    def call(self, x):
        return ops.reshape(x, (-1, ops.shape(x)[-1]))

    def compute_output_shape(self, shape):
        rows = None if None in shape[:2] else shape[0] * shape[1]
        return (rows, shape[-1])


class _UnfoldChoices(keras.layers.Layer):
    """Scores `(batch × choices, 1)` -> `(batch, choices)`."""

    def call(self, scores, token_ids):
        shape = ops.shape(token_ids)
        return ops.reshape(scores, (shape[0], shape[1]))

    def compute_output_shape(self, scores_shape, token_ids_shape):
        return tuple(token_ids_shape[:2])


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

    def __init__(self, encoder, num_choices=None, dropout=0.1, **kwargs):
        _check_encoder(encoder, type(self).__name__)
        if num_choices is not None and (
            isinstance(num_choices, bool)
            or not isinstance(num_choices, int)
            or num_choices < 2
        ):
            raise ValueError(
                "`num_choices` must be None (any number) or an integer >= 2. "
                f"Received: num_choices={num_choices!r}"
            )
        dropout = _check_dropout(dropout)
        fold = _FoldChoices(name="fold_choices")
        unfold = _UnfoldChoices(name="unfold_choices")
        dropout_layer = Dropout(
            dropout, dtype=encoder.dtype_policy, name="choice_dropout"
        )
        dense = keras.layers.Dense(
            1,
            kernel_initializer=_head_initializer(encoder),
            dtype=encoder.dtype_policy,
            name="choice_score",
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
        return _sparse_ce(), [_accuracy()], None, None


TASK_MODELS = {
    "BertClassifier": BertClassifier,
    "BertRegressor": BertRegressor,
    "BertTokenClassifier": BertTokenClassifier,
    "BertQuestionAnswering": BertQuestionAnswering,
    "BertMultipleChoice": BertMultipleChoice,
}
