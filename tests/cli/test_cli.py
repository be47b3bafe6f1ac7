"""The `keras-bert-impl` front door: help, the embed job, error lines."""

import os
import subprocess
import sys

import numpy as np
import pytest

from keras_bert_impl import cli


def _run(*args, timeout=300):
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3")
    return subprocess.run(
        [sys.executable, "-m", "keras_bert_impl.cli", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env=env,
    )


def test_help_lists_every_command():
    proc = _run("--help")
    assert proc.returncode == 0, proc.stderr
    for name in cli.COMMANDS:
        assert f"    {name} " in proc.stdout, name
        sub = _run(name, "--help")
        assert sub.returncode == 0, (name, sub.stderr)
        # convert's and evaluate's options are required, flags or without
        # a default (test_errors.py checks every default of every command).
        has_defaults = name not in ("convert", "evaluate")
        assert ("(default:" in sub.stdout) == has_defaults, name


def test_embed_real_checkpoint(tmp_path):
    out = tmp_path / "emb.npy"
    proc = _run(
        "embed",
        "A man is playing a guitar.",
        "Someone is strumming a six-string instrument.",
        "The central bank raised interest rates.",
        "--output",
        str(out),
    )
    assert proc.returncode == 0, proc.stderr
    assert "6 layers, hidden 384" in proc.stdout
    vectors = np.load(out)
    assert vectors.shape == (3, 384)
    unit = vectors / np.linalg.norm(vectors, axis=1, keepdims=True)
    sims = unit @ unit.T
    # The paraphrase pair is far closer than the unrelated sentence.
    assert sims[0, 1] > sims[0, 2] + 0.3


@pytest.mark.parametrize(
    "args, expected",
    [
        (["embed", "--checkpoint", "/no/such/dir", "x"], "/no/such/dir"),
        (["embed", "--vocab", "/no/vocab.txt", "x"], "/no/vocab.txt"),
    ],
)
def test_errors_are_one_line_without_traceback(args, expected):
    proc = _run(*args)
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    assert expected in lines[0]
    assert "Traceback" not in proc.stderr


def test_debug_shows_traceback():
    proc = _run("--debug", "embed", "--checkpoint", "/no/such/dir", "x")
    assert proc.returncode != 0
    assert "Traceback" in proc.stderr
