"""Saving and reloading checkpoints: lossless in and across both formats."""

import json
import os
from pathlib import Path

import numpy as np
import pytest
import tensorflow as tf
from safetensors import safe_open
from safetensors.numpy import load_file

import keras_bert_impl as kbi
from keras_bert_impl.checkpoints import hf
from keras_bert_impl.checkpoints import tf1
from keras_bert_impl.checkpoints.layout import model_variables

DATA = Path(__file__).resolve().parents[1] / "data"


@pytest.fixture
def encoder(tiny_config):
    return kbi.build_encoder(tiny_config)


@pytest.fixture
def pretrainer(encoder):
    model = kbi.BertPretrainer(encoder)
    # Non-trivial head weights (the initial biases are zeros).
    rng = np.random.default_rng(0)
    model.set_weights(
        [rng.normal(size=w.shape).astype("float32") for w in model.weights]
    )
    return model


def _assert_same_weights(a, b):
    wa, wb = a.get_weights(), b.get_weights()
    assert len(wa) == len(wb)
    for x, y in zip(wa, wb, strict=True):
        assert x.dtype == y.dtype == np.float32
        np.testing.assert_array_equal(x, y)  # bit-identical


def _names(path):
    with safe_open(str(path / "model.safetensors"), "numpy") as f:
        return set(f.keys())


@pytest.mark.parametrize("fmt", ["hf", "tf1"])
def test_encoder_round_trip_is_lossless(encoder, tiny_config, fmt, tmp_path):
    folder = kbi.save_checkpoint(encoder, tmp_path / "ckpt", format=fmt)
    loaded, config = kbi.load_checkpoint(folder)
    assert isinstance(loaded, kbi.BertEncoder)
    assert config == tiny_config
    _assert_same_weights(encoder, loaded)


@pytest.mark.parametrize("fmt", ["hf", "tf1"])
def test_pretrainer_round_trip_is_lossless(pretrainer, fmt, tmp_path):
    folder = kbi.save_checkpoint(pretrainer, tmp_path / "ckpt", format=fmt)
    loaded, _ = kbi.load_checkpoint(folder, with_heads=True)
    assert isinstance(loaded, kbi.BertPretrainer)
    _assert_same_weights(pretrainer, loaded)
    # The MLM projection stays tied to the token embedding.
    assert (
        loaded.masked_lm_head.token_embedding is loaded.encoder.token_embedding
    )
    # The encoder alone loads from a checkpoint with heads.
    encoder, _ = kbi.load_checkpoint(folder)
    _assert_same_weights(pretrainer.encoder, encoder)


def test_cross_format_round_trip(pretrainer, tmp_path):
    first = kbi.save_checkpoint(pretrainer, tmp_path / "hf1", format="hf")
    model, _ = kbi.load_checkpoint(first, with_heads=True)
    mid = kbi.save_checkpoint(model, tmp_path / "tf1", format="tf1")
    model, _ = kbi.load_checkpoint(mid, with_heads=True)
    last = kbi.save_checkpoint(model, tmp_path / "hf2", format="hf")
    _assert_same_weights(pretrainer, kbi.load_checkpoint(last, True)[0])
    assert (first / "model.safetensors").read_bytes() == (
        last / "model.safetensors"
    ).read_bytes()
    assert json.loads((first / "config.json").read_text()) == json.loads(
        (last / "config.json").read_text()
    )


def test_gelu_approximate_survives_both_formats(tiny_config, tmp_path):
    config = tiny_config.replace(hidden_activation="gelu_approximate")
    encoder = kbi.build_encoder(config)
    for fmt in ("hf", "tf1"):
        folder = kbi.save_checkpoint(encoder, tmp_path / fmt, format=fmt)
        assert kbi.load_checkpoint(folder)[1] == config
    google = json.loads((tmp_path / "tf1" / "bert_config.json").read_text())
    assert google["hidden_act"] == "gelu"  # Google's gelu is the tanh form


def test_hf_names_encoder_and_pretrainer(encoder, pretrainer, tmp_path):
    bare = kbi.save_checkpoint(encoder, tmp_path / "bare")
    names = _names(bare)
    assert "embeddings.word_embeddings.weight" in names
    assert "encoder.layer.1.attention.self.query.weight" in names
    assert "pooler.dense.weight" in names
    assert not any(n.startswith(("bert.", "cls.")) for n in names)
    config = json.loads((bare / "config.json").read_text())
    assert config["architectures"] == ["BertModel"]
    assert config["hidden_size"] == encoder.hidden_dim

    full = kbi.save_checkpoint(pretrainer, tmp_path / "full")
    names = _names(full)
    assert "bert.embeddings.word_embeddings.weight" in names
    assert {
        "cls.predictions.transform.dense.weight",
        "cls.predictions.transform.LayerNorm.weight",
        "cls.predictions.bias",
        "cls.seq_relationship.weight",
        "cls.seq_relationship.bias",
    } <= names
    assert "cls.predictions.decoder.weight" not in names  # tied, not stored
    assert json.loads((full / "config.json").read_text())["architectures"] == [
        "BertForPreTraining"
    ]
    with safe_open(str(full / "model.safetensors"), "numpy") as f:
        assert f.metadata() == {"format": "pt"}
        # torch layout: [out, in]
        kernel = pretrainer.encoder.get_layer("transformer_layer_0").key_dense
        np.testing.assert_array_equal(
            f.get_tensor("bert.encoder.layer.0.attention.self.key.weight"),
            kernel.kernel.numpy().T,
        )


def test_tf1_names_readable_by_tensorflow(pretrainer, tmp_path):
    folder = kbi.save_checkpoint(pretrainer, tmp_path / "tf1", format="tf1")
    assert tf.train.latest_checkpoint(str(folder)) == str(
        folder / "bert_model.ckpt"
    )
    reader = tf.train.load_checkpoint(str(folder / "bert_model.ckpt"))
    shapes = reader.get_variable_to_shape_map()
    h = pretrainer.encoder.hidden_dim
    assert set(shapes) == set(tf1.name_table(2, with_heads=True))
    assert shapes["cls/seq_relationship/output_weights"] == [2, h]
    assert shapes["bert/encoder/layer_0/intermediate/dense/kernel"] == [
        h,
        pretrainer.encoder.intermediate_dim,
    ]
    nsp = pretrainer.next_sentence_head.dense.kernel.numpy()
    np.testing.assert_array_equal(
        reader.get_tensor("cls/seq_relationship/output_weights"), nsp.T
    )
    google = json.loads((folder / "bert_config.json").read_text())
    assert google["num_hidden_layers"] == 2
    assert "layer_norm_eps" not in google


@pytest.mark.parametrize("fmt", ["hf", "tf1"])
def test_detects_format_from_file_or_prefix(encoder, fmt, tmp_path):
    folder = kbi.save_checkpoint(encoder, tmp_path / "c", format=fmt)
    if fmt == "hf":
        paths = [folder / "model.safetensors", folder / "config.json"]
    else:
        prefix = folder / "bert_model.ckpt"
        paths = [
            prefix,
            folder / "bert_model.ckpt.index",
            folder / "bert_model.ckpt.data-00000-of-00001",
            folder / "bert_config.json",
        ]
    for path in paths:
        loaded, _ = kbi.load_checkpoint(str(path))
        _assert_same_weights(encoder, loaded)


def test_vocab_is_copied(encoder, tmp_path):
    vocab = tmp_path / "vocab.txt"
    vocab.write_text("[PAD]\n[UNK]\n")
    folder = kbi.save_checkpoint(
        encoder, tmp_path / "c", format="tf1", vocab=vocab
    )
    assert (folder / "vocab.txt").read_text() == "[PAD]\n[UNK]\n"
    with pytest.raises(FileNotFoundError, match="vocab"):
        kbi.save_checkpoint(
            encoder, tmp_path / "d", vocab=tmp_path / "missing.txt"
        )
    assert not (tmp_path / "d").exists()


def test_refuses_to_overwrite_unless_asked(encoder, tiny_config, tmp_path):
    target = tmp_path / "c"
    target.mkdir()  # an empty folder is fine
    kbi.save_checkpoint(encoder, target)
    with pytest.raises(FileExistsError, match="overwrite"):
        kbi.save_checkpoint(encoder, target)
    other = kbi.build_encoder(tiny_config)
    kbi.save_checkpoint(other, target, format="tf1", overwrite=True)
    assert sorted(os.listdir(target)) == [
        "bert_config.json",
        "bert_model.ckpt.data-00000-of-00001",
        "bert_model.ckpt.index",
        "checkpoint",
    ]
    _assert_same_weights(other, kbi.load_checkpoint(target)[0])
    # Nothing but the target is left in the parent folder (no temp dirs).
    assert os.listdir(tmp_path) == ["c"]
    (tmp_path / "file").write_text("x")
    with pytest.raises(NotADirectoryError, match="is a file, not a folder"):
        kbi.save_checkpoint(encoder, tmp_path / "file", overwrite=True)


def test_failed_save_leaves_nothing(encoder, tmp_path, monkeypatch):
    def fail(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(hf, "save_file", fail, raising=False)
    import safetensors.numpy

    monkeypatch.setattr(safetensors.numpy, "save_file", fail)
    with pytest.raises(OSError, match="disk full"):
        kbi.save_checkpoint(encoder, tmp_path / "c")
    assert os.listdir(tmp_path) == []


def test_tf1_rejects_other_layer_norm_epsilon(tiny_config, tmp_path):
    encoder = kbi.build_encoder(tiny_config.replace(layer_norm_epsilon=1e-5))
    with pytest.raises(ValueError, match="epsilon"):
        kbi.save_checkpoint(encoder, tmp_path / "c", format="tf1")
    assert not (tmp_path / "c").exists()
    kbi.save_checkpoint(encoder, tmp_path / "c", format="hf")  # fine in HF
    assert kbi.load_checkpoint(tmp_path / "c")[1].layer_norm_epsilon == 1e-5


def test_save_rejects_bad_arguments(encoder, tmp_path):
    with pytest.raises(ValueError, match="format"):
        kbi.save_checkpoint(encoder, tmp_path / "c", format="pt")
    with pytest.raises(ValueError, match="BertEncoder, a BertPretrainer or a"):
        kbi.save_checkpoint("model", tmp_path / "c")


def test_load_with_dtype_policy(encoder, tiny_inputs, tmp_path):
    folder = kbi.save_checkpoint(encoder, tmp_path / "c")
    loaded, _ = kbi.load_checkpoint(folder, dtype="mixed_bfloat16")
    block = loaded.get_layer("transformer_layer_0")
    assert block.dtype_policy.name == "mixed_bfloat16"
    _assert_same_weights(encoder, loaded)  # float32 variables, exact
    out = loaded(tiny_inputs)["sequence_output"]
    assert out.dtype == "bfloat16"


def test_hf_output_matches_save_pretrained(tmp_path):
    # The tiny BertForPreTraining in tests/data was written by transformers'
    # save_pretrained: re-saving it must give the same names and tensors.
    source = DATA / "tiny_bert_for_pretraining"
    model, _ = kbi.load_checkpoint(source, with_heads=True)
    folder = kbi.save_checkpoint(model, tmp_path / "again")
    original = load_file(str(source / "model.safetensors"))
    again = load_file(str(folder / "model.safetensors"))
    assert set(again) == set(original) - {"bert.embeddings.position_ids"}
    for name, array in again.items():
        np.testing.assert_array_equal(array, original[name], err_msg=name)
    theirs = json.loads((source / "config.json").read_text())
    ours = json.loads((folder / "config.json").read_text())
    for key, value in ours.items():
        assert theirs.get(key, value) == value, key


def test_tf1_checkpoint_interoperates_with_tf1_saver(pretrainer, tmp_path):
    """Our TF1 files restore into TF1 variables, and a TF1 Saver's load."""
    folder = kbi.save_checkpoint(pretrainer, tmp_path / "ours", format="tf1")
    table = tf1.name_table(2, with_heads=True)
    ours = model_variables(pretrainer.encoder, pretrainer)
    expected = {}
    for name, (canonical, transpose) in table.items():
        array = ours[canonical].numpy()
        expected[name] = array.T if transpose else array
    theirs = tmp_path / "theirs"
    theirs.mkdir()
    graph = tf.Graph()
    with graph.as_default(), tf.compat.v1.Session(graph=graph) as sess:
        variables = {
            name: tf.compat.v1.get_variable(name, shape=array.shape)
            for name, array in expected.items()
        }
        slots = [
            tf.compat.v1.get_variable(f"{name}/adam_{m}", shape=array.shape)
            for name, array in expected.items()
            for m in "mv"
        ]
        step = tf.compat.v1.train.get_or_create_global_step()
        saver = tf.compat.v1.train.Saver([*variables.values(), *slots, step])
        sess.run(tf.compat.v1.global_variables_initializer())
        # 1. The original code's restore reads what this package wrote.
        tf.compat.v1.train.Saver(variables).restore(
            sess, str(folder / "bert_model.ckpt")
        )
        for name, variable in variables.items():
            np.testing.assert_array_equal(sess.run(variable), expected[name])
        # 2. A TF1 Saver checkpoint (with Adam slots and global_step) loads.
        saver.save(sess, str(theirs / "model.ckpt"), global_step=step)
    (theirs / "bert_config.json").write_text(
        (folder / "bert_config.json").read_text()
    )
    loaded, _ = kbi.load_checkpoint(theirs, with_heads=True)
    _assert_same_weights(pretrainer, loaded)


def test_dropout_override_on_load():
    """`dropout=` replaces the stored rates (fine-tuning an encoder that
    was pretrained without dropout); the weights are the same."""
    import pathlib

    from keras_bert_impl.checkpoints.io import load_checkpoint
    from keras_bert_impl.training.finetune import build_task_model

    path = (
        pathlib.Path(__file__).parents[1] / "data" / "tiny_bert_for_pretraining"
    )
    stored, stored_config = load_checkpoint(path)
    encoder, config = load_checkpoint(path, dropout=0.25)
    assert (config.dropout, config.attention_dropout) == (0.25, 0.25)
    assert stored_config.dropout != 0.25
    rates = {
        layer.rate
        for layer in encoder._flatten_layers()
        if type(layer).__name__ == "Dropout"
    }
    assert rates == {0.25}
    for a, b in zip(stored.weights, encoder.weights, strict=True):
        np.testing.assert_array_equal(a.numpy(), b.numpy())
    model = build_task_model(
        "classify", bert_config=stored_config, num_classes=2,
        encoder_dropout=0.0,
    )  # fmt: skip
    assert model.encoder.dropout == 0.0
