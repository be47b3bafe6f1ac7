"""Shared pieces of the reliability matrix: tiny data, runs, subprocesses.

Everything uses the 32-token test vocabulary and a tiny encoder (hidden
16), so a fine-tuning or pretraining run takes seconds; the texts are
made of that vocabulary's words.
"""

import json
import os
import random
import subprocess
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(__file__)))
DATA = os.path.join(ROOT, "tests", "data")
TINY_VOCAB = os.path.join(DATA, "vocab", "tiny.txt")
TINY = dict(
    vocabulary_size=32,
    hidden_dim=16,
    num_layers=1,
    num_heads=2,
    intermediate_dim=32,
    max_sequence_length=32,
)
WORDS = ("the quick brown fox jumps over the lazy dog a b c hello world "
         "cafe jumped").split()  # fmt: skip


def sentences(n, seed=0):
    rng = random.Random(seed)
    return [
        " ".join(rng.choice(WORDS) for _ in range(rng.randint(3, 9))) + "."
        for _ in range(n)
    ]


def write_corpus(path, lines=60, bad_line=None):
    """Documents of 4 sentences, blank-line separated; optionally a byte
    that is not UTF-8 on line `bad_line`."""
    out = []
    for i, sentence in enumerate(sentences(lines)):
        out.append(sentence.encode())
        if i % 4 == 3:
            out.append(b"")
    if bad_line is not None:
        while len(out) < bad_line + 10:
            out += [s.encode() for s in sentences(4, len(out))] + [b""]
        out[bad_line - 1] = b"the fox \xff jumps."
    path.write_bytes(b"\n".join(out) + b"\n")
    return str(path)


def write_labelled_csv(path, n=24):
    rows = ["text,label"]
    for i, text in enumerate(sentences(n, seed=1)):
        label = "pos" if ("fox" in text) != (i % 5 == 0) else "neg"
        rows.append(f"{text},{label}")
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")
    return str(path)


def permuted_vocab(path, seed):
    """The tiny vocabulary with its ordinary tokens shuffled (same size,
    other ids): a model trained on one is wrong with the other."""
    with open(TINY_VOCAB, encoding="utf-8") as f:
        tokens = f.read().split("\n")[:-1]
    head, rest = tokens[:5], tokens[5:]
    random.Random(seed).shuffle(rest)
    path.write_text("\n".join(head + rest) + "\n", encoding="utf-8")
    return str(path)


def env():
    return dict(
        os.environ,
        TF_CPP_MIN_LOG_LEVEL="3",
        PYTHONPATH=ROOT + os.pathsep + os.environ.get("PYTHONPATH", ""),
    )


def cli_command(*argv):
    """The `keras-bert-impl` command, run as the console script runs."""
    return [sys.executable, "-m", "keras_bert_impl.cli", *map(str, argv)]


def run_cli(*argv, timeout=600, cwd=None):
    return subprocess.run(
        cli_command(*argv),
        capture_output=True,
        text=True,
        timeout=timeout,
        env=env(),
        cwd=cwd or ROOT,
    )


def one_error_line(err):
    lines = [line for line in err.strip().splitlines() if line.strip()]
    assert len(lines) == 1, err
    return lines[0]


@pytest.fixture(scope="session")
def workspace(tmp_path_factory):
    """Tiny data and a tiny checkpoint (vocab + casing beside it)."""
    import keras_bert_impl as kbi

    root = tmp_path_factory.mktemp("reliability")
    encoder = kbi.build_encoder(kbi.BertConfig(**TINY))
    tokenizer = kbi.BertTokenizer(TINY_VOCAB)
    checkpoint = kbi.save_checkpoint(encoder, root / "ckpt", vocab=tokenizer)
    return {
        "root": root,
        "checkpoint": str(checkpoint),
        "csv": write_labelled_csv(root / "train.csv"),
        "corpus": write_corpus(root / "corpus.txt"),
        "config": _write_json(root / "bert.json", TINY),
    }


def _write_json(path, value):
    path.write_text(json.dumps(value), encoding="utf-8")
    return str(path)


def finetune_args(workspace, output, *extra, vocab=None, seed=0, epochs=2):
    args = ["finetune", "--task", "classify", "--train", workspace["csv"]]
    args += ["--init", workspace["checkpoint"], "--output", str(output)]
    args += ["--epochs", epochs, "--batch-size", 8, "--max-seq-length", 16]
    args += ["--learning-rate", "1e-3", "--no-jit", "--quiet", "--seed", seed]
    if vocab is not None:
        args += ["--vocab", vocab]
    return [*map(str, args), *map(str, extra)]


def pretrain_args(workspace, logdir, *extra, steps=4, vocab=TINY_VOCAB):
    args = ["pretrain", "--config", workspace["config"], "--vocab", vocab]
    args += ["--train", workspace["corpus"], "--logdir", str(logdir)]
    args += ["--steps", steps, "--steps-per-epoch", 2, "--batch-size", 4]
    args += ["--max-seq-length", 16, "--max-predictions", 2, "--no-jit"]
    args += ["--learning-rate", "1e-3", "--warmup-steps", 1, "--quiet"]
    return [*map(str, args), *map(str, extra)]
