"""`BertTask`: what every fine-tuning task model shares.

Every task model is a functional `keras.Model` whose inputs are the
encoder's (`token_ids`, `segment_ids`, `padding_mask`, int32) and whose
constructor takes the encoder instance (keras-hub's task/backbone split).
Heads get dropout (0.1 by default) and a truncated-normal kernel with the
encoder's `initializer_range`, as in the paper's code. `compile()` without
arguments uses each task's loss and metrics and a fine-tuning AdamW
(constant `3e-5`; `keras_bert_impl.finetune` adds the paper's warmup +
linear decay schedule), XLA-compiled by this package's `"auto"` rule.
`label_names` (the label map) are part of the config, so they survive
`.keras` save and reload.

The task models: `BertClassifier`, `BertRegressor`, `BertTokenClassifier`,
`BertQuestionAnswering`, `BertMultipleChoice` (one module each). To start
one from a checkpoint, load the encoder with
`keras_bert_impl.load_checkpoint` (or use `keras_bert_impl.build_task_model`)
and pass it in.

References:
    Devlin et al., "BERT: Pre-training of Deep Bidirectional Transformers for
    Language Understanding", arXiv 1810.04805, section 4.
"""

import keras

from keras_bert_impl.health import HealthMixin
from keras_bert_impl.models.encoder import INPUT_NAMES
from keras_bert_impl.models.encoder import BertEncoder
from keras_bert_impl.optimizers.recipe import default_finetuning_optimizer
from keras_bert_impl.runtime import XLADefaultMixin

# -- checks and building blocks of the heads ---------------------------------


def check_encoder(encoder, cls_name, pooled=False):
    """A `BertEncoder`, with a pooler if the head reads `pooled_output`."""
    if not isinstance(encoder, BertEncoder):
        raise ValueError(
            f"`encoder` of {cls_name} must be a keras_bert_impl BertEncoder "
            "(from build_encoder or load_checkpoint). Received: "
            f"encoder of type {type(encoder).__name__}"
        )
    if pooled and not encoder.pooler:
        raise ValueError(
            f"{cls_name} reads the pooled output, but the encoder has no "
            "pooler (built with pooler=False). Load the checkpoint with "
            "pooler=True (a missing pooler is then freshly initialized)."
        )


def check_dropout(dropout):
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


def check_labels(num_classes, label_names, min_classes=2):
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
        or num_classes < min_classes
    ):
        raise ValueError(
            f"`num_classes` must be an integer >= {min_classes} (a single "
            "score is "
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


def head_initializer(encoder):
    return keras.initializers.TruncatedNormal(stddev=encoder.initializer_range)


def freeze_unused_pooler(encoder):
    """Marks the pooler non-trainable for heads on the sequence output.

    Its variables get no gradient there (Keras warns about each step);
    this changes the `encoder` object passed in.
    """
    if encoder.pooler:
        encoder.get_layer("pooler").trainable = False


def encoder_inputs(rank=2):
    shape = (None,) * (rank - 1)
    return {
        name: keras.Input(shape=shape, dtype="int32", name=name)
        for name in INPUT_NAMES
    }


# -- checkpoints -------------------------------------------------------------


# -- the base class ----------------------------------------------------------


class BertTask(HealthMixin, XLADefaultMixin, keras.Model):
    """Base of the task models: encoder serialization, checkpoint start.

    Not used directly: see `BertClassifier`, `BertRegressor`,
    `BertTokenClassifier`, `BertQuestionAnswering`, `BertMultipleChoice`.
    `compile()`'s default `jit_compile="auto"` resolves for a fine-tuning
    step (`keras_bert_impl.runtime.resolve_jit_compile`: on a CPU-only
    host, TensorFlow's kernels; on a GPU/TPU, XLA).
    """

    JIT_STEP = "fine-tuning"

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

    def compile_from_config(self, config):
        # Keras skips (with a warning) recompiling a reloaded model whose
        # class overrides `compile`; ours only fills defaults, so the saved
        # compile arguments can be replayed as they are.
        config = keras.saving.deserialize_keras_object(config)
        self.compile(**config)
        if hasattr(self, "optimizer") and self.built:
            self.optimizer.build(self.trainable_variables)

    def _compile_defaults(self):
        """`(loss, metrics, weighted_metrics, loss_weights)` of the task.

        Every task model defines it; this base class is never used alone.
        """
        raise TypeError(
            f"{type(self).__name__} defines no task loss: subclass one of "
            "the task models instead of BertTask."
        )

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
        constant 3e-5); `jit_compile` to this package's `"auto"` (XLA,
        except mixed precision on CPU; see `keras_bert_impl.runtime`).
        Each argument left `None` takes the task's default (see the class
        docstring); metrics take the default only when neither `metrics`
        nor `weighted_metrics` is given.
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


def sparse_cross_entropy(name="loss", **kwargs):
    return keras.losses.SparseCategoricalCrossentropy(
        from_logits=True, name=name, **kwargs
    )


def sparse_accuracy():
    return keras.metrics.SparseCategoricalAccuracy(name="accuracy")
