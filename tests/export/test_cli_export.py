"""`keras-bert-impl export`, and `predict_savedmodel` on its output."""

import argparse
import json
import os

import keras
import numpy as np
import pytest

from keras_bert_impl.cli import export as export_cli
from keras_bert_impl.export import predict_savedmodel
from keras_bert_impl.export import run_savedmodel
from tests.export.conftest import LABELS
from tests.export.conftest import tiny_encoder


def _parse(argv):
    parser = argparse.ArgumentParser()
    sub = parser.add_subparsers(dest="command")
    export_cli.register(sub)
    return parser.parse_args(["export", *argv])


def test_help_shows_defaults():
    parser = argparse.ArgumentParser()
    sub = parser.add_subparsers()
    help_text = export_cli.register(sub).format_help()
    assert "(default: savedmodels)" in help_text
    assert "--version" in help_text and "--overwrite" in help_text


@pytest.mark.large
def test_export_checkpoint_then_predict(tokenizer, tmp_path, capsys):
    from keras_bert_impl import save_checkpoint

    checkpoint = save_checkpoint(tiny_encoder(), tmp_path / "ckpt")
    tokenizer.save(checkpoint)
    root = tmp_path / "savedmodels"
    (root / "tiny" / "4").mkdir(parents=True)  # an older version
    args = _parse(["--model", str(checkpoint), "--name", "tiny",
                   "--root", str(root), "--no-warmup"])  # fmt: skip
    assert args.func(args) == 0
    path = root / "tiny" / "5"  # the next version
    assert f"exported {path}" in capsys.readouterr().out
    results = predict_savedmodel(path, ["hello world", ""])
    assert [r["token_ids"] for r in results] == [[2, 26, 27, 3], [2, 3, 0, 0]]
    assert len(results[0]["pooled_output"]) == 16
    with pytest.raises(ValueError, match="one text; `pairs` must be None"):
        predict_savedmodel(path, ["a"], pairs=["b"])
    # `keras-bert-impl predict --savedmodel`: one JSON line per text.
    ns = argparse.Namespace(savedmodel=str(path), texts=["hello", "world"])
    assert run_savedmodel(ns) == 0
    lines = [json.loads(x) for x in capsys.readouterr().out.splitlines()]
    assert [x["text"] for x in lines] == ["hello", "world"]
    assert lines[0]["token_ids"] == [2, 26, 3]
    assert "sequence_output" not in lines[0]
    with pytest.raises(ValueError, match="Received: texts=\\[\\]"):
        run_savedmodel(argparse.Namespace(savedmodel=str(path), texts=[]))
    args = _parse(["--model", str(checkpoint), "--name", "tiny",
                   "--root", str(root), "--version", "5"])  # fmt: skip
    with pytest.raises(FileExistsError, match="overwrite"):
        args.func(args)


def test_missing_inputs_are_clear(tmp_path):
    args = _parse(["--model", str(tmp_path / "nope"), "--name", "x"])
    with pytest.raises(FileNotFoundError, match="No model at"):
        args.func(args)
    with pytest.raises(FileNotFoundError, match="No SavedModel"):
        predict_savedmodel(tmp_path, ["a"])


@pytest.mark.large
def test_export_keras_classifier_file(tokenizer, tmp_path):
    from tests.export.conftest import task_model

    model = task_model("classifier")  # label names and text_pair inside
    model.save(tmp_path / "model.keras")
    tokenizer.save(tmp_path)
    args = _parse(["--model", str(tmp_path / "model.keras"), "--name", "clf",
                   "--root", str(tmp_path / "sm")])  # fmt: skip
    assert args.func(args) == 0
    path = tmp_path / "sm" / "clf" / "1"
    assert os.path.isfile(path / "assets.extra" / "tf_serving_warmup_requests")
    results = predict_savedmodel(path, ["a fox"], pairs=["the dog"])
    assert results[0]["label"] in LABELS
    assert results[0]["label_names"] == list(LABELS)
    with pytest.raises(ValueError, match="second input"):
        predict_savedmodel(path, ["a fox"])
    # The label equals the reloaded .keras model's argmax.
    loaded = keras.saving.load_model(tmp_path / "model.keras")
    logits = loaded(tokenizer.encode(["a fox"], ["the dog"], 16))
    assert results[0]["label"] == LABELS[int(np.argmax(logits[0]))]


@pytest.mark.large
def test_predict_savedmodel_multiple_choice_line(task_export, capsys):
    _, path = task_export("multiple_choice")
    ns = argparse.Namespace(savedmodel=path, texts=["the fox", "a dog"],
                            text_pair=["hello | world", "b|c"])  # fmt: skip
    assert run_savedmodel(ns) == 0
    lines = [json.loads(x) for x in capsys.readouterr().out.splitlines()]
    assert lines[0]["pair"] == ["hello", "world"]
    assert lines[0]["answer"] in ("hello", "world")
    assert lines[1]["answer"] in ("b", "c")
    assert len(lines[1]["probabilities"]) == 2
    ns.text_pair = ["a|b", "c"]
    with pytest.raises(ValueError, match="same number of choices"):
        run_savedmodel(ns)
