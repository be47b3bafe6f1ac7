"""Interrupted and concurrent commands, as an operator sees them.

The real `keras-bert-impl` command runs in a subprocess and is SIGKILLed
at seeded random moments (10 times each for `finetune --overwrite`,
`pretrain` and `export`). After every kill the folder it wrote must hold
either the old complete state or the new complete one: never a model
with another run's vocabulary, never a visible half-written version.
Two exports race for one version; a corpus with a bad byte on line 1362
stops 20 times in a row, within 60 s, with one line and exit status 2.
"""

import hashlib
import json
import os
import random
import signal
import subprocess
import time

import pytest

from tests.reliability.conftest import cli_command
from tests.reliability.conftest import env
from tests.reliability.conftest import finetune_args
from tests.reliability.conftest import one_error_line
from tests.reliability.conftest import permuted_vocab
from tests.reliability.conftest import pretrain_args
from tests.reliability.conftest import run_cli
from tests.reliability.conftest import write_corpus

TRIES = 10


def _start(argv, log):
    return subprocess.Popen(
        cli_command(*argv), stdout=log, stderr=subprocess.STDOUT, env=env()
    )


def _kill_after(process, seconds):
    """SIGKILLs `process` after `seconds` (or lets it end before)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            return False
        time.sleep(0.02)
    process.send_signal(signal.SIGKILL)
    process.wait(timeout=60)
    return True


def _digest(path):
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


def _timed(argv, tmp_path):
    """Runs `argv` to the end once; returns its wall time."""
    start = time.monotonic()
    result = run_cli(*argv)
    assert result.returncode == 0, result.stderr[-3000:]
    return time.monotonic() - start


@pytest.mark.large
def test_sigkill_during_finetune_overwrite(workspace, tmp_path):
    """Every kill leaves the run folder as it was or the new run complete:
    the model always goes with the vocabulary it was trained on."""
    import keras_bert_impl as kbi

    run = tmp_path / "run"
    vocabs = [permuted_vocab(tmp_path / f"v{i}.txt", seed=i) for i in (1, 2)]
    duration = _timed(finetune_args(workspace, run, vocab=vocabs[0]), tmp_path)
    assert _digest(run / "vocab.txt") == _digest(vocabs[0])
    rng = random.Random(1234)
    killed = 0
    log = open(tmp_path / "log.txt", "ab")  # noqa: SIM115
    try:
        for attempt in range(TRIES):
            old = {n: _digest(run / n) for n in ("model.keras", "vocab.txt")}
            # The other vocabulary than the folder's: a mix would show.
            vocab = next(v for v in vocabs if _digest(v) != old["vocab.txt"])
            argv = finetune_args(workspace, run, "--overwrite", vocab=vocab,
                                 seed=attempt + 1)  # fmt: skip
            process = _start(argv, log)
            killed += _kill_after(process, rng.uniform(0.5, duration * 1.1))
            now = {n: _digest(run / n) for n in ("model.keras", "vocab.txt")}
            if now != old:  # the new run completed: all of it is new
                assert now["vocab.txt"] == _digest(vocab)
                config = json.loads((run / "finetune_config.json").read_text())
                assert config["seed"] == attempt + 1
            else:
                assert now["vocab.txt"] != _digest(vocab)
            model, tokenizer = kbi.load_finetuned(run)  # loads, and agrees
            assert tokenizer.vocabulary == kbi.read_vocab(run / "vocab.txt")
            leftovers = [
                n
                for n in os.listdir(tmp_path)
                if n.startswith(".run.") and ".partial-" not in n
            ]
            assert leftovers == []  # nothing moved aside and lost
    finally:
        log.close()
    assert killed >= TRIES // 2  # most tries were really interrupted


@pytest.mark.large
def test_sigkill_during_pretraining(workspace, tmp_path):
    """After any kill the run folder's encoder loads with its vocabulary,
    the newest training state loads, and the run resumes to the end."""
    import keras_bert_impl as kbi

    logdir = tmp_path / "run"
    argv = pretrain_args(workspace, logdir, steps=40)
    rng = random.Random(99)
    log = open(tmp_path / "log.txt", "ab")  # noqa: SIM115
    killed = 0
    try:
        for _ in range(TRIES):
            process = _start(argv, log)
            killed += _kill_after(process, rng.uniform(4.0, 10.0))
            encoder_dir = logdir / "encoder"
            if encoder_dir.exists():
                encoder, config = kbi.load_checkpoint(encoder_dir)
                tokenizer = kbi.load_tokenizer(logdir)
                assert tokenizer.vocabulary_size == config.vocabulary_size
                assert (encoder_dir / "tokenizer_config.json").is_file()
            pointer = logdir / "checkpoints" / "latest.json"
            if pointer.exists():
                latest = json.loads(pointer.read_text())
                state = logdir / "checkpoints" / latest["path"] / "state.npz"
                assert state.is_file()
        result = run_cli(*argv)  # resume to the end
        assert result.returncode == 0, result.stderr[-3000:]
    finally:
        log.close()
    latest = json.loads((logdir / "checkpoints" / "latest.json").read_text())
    assert latest["step"] == 40
    assert killed >= TRIES // 2
    names = os.listdir(logdir / "checkpoints")
    assert [n for n in names if ".partial-" in n] == []  # cleaned up


@pytest.mark.large
def test_sigkill_during_export(workspace, tmp_path):
    """A server polling savedmodels/<name>/ sees a complete version or
    none: every kill leaves `1` loadable (or absent), and the next export
    removes what the killed ones left."""
    import tensorflow as tf

    root = tmp_path / "sm"
    argv = ["export", "--model", workspace["checkpoint"], "--name", "m",
            "--root", root, "--version", "1", "--overwrite", "--no-xla",
            "--no-warmup"]  # fmt: skip
    duration = _timed(argv, tmp_path)
    rng = random.Random(7)
    log = open(tmp_path / "log.txt", "ab")  # noqa: SIM115
    killed = 0
    try:
        for _ in range(TRIES):
            process = _start(argv, log)
            killed += _kill_after(process, rng.uniform(0.5, duration * 1.1))
            visible = [n for n in os.listdir(root / "m") if n.isdigit()]
            assert visible == ["1"]
            loaded = tf.saved_model.load(str(root / "m" / "1"))
            assert "serving_default" in loaded.signatures
    finally:
        log.close()
    assert killed >= TRIES // 2
    assert run_cli(*argv).returncode == 0
    assert sorted(os.listdir(root / "m")) == ["1"]  # no staging left


@pytest.mark.large
def test_two_exports_race_for_one_version(workspace, tmp_path):
    root = tmp_path / "sm"
    argv = [
        "export",
        "--model",
        workspace["checkpoint"],
        "--name",
        "m",
        "--root",
        root,
        "--version",
        "1",
        "--no-xla",
        "--no-warmup",
    ]
    processes = [
        subprocess.Popen(cli_command(*argv), stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, text=True, env=env())
        for _ in range(2)
    ]  # fmt: skip
    results = [p.communicate(timeout=600) + (p.returncode,) for p in processes]
    codes = sorted(code for _, _, code in results)
    assert codes == [0, 2], results
    loser_err = next(err for _, err, code in results if code == 2)
    line = one_error_line(loser_err)
    assert "m/1" in line and ("run again" in line or "--overwrite" in line)
    assert sorted(os.listdir(root / "m")) == ["1"]
    import tensorflow as tf

    assert (
        "serving_default"
        in tf.saved_model.load(str(root / "m" / "1")).signatures
    )


@pytest.mark.large
def test_bad_byte_late_in_the_corpus_always_exits(workspace, tmp_path):
    """Found before training, named with its line, exit 2, every time."""
    corpus = write_corpus(tmp_path / "late.txt", bad_line=1362)
    argv = pretrain_args(workspace, tmp_path / "run", steps=400)
    argv[argv.index(workspace["corpus"])] = corpus
    for _ in range(20):
        start = time.monotonic()
        result = run_cli(*argv, timeout=60)
        assert time.monotonic() - start < 60
        assert result.returncode == 2, result.stderr[-2000:]
        line = one_error_line(result.stderr)
        assert "late.txt:1362" in line and "--encoding-errors" in line
