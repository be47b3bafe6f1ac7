"""Fine-tuning: the one path, from the library, the CLI and the quickstart.

BERT's recipe (arXiv 1810.04805, section 4 and appendix A.3) is the
default of `FinetuneConfig`: AdamW (weight decay 0.01, LayerNorm and bias
variables excluded, epsilon 1e-6), a learning rate of 3e-5 (the paper
searches 2e-5, 3e-5, 5e-5) reached after a linear warmup over the first
10% of the updates and then decayed linearly to 0, 3 epochs (2–4), batch
size 32 (16 or 32), dropout 0.1 on the head, and gradients clipped to a
global norm of 1.0.

Two entry points, one pipeline:

* `finetune(model, train_ds, eval_ds, config, output_dir, tokenizer)`:
  a task model and `tf.data` datasets you built; it compiles the model
  with the recipe's optimizer, trains with `model.fit`, and writes the
  run folder.
* `run_finetuning(config, output_dir)`: everything from a
  `FinetuneConfig` naming the task, the starting weights (`init`) and the
  files: the tokenizer, the datasets (`keras_bert_impl.training.task_data`)
  and the task model (`build_task_model`) are built, then `finetune` runs.
  `keras-bert-impl finetune` and the quickstart call this.

The run folder (`keras_bert_impl.run_files`) is built aside and swapped in
whole when the run ends, so an interruption leaves the previous run (or
nothing) in place, never a model with another run's vocabulary:
`model.keras`, `best.keras` (the epoch with the best `monitor` value),
`finetune_config.json` (the resolved config and what the run found),
`eval_results.json`, `vocab.txt` + `tokenizer_config.json`, and
TensorBoard events in `train/` and `validation/`. `load_finetuned` reads
it back (runs of the first release too).

Example:
>>> config = FinetuneConfig(task="classify", init="runs/pretrain",
...                         train=["train.csv"], eval=["dev.csv"])
>>> results = run_finetuning(config, "runs/classifier")  # doctest: +SKIP
"""

import dataclasses
import os
from typing import Any

import keras

from keras_bert_impl import run_files
from keras_bert_impl.checkpoints.resolve import check_vocabulary_size
from keras_bert_impl.checkpoints.resolve import load_encoder
from keras_bert_impl.checkpoints.resolve import load_tokenizer
from keras_bert_impl.checkpoints.resolve import vocabulary_size_of
from keras_bert_impl.checks import check_fraction
from keras_bert_impl.checks import check_jit_compile
from keras_bert_impl.checks import check_positive_int
from keras_bert_impl.config import BertConfig
from keras_bert_impl.models.encoder import build_encoder
from keras_bert_impl.optimizers.recipe import create_finetune_optimizer
from keras_bert_impl.paths import StagedFolder
from keras_bert_impl.runtime import compute_dtypes
from keras_bert_impl.tasks import OPTION_DEFAULTS
from keras_bert_impl.tasks import get_task
from keras_bert_impl.tasks import task_of
from keras_bert_impl.tokenization.bert_tokenizer import BertTokenizer
from keras_bert_impl.training.callbacks import NonFiniteLossGuard
from keras_bert_impl.training.callbacks import TrainingTensorBoard
from keras_bert_impl.training.evaluate import evaluate_model
from keras_bert_impl.training.task_data import task_dataset
from keras_bert_impl.training.task_data import uses_text_pair
from keras_bert_impl.version import __version__

DTYPES = ("float32", "mixed_bfloat16", "mixed_float16")
FORMAT_VERSION = 2
# Keys of finetune_config.json that are not FinetuneConfig fields.
_RECORD_KEYS = ("format_version", "package_version", "run")
# The first release's CLI wrote these beside the config fields.
_LEGACY_RUN_KEYS = ("label_names", "train_examples", "total_steps")


@dataclasses.dataclass
class FinetuneConfig:
    """A fine-tuning run: the recipe, and (for `run_finetuning`) its data.

    The recipe fields have the paper's defaults. The run fields say what
    `run_finetuning` trains on; `finetune` (model and datasets given) reads
    only the recipe and records the rest as it finds it.

    Args:
        learning_rate: float. Peak learning rate. Defaults to `3e-5` (the
            paper searches 2e-5 to 5e-5).
        epochs: int. Passes over the training set. Defaults to `3`.
        batch_size: int. Examples per step. Defaults to `32`.
        warmup_ratio: float in [0, 1). Share of the updates with linear
            warmup, then linear decay to 0. Defaults to `0.1`.
        weight_decay: float. Decoupled weight decay (LayerNorm and bias
            variables excluded). Defaults to `0.01`.
        dropout: float in [0, 1). Dropout of the task head. Defaults to
            `0.1`.
        encoder_dropout: optional float in [0, 1). The encoder's dropout
            and attention dropout; defaults to the starting checkpoint's
            (e.g. 0.1 for a model pretrained without dropout).
        clipnorm: optional float. Global gradient-norm clipping. Defaults
            to `1.0`.
        beta_1, beta_2, epsilon: Adam's. Defaults `0.9`, `0.999`, `1e-6`.
        steps_per_epoch: optional int. Needed when the training dataset's
            length is unknown; defaults to its cardinality.
        validation_freq: int. Evaluate on the `eval` set after every this
            many epochs (Keras' `validation_freq`); the final metrics are
            computed after the last epoch whatever it is. Defaults to `1`.
        monitor: optional str. Log that picks `best.keras`, e.g.
            `"val_accuracy"`. Defaults to `"val_loss"` with an evaluation
            set, else `"loss"`.
        jit_compile: `True`, `False` or `"auto"` (default): XLA-compile
            the steps; `"auto"` compiles on a GPU/TPU, not on a CPU, where
            a fine-tuning step was measured faster without XLA
            (`keras_bert_impl.runtime.resolve_jit_compile`).
        tensorboard_update_freq: `"epoch"` or int (steps).
        task: optional str. A task of `keras_bert_impl.tasks.TASKS`.
        init: optional str. Starting weights: a Hugging Face folder, a TF1
            checkpoint, a `pretrain` run folder, or a preset name (random
            weights; needs `vocab`).
        train, eval: optional lists of files, folders or globs.
        vocab: optional str. `vocab.txt` (default: the one beside `init`).
        lower_case: optional bool. Tokenizer casing (default: the casing
            stored with `init`'s vocabulary, else lower-case).
        max_seq_length: int. Tokens per example. Defaults to `128`.
        seed: int. Seeds the head's weights, dropout and shuffling.
        dtype: str. `"float32"`, `"mixed_bfloat16"` or `"mixed_float16"`.
        text_column, text_pair_column, label_column, file_format,
            label_separator, doc_stride, max_query_length: the task's
            reading options (see `keras_bert_impl.tasks.OPTION_DEFAULTS`).

    Example:
    >>> FinetuneConfig().learning_rate, FinetuneConfig(epochs=4).epochs
    (3e-05, 4)
    """

    learning_rate: float = 3e-5
    epochs: int = 3
    batch_size: int = 32
    warmup_ratio: float = 0.1
    weight_decay: float = 0.01
    dropout: float = 0.1
    encoder_dropout: float | None = None
    clipnorm: float | None = 1.0
    beta_1: float = 0.9
    beta_2: float = 0.999
    epsilon: float = 1e-6
    steps_per_epoch: int | None = None
    validation_freq: int = 1
    monitor: str | None = None
    jit_compile: bool | str = "auto"
    tensorboard_update_freq: str | int = "epoch"
    task: str | None = None
    init: str | None = None
    train: list[str] | None = None
    eval: list[str] | None = None
    vocab: str | None = None
    lower_case: bool | None = None
    max_seq_length: int = 128
    seed: int = 0
    dtype: str = "float32"
    text_column: str | None = OPTION_DEFAULTS["text_column"]
    text_pair_column: str | None = OPTION_DEFAULTS["text_pair_column"]
    label_column: str = OPTION_DEFAULTS["label_column"]
    file_format: str = OPTION_DEFAULTS["file_format"]
    label_separator: str = OPTION_DEFAULTS["label_separator"]
    doc_stride: int = OPTION_DEFAULTS["doc_stride"]
    max_query_length: int = OPTION_DEFAULTS["max_query_length"]

    def __post_init__(self):
        check_positive_int(
            epochs=self.epochs,
            batch_size=self.batch_size,
            max_seq_length=self.max_seq_length,
            doc_stride=self.doc_stride,
            max_query_length=self.max_query_length,
            validation_freq=self.validation_freq,
        )
        if self.steps_per_epoch is not None:
            check_positive_int(steps_per_epoch=self.steps_per_epoch)
        if not (
            isinstance(self.learning_rate, int | float)
            and self.learning_rate > 0
        ):
            raise ValueError(
                "`learning_rate` must be positive (the paper uses 2e-5 to "
                f"5e-5). Received: learning_rate={self.learning_rate!r}"
            )
        check_fraction("warmup_ratio", self.warmup_ratio)
        check_fraction("dropout", self.dropout)
        if self.encoder_dropout is not None:
            check_fraction("encoder_dropout", self.encoder_dropout)
        if self.weight_decay < 0:
            raise ValueError(
                "`weight_decay` must be >= 0. Received: "
                f"weight_decay={self.weight_decay!r}"
            )
        check_jit_compile(self.jit_compile)
        if self.dtype not in DTYPES:
            raise ValueError(
                f"`dtype` must be one of {DTYPES}. Received: "
                f"dtype={self.dtype!r}"
            )
        if self.task is not None:
            get_task(self.task)
        for name in ("train", "eval"):
            if isinstance(getattr(self, name), str):
                setattr(self, name, [getattr(self, name)])

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, config: dict[str, Any]) -> "FinetuneConfig":
        """The config of a dict (as written to `finetune_config.json`).

        Record-only keys of the run file are ignored; any other unknown
        key is an error.
        """
        known = {f.name for f in dataclasses.fields(cls)}
        skipped = set(_RECORD_KEYS) | set(_LEGACY_RUN_KEYS)
        unknown = sorted(set(config) - known - skipped)
        if unknown:
            raise ValueError(
                f"Unknown FinetuneConfig field(s) {unknown} (written by a "
                f"newer version of keras_bert_impl?). Known: {sorted(known)}"
            )
        return cls(**{k: v for k, v in config.items() if k in known})


# -- the task model ------------------------------------------------------------


def _is_preset(init) -> bool:
    return (
        isinstance(init, str)
        and init in BertConfig.presets()
        and not os.path.exists(init)
    )


def build_task_model(
    task: str,
    init: str | os.PathLike | None = None,
    *,
    bert_config=None,
    num_classes: int | None = None,
    label_names=None,
    vocab=None,
    dropout: float = 0.1,
    text_pair: bool = False,
    num_choices: int | None = None,
    dtype: str | None = None,
    encoder_dropout: float | None = None,
):
    """Builds the task model of `task`, on a checkpoint or fresh.

    Args:
        task: str. A task of `keras_bert_impl.tasks.TASKS` (`"classify"`,
            `"pair"`, `"regress"`, `"ner"`, `"squad"`, `"choice"`).
        init: optional str. A Hugging Face folder, a TF1 checkpoint, a
            pretraining run folder of this package, or a preset name
            (random weights sized to `vocab`); `None` builds a fresh
            encoder from `bert_config`.
        bert_config: `BertConfig` or preset name, for `init=None`.
        num_classes, label_names: the classes of tasks with labels.
        vocab: optional `BertTokenizer`, token list or `vocab.txt` path; its
            size must match the model's (defaults, with a checkpoint
            `init`, to the `vocab.txt` beside it).
        dropout: float. Head dropout. Defaults to `0.1`.
        text_pair: bool. Whether the model is fed text pairs (`classify`,
            `regress`; `pair` always is). Recorded for export.
        num_choices: optional int for `"choice"`.
        dtype: optional dtype policy, e.g. `"mixed_bfloat16"`.
        encoder_dropout: optional float. The encoder's dropout and
            attention dropout rates; defaults to the checkpoint's (or the
            config's).

    Returns:
        The task model (not compiled).

    Raises:
        ValueError: unknown task, no `init` and no `bert_config`, a preset
            without `vocab`, a vocabulary of another size than the model's,
            or a bad task argument.

    Example:
    >>> model = build_task_model("regress", bert_config=BertConfig.preset(
    ...     "tiny", vocabulary_size=32, num_layers=1), text_pair=True)
    >>> type(model).__name__, model.text_pair
    ('BertRegressor', True)
    """
    spec = get_task(task)
    if init is not None and not _is_preset(init):
        encoder = load_encoder(
            init, vocab=vocab, dtype=dtype, dropout=encoder_dropout
        )
    else:
        if init is not None:
            if vocab is None:
                raise ValueError(
                    f"init={init!r} is a preset (random weights): pass the "
                    "vocabulary to train with (vocab=, --vocab)."
                )
            bert_config = BertConfig.preset(
                init, vocabulary_size=vocabulary_size_of(vocab)
            )
        if bert_config is None:
            raise ValueError(
                "Pass `init` (a checkpoint to start from, or a preset) or "
                "`bert_config` (a BertConfig or preset name for a fresh "
                "model). Received: init=None, bert_config=None"
            )
        if isinstance(bert_config, str):
            bert_config = BertConfig.preset(bert_config)
        if encoder_dropout is not None:
            bert_config = dataclasses.replace(
                bert_config,
                dropout=encoder_dropout,
                attention_dropout=encoder_dropout,
            )
        encoder = build_encoder(bert_config, dtype=dtype)
        if vocab is not None:
            check_vocabulary_size(
                encoder.vocabulary_size, vocab, "the model config"
            )
    if label_names is None and num_classes is not None and spec.labels:
        label_names = [f"LABEL_{i}" for i in range(num_classes)]
    return spec.build_model(
        encoder,
        label_names=label_names,
        dropout=dropout,
        text_pair=text_pair,
        num_choices=num_choices,
    )


# -- finetune ------------------------------------------------------------------


def _batched(model, dataset, batch_size, name):
    """`dataset` batched to `batch_size` unless it already has a batch axis."""
    import tensorflow as tf

    if not isinstance(dataset, tf.data.Dataset):
        raise ValueError(
            f"`{name}` must be a tf.data.Dataset of (features, labels[, "
            f"sample_weight]). Received: {type(dataset).__name__}"
        )
    spec = dataset.element_spec
    features = spec[0] if isinstance(spec, tuple) else spec
    token_ids = (
        features.get("token_ids") if isinstance(features, dict) else None
    )
    if token_ids is None:
        raise ValueError(
            f"`{name}` must yield a features dict with `token_ids`, "
            "`segment_ids` and `padding_mask`. Received: element_spec="
            f"{spec}"
        )
    model_rank = len(model.inputs[0].shape)
    if token_ids.shape.rank == model_rank - 1:
        batched = dataset.batch(batch_size)
        for attr in ("label_map", "num_examples", "examples", "windows"):
            if hasattr(dataset, attr):
                setattr(batched, attr, getattr(dataset, attr))
        dataset = batched
    return dataset


def _length(dataset, name, steps=None):
    import tensorflow as tf

    n = int(dataset.cardinality())
    if n == 0:
        raise ValueError(
            f"`{name}` is empty: it yields no batch. Check the file and the "
            "filters that built it."
        )
    if n in (tf.data.INFINITE_CARDINALITY, tf.data.UNKNOWN_CARDINALITY):
        if steps is None and name == "train_ds":
            raise ValueError(
                "The length of `train_ds` is unknown (or infinite), so the "
                "schedule's total steps are too: pass "
                f"config.steps_per_epoch. Received: cardinality={n}"
            )
        return None
    return n


def _sequence_length(dataset):
    """The static sequence length of a dataset's `token_ids`, or None."""
    spec = dataset.element_spec
    features = spec[0] if isinstance(spec, tuple) else spec
    return features["token_ids"].shape[-1]


def _write_tokenizer(tokenizer, folder):
    if isinstance(tokenizer, str | os.PathLike):
        tokenizer = BertTokenizer(tokenizer)
    tokenizer.save(folder)


def finetune(
    model: keras.Model,
    train_ds,
    eval_ds=None,
    config: FinetuneConfig | None = None,
    output_dir: str | os.PathLike | None = None,
    tokenizer=None,
    callbacks: list | None = None,
    verbose: str | int = "auto",
    overwrite: bool = False,
) -> keras.callbacks.History:
    """Fine-tunes a task model with the paper's recipe and `model.fit`.

    Compiles `model` with its task loss and metrics and
    `create_finetune_optimizer` (warmup over `warmup_ratio` of
    `epochs × steps_per_epoch` updates, then linear decay to 0), trains
    with a progress bar, evaluates `eval_ds` after each epoch, and, with
    `output_dir`, logs to TensorBoard and writes the run folder (see the
    module docstring) when training ends. A NaN/inf loss stops the run
    with `NonFiniteLossError`; the folder is then left as it was.

    Args:
        model: a task model (`BertClassifier`, `BertRegressor`,
            `BertTokenClassifier`, `BertQuestionAnswering`,
            `BertMultipleChoice`).
        train_ds: `tf.data.Dataset` of `(features, labels)` or
            `(features, labels, sample_weight)`, batched or not (an
            unbatched one is batched to `config.batch_size`). Shuffle it
            yourself (e.g. `shuffle(..., reshuffle_each_iteration=True)`).
        eval_ds: optional dataset of the same structure.
        config: `FinetuneConfig`. Defaults to `FinetuneConfig()`. With
            `config.eval` files, the task metrics on them are computed at
            the end (`keras_bert_impl.training.evaluate.evaluate_model`).
        output_dir: optional str. Run folder (missing parents created).
        tokenizer: optional `BertTokenizer` or `vocab.txt` path, saved in
            `output_dir`; its size must match the model's vocabulary.
        callbacks: optional extra Keras callbacks.
        verbose: `fit`'s verbosity (`"auto"`: a progress bar).
        overwrite: bool. Replace a non-empty `output_dir` (the old run
            stays until the new one is complete).

    Returns:
        The `History` of `fit`, with `eval_results` (the metrics written
        to `eval_results.json`; empty without an evaluation set).

    Raises:
        ValueError: empty `train_ds` or `eval_ds`, a training set of
            unknown length without `steps_per_epoch`, a tokenizer of
            another vocabulary size, or a model that is not a task model.
        FileExistsError: `output_dir` holds files and `overwrite` is not
            set.

    Example:
    >>> import shutil, tempfile
    >>> import tensorflow as tf
    >>> tokenizer = kbi.BertTokenizer(
    ...     ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "good", "bad"])
    >>> model = build_task_model("classify", bert_config=BertConfig.preset(
    ...     "tiny", vocabulary_size=7, num_layers=1), label_names=["no", "yes"])
    >>> features = tokenizer.encode(["good", "bad", "good bad", "bad"],
    ...                             max_length=8)
    >>> train_ds = tf.data.Dataset.from_tensor_slices((features, [1, 0, 1, 0]))
    >>> output_dir = tempfile.mkdtemp()
    >>> config = FinetuneConfig(epochs=2, batch_size=2,
    ...                         jit_compile=False)  # XLA off: a quick doctest
    >>> history = finetune(model, train_ds, config=config,
    ...                    output_dir=output_dir, tokenizer=tokenizer,
    ...                    verbose=0)
    >>> len(history.history["loss"]), sorted(os.listdir(output_dir))
    (2, ['best.keras', 'finetune_config.json', 'model.keras', 'tokenizer_config.json', 'train', 'vocab.txt'])
    >>> shutil.rmtree(output_dir)
    """  # noqa: E501
    config = config or FinetuneConfig()
    if not isinstance(config, FinetuneConfig):
        raise ValueError(
            "`config` must be a FinetuneConfig. Received: "
            f"{type(config).__name__}"
        )
    if not isinstance(model, keras.Model):
        raise ValueError(
            "`model` must be a task model (e.g. BertClassifier). Received: "
            f"{type(model).__name__}"
        )
    spec = task_of(model)
    wanted = None if config.task is None else get_task(config.task).model
    if wanted is not None and wanted != spec.model:
        raise ValueError(
            f"config.task={config.task!r} trains a {wanted}, but the model "
            f"is a {type(model).__name__}."
        )
    encoder = getattr(model, "encoder", None)
    if tokenizer is not None and encoder is not None:
        check_vocabulary_size(encoder.vocabulary_size, tokenizer, "the model")
    train_ds = _batched(model, train_ds, config.batch_size, "train_ds")
    steps = config.steps_per_epoch or _length(train_ds, "train_ds")
    if eval_ds is not None:
        eval_ds = _batched(model, eval_ds, config.batch_size, "eval_ds")
        _length(eval_ds, "eval_ds")
    total_steps = steps * config.epochs
    model.compile(
        optimizer=create_finetune_optimizer(
            total_steps,
            config.learning_rate,
            config.warmup_ratio,
            config.weight_decay,
            clipnorm=config.clipnorm,
            beta_1=config.beta_1,
            beta_2=config.beta_2,
            epsilon=config.epsilon,
            # Keras scales the loss only for a float16 *model* policy; a
            # task model keeps float32 at its top with a float16 encoder.
            loss_scale="float16" in compute_dtypes(model),
        ),
        jit_compile=config.jit_compile,
    )
    length = _sequence_length(train_ds) or config.max_seq_length
    config = dataclasses.replace(
        config,
        task=config.task or spec.name,
        jit_compile=bool(model.jit_compile),  # as resolved
        max_seq_length=int(length),
        lower_case=getattr(tokenizer, "lower_case", config.lower_case),
    )
    record = {
        "format_version": FORMAT_VERSION,
        "package_version": __version__,
        **config.to_dict(),
        "run": {
            "model": type(model).__name__,
            "label_names": _list_or_none(getattr(model, "label_names", None)),
            "text_pair": bool(getattr(model, "text_pair", False)),
            "num_choices": getattr(model, "num_choices", None),
            "train_examples": getattr(train_ds, "num_examples", None),
            "steps_per_epoch": steps,
            "total_steps": total_steps,
        },
    }
    monitor = config.monitor or ("val_loss" if eval_ds is not None else "loss")
    staged = None if output_dir is None else StagedFolder(
        output_dir, overwrite=overwrite, what="output_dir"
    )  # fmt: skip
    with staged or _NoFolder() as folder:
        all_callbacks = [NonFiniteLossGuard()]
        if folder is not None:
            all_callbacks += [
                TrainingTensorBoard(
                    folder,
                    global_batch_size=config.batch_size,
                    update_freq=config.tensorboard_update_freq,
                    sequence_length=config.max_seq_length,
                ),
                keras.callbacks.ModelCheckpoint(
                    os.path.join(folder, run_files.BEST_MODEL_FILE),
                    monitor=monitor,
                    save_best_only=True,
                ),
            ]
        all_callbacks += list(callbacks or [])
        history = model.fit(
            train_ds,
            validation_data=eval_ds,
            validation_freq=config.validation_freq,
            epochs=config.epochs,
            steps_per_epoch=config.steps_per_epoch,
            callbacks=all_callbacks,
            shuffle=False,  # the datasets shuffle themselves
            verbose=verbose,
        )
        results = {}
        if config.eval and tokenizer is not None:
            results = evaluate_model(
                config, model, _as_tokenizer(tokenizer), config.eval,
                progress=verbose not in (0, 2),
            )  # fmt: skip
        elif eval_ds is not None:
            results = {
                k[4:]: float(v[-1])
                for k, v in history.history.items()
                if k.startswith("val_")
            }
        history.eval_results = results
        if folder is not None:
            model.save(os.path.join(folder, run_files.MODEL_FILE))
            if tokenizer is not None:
                _write_tokenizer(tokenizer, folder)
            run_files.write_json(
                os.path.join(folder, run_files.FINETUNE_CONFIG_FILE), record
            )
            if results:
                run_files.write_json(
                    os.path.join(folder, run_files.EVAL_RESULTS_FILE), results
                )
            staged.commit()
    return history


class _NoFolder:
    """`with` stand-in when there is no run folder."""

    def __enter__(self):
        return None

    def __exit__(self, *exc):
        return False


def _list_or_none(names):
    return None if names is None else list(names)


def _as_tokenizer(tokenizer):
    if isinstance(tokenizer, str | os.PathLike):
        return BertTokenizer(tokenizer)
    return tokenizer


# -- from files ----------------------------------------------------------------


def run_tokenizer(config: FinetuneConfig) -> BertTokenizer:
    """The tokenizer a `FinetuneConfig` trains with.

    `config.vocab` (or the `vocab.txt` beside `config.init`), with
    `config.lower_case` if set, else the casing stored with the vocabulary
    (`keras_bert_impl.run_files.read_tokenizer_settings`).

    Raises:
        ValueError: a preset `init` without `vocab`.
        FileNotFoundError: no vocabulary found.
    """
    if config.vocab is not None and not os.path.isfile(config.vocab):
        raise FileNotFoundError(
            f"--vocab {config.vocab!r} does not exist. Pass the vocab.txt of "
            "the --init checkpoint, or leave --vocab out to use the one "
            "beside it."
        )
    if _is_preset(config.init):
        if config.vocab is None:
            raise ValueError(
                f"--init {config.init!r} is a preset (random weights): pass "
                "--vocab with the vocab.txt to train with."
            )
        return load_tokenizer(config.vocab, lower_case=config.lower_case)
    if not os.path.exists(config.init) and not os.path.exists(
        f"{config.init}.index"
    ):
        raise FileNotFoundError(
            f"--init {config.init!r} does not exist. Pass a Hugging Face "
            "folder, a TF1 checkpoint, a `keras-bert-impl pretrain` run "
            f"folder or a preset ({', '.join(BertConfig.presets())})."
        )
    return load_tokenizer(
        config.init, vocab=config.vocab, lower_case=config.lower_case
    )


def run_finetuning(
    config: FinetuneConfig,
    output_dir: str | os.PathLike,
    overwrite: bool = False,
    verbose: str | int = "auto",
) -> dict:
    """Fine-tunes `config.task` from `config.init` on files; saves the run.

    Reads and checks the data first (cheap, where most mistakes are),
    then loads the weights, then runs `finetune`: the tokenizer
    (`run_tokenizer`), the datasets (`task_dataset`, label map from the
    training files), the task model (`build_task_model`; `text_pair` set
    when the files hold a second text), training, evaluation on
    `config.eval`, and the run folder.

    Args:
        config: `FinetuneConfig` with `task`, `init` and `train` set.
        output_dir: str. The run folder (built aside, swapped in whole).
        overwrite: bool. Replace a non-empty `output_dir`.
        verbose: `fit`'s verbosity.

    Returns:
        dict: the metrics on `config.eval` (empty without it).

    Raises:
        ValueError: a missing setting, unreadable data, a label unknown to
            the training set, a vocabulary that does not fit the weights,
            or `max_seq_length` beyond the model's positions.
        FileExistsError: `output_dir` holds files and `overwrite` is not
            set.
    """
    for name in ("task", "init", "train"):
        if not getattr(config, name):
            raise ValueError(
                f"run_finetuning needs config.{name} (--{name}). Received: "
                f"{name}={getattr(config, name)!r}"
            )
    output_dir = os.fspath(output_dir)
    StagedFolder(output_dir, overwrite, "--output").clean_stale()
    if os.path.isdir(output_dir) and os.listdir(output_dir) and not overwrite:
        raise FileExistsError(
            f"--output {output_dir!r} already holds files: pass another "
            "folder or --overwrite (the old run is kept until the new one "
            "is complete)."
        )
    keras.utils.set_random_seed(config.seed)
    tokenizer = run_tokenizer(config)
    config = dataclasses.replace(config, lower_case=tokenizer.lower_case)
    train_ds = task_dataset(config, config.train, tokenizer, training=True)
    label_map = getattr(train_ds, "label_map", None)
    text_pair = uses_text_pair(config, train_ds)
    eval_ds = None
    if config.eval:
        eval_ds = task_dataset(config, config.eval, tokenizer, label_map)
    model = build_task_model(
        config.task,
        config.init,
        label_names=None if label_map is None else label_map.names,
        vocab=tokenizer,
        dropout=config.dropout,
        text_pair=text_pair,
        dtype=None if config.dtype == "float32" else config.dtype,
        encoder_dropout=config.encoder_dropout,
    )
    positions = model.encoder.max_sequence_length
    if config.max_seq_length > positions:
        raise ValueError(
            f"--max-seq-length {config.max_seq_length} is longer than the "
            f"model's {positions} positions. Pass --max-seq-length "
            f"{positions} or less."
        )
    history = finetune(
        model,
        train_ds,
        eval_ds,
        config,
        output_dir,
        tokenizer,
        verbose=verbose,
        overwrite=overwrite,
    )
    return history.eval_results


# -- reading a run back --------------------------------------------------------


def read_finetune_config(folder, model=None) -> FinetuneConfig:
    """The `FinetuneConfig` of a run folder, of any release.

    Args:
        folder: str. A fine-tuning run folder.
        model: the loaded task model, to tell the task of a first-release
            library run (whose config did not record it).

    Raises:
        FileNotFoundError: not a run folder.
        ValueError: a malformed config.
    """
    path = os.path.join(folder, run_files.FINETUNE_CONFIG_FILE)
    if not os.path.isfile(path):
        raise FileNotFoundError(
            f"{folder!r} has no {run_files.FINETUNE_CONFIG_FILE}: pass the "
            "--output folder of `keras-bert-impl finetune` (or the "
            "output_dir of `finetune`)."
        )
    record = run_files.read_json(path, "fine-tuning config")
    if not isinstance(record, dict):
        raise ValueError(f"{path}: expected a JSON object.")
    config = FinetuneConfig.from_dict(record)
    if config.task is None and model is not None:
        config = dataclasses.replace(config, task=task_of(model).name)
    return config


def load_finetuned(
    path: str | os.PathLike,
    best: bool = False,
    return_config: bool = False,
):
    """Reloads a fine-tuned model with its tokenizer (and config).

    Reads run folders written by `finetune`, `run_finetuning` and
    `keras-bert-impl finetune` of this and the first release.

    Args:
        path: str. The run folder, or a `.keras` file in it.
        best: bool. Load `best.keras` instead of `model.keras` (folder
            only). Defaults to `False`.
        return_config: bool. Also return the run's `FinetuneConfig`.

    Returns:
        `(model, tokenizer or None)`, or `(model, tokenizer, config)`
        with `return_config=True`. The model is not compiled (call
        `compile` or `finetune` to train it further).

    Raises:
        FileNotFoundError: no such model file, or (with `return_config`)
            no `finetune_config.json`.

    Example (the run folder holds what `finetune(model, ...,
    output_dir=output_dir, tokenizer=tokenizer)` writes; the two files read
    back are saved by hand here, to keep the example quick):
    >>> import shutil, tempfile
    >>> tokenizer = kbi.BertTokenizer(
    ...     ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "good", "bad"])
    >>> model = build_task_model("classify", bert_config=BertConfig.preset(
    ...     "tiny", vocabulary_size=7, num_layers=1), label_names=["no", "yes"])
    >>> output_dir = tempfile.mkdtemp()
    >>> model.save(os.path.join(output_dir, "model.keras"))
    >>> tokenizer.save(output_dir)
    >>> reloaded, reloaded_tokenizer = load_finetuned(output_dir)
    >>> type(reloaded).__name__, reloaded.label_names
    ('BertClassifier', ('no', 'yes'))
    >>> reloaded_tokenizer.tokenize(["bad good"]).to_list()
    [[6, 5]]
    >>> features = tokenizer.encode(["good", "bad"], max_length=8)
    >>> np.allclose(reloaded.predict(features, verbose=0),
    ...             model.predict(features, verbose=0))
    True
    >>> shutil.rmtree(output_dir)
    """
    import keras_bert_impl.models  # noqa: F401  (registers the classes)

    path = os.fspath(path)
    if os.path.isdir(path):
        folder = path
        if not run_files.is_finetune_run(folder):
            raise FileNotFoundError(
                f"{folder!r} is not a fine-tuning run folder (no "
                f"{run_files.MODEL_FILE}, no {run_files.FINETUNE_CONFIG_FILE}):"
                " pass the --output folder of `keras-bert-impl finetune` (or "
                "the output_dir of `finetune`)."
            )
        name = run_files.BEST_MODEL_FILE if best else run_files.MODEL_FILE
        path = os.path.join(path, name)
    else:
        folder = os.path.dirname(path)
    if not os.path.isfile(path):
        raise FileNotFoundError(
            f"No fine-tuned model at {path}: pass the run folder of "
            "`finetune` / `keras-bert-impl finetune`, or its .keras file."
        )
    model = keras.saving.load_model(path, compile=False)
    config = None
    if os.path.isfile(os.path.join(folder, run_files.FINETUNE_CONFIG_FILE)):
        config = read_finetune_config(folder, model)
    elif return_config:
        read_finetune_config(folder)  # raises FileNotFoundError
    tokenizer = None
    if os.path.isfile(os.path.join(folder, run_files.VOCAB_FILE)):
        tokenizer = load_tokenizer(folder or ".")
    if return_config:
        return model, tokenizer, config
    return model, tokenizer


def load_for_inference(path):
    """A model, its tokenizer and its task config, from any folder.

    A fine-tuning run folder (`load_finetuned`), or a checkpoint folder
    made elsewhere (`keras_bert_impl.load_task_model`: a Hugging Face task
    folder, a TF1 task checkpoint, or a bare encoder), so `keras-bert-impl
    evaluate` and `predict` take either.

    Returns:
        `(model, tokenizer, config)`: `config` is the run's
        `FinetuneConfig`, or one with the task detected from the model
        (default settings) for a checkpoint; `None` for a bare encoder.
    """
    from keras_bert_impl.checkpoints.task_models import load_task_model
    from keras_bert_impl.models.encoder import BertEncoder
    from keras_bert_impl.models.pretrainer import BertPretrainer

    path = os.fspath(path)
    if run_files.is_finetune_run(path):
        return load_finetuned(path, return_config=True)
    if not os.path.exists(path) and not os.path.exists(f"{path}.index"):
        raise FileNotFoundError(
            f"No model at {path!r}: pass the --output folder of "
            "`keras-bert-impl finetune`, or a checkpoint folder (Hugging "
            "Face or TF1)."
        )
    try:
        model = load_task_model(path)
    except (FileNotFoundError, ValueError) as e:
        if (
            not os.path.isdir(path)
            or os.listdir(path)
            and any(
                n.endswith((".safetensors", ".index", ".json"))
                for n in os.listdir(path)
            )
        ):
            raise
        raise FileNotFoundError(
            f"{path!r} is neither a fine-tuning run folder (no "
            f"{run_files.MODEL_FILE}, no {run_files.FINETUNE_CONFIG_FILE}) "
            "nor a checkpoint folder: pass the --output folder of "
            "`keras-bert-impl finetune`, or a Hugging Face / TF1 folder."
        ) from e
    tokenizer = load_tokenizer(path)
    if isinstance(model, BertPretrainer):
        model = model.encoder
    if isinstance(model, BertEncoder):
        return model, tokenizer, None
    config = FinetuneConfig(
        task=task_of(model).name,
        max_seq_length=min(128, model.encoder.max_sequence_length),
        lower_case=tokenizer.lower_case,
    )
    return model, tokenizer, config
