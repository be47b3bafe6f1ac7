"""`keras-bert-impl convert`, through `keras_bert_impl.cli.main`."""

from pathlib import Path

import numpy as np
import pytest

import keras_bert_impl as kbi
from keras_bert_impl import cli
from keras_bert_impl.cli import main

DATA = Path(__file__).resolve().parents[1] / "data"


@pytest.fixture(autouse=True)
def _only_convert(monkeypatch):
    # Register only the command under test, so these tests neither depend
    # on nor import the other subcommands' modules.
    monkeypatch.setattr(cli, "COMMANDS", ("convert",))


def _same(a, b):
    for x, y in zip(a.get_weights(), b.get_weights(), strict=True):
        np.testing.assert_array_equal(x, y)


def test_convert_hf_to_tf1_and_back(tmp_path, capsys):
    source = DATA / "tiny_bert_for_pretraining"
    original, _ = kbi.load_checkpoint(source, with_heads=True)
    tf1_dir, hf_dir = tmp_path / "tf1", tmp_path / "hf"
    argv = ["convert", "--input", str(source), "--output", str(tf1_dir)]
    assert main([*argv, "--format", "tf1"]) == 0
    assert "hf -> tf1 (encoder + pretraining heads" in capsys.readouterr().out
    assert (tf1_dir / "bert_model.ckpt.index").is_file()
    argv = ["convert", "--input", str(tf1_dir), "--output", str(hf_dir)]
    assert main([*argv, "--format", "hf"]) == 0
    _same(original, kbi.load_checkpoint(hf_dir, with_heads=True)[0])
    # Refuses to overwrite, then does with --overwrite; --encoder-only.
    assert main([*argv, "--format", "hf", "--encoder-only"]) == 2
    assert "overwrite" in capsys.readouterr().err
    argv += ["--format", "hf", "--encoder-only", "--overwrite"]
    assert main(argv) == 0
    assert not kbi.checkpoints.checkpoint_has_heads(hf_dir)
    _same(original.encoder, kbi.load_checkpoint(hf_dir)[0])


def test_convert_copies_vocab(tmp_path, tiny_config):
    source = kbi.save_checkpoint(kbi.build_encoder(tiny_config), tmp_path / "a")
    (source / "vocab.txt").write_text("[PAD]\n")
    argv = ["convert", "--input", str(source), "--output", str(tmp_path / "b")]
    assert main([*argv, "--format", "tf1"]) == 0
    assert (tmp_path / "b" / "vocab.txt").read_text() == "[PAD]\n"


def test_convert_errors_are_one_line(tmp_path, capsys):
    argv = ["convert", "--input", str(tmp_path / "missing")]
    assert main([*argv, "--output", str(tmp_path / "o"), "--format", "hf"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("keras-bert-impl convert: error: No checkpoint at")
    with pytest.raises(SystemExit):
        main(["convert", "--input", "x", "--output", "y", "--format", "pt"])
