"""`load_task_model`: a fine-tuned checkpoint made elsewhere → a task model.

Reads a Hugging Face task folder (`config.json` `architectures`:
`BertForSequenceClassification` single-label, multi-label or regression by
`problem_type` / the head's size; `BertForTokenClassification`;
`BertForQuestionAnswering`; `BertForMultipleChoice`; `BertForPreTraining` /
`BertForMaskedLM` give the pretrainer; `BertModel` the encoder) or a TF1
checkpoint of Google's `run_classifier.py` (`output_weights`) or
`run_squad.py` (`cls/squad/output_weights`), into the matching model of
this package with its label names (`id2label`), ready for `predict`,
`fit`, `keras_bert_impl.export_savedmodel` and `save_checkpoint` back.
The table of heads is `keras_bert_impl.checkpoints.heads`.
"""

import logging
import os

from keras_bert_impl import models
from keras_bert_impl.checkpoints import heads
from keras_bert_impl.checkpoints import io
from keras_bert_impl.checkpoints.io import assign
from keras_bert_impl.checkpoints.io import load_checkpoint
from keras_bert_impl.checkpoints.io import open_checkpoint
from keras_bert_impl.checkpoints.io import read_validated
from keras_bert_impl.checkpoints.layout import expected_shapes
from keras_bert_impl.checkpoints.layout import model_variables
from keras_bert_impl.checkpoints.resolve import resolve_checkpoint
from keras_bert_impl.models.encoder import build_encoder

logger = logging.getLogger(__name__)


def _labels(metadata, size):
    """Label names from `id2label` (string or int keys), else LABEL_i."""
    id2label = metadata.get("id2label") or {}
    names = {int(k): str(v) for k, v in id2label.items()}
    if len(names) == size and sorted(names) == list(range(size)):
        return [names[i] for i in range(size)]
    return [f"LABEL_{i}" for i in range(size)]


def _head_rows(checkpoint):
    """`(Head, names table, num_outputs)` of the checkpoint, or `None` for a
    checkpoint without a task head."""
    shapes = checkpoint.shapes
    if checkpoint.format == "hf":
        metadata = checkpoint.metadata
        architecture = (metadata.get("architectures") or ["BertModel"])[0]
        if architecture in heads.PRETRAINING + heads.ENCODER:
            return architecture, None, None, None
        candidates = [h for h in heads.HEADS if h.architecture == architecture]
        prefix = candidates[0].hf if candidates else "classifier"
        kernel = shapes.get(f"{prefix}.weight")
        size = kernel[0] if kernel is not None else 0
        head = heads.head_for(architecture, metadata.get("problem_type"), size)
        return architecture, head, heads.hf_names(head), size
    for head in heads.HEADS:
        names = heads.tf1_names(head)
        kernel = next(iter(names), None)
        if kernel in shapes:
            return head.architecture, head, names, shapes[kernel][0]
    if any(name.startswith("cls/predictions/") for name in shapes):
        return "BertForPreTraining", None, None, None
    return "BertModel", None, None, None


def load_task_model(path, label_names=None, dtype=None):
    """Loads a fine-tuned checkpoint as this package's task model.

    Args:
        path: str. A Hugging Face task folder, a TF1 checkpoint (folder or
            prefix), or a `pretrain` run folder.
        label_names: optional list of str, one per output: overrides
            `id2label` (TF1 checkpoints have none: `LABEL_0`, ... unless
            given).
        dtype: optional dtype policy, e.g. `"mixed_bfloat16"`.

    Returns:
        The task model (`BertClassifier`, `BertRegressor`,
        `BertTokenClassifier`, `BertQuestionAnswering`,
        `BertMultipleChoice`; a `BertPretrainer` for pretraining and
        masked-LM checkpoints; the `BertEncoder` for a checkpoint without a
        head), not compiled. Its tokenizer:
        `keras_bert_impl.load_tokenizer(path)`.

    Raises:
        ValueError: an architecture or problem type without a model here,
            a head whose size disagrees with the labels or the encoder, or
            any tensor problem of `load_checkpoint`.
        FileNotFoundError: no checkpoint at `path`.

    Example:
    >>> import tempfile
    >>> encoder = kbi.build_encoder(kbi.BertConfig.preset(
    ...     "tiny", vocabulary_size=16, num_layers=1))
    >>> model = kbi.BertClassifier(encoder, label_names=["neg", "pos"])
    >>> folder = kbi.save_checkpoint(model, tempfile.mkdtemp() + "/clf")
    >>> loaded = load_task_model(folder)
    >>> type(loaded).__name__, loaded.label_names
    ('BertClassifier', ('neg', 'pos'))
    """
    path, _ = resolve_checkpoint(os.fspath(path))
    checkpoint = open_checkpoint(path)
    architecture, head, names, size = _head_rows(checkpoint)
    if head is None:
        if architecture in heads.PRETRAINING:
            return _load_pretrainer(checkpoint, path, dtype)
        model, _ = load_checkpoint(path, dtype=dtype)
        return model
    hidden = checkpoint.config.hidden_dim
    extra = {}
    for stored, (canonical, transpose) in names.items():
        shape = (size, hidden) if canonical.endswith("kernel") else (size,)
        extra[stored] = (canonical, transpose, shape)
    has_pooler = any(
        "pooler" in name or "bert/pooler" in name for name in checkpoint.shapes
    )
    pooler = head.pooler or has_pooler
    arrays, fresh = read_validated(checkpoint, pooler=pooler, extra=extra)
    labels = label_names
    if (head.labels or head.model == "BertRegressor") and labels is None:
        labels = _labels(checkpoint.metadata, size)
    if labels is not None and len(labels) != size:
        raise ValueError(
            f"The checkpoint's head has {size} outputs but {len(labels)} "
            f"label names were given. Received: label_names={labels!r}"
        )
    encoder = build_encoder(checkpoint.config, dtype=dtype, pooler=pooler)
    model = _build(head, encoder, labels, size, checkpoint.metadata)
    variables = model_variables(encoder)
    layer = model.get_layer(type(model).HEAD_LAYER)
    variables[heads.HEAD_NAMES[0]] = layer.kernel
    variables[heads.HEAD_NAMES[1]] = layer.bias
    assign(variables, arrays, fresh)
    return model


def _build(head, encoder, labels, size, metadata):
    cls = getattr(models, head.model)
    if head.model == "BertClassifier":
        multi = metadata.get("problem_type") == "multi_label_classification"
        return cls(encoder, label_names=labels, multi_label=multi)
    if head.model == "BertTokenClassifier":
        return cls(encoder, label_names=labels)
    if head.model == "BertQuestionAnswering" and size != 2:
        raise ValueError(
            f"A question-answering head has 2 outputs (start, end); this one "
            f"has {size}."
        )
    if head.model in ("BertRegressor", "BertMultipleChoice") and size != 1:
        raise ValueError(
            f"A {head.model} head has 1 output; this one has {size}."
        )
    if head.model == "BertRegressor":
        return cls(encoder, label_names=labels)
    return cls(encoder)


def _load_pretrainer(checkpoint, path, dtype):
    """A pretraining checkpoint, or a masked-LM one (no pooler and no
    next-sentence head: both freshly initialized, with a warning)."""
    if any("seq_relationship" in name for name in checkpoint.shapes):
        model, _ = load_checkpoint(path, with_heads=True, dtype=dtype)
        return model
    config = checkpoint.config
    module = io.FORMATS[checkpoint.format]
    shapes = expected_shapes(config, with_heads=True)
    extra = {}
    for stored, (canonical, transpose) in module.name_table(
        config.num_layers, with_heads=True
    ).items():
        if canonical.startswith("masked_lm_head/"):
            shape = shapes[canonical]
            extra[stored] = (canonical, transpose, shape[::-1] if transpose
                             else shape)  # fmt: skip
    arrays, fresh = read_validated(checkpoint, pooler=True, extra=extra)
    encoder = build_encoder(config, dtype=dtype)
    model = models.BertPretrainer(encoder)
    variables = {
        n: v
        for n, v in model_variables(encoder, model).items()
        if not n.startswith("next_sentence_head/")
    }
    assign(variables, arrays, fresh)
    logger.warning(
        "%s is a masked-LM checkpoint: the next-sentence head is freshly "
        "initialized.",
        checkpoint.source,
    )
    return model
