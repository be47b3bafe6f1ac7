"""`pretrain`: misuse errors, TensorBoard scalars, NaN guard, determinism."""

import hashlib
import json
import os

import keras
import numpy as np
import pytest

from keras_bert_impl.optimizers import create_optimizer
from keras_bert_impl.training.callbacks import NonFiniteLossError
from keras_bert_impl.training.callbacks import latest_checkpoint_step
from keras_bert_impl.training.callbacks import restore_training_state
from keras_bert_impl.training.pretrain import PretrainingModel
from keras_bert_impl.training.pretrain import pretrain
from keras_bert_impl.training.pretrain import resolve_config
from keras_bert_impl.training.pretrain import validate
from tests.conftest import TINY
from tests.training.conftest import tiny_run_config
from tests.training.synthetic import synthetic_dataset

SCALARS = (
    "loss",
    "masked_lm_loss",
    "next_sentence_loss",
    "masked_lm_accuracy",
    "next_sentence_accuracy",
)


def _tensor_tags(folder):
    from tensorboard.backend.event_processing.event_accumulator import (
        EventAccumulator,
    )
    from tensorboard.util.tensor_util import make_ndarray

    events = EventAccumulator(folder)
    events.Reload()
    return {
        tag: [
            (e.step, float(make_ndarray(e.tensor_proto)))
            for e in events.Tensors(tag)
        ]
        for tag in events.Tags()["tensors"]
    }


class TestMisuse:
    """Each misuse is a clear ValueError before any training starts."""

    def test_vocab_size_mismatch(self, tmp_path):
        config = tiny_run_config(
            tmp_path, model={**TINY, "vocabulary_size": 40}
        )
        with pytest.raises(ValueError, match="vocabulary has 32 tokens"):
            validate(config)

    def test_preset_takes_vocab_size(self, tmp_path):
        config = tiny_run_config(tmp_path, model="tiny")
        assert validate(config).vocabulary_size == 32

    def test_max_seq_length_above_positions(self, tmp_path):
        config = tiny_run_config(tmp_path, max_seq_length=16)
        with pytest.raises(ValueError, match="max_seq_length"):
            validate(config)

    def test_missing_logdir_parents_are_created(self, tmp_path):
        logdir = tmp_path / "no" / "such" / "run"
        validate(tiny_run_config(tmp_path, logdir=str(logdir)))
        assert logdir.parent.is_dir() and not logdir.exists()
        (tmp_path / "file").write_text("x")
        config = tiny_run_config(tmp_path, logdir=str(tmp_path / "file" / "r"))
        with pytest.raises(NotADirectoryError, match="is a file"):
            validate(config)

    def test_no_corpus_file(self, tmp_path):
        config = tiny_run_config(tmp_path, train=[str(tmp_path / "*.none")])
        with pytest.raises(FileNotFoundError, match="No file matches"):
            validate(config)

    def test_empty_corpus(self, tmp_path):
        empty = tmp_path / "empty.txt"
        empty.write_text("\n\n", encoding="utf-8")
        config = tiny_run_config(tmp_path, train=[str(empty)])
        with pytest.raises(ValueError, match="corpus is empty"):
            pretrain(config)
        assert not os.path.exists(config.logdir)  # nothing started

    @pytest.mark.parametrize(
        "changes, match",
        [
            (dict(steps=5, steps_per_epoch=2), "steps_per_epoch"),
            (dict(batch_size=0), "batch_size"),
            (dict(dtype="float16"), "dtype"),
            (dict(strategy="horovod"), "strategy"),
            (dict(warmup_steps=4), "warmup_steps"),
            (dict(warmup_steps=-1), "warmup_steps"),
            (dict(max_predictions_per_seq=0), "max_predictions_per_seq"),
            (dict(tpu_address=None), "tpu_address"),
        ],
    )
    def test_bad_numbers_and_names(self, tmp_path, changes, match):
        with pytest.raises(ValueError, match=match):
            validate(tiny_run_config(tmp_path, **changes))

    def test_tpu_strategy_without_tpu(self, tmp_path):
        # No TPU on the machines this package is developed on: requesting
        # one is a clear error before anything is written.
        config = tiny_run_config(tmp_path, strategy="tpu")
        with pytest.raises(ValueError, match="strategy='tpu' found no TPU"):
            pretrain(config)
        assert not os.path.exists(config.logdir)


class TestResolveConfig:
    def test_fills_the_defaults_used(self, tmp_path):
        config = tiny_run_config(
            tmp_path,
            steps=40,
            steps_per_epoch=20,
            warmup_steps=None,
            max_predictions_per_seq=None,
        )
        resolved = resolve_config(config)
        # 10% of 40 updates; ceil(0.15 × 8 tokens).
        assert resolved.warmup_steps == 4
        assert resolved.max_predictions_per_seq == 2
        assert config.warmup_steps is None  # the input is not changed
        accumulated = resolve_config(
            tiny_run_config(
                tmp_path,
                steps=40,
                steps_per_epoch=20,
                gradient_accumulation_steps=2,
                warmup_steps=None,
            )
        )
        assert accumulated.warmup_steps == 2  # 10% of 20 updates

    def test_keeps_given_values(self, tmp_path):
        config = tiny_run_config(tmp_path, warmup_steps=3, jit_compile=False)
        assert resolve_config(config) == config
        # "auto" is resolved (float32: XLA); an explicit choice is kept.
        auto = tiny_run_config(tmp_path, warmup_steps=3)
        assert auto.jit_compile == "auto"
        assert resolve_config(auto).jit_compile is True


class TestCommandLine:
    def _parser(self):
        import argparse

        from keras_bert_impl.cli.pretrain import register

        return register(argparse.ArgumentParser().add_subparsers())

    def test_accumulation_help_says_averaged(self):
        # Keras averages the accumulated gradients (see
        # test_gradient_accumulation_matches_one_big_batch).
        text = " ".join(self._parser().format_help().split())
        assert "gradients are averaged" in text
        assert "summed" not in text

    def test_tpu_address_reaches_the_config(self, tmp_path):
        from keras_bert_impl.cli.pretrain import to_config

        argv = ["--vocab", "v.txt", "--train", "c.txt", "--logdir", "run"]
        parser = self._parser()
        assert to_config(parser.parse_args(argv)).tpu_address == ""
        args = parser.parse_args(
            [*argv, "--strategy", "tpu", "--tpu", "grpc://10.0.0.2:8470"]
        )
        config = to_config(args)
        assert config.strategy == "tpu"
        assert config.tpu_address == "grpc://10.0.0.2:8470"


@pytest.mark.large
def test_tensorboard_checkpoint_and_encoder_export(tmp_path):
    """A short run: every scalar in train/ and validation/, the run folder
    layout, and an encoder that `load_checkpoint` reads."""
    import keras_bert_impl as kbi

    config = tiny_run_config(tmp_path)
    history = pretrain(config, verbose=0)
    assert len(history.history["loss"]) == 2
    train = _tensor_tags(os.path.join(config.logdir, "train"))
    validation = _tensor_tags(os.path.join(config.logdir, "validation"))
    for tag in (*SCALARS, "learning_rate", "examples_per_second"):
        assert [s for s, _ in train[tag]] == [2, 4], tag
    for tag in SCALARS:
        assert [s for s, _ in validation[tag]] == [2, 4], tag
    assert train["examples_per_second"][-1][1] > 0
    # Training health, computed in the compiled step (see health.py).
    for tag in ("grad_norm", "weight_norm", "update_ratio",
                "tokens_per_second", "masked_lm_perplexity"):  # fmt: skip
        assert [s for s, _ in train[tag]] == [2, 4], tag
        assert all(np.isfinite(v) and v > 0 for _, v in train[tag]), tag
    assert "loss_scale" not in train  # float32: no loss scaling
    # Perplexity is exp of the epoch's masked-LM loss.
    np.testing.assert_allclose(
        train["masked_lm_perplexity"][-1][1],
        np.exp(train["masked_lm_loss"][-1][1]),
        rtol=1e-4,
    )
    # An update is a small fraction of the weights (AdamW, lr <= 1e-3).
    assert all(v < 0.1 for _, v in train["update_ratio"])
    # warmup 1 then linear decay over 3 updates: rate at steps 2 and 4.
    np.testing.assert_allclose(
        [v for _, v in train["learning_rate"]], [1e-3 * 2 / 3, 0.0], atol=1e-7
    )
    path = os.path.join(config.logdir, "pretraining_config.json")
    with open(path, encoding="utf-8") as f:
        saved = json.load(f)
    # The config as given, with "auto" resolved (float32: XLA), and the
    # vocabulary's fingerprint (a resume with another vocabulary is refused).
    with open(config.vocab, encoding="utf-8") as f:
        tokens = f.read().splitlines()
    assert (
        saved.pop("vocab_sha256")
        == hashlib.sha256("\n".join(tokens).encode("utf-8")).hexdigest()
    )
    assert saved == {**config.to_dict(), "jit_compile": True}
    assert (
        latest_checkpoint_step(os.path.join(config.logdir, "checkpoints")) == 4
    )
    encoder, bert_config = kbi.load_checkpoint(
        os.path.join(config.logdir, "encoder")
    )
    assert bert_config.vocabulary_size == 32
    assert os.path.isfile(os.path.join(config.logdir, "encoder", "vocab.txt"))
    # The state restores into a second model built in the same process
    # (its dropout seed generators get other unique names).
    again = PretrainingModel(kbi.build_encoder(bert_config))
    again.compile(optimizer=create_optimizer(1e-3, 4, 1))
    again.optimizer.build(again.trainable_variables)
    checkpoints = os.path.join(config.logdir, "checkpoints")
    assert restore_training_state(again, checkpoints) == 4
    for a, b in zip(again.encoder.weights, encoder.weights, strict=True):
        np.testing.assert_array_equal(np.array(a), np.array(b))


class _PoisonWeights(keras.callbacks.Callback):
    """Sets a weight to NaN after `step` batches (simulates divergence)."""

    def __init__(self, step):
        super().__init__()
        self.step = step
        self.seen = 0

    def on_train_batch_end(self, batch, logs=None):
        self.seen += 1
        if self.seen == self.step:
            v = self.model.encoder.token_embedding.embeddings
            v.assign(np.full(v.shape, np.nan, "float32"))


@pytest.mark.large
def test_nan_guard_stops_and_keeps_last_good_checkpoint(tmp_path):
    config = tiny_run_config(tmp_path, steps=6)
    with pytest.raises(NonFiniteLossError, match="step 4.*step 2.*intact"):
        pretrain(config, callbacks=[_PoisonWeights(step=3)], verbose=0)
    checkpoints = os.path.join(config.logdir, "checkpoints")
    assert latest_checkpoint_step(checkpoints) == 2
    with np.load(os.path.join(checkpoints, "ckpt-000000002", "state.npz")) as f:
        assert all(np.isfinite(f[k]).all() for k in f.files)


@pytest.mark.large
def test_seeded_twice_is_identical(tiny_config):
    """Same seed: identical losses and weights after 2 steps (XLA on)."""
    runs = []
    for _ in range(2):
        keras.utils.set_random_seed(11)
        model = PretrainingModel(
            __import__("keras_bert_impl").build_encoder(tiny_config)
        )
        model.compile(optimizer=create_optimizer(1e-3, 10, 1))
        history = model.fit(synthetic_dataset(0, num_batches=2), verbose=0)
        runs.append(
            (history.history, [np.array(v) for v in model.trainable_variables])
        )
    assert runs[0][0] == runs[1][0]
    for a, b in zip(runs[0][1], runs[1][1], strict=True):
        np.testing.assert_array_equal(a, b)


def test_short_sequences_first(tmp_path):
    """The paper's schedule: the first steps at a short length, the rest
    at the full one, one schedule; a resumed run continues in the right
    phase."""
    import json

    from keras_bert_impl.training.pretrain import pretrain

    # Without XLA: the phases, not the compiler, are under test here (each
    # phase's length and the validation would each compile a program).
    config = tiny_run_config(
        tmp_path, steps=6, steps_per_epoch=2, max_seq_length=8,
        short_seq_length=6, short_seq_steps=4, jit_compile=False,
    )  # fmt: skip
    history = pretrain(config, verbose=0)
    assert len(history.history["loss"]) == 3
    latest = json.loads((tmp_path / "run/checkpoints/latest.json").read_text())
    assert latest["step"] == 6
    # Extending the run resumes at step 6, in the full-length phase.
    longer = tiny_run_config(
        tmp_path, steps=8, steps_per_epoch=2, max_seq_length=8,
        short_seq_length=6, short_seq_steps=4, jit_compile=False,
    )  # fmt: skip
    assert len(pretrain(longer, verbose=0).history["loss"]) == 1


@pytest.mark.parametrize(
    "overrides, match",
    [
        ({"short_seq_length": 6}, "needs both"),
        ({"short_seq_length": 8, "short_seq_steps": 2}, "below max_seq_length"),
        ({"short_seq_length": 6, "short_seq_steps": 3}, "multiple of"),
        ({"short_seq_length": 6, "short_seq_steps": 4}, "below steps"),
    ],
)
def test_short_phase_misuse(tmp_path, overrides, match):
    config = tiny_run_config(tmp_path, steps=4, steps_per_epoch=2, **overrides)
    with pytest.raises(ValueError, match=match):
        validate(config)
