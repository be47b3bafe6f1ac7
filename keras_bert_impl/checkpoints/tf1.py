"""Original Google BERT checkpoints: `bert_config.json` + `bert_model.ckpt`.

The name-based TensorFlow 1 checkpoints of google-research/bert
(`run_pretraining.py`), read with `tf.train.load_checkpoint` and written
with the `SaveV2` op, so TF1 code (`tf.compat.v1.train.init_from_checkpoint`)
and `tf.train.load_checkpoint` can read what this package writes.

Names: `bert/embeddings/word_embeddings`, `.../token_type_embeddings`,
`.../position_embeddings`, `bert/embeddings/LayerNorm/gamma|beta`,
`bert/encoder/layer_{i}/attention/self/query|key|value/kernel|bias`,
`.../attention/output/dense`, `.../attention/output/LayerNorm`,
`.../intermediate/dense`, `.../output/dense`, `.../output/LayerNorm`,
`bert/pooler/dense`, and the heads `cls/predictions/transform/dense`,
`cls/predictions/transform/LayerNorm`, `cls/predictions/output_bias`,
`cls/seq_relationship/output_weights` (`[2, hidden]`, transposed to a Keras
kernel) and `cls/seq_relationship/output_bias`. Kernels are already
`[in, out]`. Optimizer slots (`*/adam_m`, `*/adam_v`) and `global_step`
are ignored.
"""

import json
import re
from pathlib import Path

from keras_bert_impl.checkpoints.reader import Checkpoint
from keras_bert_impl.checkpoints.reader import unreadable
from keras_bert_impl.config import BertConfig

CONFIG_NAME = "bert_config.json"
CHECKPOINT_PREFIX = "bert_model.ckpt"
# Optimizer state and bookkeeping written by the original training code.
_IGNORED = re.compile(r"(^global_step$|/adam_[mv]$|/Adam(_1)?$)")
# Heads skipped by an encoder-only load: pretraining (`cls/...`, including
# `cls/squad`) and `run_classifier.py`'s top-level classifier.
_HEADS = re.compile(r"^(cls/|output_weights$|output_bias$)")


def name_table(num_layers, with_heads=False):
    """Returns `{tf1 name: (canonical name, transpose)}`.

    Example:
    >>> table = name_table(num_layers=1, with_heads=True)
    >>> table["bert/encoder/layer_0/attention/output/LayerNorm/gamma"]
    ('transformer_layer_0/attention_layer_norm/gamma', False)
    >>> table["cls/seq_relationship/output_weights"]
    ('next_sentence_head/dense/kernel', True)
    """
    table = {
        "bert/embeddings/word_embeddings": (
            "embeddings/token_embedding/embeddings",
            False,
        ),
        "bert/embeddings/token_type_embeddings": (
            "embeddings/segment_embedding/embeddings",
            False,
        ),
        "bert/embeddings/position_embeddings": (
            "embeddings/position_embeddings",
            False,
        ),
    }
    _norm(table, "bert/embeddings/LayerNorm", "embeddings/layer_norm")
    for i in range(num_layers):
        tf1, ours = f"bert/encoder/layer_{i}", f"transformer_layer_{i}"
        for part in ("query", "key", "value"):
            _dense(table, f"{tf1}/attention/self/{part}", f"{ours}/{part}")
        _dense(
            table,
            f"{tf1}/attention/output/dense",
            f"{ours}/attention_output_dense",
        )
        _norm(
            table,
            f"{tf1}/attention/output/LayerNorm",
            f"{ours}/attention_layer_norm",
        )
        _dense(table, f"{tf1}/intermediate/dense", f"{ours}/intermediate_dense")
        _dense(table, f"{tf1}/output/dense", f"{ours}/output_dense")
        _norm(table, f"{tf1}/output/LayerNorm", f"{ours}/output_layer_norm")
    _dense(table, "bert/pooler/dense", "pooler/pooled_dense")
    if with_heads:
        _dense(
            table,
            "cls/predictions/transform/dense",
            "masked_lm_head/transform_dense",
        )
        _norm(
            table,
            "cls/predictions/transform/LayerNorm",
            "masked_lm_head/layer_norm",
        )
        table["cls/predictions/output_bias"] = (
            "masked_lm_head/output_bias",
            False,
        )
        table["cls/seq_relationship/output_weights"] = (
            "next_sentence_head/dense/kernel",
            True,
        )
        table["cls/seq_relationship/output_bias"] = (
            "next_sentence_head/dense/bias",
            False,
        )
    return table


def _dense(table, tf1, ours):
    """Adds a dense layer (kernel `[in, out]` in both)."""
    table[f"{tf1}/kernel"] = (f"{ours}/kernel", False)
    table[f"{tf1}/bias"] = (f"{ours}/bias", False)


def _norm(table, tf1, ours):
    """Adds a LayerNorm (gamma / beta in both)."""
    table[f"{tf1}/gamma"] = (f"{ours}/gamma", False)
    table[f"{tf1}/beta"] = (f"{ours}/beta", False)


def stored_name(name, checkpoint):
    """`name` as stored (TF1 names have a single spelling)."""
    return name


def is_ignored(name, with_heads):
    """True for a stored tensor that a load skips silently.

    Example:
    >>> is_ignored("bert/pooler/dense/kernel/adam_m", with_heads=True)
    True
    >>> is_ignored("cls/predictions/output_bias", with_heads=False)
    True
    """
    if _IGNORED.search(name):
        return True
    return not with_heads and bool(_HEADS.search(name))


def find_prefix(path):
    """Returns the checkpoint prefix for a folder, prefix or checkpoint file.

    Returns `None` if `path` holds no TensorFlow checkpoint. In a folder,
    the `checkpoint` state file wins; otherwise exactly one `*.index` file
    must be there.
    """
    path = Path(path)
    if path.is_file():
        match = re.match(r"(.*)\.(index|data-\d+-of-\d+)$", str(path))
        return Path(match.group(1)) if match else None
    if not path.is_dir():
        index = Path(f"{path}.index")
        return path if index.is_file() else None
    state = path / "checkpoint"
    if state.is_file():
        text = state.read_text(encoding="utf-8")
        match = re.search(r'^model_checkpoint_path:\s*"(.*)"', text, re.M)
        if match:
            prefix = path / match.group(1)
            if Path(f"{prefix}.index").is_file():
                return prefix
    indexes = sorted(path.glob("*.index"))
    if len(indexes) > 1:
        raise ValueError(
            f"{path} holds several TensorFlow checkpoints "
            f"({', '.join(p.name for p in indexes)}); pass the prefix of one, "
            f"e.g. {indexes[0].with_suffix('')}."
        )
    return indexes[0].with_suffix("") if indexes else None


def read(prefix):
    """Opens a TF1 checkpoint lazily; `bert_config.json` is beside it."""
    import tensorflow as tf

    prefix = Path(prefix)
    folder = prefix.parent
    config_path = folder / CONFIG_NAME
    if not config_path.is_file():
        raise FileNotFoundError(
            f"No {CONFIG_NAME} beside the TensorFlow checkpoint {prefix}; "
            "it is needed to build the model."
        )
    with open(config_path, encoding="utf-8") as f:
        config = BertConfig.from_any_dict(json.load(f))
    try:
        reader = tf.train.load_checkpoint(str(prefix))
    except Exception as e:  # DataLossError, NotFoundError: a broken .index
        raise unreadable(prefix, e, "the index") from None
    shapes = {
        name: tuple(shape)
        for name, shape in reader.get_variable_to_shape_map().items()
    }
    dtypes = {
        name: dtype.name
        for name, dtype in reader.get_variable_to_dtype_map().items()
    }
    vocab = folder / "vocab.txt"
    return Checkpoint(
        format="tf1",
        config=config,
        shapes=shapes,
        dtypes=dtypes,
        read=reader.get_tensor,
        source=prefix,
        vocab=vocab if vocab.is_file() else None,
    )


def to_canonical(checkpoint, with_heads):
    """Matches stored names to canonical names; see `hf.to_canonical`."""
    table = name_table(checkpoint.config.num_layers, with_heads)
    matched, unknown = {}, []
    for name in sorted(checkpoint.shapes):
        if name in table:
            matched[table[name][0]] = (name, table[name][1])
        elif not is_ignored(name, with_heads):
            unknown.append(name)
    return matched, unknown


def write(folder, config, arrays, with_heads):
    """Writes `bert_config.json`, `bert_model.ckpt.*` and `checkpoint`."""
    import tensorflow as tf

    folder = Path(folder)
    with open(folder / CONFIG_NAME, "w", encoding="utf-8") as f:
        json.dump(config.to_google_dict(), f, indent=2, sort_keys=True)
        f.write("\n")
    names, tensors = [], []
    for name, (canonical, transpose) in sorted(
        name_table(config.num_layers, with_heads).items()
    ):
        if canonical not in arrays:  # an encoder without a pooler
            continue
        array = arrays[canonical]
        names.append(name)
        tensors.append(tf.constant(array.T if transpose else array))
    tf.raw_ops.SaveV2(
        prefix=str(folder / CHECKPOINT_PREFIX),
        tensor_names=names,
        shape_and_slices=[""] * len(names),
        tensors=tensors,
    )
    (folder / "checkpoint").write_text(
        f'model_checkpoint_path: "{CHECKPOINT_PREFIX}"\n'
        f'all_model_checkpoint_paths: "{CHECKPOINT_PREFIX}"\n',
        encoding="utf-8",
    )
