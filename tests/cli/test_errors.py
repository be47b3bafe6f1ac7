"""The CLI's user errors: one clear line on stderr, no traceback.

Each row is a mistake a user makes, run through `keras_bert_impl.cli.main`
in this process (stderr captured at the file-descriptor level, so
TensorFlow's C++ logging would count as extra lines). The command must
exit non-zero and print exactly one line that starts with
`keras-bert-impl <command>: error:` and contains every expected piece: the
value the user passed and a hint of what to do. Subprocess tests check the
same through the real entry point, and that `--debug` shows the traceback.

Errors that are not the user's (a missing package, a diverged training
run, a TensorFlow runtime error) are one line too, naming their type, with
exit status 1. Every command's `--help` shows each meaningful default once.
"""

import json
import os
import shutil
import subprocess
import sys

import pytest

from keras_bert_impl import cli

DATA = os.path.join(os.path.dirname(__file__), os.pardir, "data")
TINY_VOCAB = os.path.join(DATA, "vocab", "tiny.txt")  # 32 tokens
UNCASED_VOCAB = os.path.join(DATA, "vocab", "uncased.txt")  # 30,522 tokens
TINY_CKPT = os.path.join(DATA, "tiny_bert_for_pretraining")  # vocab 64


@pytest.fixture(scope="module")
def ws(tmp_path_factory):
    """Files the rows refer to as `{ws}/...`."""
    root = tmp_path_factory.mktemp("errors")
    (root / "corpus.txt").write_text(
        "The cat sat on the mat. It was warm.\nA dog ran home. It was fast.\n"
    )
    (root / "latin1.txt").write_bytes(b"caf\xe9 au lait\n")
    (root / "train.csv").write_text(
        "text,label\nhello world,pos\nthe dog,neg\nthe fox,pos\n"
    )
    (root / "cfg99.json").write_text(
        json.dumps(
            {
                "vocabulary_size": 99,
                "hidden_dim": 16,
                "num_layers": 1,
                "num_heads": 2,
                "intermediate_dim": 32,
            }
        )
    )
    # A checkpoint whose config.json disagrees with its weights.
    shutil.copytree(TINY_CKPT, root / "ckpt_mismatch")
    config_path = root / "ckpt_mismatch" / "config.json"
    config = json.loads(config_path.read_text())
    config["hidden_size"] = 32
    config_path.write_text(json.dumps(config))
    return str(root)


def _expand(items, ws):
    names = {
        "ws": ws,
        "tiny_vocab": TINY_VOCAB,
        "uncased_vocab": UNCASED_VOCAB,
        "tiny_ckpt": TINY_CKPT,
    }
    return [item.format(**names) for item in items]


PRETRAIN = ["pretrain", "--train", "{ws}/corpus.txt", "--logdir", "{ws}/run"]
FINETUNE = ["finetune", "--train", "{ws}/train.csv", "--output", "{ws}/ft"]

# (argv, pieces the one line must contain: the value received and a hint
# of what to do), id, marks.
ROWS = [
    # -- missing files --------------------------------------------------------
    pytest.param(
        ["vocab", "--input", "/no/such/*.txt", "--output", "{ws}/v.txt"],
        ["/no/such/*.txt", "Pass"],
        id="vocab-missing-input",
    ),
    pytest.param(
        [*PRETRAIN, "--vocab", "/no/vocab.txt"],
        ["/no/vocab.txt", "Pass"],
        id="pretrain-missing-vocab",
    ),
    pytest.param(
        [
            "pretrain",
            "--vocab",
            "{tiny_vocab}",
            "--train",
            "/no/corpus/*.txt",
            "--logdir",
            "{ws}/run",
        ],
        ["/no/corpus/*.txt", "Pass existing files"],
        id="pretrain-missing-corpus",
    ),  # fmt: skip
    pytest.param(
        ["embed", "--checkpoint", "/no/ckpt", "x"],
        ["/no/ckpt", "pass a Hugging Face directory"],
        id="embed-missing-checkpoint",
    ),
    pytest.param(
        [
            "convert",
            "--input",
            "/no/ckpt",
            "--output",
            "{ws}/out",
            "--format",
            "tf1",
        ],
        ["/no/ckpt", "Hugging Face"],
        id="convert-missing-checkpoint",
    ),  # fmt: skip
    pytest.param(
        [
            "export",
            "--model",
            "/no/model.keras",
            "--name",
            "m",
            "--root",
            "{ws}/sm",
        ],
        ["/no/model.keras", "checkpoint"],
        id="export-missing-model",
    ),  # fmt: skip
    # -- wrong vocab ----------------------------------------------------------
    pytest.param(
        [
            "embed",
            "--checkpoint",
            "{tiny_ckpt}",
            "--vocab",
            "{uncased_vocab}",
            "x",
        ],
        ["30522", "64", "Use the vocab.txt"],
        id="embed-wrong-vocab",
    ),  # fmt: skip
    pytest.param(
        [*PRETRAIN, "--vocab", "{ws}/corpus.txt"],
        ["[PAD]", "corpus.txt"],
        id="pretrain-not-a-vocab",
    ),
    pytest.param(
        [
            "export",
            "--model",
            "{tiny_ckpt}",
            "--name",
            "m",
            "--root",
            "{ws}/sm",
            "--tokenizer",
            "{uncased_vocab}",
        ],
        ["30522", "64", "vocab.txt"],
        id="export-wrong-vocab",
    ),  # fmt: skip
    pytest.param(
        ["vocab", "--input", "{ws}/latin1.txt", "--output", "{ws}/v.txt"],
        ["latin1.txt:1", "errors"],
        id="vocab-not-utf8",
    ),
    # -- checkpoint / config mismatch ----------------------------------------
    pytest.param(
        [
            "convert",
            "--input",
            "{ws}/ckpt_mismatch",
            "--output",
            "{ws}/out",
            "--format",
            "tf1",
        ],
        ["ckpt_mismatch", "hidden 32", "[16]"],
        id="convert-checkpoint-config-mismatch",
    ),  # fmt: skip
    pytest.param(
        [*PRETRAIN, "--vocab", "{tiny_vocab}", "--config", "{ws}/cfg99.json"],
        ["vocabulary_size=99", "32 tokens", "Use a vocab.txt"],
        id="pretrain-config-vocab-mismatch",
    ),
    # -- out-of-range sequence length ---------------------------------------
    pytest.param(
        [*PRETRAIN, "--vocab", "{tiny_vocab}", "--max-seq-length", "1024"],
        ["max_seq_length=1024", "max_sequence_length=512"],
        id="pretrain-seq-length-too-long",
    ),
    pytest.param(
        [*PRETRAIN, "--vocab", "{tiny_vocab}", "--max-seq-length", "0"],
        ["max_seq_length=0", "positive integer"],
        id="pretrain-seq-length-zero",
    ),
    pytest.param(
        [
            "export",
            "--model",
            "{tiny_ckpt}",
            "--name",
            "m",
            "--root",
            "{ws}/sm",
            "--tokenizer",
            "{tiny_vocab}",
            "--max-length",
            "999",
        ],
        ["max_length=999", "max_sequence_length=32"],
        id="export-seq-length-too-long",
    ),  # fmt: skip
    # -- unknown preset / task / choice ---------------------------------------
    pytest.param(
        [*PRETRAIN, "--vocab", "{tiny_vocab}", "--config", "huge"],
        ["'huge'", "preset", "tiny"],
        id="pretrain-unknown-preset",
    ),
    pytest.param(
        [
            "export",
            "--model",
            "{tiny_ckpt}",
            "--name",
            "m",
            "--root",
            "{ws}/sm",
            "--tokenizer",
            "{tiny_vocab}",
            "--task",
            "summarizer",
        ],
        ["task='summarizer'", "classifier"],
        id="export-unknown-task",
    ),  # fmt: skip
    pytest.param(
        [*PRETRAIN, "--vocab", "{tiny_vocab}", "--dtype", "float64"],
        ["'float64'", "mixed_bfloat16", "--help"],
        id="pretrain-unknown-dtype",
    ),
    pytest.param(
        ["frobnicate"],
        ["'frobnicate'", "quickstart", "--help"],
        id="unknown-command",
    ),
    # -- fine-tuning, evaluation, prediction ---------------------------------
    pytest.param(
        [
            *FINETUNE,
            "--task",
            "summarize",
            "--init",
            "tiny",
            "--vocab",
            "{tiny_vocab}",
        ],
        ["'summarize'", "classify, pair"],
        id="finetune-unknown-task",
    ),  # fmt: skip
    pytest.param(
        [
            *FINETUNE,
            "--task",
            "classify",
            "--init",
            "huge",
            "--vocab",
            "{tiny_vocab}",
        ],
        ["'huge'", "preset (tiny, mini"],
        id="finetune-unknown-preset",
    ),  # fmt: skip
    pytest.param(
        [
            *FINETUNE,
            "--task",
            "classify",
            "--init",
            "{tiny_ckpt}",
            "--vocab",
            "{uncased_vocab}",
        ],
        ["30522", "vocabulary_size=64", "Use the vocab.txt"],
        id="finetune-wrong-vocab",
    ),  # fmt: skip
    pytest.param(
        [
            *FINETUNE,
            "--task",
            "classify",
            "--init",
            "tiny",
            "--vocab",
            "/no/vocab.txt",
        ],
        ["/no/vocab.txt", "Pass"],
        id="finetune-missing-vocab",
    ),  # fmt: skip
    pytest.param(
        [
            "finetune",
            "--task",
            "classify",
            "--train",
            "/no/train.csv",
            "--output",
            "{ws}/ft",
            "--init",
            "tiny",
            "--vocab",
            "{tiny_vocab}",
        ],
        ["/no/train.csv", "Pass existing files"],
        id="finetune-missing-train",
    ),  # fmt: skip
    pytest.param(
        [
            *FINETUNE,
            "--task",
            "classify",
            "--init",
            "tiny",
            "--vocab",
            "{tiny_vocab}",
            "--max-seq-length",
            "1024",
        ],
        ["1024", "512"],
        id="finetune-seq-length-too-long",
        marks=pytest.mark.large,
    ),  # fmt: skip
    pytest.param(
        ["predict", "--model", "/no/run", "hello"],
        ["/no/run", "keras-bert-impl finetune"],
        id="predict-missing-run",
    ),
    pytest.param(
        ["evaluate", "--model", "/no/run", "--data", "{ws}/train.csv"],
        ["/no/run", "finetune"],
        id="evaluate-missing-run",
    ),
    pytest.param(
        ["predict", "--savedmodel", "/no/sm/1", "hello"],
        ["/no/sm/1", "saved_model.pb", "savedmodels/<name>/1"],
        id="predict-missing-savedmodel",
    ),
    # -- other numbers and folders --------------------------------------------
    pytest.param(
        [*PRETRAIN, "--vocab", "{tiny_vocab}", "--steps", "150"],
        ["steps=150", "steps_per_epoch=100", "must divide"],
        id="pretrain-steps-not-whole-epochs",
    ),
    pytest.param(
        [
            "pretrain",
            "--vocab",
            "{tiny_vocab}",
            "--train",
            "{ws}/corpus.txt",
            "--logdir",
            "{ws}/train.csv/run",
        ],
        ["train.csv", "is a file, not a folder"],
        id="pretrain-logdir-under-a-file",
    ),  # fmt: skip
    pytest.param(
        ["quickstart", "--workdir", "{ws}/train.csv/qs"],
        ["train.csv", "is a file, not a folder"],
        id="quickstart-workdir-under-a-file",
    ),
    pytest.param(
        ["quickstart", "--workdir", "{ws}/qs", "--pretrain-steps", "0"],
        ["pretrain_steps=0", "positive integer"],
        id="quickstart-zero-steps",
    ),
    pytest.param(
        ["quickstart", "--workdir", "{ws}/qs", "--vocab-size", "10"],
        ["vocab_size=10", "at least 100"],
        id="quickstart-vocab-too-small",
    ),
]


@pytest.mark.parametrize("argv, pieces", ROWS)
def test_user_error_is_one_clear_line(argv, pieces, ws, capfd):
    argv = _expand(argv, ws)
    try:
        code = cli.main(argv)
    except SystemExit as e:  # argparse usage errors
        code = e.code
    err = capfd.readouterr().err
    assert code not in (0, None), err
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    line = lines[0]
    assert line.startswith("keras-bert-impl"), line
    assert ": error: " in line, line
    assert "Traceback" not in err
    for piece in _expand(pieces, ws):
        assert piece in line, (piece, line)


def _run(*args):
    env = dict(os.environ)
    env.pop("TF_CPP_MIN_LOG_LEVEL", None)  # the CLI must quiet TF itself
    return subprocess.run(
        [sys.executable, "-m", "keras_bert_impl.cli", *args],
        capture_output=True,
        text=True,
        timeout=300,
        env=env,
    )


def test_real_entry_point_prints_one_line(ws):
    """No TensorFlow start-up noise around the line, exit status 2."""
    proc = _run(
        "pretrain", "--vocab", TINY_VOCAB, "--train", f"{ws}/corpus.txt",
        "--logdir", f"{ws}/run", "--max-seq-length", "1024",
    )  # fmt: skip
    assert proc.returncode == 2
    assert proc.stderr.strip().splitlines() == [
        "keras-bert-impl pretrain: error: `max_seq_length` exceeds the "
        "model's learned positions (max_sequence_length=512). Received: "
        "max_seq_length=1024"
    ]
    assert proc.stdout == ""


def test_debug_shows_the_traceback(ws):
    proc = _run(
        "--debug", "pretrain", "--vocab", TINY_VOCAB, "--train",
        f"{ws}/corpus.txt", "--logdir", f"{ws}/run", "--config",
        f"{ws}/cfg99.json",
    )  # fmt: skip
    assert proc.returncode != 0
    assert "Traceback (most recent call last)" in proc.stderr
    assert "ValueError: The vocabulary has 32 tokens" in proc.stderr


def test_debug_raises_in_process(ws):
    with pytest.raises(ValueError, match="vocabulary_size=99"):
        cli.main(
            ["--debug", *_expand(PRETRAIN, ws), "--vocab", TINY_VOCAB,
             "--config", f"{ws}/cfg99.json"]
        )  # fmt: skip


@pytest.mark.parametrize(
    "command",
    cli.COMMANDS,
)
def test_every_option_shows_its_default(command):
    """`COMMAND --help` shows each option with its default.

    `ArgumentDefaultsHelpFormatter` appends "(default: ...)" only to options
    that have a help text; an option without one shows nothing.
    """
    import argparse

    parser = cli.build_parser()
    sub = next(
        a for a in parser._actions if isinstance(a, argparse._SubParsersAction)
    )
    command_parser = sub.choices[command]
    assert issubclass(
        command_parser.formatter_class, argparse.ArgumentDefaultsHelpFormatter
    )
    missing = [
        action.option_strings[0]
        for action in command_parser._actions
        if action.option_strings and not action.required and not action.help
    ]
    assert not missing, missing


def test_top_level_help_lists_every_command_on_one_line(capsys):
    with pytest.raises(SystemExit) as e:
        cli.main(["--help"])
    assert e.value.code == 0
    out = capsys.readouterr().out
    for name in cli.COMMANDS:
        lines = [
            line for line in out.splitlines() if line.split()[:1] == [name]
        ]
        assert len(lines) == 1, (name, out)
        assert len(lines[0].split()) > 2, lines  # name + a description


# === Unexpected errors: one line naming the type, exit 1 ===


def _tensorflow_runtime_error():
    """A real `tf.errors.OpError` from `fit`: an out-of-range token id.

    Its message holds "Graph execution error:", the Python stack of the
    node and `[[{{node ...}}]]` markers around the one sentence that
    matters.
    """
    import keras
    import numpy as np

    model = keras.Sequential([keras.Input((3,)), keras.layers.Embedding(5, 2)])
    model.compile(loss="mse")
    model.fit(np.full((2, 3), 9), np.zeros((2, 3, 2)), verbose=0)


def _raise(error):
    def run(args):
        if callable(error):
            error()
        raise error

    return run


def _non_finite():
    from keras_bert_impl.training.callbacks import NonFiniteLossError

    raise NonFiniteLossError(
        "The training loss became nan at step 3 (batch 2 of this epoch); "
        "training stopped."
    )


UNEXPECTED = [
    pytest.param(
        _raise(ImportError("No module named 'tensorflow_serving'")),
        "ImportError: No module named 'tensorflow_serving'",
        id="import-error",
    ),
    pytest.param(
        _raise(_non_finite),
        "NonFiniteLossError: The training loss became nan at step 3 (batch "
        "2 of this epoch); training stopped.",
        id="non-finite-loss",
    ),
    pytest.param(
        _raise(RuntimeError("worker 1 lost\n  (collective timed out)")),
        "RuntimeError: worker 1 lost",
        id="runtime-error-first-line",
    ),
    pytest.param(
        _raise(_tensorflow_runtime_error),
        "InvalidArgumentError: indices[0,0] = 9 is not in [0, 5)",
        id="tensorflow-op-error",
    ),
    pytest.param(
        _raise(KeyError("label")),
        "KeyError: 'label'",
        id="any-other-exception",
    ),
]


@pytest.mark.parametrize("fail, expected", UNEXPECTED)
def test_unexpected_error_is_one_line_naming_its_type(
    fail, expected, monkeypatch, capfd
):
    from keras_bert_impl.cli import evaluate

    monkeypatch.setattr(evaluate, "run", fail)
    argv = ["evaluate", "--model", "m", "--data", "d.csv"]
    code = cli.main(argv)
    captured = capfd.readouterr()
    assert code == 1
    assert captured.out == ""
    assert "Traceback" not in captured.err
    assert captured.err.strip().splitlines() == [
        f"keras-bert-impl evaluate: error: {expected} (run again with "
        "--debug for the traceback)"
    ]


@pytest.mark.parametrize("fail, expected", UNEXPECTED[:2])
def test_debug_raises_unexpected_errors(fail, expected, monkeypatch):
    from keras_bert_impl.cli import evaluate

    monkeypatch.setattr(evaluate, "run", fail)
    error_type = expected.split(":")[0]
    with pytest.raises(Exception) as info:
        cli.main(["--debug", "evaluate", "--model", "m", "--data", "d.csv"])
    assert type(info.value).__name__ == error_type


def test_long_unexpected_message_is_cut(monkeypatch, capfd):
    from keras_bert_impl.cli import evaluate

    monkeypatch.setattr(evaluate, "run", _raise(RuntimeError("x" * 1000)))
    assert cli.main(["evaluate", "--model", "m", "--data", "d.csv"]) == 1
    (line,) = capfd.readouterr().err.strip().splitlines()
    assert "x" * 297 + "... (run again" in line
    assert "x" * 298 not in line


# === --help: each meaningful default once ===


def _command_parser(command):
    import argparse

    parser = cli.build_parser()
    sub = next(
        a for a in parser._actions if isinstance(a, argparse._SubParsersAction)
    )
    return sub.choices[command]


def _meaningful(action):
    default = action.default
    return not (
        action.required
        or action.nargs == 0
        or default is None
        or (isinstance(default, str | list | tuple) and not default)
    )


@pytest.mark.parametrize("command", cli.COMMANDS)
def test_help_shows_each_meaningful_default_once(command):
    """No "(default: None)" on required options or options without a
    default, no "(default: True)" on `--no-...` flags, no doubled
    "(default: ...) (default: ...)"; every other default is shown."""
    parser = _command_parser(command)
    assert issubclass(parser.formatter_class, cli.HelpFormatter)
    text = " ".join(parser.format_help().split())
    for noise in ("(default: None)", "(default: True)", "(default: False)",
                  "(default: [])", "(default: )"):  # fmt: skip
        assert noise not in text, (command, noise)
    formatter = parser._get_formatter()
    for action in parser._actions:
        if not action.help or action.dest == "help":
            continue
        shown = formatter._expand_help(action)
        name = (action.option_strings or [action.dest])[0]
        assert shown.count("(default") <= 1, (name, shown)
        if _meaningful(action):
            assert "default" in shown.lower(), (name, shown)
        elif "default" not in action.help.lower():
            assert "(default" not in shown, (name, shown)


def test_help_formatter_rules():
    import argparse

    parser = argparse.ArgumentParser(formatter_class=cli.HelpFormatter)
    parser.add_argument("--steps", type=int, default=10, help="steps")
    parser.add_argument("--name", required=True, help="a name")
    parser.add_argument("--path", help="a path")
    parser.add_argument("--no-jit", dest="jit", action="store_false", help="j")
    parser.add_argument("--fast", action="store_true", help="f")
    parser.add_argument("--root", default="out", help="root (default: here)")
    parser.add_argument("--tags", nargs="*", default=[], help="tags")
    text = " ".join(parser.format_help().split())
    assert "steps (default: 10)" in text
    assert "root (default: here) " in text + " "
    assert "(default: out)" not in text
    assert text.count("(default") == 2
