"""`keras-bert-impl export`, then `predict_savedmodel` and `keras-bert-impl
predict --savedmodel` on its output."""

import argparse
import json
import os
import shutil

import keras
import numpy as np
import pytest

from keras_bert_impl import cli
from keras_bert_impl.cli import export as export_cli
from keras_bert_impl.export import predict_savedmodel
from tests.export.conftest import LABELS
from tests.export.conftest import SENTIMENT_LABELS
from tests.export.conftest import VOCAB
from tests.export.conftest import tiny_encoder


def _predict(argv, capsys):
    """`keras-bert-impl predict ...` in this process: (exit code, JSON
    lines on stdout, stderr)."""
    capsys.readouterr()
    code = cli.main(["predict", *map(str, argv)])
    out, err = capsys.readouterr()
    return code, [json.loads(line) for line in out.splitlines()], err


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
    out = capsys.readouterr().out
    assert f"exported {path}" in out
    # The `docker run` line that serves it: the model folder, and the XLA
    # flag TF Serving needs (small requests of the default export run
    # XLA-compiled on a CPU host).
    assert (
        f"serve it: docker run -p 8501:8501 -v {root / 'tiny'}:/models/tiny "
        "-e MODEL_NAME=tiny tensorflow/serving "
        "--xla_cpu_compilation_enabled=true  (flags: "
    ) in out
    results = predict_savedmodel(path, ["hello world", ""])
    assert [r["token_ids"] for r in results] == [[2, 26, 27, 3], [2, 3, 0, 0]]
    assert len(results[0]["pooled_output"]) == 16
    with pytest.raises(ValueError, match="one text: leave out `pairs`"):
        predict_savedmodel(path, ["a"], pairs=["b"])
    # `keras-bert-impl predict --savedmodel`: one JSON line per text.
    code, lines, _ = _predict(["--savedmodel", path, "hello", "world"], capsys)
    assert code == 0
    assert [x["text"] for x in lines] == ["hello", "world"]
    assert lines[0]["token_ids"] == [2, 26, 3]
    assert len(lines[0]["pooled_output"]) == 16
    assert "sequence_output" not in lines[0]
    args = _parse(["--model", str(checkpoint), "--name", "tiny",
                   "--root", str(root), "--version", "5"])  # fmt: skip
    with pytest.raises(FileExistsError, match="overwrite"):
        args.func(args)
    # Without XLA, no XLA flag.
    args = _parse(["--model", str(checkpoint), "--name", "tiny",
                   "--root", str(root), "--no-warmup", "--no-xla"])  # fmt: skip
    assert args.func(args) == 0
    out = capsys.readouterr().out
    assert "-e MODEL_NAME=tiny tensorflow/serving  (flags: " in out
    assert "xla_cpu_compilation_enabled" not in out


@pytest.mark.parametrize(
    "trained_lower_case, cased, expected",
    [(False, False, False), (True, False, True), (True, True, False)],
)
def test_tokenizer_casing_of_a_finetune_run(
    trained_lower_case, cased, expected, tmp_path
):
    """A run folder's tokenizer keeps the casing it was trained with (a
    first-release run folder: the casing only in its config)."""
    from keras_bert_impl.checkpoints.resolve import load_tokenizer

    shutil.copyfile(VOCAB, tmp_path / "vocab.txt")
    (tmp_path / "finetune_config.json").write_text(
        json.dumps({"task": "classify", "lower_case": trained_lower_case})
    )
    tokenizer = load_tokenizer(
        str(tmp_path), lower_case=False if cased else None
    )
    assert tokenizer.lower_case is expected


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
    code, lines, _ = _predict(
        ["--savedmodel", path, "the fox", "a dog",
         "--text-pair", "hello | world", "--text-pair", "b|c"],
        capsys,
    )  # fmt: skip
    assert code == 0
    assert lines[0]["text_pair"] == ["hello", "world"]
    assert lines[0]["answer"] in ("hello", "world")
    assert lines[1]["answer"] in ("b", "c")
    assert len(lines[1]["probabilities"]) == 2
    code, lines, err = _predict(
        ["--savedmodel", path, "the fox", "a dog",
         "--text-pair", "a|b", "--text-pair", "c"],
        capsys,
    )  # fmt: skip
    assert code == 2 and lines == []
    assert "same number of choices" in err


@pytest.mark.large
def test_predict_savedmodel_finetuned_classifier(finetuned_export, capsys):
    """`finetune` -> `export` -> `predict --savedmodel`, as a user runs it:
    each JSON line holds the text, a label name and the probabilities of
    every label, and the label is the fine-tuned Keras model's argmax."""
    from keras_bert_impl.tokenization.bert_tokenizer import BertTokenizer

    run, path = finetuned_export
    texts = ["a wonderful, moving film", "I fell asleep twice", ""]
    code, lines, err = _predict(
        ["--savedmodel", path, *texts, "--batch-size", "2"], capsys
    )
    assert code == 0, err
    assert [line["text"] for line in lines] == texts
    model = keras.saving.load_model(run / "model.keras")
    tokenizer = BertTokenizer(run / "vocab.txt")
    logits = np.asarray(model(tokenizer.encode(texts, max_length=32)))
    for line, row in zip(lines, logits, strict=True):
        assert line["label_names"] == list(SENTIMENT_LABELS)
        assert len(line["probabilities"]) == 2
        assert sum(line["probabilities"]) == pytest.approx(1.0, abs=1e-5)
        assert line["label"] == SENTIMENT_LABELS[int(np.argmax(row))]
        probabilities = np.exp(row - row.max()) / np.exp(row - row.max()).sum()
        np.testing.assert_allclose(line["probabilities"], probabilities, 1e-5)
        assert "sequence_output" not in line
    # The same through --input (one text per line) and --output.
    texts_file = run.parent / "texts.txt"
    texts_file.write_text("not bad at all\nthe plot makes no sense\n")
    target = run.parent / "predictions.jsonl"
    argv = ["predict", "--savedmodel", path, "--input", str(texts_file),
            "--output", str(target)]  # fmt: skip
    assert cli.main(argv) == 0
    assert capsys.readouterr().out == f"wrote 2 predictions to {target}\n"
    rows = [json.loads(x) for x in target.read_text().splitlines()]
    assert [r["text"] for r in rows] == ["not bad at all",
                                         "the plot makes no sense"]  # fmt: skip
    assert all(r["label"] in SENTIMENT_LABELS for r in rows)
    # A second text for a one-text model: one line on stderr, exit 2.
    code, lines, err = _predict(
        ["--savedmodel", path, "a", "--text-pair", "b"], capsys
    )
    assert (code, lines) == (2, [])
    assert err.strip().splitlines() == [
        "keras-bert-impl predict: error: This model takes one text: leave "
        "out `pairs` (--text-pair). Received: 1 pairs"
    ]
