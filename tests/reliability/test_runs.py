"""Runs that resume, diverge, get replaced, or leave files behind.

- A resumed pretraining run must be the run it started as: another
  vocabulary (even of the same size), another model or data setting is
  refused, naming what differs; a lower learning rate after divergence is
  allowed and recorded.
- A diverging run keeps its last healthy checkpoint.
- `finetune --overwrite` keeps the old run until the new one is complete.
- Folders written by checkpoint saves are readable by another user; what a
  killed process left behind is cleaned by the next run writing there.
"""

import json
import math
import os
import platform
import stat

import numpy as np
import pytest

import keras_bert_impl as kbi
from keras_bert_impl import cli
from tests.reliability.conftest import TINY_VOCAB
from tests.reliability.conftest import finetune_args
from tests.reliability.conftest import one_error_line
from tests.reliability.conftest import permuted_vocab
from tests.reliability.conftest import pretrain_args
from tests.reliability.conftest import run_cli


def _umask():
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _readable_by_others(path):
    mode = stat.S_IMODE(os.stat(path).st_mode)
    want = 0o444 & ~_umask()
    return mode & want == want


def _pretrain(workspace, logdir, capfd, *extra, steps=4, vocab=TINY_VOCAB):
    code = cli.main(
        pretrain_args(workspace, logdir, *extra, steps=steps, vocab=vocab)
    )
    _, err = capfd.readouterr()
    return code, err


@pytest.fixture
def pretrained(workspace, tmp_path, capfd):
    """A tiny pretraining run with checkpoints at steps 2 and 4."""
    logdir = tmp_path / "run"
    code, err = _pretrain(workspace, logdir, capfd)
    assert code == 0, err
    return logdir


def test_resume_refuses_another_vocabulary_of_the_same_size(
    workspace, pretrained, tmp_path, capfd
):
    record = (pretrained / "pretraining_config.json").read_text()
    vocab_copy = (pretrained / "vocab.txt").read_text()
    other = permuted_vocab(tmp_path / "other.txt", seed=1)
    code, err = _pretrain(workspace, pretrained, capfd, steps=8, vocab=other)
    assert code == 2
    line = one_error_line(err)
    assert "other.txt" in line and "vocabulary" in line
    assert "another --logdir" in line
    # Nothing of the run was replaced.
    assert (pretrained / "pretraining_config.json").read_text() == record
    assert (pretrained / "vocab.txt").read_text() == vocab_copy


@pytest.mark.parametrize(
    "flag, value, piece",
    [
        ("--max-seq-length", "12", "max_seq_length: 16 -> 12"),
        ("--batch-size", "2", "batch_size: 4 -> 2"),
        ("--seed", "5", "seed: 0 -> 5"),
        ("--no-lower-case", None, "lower_case: True -> False"),
    ],
)
def test_resume_refuses_other_data_settings(
    workspace, pretrained, capfd, flag, value, piece
):
    extra = [flag] if value is None else [flag, value]
    code, err = _pretrain(workspace, pretrained, capfd, *extra, steps=8)
    assert code == 2
    assert piece in one_error_line(err)


def test_resume_with_a_lower_learning_rate_is_recorded(
    workspace, pretrained, capfd
):
    code, err = _pretrain(
        workspace, pretrained, capfd, "--learning-rate", "1e-4", steps=8
    )
    assert code == 0, err
    record = json.loads((pretrained / "pretraining_config.json").read_text())
    assert record["learning_rate"] == 1e-4
    changes = record["resumed"][-1]
    assert changes["learning_rate"] == {"from": 1e-3, "to": 1e-4}
    assert changes["steps"] == {"from": 4, "to": 8}


def test_a_diverging_run_keeps_its_last_healthy_checkpoint(
    workspace, pretrained, capfd
):
    """Resumed at a learning rate of 1e4 the run blows up: the epochs whose
    loss is far above the best one are not saved, so the newest checkpoint
    stays a healthy state, and resuming from it at a sane rate works."""
    healthy = json.loads(
        (pretrained / "checkpoints" / "latest.json").read_text()
    )
    code, err = _pretrain(
        workspace, pretrained, capfd, "--learning-rate", "1e4", steps=40
    )
    latest = json.loads(
        (pretrained / "checkpoints" / "latest.json").read_text()
    )
    assert math.isfinite(latest["loss"])
    assert latest["loss"] <= 3 * healthy["best_loss"]
    state = pretrained / "checkpoints" / latest["path"] / "state.npz"
    with np.load(state) as data:
        assert all(np.isfinite(data[k]).all() for k in data.files)
    if code == 1:
        assert "NonFiniteLossError" in err and "last healthy" in err
    code, err = _pretrain(
        workspace, pretrained, capfd, "--learning-rate", "1e-3", steps=42
    )
    assert code == 0, err


def test_the_checkpoint_callback_skips_blown_up_epochs(workspace, tmp_path):
    from keras_bert_impl.training.callbacks import PretrainingCheckpoint
    from keras_bert_impl.training.pretrain import PretrainingModel

    encoder, _ = kbi.load_checkpoint(workspace["checkpoint"])
    model = PretrainingModel(encoder)
    model.compile(jit_compile=False)
    model.optimizer.build(model.trainable_variables)
    callback = PretrainingCheckpoint(str(tmp_path))
    callback.set_model(model)
    pointer = tmp_path / "checkpoints" / "latest.json"
    epochs = [
        (2, 6.0, 2),
        (4, 5.0, 4),
        (6, 1.4e13, 4),  # blown up: not saved
        (8, float("nan"), 4),
        (10, 14.0, 10),  # within 3x the best (5.0): saved
    ]
    for step, loss, saved in epochs:
        model.optimizer.iterations.assign(step)
        callback.on_epoch_end(step // 2 - 1, {"loss": loss})
        assert json.loads(pointer.read_text())["step"] == saved, step
    assert callback.unhealthy_epochs == [3, 4]


def test_healthy_bound():
    from keras_bert_impl.training.callbacks import healthy_loss_bound

    assert healthy_loss_bound(2.0, 32) == 6.0
    assert healthy_loss_bound(None, 32) == pytest.approx(
        3 * (math.log(32) + math.log(2))
    )


def test_finetune_overwrite_keeps_the_old_run_on_failure(
    workspace, tmp_path, capfd
):
    """A run into an existing folder that fails mid-training leaves the old
    run exactly as it was (model, vocabulary, config) and nothing beside
    it: the new run is built aside and swapped in only when complete."""
    import keras

    run = tmp_path / "run"
    assert cli.main(finetune_args(workspace, run)) == 0
    capfd.readouterr()
    before = {n: (run / n).read_bytes() for n in os.listdir(run)
              if os.path.isfile(run / n)}  # fmt: skip

    class Fail(keras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            raise RuntimeError("the machine went away")

    tokenizer = kbi.BertTokenizer(permuted_vocab(tmp_path / "v.txt", seed=3))
    model = kbi.build_task_model(
        "classify", workspace["checkpoint"], vocab=tokenizer,
        label_names=["neg", "pos"],
    )  # fmt: skip
    train = kbi.classification_dataset(
        workspace["csv"], tokenizer, max_seq_length=16, batch_size=8
    )
    config = kbi.FinetuneConfig(epochs=2, batch_size=8, jit_compile=False)
    with pytest.raises(RuntimeError, match="went away"):
        kbi.finetune(model, train, config=config, output_dir=run,
                     tokenizer=tokenizer, callbacks=[Fail()], verbose=0,
                     overwrite=True)  # fmt: skip
    after = {n: (run / n).read_bytes() for n in before}
    assert after == before
    assert sorted(os.listdir(tmp_path)) == ["run", "v.txt"]


def test_finetune_refuses_a_non_empty_output_without_overwrite(
    workspace, tmp_path, capfd
):
    (tmp_path / "run").mkdir()
    (tmp_path / "run" / "notes.txt").write_text("mine")
    code = cli.main(finetune_args(workspace, tmp_path / "run"))
    _, err = capfd.readouterr()
    assert code == 2 and "--overwrite" in one_error_line(err)
    assert (tmp_path / "run" / "notes.txt").read_text() == "mine"


def test_checkpoint_folders_are_readable_by_another_user(
    workspace, pretrained, tmp_path, capfd
):
    encoder, _ = kbi.load_checkpoint(workspace["checkpoint"])
    saved = kbi.save_checkpoint(encoder, tmp_path / "hf", vocab=TINY_VOCAB)
    code = cli.main(["convert", "--input", str(saved), "--output",
                     str(tmp_path / "tf1"), "--format", "tf1"])  # fmt: skip
    assert code == 0
    for folder in (saved, tmp_path / "tf1", pretrained / "encoder"):
        assert _readable_by_others(folder), folder
        for name in os.listdir(folder):
            assert _readable_by_others(folder / name), (folder, name)


def test_next_run_removes_what_killed_processes_left(
    workspace, pretrained, tmp_path, capfd
):
    dead = 2**22 + 12345  # beyond pid_max: no such process
    stale_ckpt = pretrained / "checkpoints" / f".ckpt-000000002.partial-{dead}"
    stale_ckpt.mkdir()
    (stale_ckpt / "state.npz").write_bytes(b"half")
    root = tmp_path / "sm"
    stale_export = root / "m" / f".3.partial-{dead}"
    stale_export.mkdir(parents=True)
    # A version moved aside by an export killed mid-swap is put back.
    (root / "m" / f".2.old-{dead}").mkdir()
    ((root / "m" / f".2.old-{dead}") / "saved_model.pb").write_bytes(b"v2")
    code, err = _pretrain(workspace, pretrained, capfd, steps=6)
    assert code == 0, err
    assert not stale_ckpt.exists()
    code = cli.main(["export", "--model", workspace["checkpoint"], "--name",
                     "m", "--root", str(root), "--version", "4", "--no-xla",
                     "--no-warmup"])  # fmt: skip
    assert code == 0
    assert sorted(os.listdir(root / "m")) == ["2", "4"]
    assert (root / "m" / "2" / "saved_model.pb").read_bytes() == b"v2"


FROZEN = "TF_ONEDNN_ASSUME_FROZEN_WEIGHTS"


@pytest.mark.parametrize("value", ["1", "true", "TRUE"])
def test_training_refuses_weights_assumed_frozen(
    workspace, tmp_path, monkeypatch, value
):
    """A process told that weights never change (a serving setting that
    makes TensorFlow's oneDNN kernels reuse the first weights they see)
    may not train: `fit` and `train_on_batch` say so before any step,
    naming the variable and what to do; the run folder is not made."""
    tokenizer = kbi.BertTokenizer(TINY_VOCAB)
    model = kbi.build_task_model(
        "classify", workspace["checkpoint"], vocab=tokenizer,
        label_names=["neg", "pos"],
    )  # fmt: skip
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    train = kbi.classification_dataset(
        workspace["csv"], tokenizer, max_seq_length=16, batch_size=8
    )
    x, y = next(iter(train))
    # Set only now: no kernel runs in this process while it is set (the
    # guard raises first), so TensorFlow never reads it here.
    monkeypatch.setenv(FROZEN, value)
    with pytest.raises(RuntimeError, match=rf"{FROZEN}={value} is set") as e:
        model.fit(train, epochs=1, verbose=0)
    assert "unset it, or set it to 0, before training" in str(e.value)
    with pytest.raises(RuntimeError, match=FROZEN):
        model.train_on_batch(x, y)
    config = kbi.FinetuneConfig(epochs=1, batch_size=8, jit_compile=False)
    with pytest.raises(RuntimeError, match=FROZEN):
        kbi.finetune(model, train, config=config, output_dir=tmp_path / "run",
                     tokenizer=tokenizer, verbose=0)  # fmt: skip
    assert not (tmp_path / "run").exists()


@pytest.mark.parametrize("value", ["0", "false", ""])
def test_training_allows_weights_not_assumed_frozen(monkeypatch, value):
    from keras_bert_impl.runtime import check_weights_may_change

    monkeypatch.setenv(FROZEN, value)
    check_weights_may_change()


def test_pretrain_command_refuses_weights_assumed_frozen(
    workspace, tmp_path, monkeypatch
):
    """The command line, in its own process (where TensorFlow does read
    the variable): one error line, exit status 1, no checkpoint."""
    monkeypatch.setenv(FROZEN, "1")
    logdir = tmp_path / "run"
    result = run_cli(*pretrain_args(workspace, logdir))
    line = one_error_line(result.stderr)
    assert result.returncode == 1, result.stderr
    assert f"RuntimeError: {FROZEN}=1 is set in this process" in line
    assert not logdir.exists() or not list(logdir.rglob("*.index"))


_STALE_FIT = """
import os
os.environ["TF_CPP_MIN_LOG_LEVEL"] = "3"
import json
import keras
import numpy as np
keras.utils.set_random_seed(0)
x = np.random.default_rng(0).standard_normal((256, 64)).astype("float32")
y = (x[:, :1] > 0).astype("float32")
model = keras.Sequential([keras.Input((64,)),
                          keras.layers.Dense(128, activation="gelu"),
                          keras.layers.Dense(1)])
model.compile("adam", keras.losses.BinaryCrossentropy(from_logits=True),
              jit_compile=False)
history = model.fit(x, y, epochs=5, batch_size=32, verbose=0)
print(json.dumps(history.history["loss"]))
"""


@pytest.mark.skipif(
    platform.machine().lower() not in ("x86_64", "amd64")
    or os.environ.get("TF_ENABLE_ONEDNN_OPTS") == "0",
    reason="TensorFlow's oneDNN kernels (on by default on x86-64) only",
)
def test_tensorflow_keeps_the_first_weights_when_told_they_are_frozen():
    """Why training refuses the variable: in a process where TensorFlow
    reads it (its own), a plain Keras model on TensorFlow's oneDNN kernels
    trains on the first weights its kernels saw. Same model, data and
    seed: without the variable the loss falls from ~0.77 to ~0.48 in 5
    epochs, with it only to ~0.70."""
    import subprocess
    import sys

    from tests.reliability.conftest import env

    losses = {}
    for value in ("0", "1"):
        result = subprocess.run(
            [sys.executable, "-c", _STALE_FIT],
            capture_output=True, text=True, timeout=300,
            env={**env(), FROZEN: value},
        )  # fmt: skip
        assert result.returncode == 0, result.stderr
        losses[value] = json.loads(result.stdout.strip().splitlines()[-1])
    print(losses)
    assert abs(losses["0"][0] - losses["1"][0]) < 0.05  # same start
    assert losses["0"][-1] < losses["0"][0] - 0.2  # it learns
    assert losses["1"][-1] > losses["0"][-1] + 0.1  # stale weights
