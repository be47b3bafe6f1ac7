"""Reading real-world naming variants, and the errors of bad checkpoints."""

import json
import re

import ml_dtypes
import numpy as np
import pytest
import tensorflow as tf
from safetensors.numpy import load_file
from safetensors.numpy import save_file

import keras_bert_impl as kbi


@pytest.fixture
def encoder(tiny_config):
    return kbi.build_encoder(tiny_config)


@pytest.fixture
def hf_dir(encoder, tmp_path):
    """An encoder saved in `BertModel` naming; returns (folder, tensors)."""
    folder = kbi.save_checkpoint(encoder, tmp_path / "hf")
    return folder, load_file(str(folder / "model.safetensors"))


def _rewrite(folder, tensors):
    save_file(tensors, str(folder / "model.safetensors"))


def _same(a, b):
    for x, y in zip(a.get_weights(), b.get_weights(), strict=True):
        np.testing.assert_array_equal(x, y)


def _load_error(path, **kwargs):
    with pytest.raises(ValueError) as info:
        kbi.load_checkpoint(path, **kwargs)
    return str(info.value)


# ---------------------------------------------------------------- variants
def test_bert_prefix_old_layer_norm_names_and_ignored_tensors(encoder, hf_dir):
    folder, tensors = hf_dir
    renamed = {}
    for name, array in tensors.items():
        name = re.sub(r"LayerNorm\.weight$", "LayerNorm.gamma", name)
        name = re.sub(r"LayerNorm\.bias$", "LayerNorm.beta", name)
        renamed["bert." + name] = array
    renamed["bert.embeddings.position_ids"] = np.arange(8)[None]
    renamed["classifier.weight"] = np.zeros((3, 16), "float32")
    renamed["classifier.bias"] = np.zeros((3,), "float32")
    renamed["cls.predictions.bias"] = np.zeros((32,), "float32")
    _rewrite(folder, renamed)
    loaded, _ = kbi.load_checkpoint(folder)
    _same(encoder, loaded)
    # The head tensors are not ignored when heads are requested.
    message = _load_error(folder, with_heads=True)
    assert "classifier.weight" in message
    assert "cls.predictions.transform.dense.weight" in message


@pytest.mark.parametrize("dtype", ["float16", "bfloat16"])
def test_half_precision_weights_are_cast_to_float32(encoder, hf_dir, dtype):
    folder, tensors = hf_dir
    np_dtype = ml_dtypes.bfloat16 if dtype == "bfloat16" else np.float16
    _rewrite(folder, {k: v.astype(np_dtype) for k, v in tensors.items()})
    loaded, _ = kbi.load_checkpoint(folder)
    for w, original in zip(
        loaded.get_weights(), encoder.get_weights(), strict=True
    ):
        assert w.dtype == np.float32
        # Exactly the float32 value of the stored half-precision number.
        np.testing.assert_array_equal(
            w, original.astype(np_dtype).astype(np.float32)
        )


def test_integer_weight_is_rejected(hf_dir):
    folder, tensors = hf_dir
    tensors["pooler.dense.bias"] = tensors["pooler.dense.bias"].astype("int32")
    _rewrite(folder, tensors)
    assert "'pooler.dense.bias' has dtype int32" in _load_error(folder)


def test_tied_decoder_alias(hf_dir, encoder, tmp_path):
    pretrainer = kbi.BertPretrainer(encoder)
    folder = kbi.save_checkpoint(pretrainer, tmp_path / "p")
    tensors = load_file(str(folder / "model.safetensors"))
    # Old checkpoints also store the tied decoder weight and bias.
    tensors["cls.predictions.decoder.weight"] = tensors[
        "bert.embeddings.word_embeddings.weight"
    ]
    tensors["cls.predictions.decoder.bias"] = tensors.pop(
        "cls.predictions.bias"
    )
    _rewrite(folder, tensors)
    loaded, _ = kbi.load_checkpoint(folder, with_heads=True)
    _same(pretrainer, loaded)
    # An untied decoder cannot be represented.
    tensors["cls.predictions.decoder.weight"] = (
        tensors["cls.predictions.decoder.weight"] + 1
    )
    _rewrite(folder, tensors)
    assert "not tied" in _load_error(folder, with_heads=True)


def test_tf1_optimizer_slots_and_classifier_are_ignored(encoder, tmp_path):
    folder = kbi.save_checkpoint(encoder, tmp_path / "tf1", format="tf1")
    prefix = str(folder / "bert_model.ckpt")
    reader = tf.train.load_checkpoint(prefix)
    names = sorted(reader.get_variable_to_shape_map())
    tensors = {n: reader.get_tensor(n) for n in names}
    for name in names:
        tensors[f"{name}/adam_m"] = np.zeros_like(tensors[name])
        tensors[f"{name}/adam_v"] = np.zeros_like(tensors[name])
    tensors["global_step"] = np.array(1000, "int64")
    tensors["output_weights"] = np.zeros((3, 16), "float32")  # classifier
    tensors["output_bias"] = np.zeros((3,), "float32")
    tf.raw_ops.SaveV2(
        prefix=prefix,
        tensor_names=list(tensors),
        shape_and_slices=[""] * len(tensors),
        tensors=list(tensors.values()),
    )
    loaded, _ = kbi.load_checkpoint(folder)
    _same(encoder, loaded)
    assert "no masked-LM" in _load_error(folder, with_heads=True)


# ------------------------------------------------------------------ errors
def test_missing_tensor_is_named_with_its_shape(hf_dir):
    folder, tensors = hf_dir
    del tensors["encoder.layer.1.output.dense.weight"]
    _rewrite(folder, tensors)
    message = _load_error(folder)
    assert "missing tensor 'encoder.layer.1.output.dense.weight'" in message
    assert "expected shape [16, 32], found none" in message


def test_extra_tensor_is_named(hf_dir):
    folder, tensors = hf_dir
    tensors["encoder.layer.0.attention.self.rotary"] = np.zeros(4, "float32")
    _rewrite(folder, tensors)
    message = _load_error(folder)
    assert "unexpected tensor 'encoder.layer.0.attention.self.rotary'" in (
        message
    )
    assert "[4]" in message


def test_misshaped_tensor_names_both_shapes(hf_dir):
    folder, tensors = hf_dir
    name = "encoder.layer.0.intermediate.dense.weight"
    tensors[name] = tensors[name].T.copy()  # [in, out] instead of torch's
    _rewrite(folder, tensors)
    message = _load_error(folder)
    assert f"tensor '{name}' has shape [16, 32], expected [32, 16]" in message


def test_vocab_size_mismatch_is_explained(hf_dir):
    folder, _ = hf_dir
    config = json.loads((folder / "config.json").read_text())
    config["vocab_size"] = 30
    (folder / "config.json").write_text(json.dumps(config))
    message = _load_error(folder)
    assert "'embeddings.word_embeddings.weight' has shape [32, 16]" in message
    assert "32 rows but the config says vocab_size=30" in message
    # Also the MLM bias of a pretrainer would be mentioned; here the encoder.


def test_layer_count_mismatch_is_explained(hf_dir):
    folder, _ = hf_dir
    config = json.loads((folder / "config.json").read_text())
    config["num_hidden_layers"] = 1
    (folder / "config.json").write_text(json.dumps(config))
    message = _load_error(folder)
    assert "unexpected tensor 'encoder.layer.1." in message
    assert "the config has 1 layers" in message


def test_tf1_misshaped_tensor(encoder, tmp_path):
    folder = kbi.save_checkpoint(encoder, tmp_path / "tf1", format="tf1")
    prefix = str(folder / "bert_model.ckpt")
    reader = tf.train.load_checkpoint(prefix)
    tensors = {
        n: reader.get_tensor(n) for n in reader.get_variable_to_shape_map()
    }
    tensors["bert/pooler/dense/bias"] = np.zeros((15,), "float32")
    del tensors["bert/embeddings/LayerNorm/beta"]
    tf.raw_ops.SaveV2(
        prefix=prefix,
        tensor_names=list(tensors),
        shape_and_slices=[""] * len(tensors),
        tensors=list(tensors.values()),
    )
    message = _load_error(folder)
    assert "'bert/pooler/dense/bias' has shape [15], expected [16]" in message
    assert "missing tensor 'bert/embeddings/LayerNorm/beta'" in message


def test_with_heads_needs_heads(hf_dir):
    folder, _ = hf_dir
    assert "no masked-LM / next-sentence heads" in _load_error(
        folder, with_heads=True
    )


def test_nothing_to_load(tmp_path):
    with pytest.raises(FileNotFoundError, match="does not exist"):
        kbi.load_checkpoint(tmp_path / "nope")
    (tmp_path / "pytorch_model.bin").write_bytes(b"")
    message = _load_error(tmp_path)
    assert "No BERT checkpoint found" in message
    assert "safetensors" in message


def test_missing_config(hf_dir):
    folder, _ = hf_dir
    (folder / "config.json").unlink()
    with pytest.raises(FileNotFoundError, match="config.json"):
        kbi.load_checkpoint(folder)
