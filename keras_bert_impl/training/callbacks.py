"""Training callbacks: TensorBoard scalars, NaN guard, checkpoints.

* `TrainingTensorBoard` writes every log (both losses, both
  accuracies, the total loss), the learning rate and examples/second to
  `log_dir/train` and the validation logs under the same tags to
  `log_dir/validation`, against the global step (batches consumed), so a
  resumed run continues its curves.
* `NonFiniteLossGuard` stops the run at the first NaN/inf loss, before any
  later callback (checkpoints) sees the step.
* `PretrainingCheckpoint` saves, at each epoch end, the whole training
  state (model variables including dropout seeds, optimizer variables)
  and exports the encoder with its tokenizer;
  `restore_training_state` reads the newest complete state back.

Keras 3 writes tensor summaries: read the event files back with
tensorboard's `EventAccumulator(path).Reload().Tensors(tag)`.
"""

import json
import logging
import math
import os
import shutil
import time

import keras
import numpy as np
import tensorflow as tf

from keras_bert_impl import run_files
from keras_bert_impl.checkpoints.io import save_checkpoint
from keras_bert_impl.paths import StagedFolder

logger = logging.getLogger(__name__)
STATE_FILE = run_files.STATE_FILE
POINTER_FILE = run_files.POINTER_FILE


class NonFiniteLossError(RuntimeError):
    """Raised when the training loss becomes NaN or infinite."""


def global_step(model: keras.Model) -> int:
    """Batches consumed so far: the optimizer's step counter.

    With gradient accumulation this counts micro-batches (`fit` steps),
    not weight updates.
    """
    optimizer = model.optimizer
    optimizer = getattr(optimizer, "inner_optimizer", optimizer)
    return int(keras.ops.convert_to_numpy(optimizer._iterations))


def current_learning_rate(model: keras.Model) -> float:
    """The learning rate the optimizer uses at its current step."""
    return float(keras.ops.convert_to_numpy(model.optimizer.learning_rate))


class TrainingTensorBoard(keras.callbacks.Callback):
    """TensorBoard scalars of a training run, train and validation.

    At each epoch end it writes every training log (`loss`,
    `masked_lm_loss`, `next_sentence_loss`, `masked_lm_accuracy`,
    `next_sentence_accuracy`; a task's loss and metrics),
    `learning_rate`, `examples_per_second` and `tokens_per_second`, the
    health numbers the train step measured (`grad_norm` before clipping,
    `weight_norm`, `update_ratio`; see `keras_bert_impl.health`),
    `masked_lm_perplexity` (`exp` of the masked-LM loss) and, under
    `mixed_float16`, `loss_scale`, to `log_dir/train`, and the `val_` logs
    without the prefix (and the validation perplexity) to
    `log_dir/validation`, at step = global step (under multi-worker
    training pass each worker's `worker_logdir`, so that only the chief
    writes to the run folder). With an integer
    `update_freq` it also writes the running training logs every
    `update_freq` steps (any value: steps are counted globally, so epoch
    scalars are never dropped).

    Args:
        log_dir: str. The run's TensorBoard folder.
        global_batch_size: int. Examples per step over all replicas, for
            `examples_per_second`.
        update_freq: `"epoch"` or int. Defaults to `"epoch"`.
        sequence_length: optional int. Tokens per example (padded), for
            `tokens_per_second`.

    Example:
    >>> import tempfile
    >>> tb = TrainingTensorBoard(tempfile.mkdtemp(), global_batch_size=8)
    >>> tb.update_freq
    'epoch'
    """

    def __init__(
        self,
        log_dir: str,
        global_batch_size: int,
        update_freq: str | int = "epoch",
        sequence_length: int | None = None,
    ):
        super().__init__()
        if update_freq != "epoch" and not (
            isinstance(update_freq, int) and update_freq > 0
        ):
            raise ValueError(
                "`update_freq` must be 'epoch' or a positive integer. "
                f"Received: update_freq={update_freq!r}"
            )
        self.log_dir = log_dir
        self.global_batch_size = global_batch_size
        self.update_freq = update_freq
        self.sequence_length = sequence_length
        self._writers = {}

    def _writer(self, name):
        if name not in self._writers:
            self._writers[name] = tf.summary.create_file_writer(
                os.path.join(self.log_dir, name)
            )
        return self._writers[name]

    def _write(self, name, logs, step):
        with self._writer(name).as_default():
            for tag, value in logs.items():
                tf.summary.scalar(tag, float(value), step=step)
        self._writer(name).flush()

    def on_train_begin(self, logs=None):
        self._step = global_step(self.model)

    def on_epoch_begin(self, epoch, logs=None):
        self._epoch_start = time.perf_counter()
        self._epoch_start_step = self._step
        self._window_start = (self._epoch_start, self._step)

    def _throughput(self, since_time, since_step):
        elapsed = max(time.perf_counter() - since_time, 1e-9)
        return (self._step - since_step) * self.global_batch_size / elapsed

    def on_train_batch_end(self, batch, logs=None):
        self._step += 1
        if self.update_freq == "epoch" or self._step % self.update_freq:
            return
        scalars = {k: v for k, v in (logs or {}).items()}
        scalars["examples_per_second"] = self._throughput(*self._window_start)
        self._window_start = (time.perf_counter(), self._step)
        self._write("train", self._with_health(scalars), self._step)

    def _with_health(self, scalars):
        """`scalars` plus the learning rate, throughput in tokens, the
        step's health numbers, the perplexity and the loss scale."""
        scalars["learning_rate"] = current_learning_rate(self.model)
        if self.sequence_length:
            scalars["tokens_per_second"] = (
                scalars["examples_per_second"] * self.sequence_length
            )
        box = getattr(self.model, "_health_box", None)
        if box is not None:
            scalars.update(box.value.read_and_reset())
        if "masked_lm_loss" in scalars:
            scalars["masked_lm_perplexity"] = _perplexity(
                scalars["masked_lm_loss"]
            )
        scale = getattr(self.model.optimizer, "dynamic_scale", None)
        if scale is not None:
            scalars["loss_scale"] = float(keras.ops.convert_to_numpy(scale))
        return scalars

    def on_epoch_end(self, epoch, logs=None):
        logs = logs or {}
        train = {k: v for k, v in logs.items() if not k.startswith("val_")}
        train["examples_per_second"] = self._throughput(
            self._epoch_start, self._epoch_start_step
        )
        logs["examples_per_second"] = train["examples_per_second"]
        self._write("train", self._with_health(train), self._step)
        val = {k[4:]: v for k, v in logs.items() if k.startswith("val_")}
        if "masked_lm_loss" in val:
            val["masked_lm_perplexity"] = _perplexity(val["masked_lm_loss"])
        if val:
            self._write("validation", val, self._step)

    def on_train_end(self, logs=None):
        for writer in self._writers.values():
            writer.close()
        self._writers = {}


def _perplexity(loss):
    loss = float(loss)
    return math.exp(min(loss, 50.0)) if math.isfinite(loss) else loss


class NonFiniteLossGuard(keras.callbacks.Callback):
    """Stops training at the first NaN or infinite loss, with a message.

    Put it first in the callback list: it raises `NonFiniteLossError`
    from `on_train_batch_end`, so no later callback (checkpointing) runs
    for the bad step and the last good checkpoint stays as it was.

    Example:
    >>> guard = NonFiniteLossGuard()
    >>> guard.on_train_batch_end(0, {"loss": 1.5}) is None
    True
    """

    def __init__(self, checkpoint_dir: str | None = None):
        super().__init__()
        self.checkpoint_dir = checkpoint_dir

    def on_train_batch_end(self, batch, logs=None):
        loss = (logs or {}).get("loss")
        if loss is None or math.isfinite(float(loss)):
            return
        self.model.stop_training = True
        where = ""
        if self.checkpoint_dir is not None:
            step = latest_checkpoint_step(self.checkpoint_dir)
            pointer = _read_pointer(self.checkpoint_dir)
            loss_text = ""
            if pointer.get("loss") is not None:
                loss_text = f", loss {pointer['loss']:.4g}"
            where = (
                f" The last healthy checkpoint (step {step}{loss_text}) in "
                f"{self.checkpoint_dir} is intact: lower the learning rate "
                "(--learning-rate) or check the data, then run the same "
                "command again to resume from it."
                if step
                else " No checkpoint had been written yet."
            )
        raise NonFiniteLossError(
            f"The training loss became {float(loss)} at step "
            f"{global_step(self.model)} (batch {batch} of this epoch); "
            f"training stopped.{where}"
        )


def _state_variables(model):
    """Model (weights, dropout seeds) and optimizer variables, by name."""
    named = {}
    for i, v in enumerate(model.variables):
        named[f"model/{i:04d}/{v.path}"] = v
    for i, v in enumerate(model.optimizer.variables):
        named[f"optimizer/{i:04d}/{v.path}"] = v
    return named


def _slot(name):
    """`model/0005/seed_generator_7/...` -> `model/0005`."""
    return "/".join(name.split("/")[:2])


def _read_pointer(directory: str) -> dict:
    pointer = os.path.join(directory, POINTER_FILE)
    if not os.path.isfile(pointer):
        return {}
    value = run_files.read_json(pointer, "checkpoint pointer")
    return value if isinstance(value, dict) else {}


def latest_checkpoint_step(directory: str) -> int:
    """The step of the newest complete training state, or 0 if none."""
    pointer = os.path.join(directory, POINTER_FILE)
    if not os.path.isfile(pointer):
        return 0
    with open(pointer, encoding="utf-8") as f:
        return int(json.load(f)["step"])


def save_training_state(
    model: keras.Model, directory: str, keep: int = 2, **extra
):
    """Writes the training state as `directory/ckpt-<step>/state.npz`.

    The folder is written under a temporary name and renamed; the
    `latest.json` pointer is replaced last, so a kill at any moment leaves
    the previous complete state readable. Keeps the `keep` newest states.

    Returns:
        The global step saved.
    """
    step = global_step(model)
    os.makedirs(directory, exist_ok=True)
    final = os.path.join(directory, f"ckpt-{step:09d}")
    arrays = {
        name: keras.ops.convert_to_numpy(v)
        for name, v in _state_variables(model).items()
    }
    # Built aside and swapped in; what a killed save left behind is removed
    # by the next one (StagedFolder.clean_stale).
    staged = StagedFolder(final, overwrite=True, what="checkpoint")
    with staged as tmp:
        np.savez(os.path.join(tmp, STATE_FILE), **arrays)
        staged.commit()
    pointer = os.path.join(directory, POINTER_FILE)
    run_files.write_json(
        pointer, {"step": step, "path": os.path.basename(final), **extra}
    )
    states = sorted(d for d in os.listdir(directory) if d.startswith("ckpt-"))
    for old in states[:-keep]:
        shutil.rmtree(os.path.join(directory, old), ignore_errors=True)
    return step


def restore_training_state(model: keras.Model, directory: str) -> int:
    """Restores the newest training state in `directory`; returns its step.

    The model and its optimizer must be built (`optimizer.build`). Returns
    0 and changes nothing when `directory` holds no state.

    Raises:
        ValueError: the state does not match the model or optimizer.
    """
    step = latest_checkpoint_step(directory)
    if step == 0:
        return 0
    path = os.path.join(directory, f"ckpt-{step:09d}", STATE_FILE)
    variables = _state_variables(model)
    with np.load(path) as data:
        # Match by position (`model/0005`): seed generators get
        # process-wide unique names (`seed_generator_7`), so full paths
        # differ between two builds of the same model in one process.
        stored = {_slot(name): name for name in data.files}
        wanted = {_slot(name): name for name in variables}
        if set(stored) != set(wanted):
            raise ValueError(
                f"The training state {path} does not match this model and "
                f"optimizer (another config, optimizer or precision?): it "
                f"holds {len(stored)} variables, the model and optimizer "
                f"have {len(wanted)}."
            )
        for slot, name in wanted.items():
            value = data[stored[slot]]
            variable = variables[name]
            if tuple(value.shape) != tuple(variable.shape):
                raise ValueError(
                    f"{stored[slot]} in {path} has shape {value.shape}; the "
                    f"model expects {tuple(variable.shape)} for {name}."
                )
            variable.assign(value)
    return step


HEALTH_FACTOR = 3.0


def healthy_loss_bound(best_loss, vocabulary_size: int) -> float:
    """The largest epoch loss still saved as a checkpoint.

    `HEALTH_FACTOR` times the best epoch loss saved so far; before any,
    that factor times the loss of a uniform guess (masked LM over the
    vocabulary plus next sentence: `log(vocabulary_size) + log(2)`).

    Example:
    >>> round(healthy_loss_bound(None, 30522), 2), healthy_loss_bound(2.0, 9)
    (33.06, 6.0)
    """
    if best_loss is None:
        return HEALTH_FACTOR * (math.log(vocabulary_size) + math.log(2))
    return HEALTH_FACTOR * float(best_loss)


class PretrainingCheckpoint(keras.callbacks.Callback):
    """Saves the training state and exports the encoder at epoch ends.

    Only healthy epochs are saved: an epoch whose mean training loss is
    not finite or exceeds `healthy_loss_bound` (3x the best epoch loss
    saved so far) is a run blowing up; it is skipped with a warning, so
    the newest checkpoint is always the last healthy one, the state to
    resume from with a lower learning rate (TF Model Garden's loss
    blow-up rule, at epoch granularity).

    Layout under `directory`:
    `checkpoints/ckpt-<step>/state.npz` (+ `latest.json`), the training
    state `restore_training_state` reads; `encoder/`, a Hugging Face
    checkpoint (`config.json`, `model.safetensors`, `vocab.txt`,
    `tokenizer_config.json`) that `keras_bert_impl.load_checkpoint` and
    fine-tuning read, the tokenizer's casing included. Under
    multi-worker training give every worker its
    `keras_bert_impl.training.distribute.worker_logdir` (the run folder on
    the chief, a temporary one elsewhere), as `pretrain` does: all workers
    then run the same saving code and only the chief's lands in the run
    folder. `is_chief=False` skips saving altogether.

    Args:
        directory: str. The run folder (`logdir`).
        tokenizer: optional `BertTokenizer` (or `vocab.txt` path) saved
            beside the encoder.
        keep: int. Training states kept. Defaults to `2`.
        is_chief: bool. Whether this process writes. Defaults to `True`.
    """

    def __init__(
        self,
        directory: str,
        tokenizer=None,
        keep: int = 2,
        is_chief: bool = True,
    ):
        super().__init__()
        self.directory = directory
        self.tokenizer = tokenizer
        self.keep = keep
        self.is_chief = is_chief
        self.unhealthy_epochs = []

    @property
    def checkpoint_dir(self) -> str:
        return os.path.join(self.directory, run_files.CHECKPOINTS_DIR)

    @property
    def encoder_dir(self) -> str:
        return os.path.join(self.directory, run_files.ENCODER_DIR)

    def on_epoch_end(self, epoch, logs=None):
        if not self.is_chief:
            return
        loss = float((logs or {}).get("loss", float("nan")))
        pointer = _read_pointer(self.checkpoint_dir)
        best = pointer.get("best_loss")
        bound = healthy_loss_bound(best, self.model.encoder.vocabulary_size)
        if not (math.isfinite(loss) and loss <= bound):
            logger.warning(
                "Epoch %d: the training loss %.4g is above %.4g (%.0fx the "
                "best epoch loss so far): the run is blowing up, so this "
                "epoch is not saved; the last healthy checkpoint is step %d "
                "in %s.",
                epoch + 1, loss, bound, HEALTH_FACTOR,
                latest_checkpoint_step(self.checkpoint_dir),
                self.checkpoint_dir,
            )  # fmt: skip
            self.unhealthy_epochs.append(epoch + 1)
            return
        best = loss if best is None else min(float(best), loss)
        save_training_state(
            self.model, self.checkpoint_dir, self.keep,
            loss=loss, best_loss=best,
        )  # fmt: skip
        save_checkpoint(
            self.model.encoder,
            self.encoder_dir,
            format="hf",
            vocab=self.tokenizer,
            overwrite=True,
        )
