"""`load_checkpoint` and `save_checkpoint`: Hugging Face and TF1 interop.

Two on-disk formats are supported, detected on load:

* `"hf"`, Hugging Face: `config.json` + `model.safetensors` (see `hf.py`).
* `"tf1"`, original Google BERT: `bert_config.json` + `bert_model.ckpt.*`
  (see `tf1.py`).

Loading validates the whole checkpoint first (every expected tensor
present, no unknown one, every shape right) and only then builds the model
and assigns the weights, so a bad checkpoint never yields a half-loaded
model. Weights stored as float16, bfloat16 or float64 are cast to float32
(the variable dtype of every policy this package uses, including
`"mixed_bfloat16"`); integer tensors are rejected.

Saving writes into a staging folder beside the target and swaps it in
whole, so an interrupted save leaves no partial checkpoint. Arrays are
written as float32, so a save/load round trip in either format (or across
formats) gives bit-identical weights.
"""

import dataclasses
import logging
import os
import re
import shutil
from pathlib import Path

import numpy as np

from keras_bert_impl import run_files
from keras_bert_impl.checkpoints import heads
from keras_bert_impl.checkpoints import hf
from keras_bert_impl.checkpoints import tf1
from keras_bert_impl.checkpoints.layout import POOLER
from keras_bert_impl.checkpoints.layout import POSITION_EMBEDDING
from keras_bert_impl.checkpoints.layout import SEGMENT_EMBEDDING
from keras_bert_impl.checkpoints.layout import TOKEN_EMBEDDING
from keras_bert_impl.checkpoints.layout import expected_shapes
from keras_bert_impl.checkpoints.layout import model_variables
from keras_bert_impl.models.encoder import BertEncoder
from keras_bert_impl.models.encoder import build_encoder
from keras_bert_impl.models.pretrainer import BertPretrainer
from keras_bert_impl.models.task import BertTask
from keras_bert_impl.paths import StagedFolder

logger = logging.getLogger(__name__)
FORMATS = {"hf": hf, "tf1": tf1}
# Embedding tables whose size comes from a config field: a mismatch means
# the config and the weights disagree (e.g. a vocab.txt of another size).
_CONFIG_SIZES = {
    TOKEN_EMBEDDING: ("vocabulary_size", "vocab_size"),
    SEGMENT_EMBEDDING: ("num_segments", "type_vocab_size"),
    POSITION_EMBEDDING: ("max_sequence_length", "max_position_embeddings"),
}
_MAX_LISTED = 10


def open_checkpoint(path):
    """Detects the format of `path` and opens it lazily (no data read).

    Args:
        path: str or path. A Hugging Face folder (or its `.safetensors`
            file), or a TF1 checkpoint folder (or its prefix, e.g.
            `.../bert_model.ckpt`, or its `.index` file).

    Returns:
        A `keras_bert_impl.checkpoints.reader.Checkpoint`.

    Raises:
        FileNotFoundError: nothing at `path`, or no config beside it.
        ValueError: no supported checkpoint at `path`.
    """
    path = Path(path)
    if path.is_file() and path.name in (hf.CONFIG_NAME, tf1.CONFIG_NAME):
        path = path.parent
    if path.is_file() and path.name.endswith(
        (".safetensors", ".safetensors.index.json")
    ):
        return hf.read(path)
    if not path.exists() and not Path(f"{path}.index").is_file():
        raise FileNotFoundError(
            f"No checkpoint at {path}: it does not exist. Pass a Hugging "
            "Face folder (config.json + model.safetensors) or a TF1 "
            "checkpoint (folder or prefix of model.ckpt-N.index)."
        )
    is_hf = path.is_dir() and hf.is_checkpoint_dir(path)
    prefix = tf1.find_prefix(path)
    if is_hf and prefix is not None:
        raise ValueError(
            f"{path} holds both Hugging Face weights and a TensorFlow "
            "checkpoint; pass the .safetensors file or the TF checkpoint "
            "prefix instead of the folder."
        )
    if is_hf:
        return hf.read(path)
    if prefix is not None:
        return tf1.read(prefix)
    hint = ""
    if path.is_dir() and any(
        (path / name).is_file()
        for name in ("pytorch_model.bin", "tf_model.h5", "flax_model.msgpack")
    ):
        hint = (
            " It has PyTorch/TF2/Flax weights only; save them as "
            "model.safetensors (`save_pretrained(..., "
            "safe_serialization=True)` in transformers) first."
        )
    raise ValueError(
        f"No BERT checkpoint found at {path}: expected a Hugging Face folder "
        f"({hf.CONFIG_NAME} + {hf.WEIGHTS_NAME}) or a TF1 checkpoint "
        f"({tf1.CONFIG_NAME} + {tf1.CHECKPOINT_PREFIX}.index/.data-*).{hint}"
    )


def checkpoint_has_heads(path):
    """True if the checkpoint at `path` holds the MLM and NSP heads.

    Example:
    >>> import tempfile
    >>> import keras_bert_impl as kbi
    >>> encoder = kbi.build_encoder(kbi.BertConfig.preset(
    ...     "tiny", vocabulary_size=16, num_layers=1))
    >>> folder = kbi.save_checkpoint(encoder, tempfile.mkdtemp() + "/enc")
    >>> checkpoint_has_heads(folder)
    False
    """
    checkpoint = open_checkpoint(path)
    module = FORMATS[checkpoint.format]
    matched, _ = module.to_canonical(checkpoint, with_heads=True)
    heads = set(expected_shapes(checkpoint.config, True, pooler=False)) - set(
        expected_shapes(checkpoint.config, False, pooler=False)
    )
    return heads <= set(matched)


def load_checkpoint(
    path, with_heads=False, dtype=None, pooler=True, dropout=None
):
    """Loads a Hugging Face or original TF1 BERT checkpoint.

    The format is detected: a folder with `config.json` and
    `model.safetensors` (names with or without the `bert.` prefix, old
    `LayerNorm.gamma/beta` names accepted), or a folder with
    `bert_config.json` and a `bert_model.ckpt` TF1 checkpoint; a path to
    the `.safetensors` file or to the TF checkpoint prefix works too.

    With `with_heads=False`, head tensors (`cls.*`, `classifier.*`,
    `qa_outputs.*`; TF1 `cls/*`), optimizer slots and the
    `embeddings.position_ids` buffer are skipped. Any other tensor the
    encoder does not have is an error, as is a missing or mis-shaped one.
    float16/bfloat16/float64 weights are cast to float32.

    A checkpoint without a pooler (Hugging Face saves none for its
    masked-LM, token-classification and question-answering models, nor do
    many sentence-transformers exports) loads too: with `pooler=True` the
    encoder gets a freshly initialized pooler and a one-line warning names
    the missing tensors (fine-tune it, e.g. in a `BertClassifier`); with
    `pooler=False` the encoder has no pooler and no `pooled_output`. Task
    models with their heads: `keras_bert_impl.load_task_model`.

    Args:
        path: str or path of the checkpoint (see above).
        with_heads: bool. Return a `BertPretrainer` with the masked-LM and
            next-sentence heads loaded too. Defaults to `False`.
        dtype: optional dtype policy of the built model, e.g.
            `"mixed_bfloat16"` (variables stay float32).
        pooler: bool. Give the encoder a pooler (loaded, or freshly
            initialized when the checkpoint has none). Defaults to `True`.
        dropout: optional float. Replaces the checkpoint config's
            `dropout` and `attention_dropout` (e.g. 0.1 to fine-tune an
            encoder pretrained without dropout). Defaults to the config's.

    Returns:
        `(model, config)`: a `BertEncoder` (or a `BertPretrainer` if
        `with_heads`) and its `BertConfig` (with `dropout` applied).

    Raises:
        FileNotFoundError: no checkpoint or no config at `path`.
        ValueError: a tensor is missing, unknown or of the wrong shape or
            dtype (the message names the tensor, the expected and the found
            shape), the weights disagree with the config, or
            `with_heads=True` and the checkpoint has no heads.

    Example:
    >>> import tempfile
    >>> import numpy as np
    >>> import keras_bert_impl as kbi
    >>> encoder = kbi.build_encoder(kbi.BertConfig.preset(
    ...     "tiny", vocabulary_size=16, num_layers=1))
    >>> folder = kbi.save_checkpoint(encoder, tempfile.mkdtemp() + "/tiny")
    >>> loaded, cfg = kbi.load_checkpoint(folder)
    >>> cfg.num_layers, all(np.array_equal(a, b) for a, b in zip(
    ...     encoder.get_weights(), loaded.get_weights()))
    (1, True)
    """
    checkpoint = open_checkpoint(path)
    config = checkpoint.config
    arrays, fresh = read_validated(checkpoint, with_heads, pooler=pooler)
    if dropout is not None:
        config = dataclasses.replace(
            config, dropout=dropout, attention_dropout=dropout
        )
    encoder = build_encoder(config, dtype=dtype, pooler=pooler)
    model = encoder
    if with_heads:
        model = BertPretrainer(encoder)
        variables = model_variables(encoder, model)
    else:
        variables = model_variables(encoder)
    assign(variables, arrays, fresh)
    return model, config


def read_validated(checkpoint, with_heads=False, pooler=True, extra=None):
    """Validates names, shapes and dtypes, then reads canonical arrays.

    Args:
        checkpoint: an open `Checkpoint`.
        with_heads: bool. The masked-LM and next-sentence heads too.
        pooler: bool. Read the pooler if the checkpoint has one (else it is
            left to a fresh initialization); `False` skips it.
        extra: optional dict `{stored name: (canonical name, transpose,
            expected shape in the checkpoint's layout)}` of task-head
            tensors to read as well.

    Returns:
        `(arrays, fresh)`: `{canonical name: array}` in Keras layout, and
        the stored names of the pooler tensors the checkpoint lacks (to be
        initialized fresh; empty if it has them or `pooler=False`).

    Raises:
        ValueError: a tensor is missing, unknown, mis-shaped or not a
            float; every problem is listed with its name.
    """
    config = checkpoint.config
    module = FORMATS[checkpoint.format]
    matched, unknown = module.to_canonical(checkpoint, with_heads)
    extra = extra or {}
    unknown = [name for name in unknown if name not in extra]
    fresh = []
    if not pooler:
        matched = {c: v for c, v in matched.items() if c not in POOLER}
    elif not any(name in matched for name in POOLER):
        table = dict((c, e) for e, (c, _) in _table(checkpoint))
        fresh = [module.stored_name(table[c], checkpoint) for c in POOLER]
    expected = expected_shapes(config, with_heads, pooler=pooler and not fresh)
    for name, (canonical, transpose, shape) in extra.items():
        expected[canonical] = tuple(shape[::-1] if transpose else shape)
        if name in checkpoint.shapes:
            matched[canonical] = (name, transpose)
    source = checkpoint.source
    if with_heads:
        encoder_only = expected_shapes(config, False)
        if not set(expected).difference(encoder_only) & set(matched):
            raise ValueError(
                f"with_heads=True, but the checkpoint {source} has no "
                "masked-LM / next-sentence heads (no cls.* tensors). Load it "
                "with with_heads=False."
            )
    table = {canonical: (ext, t) for ext, (canonical, t) in _table(checkpoint)}
    table.update({c: (n, t) for n, (c, t, _) in extra.items()})
    problems = []
    for canonical, shape in expected.items():
        if canonical in matched:
            continue
        name, transposed = table[canonical]
        if canonical not in {c for c, _, _ in extra.values()}:
            name = module.stored_name(name, checkpoint)
        problems.append(
            f"missing tensor {name!r}: expected shape "
            f"{_shape(shape, transposed)}, found none"
        )
    for name in unknown:
        hint = ""
        if _layer_index(name) is not None:
            hint = (
                f" (the config has {config.num_layers} layers; "
                "is num_hidden_layers right?)"
            )
        problems.append(
            f"unexpected tensor {name!r} of shape "
            f"{list(checkpoint.shapes[name])}{hint}"
        )
    for canonical, (name, transpose) in matched.items():
        want = _shape(expected[canonical], transpose)
        found = list(checkpoint.shapes[name])
        if found != want:
            problems.append(_shape_problem(name, canonical, want, found))
        dtype = checkpoint.dtypes[name]
        if dtype not in ("float32", "float16", "bfloat16", "float64"):
            problems.append(
                f"tensor {name!r} has dtype {dtype}; expected a float type"
            )
    if problems:
        listed = problems[:_MAX_LISTED]
        if len(problems) > _MAX_LISTED:
            listed.append(f"... and {len(problems) - _MAX_LISTED} more")
        raise ValueError(
            f"Checkpoint {source} does not match its config "
            f"({_describe(config)}; with_heads={with_heads}):\n  "
            + "\n  ".join(listed)
        )
    arrays = {}
    for canonical, (name, transpose) in matched.items():
        array = checkpoint.read_float32(name)
        arrays[canonical] = array.T if transpose else array
    return arrays, fresh


def _table(checkpoint):
    """The format's name table for this checkpoint, with heads."""
    module = FORMATS[checkpoint.format]
    return module.name_table(checkpoint.config.num_layers, True).items()


def _shape(shape, transpose):
    """A canonical shape in the checkpoint's layout, as a list."""
    return list(shape[::-1] if transpose else shape)


def _shape_problem(name, canonical, want, found):
    """Describes a mis-shaped tensor, naming the config field if any."""
    message = f"tensor {name!r} has shape {found}, expected {want}"
    if canonical in _CONFIG_SIZES and len(found) == 2 and found[1] == want[1]:
        ours, theirs = _CONFIG_SIZES[canonical]
        message += (
            f": {found[0]} rows but the config says {theirs}={want[0]} "
            f"(BertConfig.{ours}); the weights and the config (or vocab) "
            "disagree"
        )
    return message


def _layer_index(name):
    """The encoder layer index in a tensor name, or None."""
    match = re.search(r"(?:^|[./])layer[._](\d+)[./]", name)
    return int(match.group(1)) if match else None


def _describe(config):
    return (
        f"{config.num_layers} layers, hidden {config.hidden_dim}, vocab "
        f"{config.vocabulary_size}"
    )


def assign(variables, arrays, fresh=()):
    """Assigns every array; shapes were validated, so this cannot fail.

    `fresh` names checkpoint tensors that were missing and keep their
    initial values (a pooler): they are listed in one warning.
    """
    if fresh:
        variables = {k: v for k, v in variables.items() if k not in POOLER}
        logger.warning(
            "The checkpoint has no %s: the encoder's pooler is freshly "
            "initialized (fine-tune it, e.g. in a BertClassifier, or load "
            "with pooler=False for no pooled_output).",
            " / ".join(repr(n) for n in fresh),
        )
    if set(variables) != set(arrays):
        raise ValueError(  # an internal inconsistency, not a user error
            "Internal error: the checkpoint layout does not match the "
            f"model: {sorted(set(variables) ^ set(arrays))}"
        )
    for canonical, variable in variables.items():
        if tuple(variable.shape) != arrays[canonical].shape:
            raise ValueError(
                f"Internal error: variable {canonical} has shape "
                f"{tuple(variable.shape)}, array {arrays[canonical].shape}"
            )
    for canonical, variable in variables.items():
        variable.assign(arrays[canonical].astype(variable.dtype))


def save_checkpoint(model, path, format="hf", vocab=None, overwrite=False):
    """Saves an encoder, a pretrainer or a task model as a checkpoint.

    `format="hf"` writes `config.json` + `model.safetensors`: an encoder
    alone gets `BertModel` names (no prefix, `architectures:
    ["BertModel"]`), a `BertPretrainer` gets `BertForPreTraining` names
    (`bert.` prefix plus `cls.*` heads; the tied decoder weight is not
    stored, as `save_pretrained` does). `format="tf1"` writes
    `bert_config.json`, `bert_model.ckpt.index/.data-00000-of-00001` and a
    `checkpoint` state file with the original Google names (heads under
    `cls/` for a pretrainer). Weights are written as float32.

    A task model (`BertClassifier`, `BertRegressor`, `BertTokenClassifier`,
    `BertQuestionAnswering`, `BertMultipleChoice`) is written as the
    Hugging Face task checkpoint of the same architecture (see
    `keras_bert_impl.checkpoints.heads`): `config.json` with
    `architectures`, `id2label` / `label2id` and `problem_type`, the
    `bert.`-prefixed encoder (without a pooler where Hugging Face's model
    has none) and the head's tensors, so that
    `transformers.AutoModelFor<Task>.from_pretrained` loads it with no
    missing or unexpected keys.

    The checkpoint is written into a staging folder beside `path` and
    swapped in whole (`keras_bert_impl.paths.StagedFolder`): an
    interrupted save leaves the previous checkpoint, never a mix.

    Args:
        model: `BertEncoder`, `BertPretrainer` or a task model.
        path: str or path of the folder to create.
        format: str. `"hf"` (default) or `"tf1"`.
        vocab: optional `BertTokenizer`, or path of a `vocab.txt`, saved
            beside the weights with the tokenizer's settings
            (`tokenizer_config.json`: casing; for a path, the settings
            stored beside it, if any), so loading the folder needs no
            side file.
        overwrite: bool. Replace an existing non-empty folder. Defaults to
            `False`.

    Returns:
        The `Path` of the written folder.

    Raises:
        ValueError: unknown format or model type, a task model with
            `format="tf1"`, or a config the format cannot express (TF1 has
            a fixed LayerNorm epsilon of 1e-12).
        FileExistsError: `path` is a non-empty folder (or a file) and
            `overwrite` is not set.

    Example:
    >>> import os, tempfile
    >>> import keras_bert_impl as kbi
    >>> encoder = kbi.build_encoder(kbi.BertConfig.preset(
    ...     "tiny", vocabulary_size=16, num_layers=1))
    >>> folder = kbi.save_checkpoint(
    ...     encoder, os.path.join(tempfile.mkdtemp(), "tf1"), format="tf1")
    >>> sorted(os.listdir(folder))  # doctest: +NORMALIZE_WHITESPACE
    ['bert_config.json', 'bert_model.ckpt.data-00000-of-00001',
     'bert_model.ckpt.index', 'checkpoint']
    """
    if format not in FORMATS:
        raise ValueError(
            f"Unknown checkpoint format {format!r}. Choose one of "
            f"{sorted(FORMATS)}."
        )
    head, metadata = None, None
    if isinstance(model, BertPretrainer):
        encoder = model.encoder
        variables = model_variables(encoder, model)
    elif isinstance(model, BertEncoder):
        encoder, variables = model, model_variables(model)
    elif isinstance(model, BertTask):
        if format != "hf":
            raise ValueError(
                "Task models are saved as Hugging Face checkpoints "
                f"(format='hf'), which transformers reads. Received: "
                f"format={format!r}"
            )
        encoder = model.encoder
        variables = model_variables(encoder)
        spec = heads.head_of_model(model)
        if not spec.pooler:  # Hugging Face's model has none: no extra key
            variables = {k: v for k, v in variables.items() if k not in POOLER}
        head, metadata = _task_head(model, spec)
    else:
        raise ValueError(
            "`model` must be a BertEncoder, a BertPretrainer or a task model "
            f"(BertClassifier, ...). Received: {type(model).__name__}"
        )
    with_heads = isinstance(model, BertPretrainer)
    config = encoder.bert_config
    if format == "tf1":
        config.to_google_dict()  # raises early if TF1 cannot express it
    tokenizer_settings = None
    if isinstance(vocab, str | os.PathLike):
        if not Path(vocab).is_file():
            raise FileNotFoundError(f"No vocabulary file at {vocab}.")
        settings = run_files.read_tokenizer_settings(Path(vocab).parent)
        if settings.pop("source") is not None:
            tokenizer_settings = settings
    from keras import ops

    arrays = {
        name: np.asarray(ops.convert_to_numpy(variable), dtype=np.float32)
        for name, variable in variables.items()
    }
    staged = StagedFolder(path, overwrite=overwrite, what="checkpoint folder")
    with staged as tmp:
        if head is None:
            FORMATS[format].write(Path(tmp), config, arrays, with_heads)
        else:
            hf.write(Path(tmp), config, arrays, False, head, metadata)
        if isinstance(vocab, str | os.PathLike):
            shutil.copyfile(vocab, os.path.join(tmp, run_files.VOCAB_FILE))
            if tokenizer_settings is not None:
                run_files.write_tokenizer_settings(tmp, **tokenizer_settings)
        elif vocab is not None:
            vocab.save(tmp)  # a BertTokenizer: vocab.txt + its settings
        staged.commit()
    return Path(path)


def _task_head(model, spec):
    """The Hugging Face head tensors and `config.json` keys of a task
    model."""
    from keras import ops

    layer = model.get_layer(type(model).HEAD_LAYER)
    kernel = np.asarray(ops.convert_to_numpy(layer.kernel), np.float32)
    bias = np.asarray(ops.convert_to_numpy(layer.bias), np.float32)
    head = {f"{spec.hf}.weight": kernel.T, f"{spec.hf}.bias": bias}
    metadata = {"architectures": [spec.architecture]}
    names = getattr(model, "label_names", None)
    if spec.labels:
        names = list(names or (f"LABEL_{i}" for i in range(kernel.shape[1])))
        metadata["id2label"] = {str(i): n for i, n in enumerate(names)}
        metadata["label2id"] = {n: i for i, n in enumerate(names)}
    if spec.model == "BertRegressor":
        name = (names or ("LABEL_0",))[0]
        metadata["id2label"] = {"0": name}
        metadata["label2id"] = {name: 0}
        metadata["problem_type"] = "regression"
    elif spec.model == "BertClassifier":
        metadata["problem_type"] = (
            "multi_label_classification"
            if model.multi_label
            else "single_label_classification"
        )
    return head, metadata
