"""Hugging Face BERT checkpoints: `config.json` + `model.safetensors`.

Read and written with the safetensors NumPy API; torch is never imported.

Tensor names follow `transformers`' `modeling_bert.py`:
`embeddings.word_embeddings.weight`,
`encoder.layer.{i}.attention.self.query.weight`, ...,
`pooler.dense.weight`. A `BertModel` stores them as they are; a
`BertForPreTraining` (and the other task models) prefixes them with
`bert.` and adds its heads, `cls.predictions.transform.dense.*`,
`cls.predictions.transform.LayerNorm.*`, `cls.predictions.bias` and
`cls.seq_relationship.*`. Linear weights are `[out, in]` (torch layout) and
are transposed to and from Keras `Dense` kernels `[in, out]`.

Reading accepts either naming, the old `LayerNorm.gamma` / `LayerNorm.beta`
spelling, sharded checkpoints (`model.safetensors.index.json`), and ignores
the `embeddings.position_ids` buffer. Writing uses `BertModel` names (no
prefix) for an encoder alone and `BertForPreTraining` names for a model
with heads, which is what `save_pretrained` writes for those classes.
"""

import json
import re
from pathlib import Path

import numpy as np

from keras_bert_impl.checkpoints.reader import Checkpoint
from keras_bert_impl.checkpoints.reader import unreadable
from keras_bert_impl.config import BertConfig

CONFIG_NAME = "config.json"
WEIGHTS_NAME = "model.safetensors"
INDEX_NAME = "model.safetensors.index.json"
_DTYPES = {
    "F64": "float64",
    "F32": "float32",
    "F16": "float16",
    "BF16": "bfloat16",
    "I64": "int64",
    "I32": "int32",
    "I16": "int16",
    "I8": "int8",
    "U8": "uint8",
    "BOOL": "bool",
}
# Tensors of task heads an encoder-only load skips (BertForPreTraining,
# BertForMaskedLM, BertForSequenceClassification, BertForQuestionAnswering,
# BertForTokenClassification, BertForMultipleChoice, ...).
_HEAD_PREFIXES = ("cls.", "classifier.", "qa_outputs.")
_BUFFERS = ("embeddings.position_ids",)
# Aliases of tied tensors that `save_pretrained` may keep instead of (or
# beside) the canonical one.
_DECODER_WEIGHT = "cls.predictions.decoder.weight"
_DECODER_BIAS = "cls.predictions.decoder.bias"
_WORD_EMBEDDINGS = "embeddings.word_embeddings.weight"


def name_table(num_layers, with_heads=False):
    """Returns `{hf name: (canonical name, transpose)}`, `BertModel` names.

    Head names (`cls.*`) are included when `with_heads`.

    Example:
    >>> table = name_table(num_layers=2)
    >>> table["encoder.layer.1.attention.self.query.weight"]
    ('transformer_layer_1/query/kernel', True)
    >>> table["embeddings.LayerNorm.weight"]
    ('embeddings/layer_norm/gamma', False)
    """
    table = {
        _WORD_EMBEDDINGS: ("embeddings/token_embedding/embeddings", False),
        "embeddings.token_type_embeddings.weight": (
            "embeddings/segment_embedding/embeddings",
            False,
        ),
        "embeddings.position_embeddings.weight": (
            "embeddings/position_embeddings",
            False,
        ),
    }
    _norm(table, "embeddings.LayerNorm", "embeddings/layer_norm")
    for i in range(num_layers):
        hf, ours = f"encoder.layer.{i}", f"transformer_layer_{i}"
        for part in ("query", "key", "value"):
            _dense(table, f"{hf}.attention.self.{part}", f"{ours}/{part}")
        _dense(
            table,
            f"{hf}.attention.output.dense",
            f"{ours}/attention_output_dense",
        )
        _norm(
            table,
            f"{hf}.attention.output.LayerNorm",
            f"{ours}/attention_layer_norm",
        )
        _dense(table, f"{hf}.intermediate.dense", f"{ours}/intermediate_dense")
        _dense(table, f"{hf}.output.dense", f"{ours}/output_dense")
        _norm(table, f"{hf}.output.LayerNorm", f"{ours}/output_layer_norm")
    _dense(table, "pooler.dense", "pooler/pooled_dense")
    if with_heads:
        _dense(
            table,
            "cls.predictions.transform.dense",
            "masked_lm_head/transform_dense",
        )
        _norm(
            table,
            "cls.predictions.transform.LayerNorm",
            "masked_lm_head/layer_norm",
        )
        table["cls.predictions.bias"] = ("masked_lm_head/output_bias", False)
        _dense(table, "cls.seq_relationship", "next_sentence_head/dense")
    return table


def _dense(table, hf, ours):
    """Adds a linear layer: weight `[out, in]` -> kernel `[in, out]`."""
    table[f"{hf}.weight"] = (f"{ours}/kernel", True)
    table[f"{hf}.bias"] = (f"{ours}/bias", False)


def _norm(table, hf, ours):
    """Adds a LayerNorm: weight/bias -> gamma/beta."""
    table[f"{hf}.weight"] = (f"{ours}/gamma", False)
    table[f"{hf}.bias"] = (f"{ours}/beta", False)


def normalize_name(name):
    """Maps a stored name to `BertModel` naming (strips `bert.`, old LN).

    Example:
    >>> normalize_name("bert.encoder.layer.0.output.LayerNorm.gamma")
    'encoder.layer.0.output.LayerNorm.weight'
    >>> normalize_name("cls.predictions.bias")
    'cls.predictions.bias'
    """
    if name.startswith("bert."):
        name = name[len("bert.") :]
    name = re.sub(r"LayerNorm\.gamma$", "LayerNorm.weight", name)
    return re.sub(r"LayerNorm\.beta$", "LayerNorm.bias", name)


def stored_name(name, checkpoint):
    """How `checkpoint` would spell the `BertModel` name `name`.

    Adds the `bert.` prefix if the checkpoint uses it (for error messages).
    """
    prefixed = any(n.startswith("bert.") for n in checkpoint.shapes)
    if prefixed and not name.startswith(_HEAD_PREFIXES):
        return "bert." + name
    return name


def is_ignored(name, with_heads):
    """True for a (normalized) tensor that a load skips silently."""
    if name in _BUFFERS:
        return True
    if with_heads:
        return False
    return name.startswith(_HEAD_PREFIXES)


def is_checkpoint_dir(path):
    """True if `path` is a folder holding Hugging Face safetensors weights."""
    path = Path(path)
    return (path / WEIGHTS_NAME).is_file() or (path / INDEX_NAME).is_file()


def read(path):
    """Opens a Hugging Face checkpoint lazily.

    Args:
        path: a folder with `config.json` and `model.safetensors` (or a
            sharded `model.safetensors.index.json`), or the path of the
            `.safetensors` / index file itself (`config.json` beside it).

    Returns:
        A `Checkpoint` whose names are as stored in the file(s).
    """
    from safetensors import safe_open

    path = Path(path)
    folder = path if path.is_dir() else path.parent
    if path.is_dir():
        path = folder / (
            WEIGHTS_NAME if (folder / WEIGHTS_NAME).is_file() else INDEX_NAME
        )
    config_path = folder / CONFIG_NAME
    if not config_path.is_file():
        raise FileNotFoundError(
            f"No {CONFIG_NAME} beside the Hugging Face weights {path}; it is "
            "needed to build the model."
        )
    with open(config_path, encoding="utf-8") as f:
        metadata = json.load(f)
    config = BertConfig.from_hf_dict(metadata)
    if path.name.endswith(".index.json"):
        with open(path, encoding="utf-8") as f:
            weight_map = json.load(f)["weight_map"]
        files = sorted({folder / name for name in weight_map.values()})
    else:
        files = [path]
    handles, shapes, dtypes = {}, {}, {}
    for file in files:
        try:
            handle = safe_open(str(file), framework="numpy")
        except FileNotFoundError:
            raise FileNotFoundError(
                f"{file} is missing: {path} names it. Download or save the "
                "checkpoint again."
            ) from None
        except Exception as e:  # SafetensorError: truncated, bad header
            raise unreadable(file, e, "the header") from None
        for name in handle.keys():
            if name in handles:
                raise ValueError(
                    f"Tensor {name!r} is stored twice, in {handles[name]} "
                    f"and in {file.name}."
                )
            handles[name] = handle
            info = handle.get_slice(name)
            shapes[name] = tuple(info.get_shape())
            dtypes[name] = _DTYPES.get(info.get_dtype(), info.get_dtype())
    vocab = folder / "vocab.txt"
    return Checkpoint(
        format="hf",
        config=config,
        shapes=shapes,
        dtypes=dtypes,
        read=lambda name: handles[name].get_tensor(name),
        source=path,
        vocab=vocab if vocab.is_file() else None,
        metadata=metadata,
    )


def to_canonical(checkpoint, with_heads):
    """Matches stored names to canonical names.

    Returns:
        `(matched, unknown)`: `matched` maps a canonical name to
        `(stored name, transpose)`; `unknown` lists stored names that are
        neither matched nor ignorable. Tied aliases
        (`cls.predictions.decoder.*`) are checked against the tensor they
        duplicate and raise if they differ (this package always ties).
    """
    table = name_table(checkpoint.config.num_layers, with_heads)
    matched, unknown, stored = {}, [], {}
    for name in checkpoint.shapes:
        norm = normalize_name(name)
        if norm in stored:
            raise ValueError(
                f"Tensors {stored[norm]!r} and {name!r} in "
                f"{checkpoint.source} are the same weight under two names."
            )
        stored[norm] = name
    for norm, name in stored.items():
        if norm in table:
            canonical, transpose = table[norm]
            matched[canonical] = (name, transpose)
        elif norm in (_DECODER_WEIGHT, _DECODER_BIAS) and with_heads:
            continue  # tied aliases, handled below
        elif not is_ignored(norm, with_heads):
            unknown.append(name)
    if with_heads:
        _tied_alias(
            checkpoint, stored, matched, _DECODER_BIAS, "cls.predictions.bias"
        )
        _tied_alias(
            checkpoint, stored, matched, _DECODER_WEIGHT, _WORD_EMBEDDINGS
        )
    return matched, unknown


def _tied_alias(checkpoint, stored, matched, alias, target):
    """Uses `alias` for `target` if absent; else requires equal values."""
    if alias not in stored:
        return
    canonical, transpose = name_table(0, with_heads=True)[target]
    if canonical not in matched:
        matched[canonical] = (stored[alias], transpose)
        return
    a = checkpoint.read(stored[alias])
    b = checkpoint.read(matched[canonical][0])
    if a.shape != b.shape or not np.array_equal(a, b):
        raise ValueError(
            f"Tensor {stored[alias]!r} differs from "
            f"{matched[canonical][0]!r} in {checkpoint.source}: the masked-LM "
            "output projection is not tied to the word embeddings. This "
            "package supports tied BERT heads only."
        )


def from_canonical(arrays, num_layers, with_heads, prefixed=None):
    """Returns `{hf name: array}` in torch layout, ready for safetensors.

    Names are `BertModel`'s for an encoder alone and `BertForPreTraining`'s
    (`bert.` prefix plus `cls.*`) with heads; `prefixed=True` adds the
    `bert.` prefix without heads (a task model's encoder). Canonical names
    missing from `arrays` (an encoder without a pooler) are skipped.
    """
    prefixed = with_heads if prefixed is None else prefixed
    tensors = {}
    for name, (canonical, transpose) in name_table(
        num_layers, with_heads
    ).items():
        if canonical not in arrays:
            continue
        array = arrays[canonical]
        if transpose:
            array = array.T
        if prefixed and not name.startswith("cls."):
            name = "bert." + name
        tensors[name] = np.ascontiguousarray(array)
    return tensors


def write(folder, config, arrays, with_heads, head=None, metadata=None):
    """Writes `config.json` and `model.safetensors` into `folder`.

    Args:
        folder: the folder (exists).
        config: `BertConfig`.
        arrays: `{canonical name: array}` in Keras layout.
        with_heads: bool. `arrays` hold the pretraining heads.
        head: optional `{hf name: array}` of a task head, in torch layout;
            the encoder's tensors then get the `bert.` prefix.
        metadata: optional dict merged into `config.json` (a task model's
            `architectures`, `id2label`, `problem_type`, ...).
    """
    from safetensors.numpy import save_file

    hf_config = config.to_hf_dict()
    hf_config["architectures"] = [
        "BertForPreTraining" if with_heads else "BertModel"
    ]
    hf_config.update(metadata or {})
    with open(Path(folder) / CONFIG_NAME, "w", encoding="utf-8") as f:
        json.dump(hf_config, f, indent=2, sort_keys=True)
        f.write("\n")
    tensors = from_canonical(
        arrays, config.num_layers, with_heads, prefixed=with_heads or bool(head)
    )
    for name, array in (head or {}).items():
        tensors[name] = np.ascontiguousarray(array)
    # `transformers` refuses safetensors files without this metadata.
    save_file(
        tensors, str(Path(folder) / WEIGHTS_NAME), metadata={"format": "pt"}
    )
