"""`pretrain`: BERT pretraining (masked LM + NSP) with `model.fit`.

One call validates everything, builds the strategy, the data pipeline,
the model and BERT's optimizer, restores the newest checkpoint of the run
if there is one, and calls `model.fit`:

>>> config = PretrainingConfig(  # doctest: +SKIP
...     model="tiny", vocab="vocab.txt", train=["corpus/*.txt"],
...     logdir="runs/tiny", steps=10_000, batch_size=32)
>>> history = pretrain(config)  # doctest: +SKIP

An "epoch" here is `steps_per_epoch` steps of an endless stream (the
corpus repeats with new pairs and masks): it is the unit of logging,
validation and checkpointing, not a pass over the corpus.

Run folder (`logdir`): `pretraining_config.json` (the resolved config),
`bert_config.json`, `vocab.txt`, `train/` and `validation/` TensorBoard
events, `checkpoints/` (training states for resume) and `encoder/` (the
encoder as a Hugging Face checkpoint with `vocab.txt`, for
`load_checkpoint` and fine-tuning). Under multi-worker training only the
chief writes there.

Resume: run the same command again. The newest training state (weights,
dropout seeds, optimizer moments and step) is restored, the data stream
skips the batches already consumed (it is a deterministic function of
`seed`), and training continues from that epoch boundary: the result is
the run that was never interrupted.
"""

import dataclasses
import hashlib
import json
import os
from typing import Any

import keras
import tensorflow as tf

from keras_bert_impl import run_files
from keras_bert_impl.checks import check_positive_int
from keras_bert_impl.config import BertConfig
from keras_bert_impl.data.corpus import validate_corpus
from keras_bert_impl.data.pretraining import default_max_predictions
from keras_bert_impl.data.pretraining import pretraining_dataset
from keras_bert_impl.models.encoder import build_encoder
from keras_bert_impl.models.pretrainer import BertPretrainer
from keras_bert_impl.optimizers.recipe import OPTIMIZERS
from keras_bert_impl.optimizers.recipe import create_optimizer
from keras_bert_impl.paths import prepare_output
from keras_bert_impl.runtime import resolve_jit_compile
from keras_bert_impl.tokenization.bert_tokenizer import BertTokenizer
from keras_bert_impl.tokenization.vocab import read_vocab
from keras_bert_impl.tokenization.vocab import write_vocab
from keras_bert_impl.training.callbacks import NonFiniteLossGuard
from keras_bert_impl.training.callbacks import PretrainingCheckpoint
from keras_bert_impl.training.callbacks import TrainingTensorBoard
from keras_bert_impl.training.callbacks import restore_training_state
from keras_bert_impl.training.distribute import STRATEGIES
from keras_bert_impl.training.distribute import ReplicaXLAMixin
from keras_bert_impl.training.distribute import get_strategy
from keras_bert_impl.training.distribute import is_chief
from keras_bert_impl.training.distribute import worker_logdir

DTYPES = ("float32", "mixed_bfloat16", "mixed_float16")
CONFIG_FILE = run_files.PRETRAINING_CONFIG_FILE
# Keys of pretraining_config.json that are not PretrainingConfig fields.
_RECORD_KEYS = ("vocab_sha256", "resumed")
# Settings a resumed run may change. Operational ones change nothing that
# is trained; the optimizer's are the documented way out of a diverged run
# ("lower the learning rate and resume"), and are recorded in the config.
RESUME_OPERATIONAL = (
    "vocab",  # its contents are compared, not its path
    "logdir",
    "validation",
    "validation_steps",
    "cache_dir",
    "keep_checkpoints",
    "tensorboard_update_freq",
    "strategy",
    "tpu_address",
    "jit_compile",
)
RESUME_RECIPE = ("learning_rate", "warmup_steps", "weight_decay", "steps")


@keras.saving.register_keras_serializable(package="keras_bert_impl")
class PretrainingModel(ReplicaXLAMixin, BertPretrainer):
    """`BertPretrainer` whose train step runs on every tf.distribute strategy.

    Same graph, losses, metrics and `compile()` defaults as
    `BertPretrainer`; `fit` XLA-compiles each replica's forward and
    backward pass and all-reduces gradients outside XLA (see
    `keras_bert_impl.training.distribute`), so it also trains under
    `MirroredStrategy` on several CPUs and `MultiWorkerMirroredStrategy`.

    Example:
    >>> from keras_bert_impl import build_encoder
    >>> encoder = build_encoder(BertConfig.preset(
    ...     "tiny", vocabulary_size=32, num_layers=1))
    >>> model = PretrainingModel(encoder)
    >>> sorted(model.output.keys())
    ['masked_lm', 'next_sentence']
    """


@dataclasses.dataclass
class PretrainingConfig:
    """Everything a pretraining run needs; JSON-able, validated on use.

    Args:
        vocab: str. `vocab.txt` of the tokenizer.
        train: list of str. Training files, folders or globs.
        logdir: str. Run folder (created with its missing parents).
        model: str or dict. A `BertConfig` preset name (its
            `vocabulary_size` is set from `vocab`), a path to a JSON config,
            or a dict of `BertConfig` fields. Defaults to `"tiny"`.
        validation: optional list of str. Held-out files; validation
            losses and accuracies are logged at each epoch end.
        steps: int. Total training steps (global batches).
        steps_per_epoch: int. Steps between logs, validation and
            checkpoints; must divide `steps`.
        batch_size: int. Global batch size (all replicas together).
        max_seq_length: int. Tokens per example.
        max_predictions_per_seq: optional int. Masked-LM slots per example
            (default `ceil(0.15 × max_seq_length)`; the value used is
            written to `pretraining_config.json`).
        short_seq_length: optional int. The paper's schedule: the first
            `short_seq_steps` steps use examples of this length (cheaper
            steps: most of the learning at a fraction of the cost; its
            masked-LM slots are `ceil(0.15 × short_seq_length)`), the rest
            `max_seq_length`, which also trains the positions beyond the
            short length. One optimizer and one learning-rate schedule over
            all `steps`.
        short_seq_steps: int. Steps at `short_seq_length`; a multiple of
            `steps_per_epoch`, below `steps`. Defaults to `0`.
        learning_rate: float. Peak learning rate.
        warmup_steps: optional int. Linear warmup (default 10% of the
            optimizer updates, at most 10,000; the value used is written
            to `pretraining_config.json`).
        weight_decay: float. Decoupled weight decay (LayerNorm and biases
            excluded).
        optimizer: str. `"adamw"` or `"lamb"`.
        gradient_accumulation_steps: int. Steps averaged per update
            (single-replica strategies only).
        dtype: str. `"float32"`, `"mixed_bfloat16"` or `"mixed_float16"`
            (dynamic loss scaling).
        jit_compile: `True`, `False` or `"auto"` (default): XLA-compile
            the train step; `"auto"`: on a GPU/TPU always, on a CPU only
            for float32 models up to `tiny`'s size, where XLA was measured
            faster (`resolve_jit_compile`).
        strategy: str. See `get_strategy`.
        tpu_address: str. For `strategy="tpu"`: the TPU's name or
            `grpc://host:8470` address, `"local"` on a Cloud TPU VM, or
            `""` (default) to let `TPUClusterResolver` find it.
        validation_steps: int. Validation batches (fixed, cached).
        seed: int. Seeds weights, dropout, pairs, masks and shuffling.
        lower_case: bool. Tokenizer lower-casing.
        encoding_errors: str. `"strict"`: a non-UTF-8 byte in the corpus
            stops the run before training, naming the file and line;
            `"replace"`: such bytes are dropped (counted and logged).
        cache_dir: optional str. TFRecord cache of the tokenized corpus.
        keep_checkpoints: int. Training states kept.
        tensorboard_update_freq: `"epoch"` or int (steps).
    """

    vocab: str
    train: list[str]
    logdir: str
    model: str | dict[str, Any] = "tiny"
    validation: list[str] | None = None
    steps: int = 1000
    steps_per_epoch: int = 100
    batch_size: int = 32
    max_seq_length: int = 128
    max_predictions_per_seq: int | None = None
    short_seq_length: int | None = None
    short_seq_steps: int = 0
    learning_rate: float = 1e-4
    warmup_steps: int | None = None
    weight_decay: float = 0.01
    optimizer: str = "adamw"
    gradient_accumulation_steps: int = 1
    dtype: str = "float32"
    jit_compile: bool | str = "auto"
    strategy: str = "default"
    tpu_address: str = ""
    validation_steps: int = 10
    seed: int = 0
    lower_case: bool = True
    encoding_errors: str = "strict"
    cache_dir: str | None = None
    keep_checkpoints: int = 2
    tensorboard_update_freq: str | int = "epoch"

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, config: dict[str, Any]) -> "PretrainingConfig":
        """The config of a dict, e.g. a run's `pretraining_config.json`
        (its record-only keys, such as `vocab_sha256`, are ignored)."""
        known = {f.name for f in dataclasses.fields(cls)}
        config = {k: v for k, v in config.items() if k not in _RECORD_KEYS}
        unknown = sorted(set(config) - known)
        if unknown:
            raise ValueError(
                f"Unknown PretrainingConfig field(s) {unknown}. Known: "
                f"{sorted(known)}"
            )
        return cls(**config)

    def to_json(self, path: str | None = None) -> str:
        text = json.dumps(self.to_dict(), indent=2, sort_keys=True) + "\n"
        if path is not None:
            with open(path, "w", encoding="utf-8") as f:
                f.write(text)
        return text


def resolve_bert_config(model, vocabulary_size: int) -> BertConfig:
    """The model's `BertConfig`, checked against the vocabulary size.

    A preset name takes the vocabulary's size; a JSON file or dict must
    already agree with it.

    Example:
    >>> resolve_bert_config("tiny", 100).vocabulary_size
    100
    >>> resolve_bert_config({"vocabulary_size": 99}, 100)
    Traceback (most recent call last):
    ...
    ValueError: The vocabulary has 100 tokens but the model config has vocabulary_size=99. Use a vocab.txt of the model's size, or a config with vocabulary_size=100.
    """  # noqa: E501
    if isinstance(model, BertConfig):
        config = model
    elif isinstance(model, dict):
        config = BertConfig.from_any_dict(model)
    elif isinstance(model, str) and model in BertConfig.presets():
        return BertConfig.preset(model, vocabulary_size=vocabulary_size)
    elif isinstance(model, str):
        config = BertConfig.from_json(model)
    else:
        raise ValueError(
            "`model` must be a preset name, a JSON path or a dict. "
            f"Received: model={model!r}"
        )
    if config.vocabulary_size != vocabulary_size:
        raise ValueError(
            f"The vocabulary has {vocabulary_size} tokens but the model "
            f"config has vocabulary_size={config.vocabulary_size}. Use a "
            "vocab.txt of the model's size, or a config with "
            f"vocabulary_size={vocabulary_size}."
        )
    return config


def validate(config: PretrainingConfig) -> BertConfig:
    """Checks a `PretrainingConfig` without TensorFlow; returns the model's.

    Raises:
        ValueError: a clear message for each misuse: a vocabulary whose size
            does not match the model, `max_seq_length` above the model's
            positions, a `logdir` that is a file, no corpus file, and any
            out-of-range number or unknown name.
    """
    for name in (
        "steps",
        "steps_per_epoch",
        "batch_size",
        "max_seq_length",
        "gradient_accumulation_steps",
        "validation_steps",
        "keep_checkpoints",
    ):
        check_positive_int(**{name: getattr(config, name)})
    if config.steps % config.steps_per_epoch:
        raise ValueError(
            "`steps_per_epoch` must divide `steps` (checkpoints and resume "
            f"happen at epoch ends). Received: steps={config.steps}, "
            f"steps_per_epoch={config.steps_per_epoch}"
        )
    if config.steps % config.gradient_accumulation_steps:
        raise ValueError(
            "`gradient_accumulation_steps` must divide `steps`. Received: "
            f"steps={config.steps}, gradient_accumulation_steps="
            f"{config.gradient_accumulation_steps}"
        )
    for name, value, allowed in (
        ("dtype", config.dtype, DTYPES),
        ("optimizer", config.optimizer, OPTIMIZERS),
        ("strategy", config.strategy, STRATEGIES),
    ):
        if value not in allowed:
            raise ValueError(
                f"`{name}` must be one of {allowed}. Received: {name}={value!r}"
            )
    if config.short_seq_length is not None or config.short_seq_steps:
        if config.short_seq_length is None or not config.short_seq_steps:
            raise ValueError(
                "The short-sequence phase needs both `short_seq_length` and "
                "`short_seq_steps`. Received: short_seq_length="
                f"{config.short_seq_length!r}, short_seq_steps="
                f"{config.short_seq_steps!r}"
            )
        check_positive_int(
            short_seq_length=config.short_seq_length,
            short_seq_steps=config.short_seq_steps,
        )
        if not 5 <= config.short_seq_length < config.max_seq_length:
            raise ValueError(
                "`short_seq_length` must be at least 5 and below "
                f"max_seq_length={config.max_seq_length}. Received: "
                f"short_seq_length={config.short_seq_length}"
            )
        if (
            config.short_seq_steps >= config.steps
            or config.short_seq_steps % config.steps_per_epoch
        ):
            raise ValueError(
                "`short_seq_steps` must be a multiple of steps_per_epoch="
                f"{config.steps_per_epoch} below steps={config.steps} (the "
                "length changes at an epoch end). Received: "
                f"short_seq_steps={config.short_seq_steps}"
            )
    if config.max_predictions_per_seq is not None:
        check_positive_int(
            max_predictions_per_seq=config.max_predictions_per_seq
        )
    updates = config.steps // config.gradient_accumulation_steps
    if config.warmup_steps is not None and (
        isinstance(config.warmup_steps, bool)
        or not isinstance(config.warmup_steps, int)
        or not 0 <= config.warmup_steps < updates
    ):
        raise ValueError(
            "`warmup_steps` must be an integer in [0, optimizer updates = "
            f"{updates}). Received: warmup_steps={config.warmup_steps!r}"
        )
    if not isinstance(config.tpu_address, str):
        raise ValueError(
            "`tpu_address` must be a string ('' to auto-detect). Received: "
            f"tpu_address={config.tpu_address!r}"
        )
    if not config.learning_rate > 0:
        raise ValueError(
            "`learning_rate` must be positive. Received: "
            f"learning_rate={config.learning_rate}"
        )
    prepare_output(config.logdir, "logdir", folder=True)
    if not os.path.isfile(config.vocab):
        raise ValueError(
            f"No vocabulary file. Received: vocab={config.vocab!r}. Pass "
            "an existing vocab.txt (one token per line), e.g. one learned "
            "with `keras-bert-impl vocab`."
        )
    bert_config = resolve_bert_config(
        config.model, len(read_vocab(config.vocab))
    )
    if config.max_seq_length > bert_config.max_sequence_length:
        raise ValueError(
            "`max_seq_length` exceeds the model's learned positions "
            f"(max_sequence_length={bert_config.max_sequence_length}). "
            f"Received: max_seq_length={config.max_seq_length}"
        )
    if isinstance(config.train, str):
        raise ValueError(
            "`train` must be a list of files or globs. Received: "
            f"train={config.train!r}"
        )
    if config.encoding_errors not in ("strict", "replace"):
        raise ValueError(
            "`encoding_errors` must be 'strict' or 'replace'. Received: "
            f"encoding_errors={config.encoding_errors!r}"
        )
    # The whole corpus is read once here: a bad byte or JSON line late in
    # it stops the run now, naming the line, not hours into training.
    for files in (config.train, config.validation or []):
        if files:
            validate_corpus(files, errors=config.encoding_errors)
    return bert_config


def _warmup_steps(config, updates):
    if config.warmup_steps is not None:
        return config.warmup_steps
    return min(10_000, updates // 10)


def resolve_config(
    config: PretrainingConfig, bert_config: BertConfig | None = None
) -> PretrainingConfig:
    """`config` with the values its `None` defaults stand for filled in.

    These are the values the run uses, and what `pretrain` writes to
    `pretraining_config.json`: `warmup_steps` (10% of the optimizer
    updates, at most 10,000), `max_predictions_per_seq`
    (`ceil(0.15 × max_seq_length)`) and `jit_compile` (`"auto"` resolved
    by `resolve_jit_compile` for `bert_config`'s hidden size).

    Example:
    >>> config = PretrainingConfig(vocab="v.txt", train=["c.txt"],
    ...     logdir="run", steps=1000, max_seq_length=128)
    >>> resolved = resolve_config(config)
    >>> resolved.warmup_steps, resolved.max_predictions_per_seq
    (100, 20)
    """
    updates = config.steps // config.gradient_accumulation_steps
    max_predictions = config.max_predictions_per_seq
    if max_predictions is None:
        max_predictions = default_max_predictions(config.max_seq_length)
    return dataclasses.replace(
        config,
        warmup_steps=_warmup_steps(config, updates),
        max_predictions_per_seq=max_predictions,
        jit_compile=(
            True  # a TPU (possibly remote, not among this host's devices)
            if config.strategy == "tpu" and config.jit_compile == "auto"
            else resolve_jit_compile(
                config.jit_compile,
                [keras.dtype_policies.get(config.dtype).compute_dtype],
                None if bert_config is None else bert_config.hidden_dim,
            )
        ),
    )


def _vocab_sha256(path) -> str:
    """SHA-256 of a vocabulary's tokens (not of its bytes: line endings and
    a final newline do not matter)."""
    text = "\n".join(read_vocab(path))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def check_resume(config, bert_config, checkpoint_dir) -> dict:
    """Checks that a run resumed in `logdir` is the run it started as.

    Compares the resolved config with the `pretraining_config.json` the
    run was started with, the vocabulary's contents with the run's
    `vocab.txt` (and its recorded SHA-256), and the model with its
    `bert_config.json`. Operational settings (`RESUME_OPERATIONAL`) may
    differ; the optimizer recipe (`RESUME_RECIPE`: learning rate, warmup,
    weight decay, total steps) may too, on purpose, and is returned to be
    recorded.

    Returns:
        dict: the recipe settings that changed, `{name: (old, new)}`
        (empty when starting fresh or resuming unchanged).

    Raises:
        ValueError: a checkpoint exists and the vocabulary, the model or a
            data or training setting differs; the message lists what
            differs and how to start fresh instead.
    """
    from keras_bert_impl.training.callbacks import latest_checkpoint_step

    step = latest_checkpoint_step(checkpoint_dir)
    record_path = os.path.join(config.logdir, CONFIG_FILE)
    if step == 0 or not os.path.isfile(record_path):
        return {}
    record = run_files.read_json(record_path, "pretraining config")
    started = record if isinstance(record, dict) else {}
    problems, changed = [], {}
    vocab_copy = os.path.join(config.logdir, run_files.VOCAB_FILE)
    expected_hash = started.get("vocab_sha256")
    if expected_hash is None and os.path.isfile(vocab_copy):
        expected_hash = _vocab_sha256(vocab_copy)
    if (
        expected_hash is not None
        and _vocab_sha256(config.vocab) != expected_hash
    ):
        problems.append(
            f"the vocabulary {config.vocab} is not the one the run was "
            f"trained with ({vocab_copy})"
        )
    model_path = os.path.join(config.logdir, run_files.BERT_CONFIG_FILE)
    if os.path.isfile(model_path):
        trained = BertConfig.from_json(model_path).to_dict()
        for key, value in bert_config.to_dict().items():
            if trained.get(key) != value:
                problems.append(
                    f"model {key}: {trained.get(key)!r} -> {value!r}"
                )
    current = config.to_dict()
    for key, value in sorted(current.items()):
        if key in RESUME_OPERATIONAL or key not in started:
            continue
        if started[key] == value or (
            isinstance(value, list | tuple)
            and list(value) == list(started[key] or [])
        ):
            continue
        if key in RESUME_RECIPE:
            changed[key] = (started[key], value)
        else:
            problems.append(f"{key}: {started[key]!r} -> {value!r}")
    if problems:
        raise ValueError(
            f"logdir {config.logdir!r} holds a run (checkpoint at step "
            f"{step}) started with other settings: {'; '.join(problems)}. "
            "Resume with the run's own settings (they are in "
            f"{record_path}), or start fresh with another --logdir."
        )
    return changed


def _write_run_record(config, bert_config, resumed) -> None:
    """`pretraining_config.json`, `bert_config.json` and `vocab.txt` of the
    run folder, written atomically; a resume adds what it changed."""
    os.makedirs(config.logdir, exist_ok=True)
    record_path = os.path.join(config.logdir, CONFIG_FILE)
    history = []
    if resumed and os.path.isfile(record_path):
        old = run_files.read_json(record_path, "pretraining config")
        history = list(old.get("resumed", [])) if isinstance(old, dict) else []
        history.append(
            {k: {"from": a, "to": b} for k, (a, b) in resumed.items()}
        )
    record = {
        **config.to_dict(),
        "vocab_sha256": _vocab_sha256(config.vocab),
        **({"resumed": history} if history else {}),
    }
    run_files.write_json(record_path, record)
    run_files.write_json(
        os.path.join(config.logdir, run_files.BERT_CONFIG_FILE),
        bert_config.to_dict(),
    )
    vocab_copy = os.path.join(config.logdir, run_files.VOCAB_FILE)
    if os.path.abspath(config.vocab) != os.path.abspath(vocab_copy):
        write_vocab(read_vocab(config.vocab), vocab_copy)


def stream(config, tokenizer, files, seed, short=False):
    """The endless batch stream `pretrain` reads from `files`: full-length
    examples, or with `short=True` the short phase's
    (`config.short_seq_length`, its own masked-prediction budget)."""
    length = config.short_seq_length if short else config.max_seq_length
    return pretraining_dataset(
        files,
        tokenizer,
        max_seq_length=length,
        batch_size=config.batch_size,
        seed=seed,
        max_predictions_per_seq=(
            None if short else config.max_predictions_per_seq
        ),
        cache_dir=config.cache_dir,
        errors=config.encoding_errors,
    )


def held_out_batches(config, tokenizer):
    """The `validation_steps` held-out batches `pretrain` evaluates after
    every epoch (the same masks each time: a seeded stream), for a
    resolved `config` (`resolve_config`)."""
    return stream(config, tokenizer, config.validation, config.seed + 1).take(
        config.validation_steps
    )


def pretrain(
    config: PretrainingConfig,
    callbacks: list[keras.callbacks.Callback] | None = None,
    verbose: str | int = "auto",
) -> keras.callbacks.History:
    """Pretrains BERT (masked LM + NSP) with `model.fit`, resumably.

    Every check runs before any training (see `validate`; the batch size
    must also divide over the strategy's replicas and the corpus must hold
    at least two documents). If `logdir` holds a training state, the run
    resumes from it. `pretraining_config.json` gets the resolved config
    (`resolve_config`: defaults left as `None` written as the values used).

    Under `strategy="multi_worker"` only the chief (worker 0) writes into
    `logdir`; the other workers write into a temporary folder of their own,
    removed at the end (`keras_bert_impl.training.distribute.worker_logdir`).
    All workers resume from `logdir/checkpoints`, so resuming needs the run
    folder on a file system they share.

    Args:
        config: `PretrainingConfig`.
        callbacks: optional extra Keras callbacks.
        verbose: `fit`'s verbosity (`"auto"`: progress bar).

    Returns:
        The `History` of this call's `fit` (empty if already complete).

    Raises:
        ValueError: invalid configuration or data, or `strategy="tpu"`
            with no TPU reachable (all before training).
        NonFiniteLossError: the loss became NaN/inf (the last good
            checkpoint is kept).
    """
    bert_config = validate(config)
    # The strategy first: a multi-worker strategy must configure the
    # runtime before anything else initializes it.
    strategy = get_strategy(config.strategy, tpu=config.tpu_address)
    config = resolve_config(config, bert_config)
    replicas = strategy.num_replicas_in_sync
    if config.batch_size % replicas:
        raise ValueError(
            f"`batch_size` (global) must be divisible by the {replicas} "
            f"replicas of strategy={config.strategy!r}. Received: "
            f"batch_size={config.batch_size}"
        )
    if config.gradient_accumulation_steps > 1 and replicas > 1:
        raise ValueError(
            "Gradient accumulation runs on one replica only (Keras 3.15's "
            "accumulation cannot merge across replicas inside its "
            "conditional update); raise batch_size instead. Received: "
            f"gradient_accumulation_steps="
            f"{config.gradient_accumulation_steps}, replicas={replicas}"
        )
    tokenizer = BertTokenizer(config.vocab, lower_case=config.lower_case)
    options = tf.data.Options()
    options.experimental_distribute.auto_shard_policy = (
        tf.data.experimental.AutoShardPolicy.DATA
    )

    def dataset(files, seed, skip=0, short=False):
        return (
            stream(config, tokenizer, files, seed, short=short)
            .skip(skip)
            .with_options(options)
        )

    dataset(config.train, config.seed)  # corpus checks (empty, 1 document)
    validation = None
    if config.validation:
        validation = (
            held_out_batches(config, tokenizer).with_options(options).cache()
        )

    checkpoint_dir = os.path.join(config.logdir, run_files.CHECKPOINTS_DIR)
    resumed = check_resume(config, bert_config, checkpoint_dir)
    if is_chief(strategy):
        _write_run_record(config, bert_config, resumed)

    keras.utils.set_random_seed(config.seed)
    updates = config.steps // config.gradient_accumulation_steps
    with strategy.scope():
        encoder = build_encoder(
            bert_config,
            dtype=None if config.dtype == "float32" else config.dtype,
        )
        model = PretrainingModel(encoder)
        model.compile(
            optimizer=create_optimizer(
                config.learning_rate,
                total_steps=updates,
                warmup_steps=config.warmup_steps,
                optimizer=config.optimizer,
                weight_decay=config.weight_decay,
                gradient_accumulation_steps=config.gradient_accumulation_steps,
                loss_scale=config.dtype == "mixed_float16",
            ),
            jit_compile=config.jit_compile,
        )
        model.optimizer.build(model.trainable_variables)

    # Every worker resumes from the chief's checkpoints (multi-worker
    # resume needs the run folder on a file system all workers share).
    step = restore_training_state(model, checkpoint_dir)
    if step % config.steps_per_epoch:
        raise ValueError(
            f"The checkpoint in {checkpoint_dir} is at step "
            f"{step}, not an epoch boundary of steps_per_epoch="
            f"{config.steps_per_epoch}: resume with the run's own config."
        )
    epochs = config.steps // config.steps_per_epoch
    initial_epoch = step // config.steps_per_epoch
    if initial_epoch >= epochs:
        return keras.callbacks.History()
    # Only the chief writes into logdir; other workers run the same
    # callbacks into a temporary folder removed at the end.
    short_epochs = config.short_seq_steps // config.steps_per_epoch
    phases = [(False, max(initial_epoch, short_epochs), epochs)]
    if initial_epoch < short_epochs:
        phases.insert(0, (True, initial_epoch, short_epochs))
    history = keras.callbacks.History()
    history.history, history.epoch = {}, []
    with worker_logdir(config.logdir, strategy) as write_dir:
        for short, first, last in phases:
            # Each phase's stream is a deterministic function of the seed:
            # a resumed run skips the batches its phase already consumed.
            done = first * config.steps_per_epoch
            skip = done if short else done - config.short_seq_steps
            length = config.short_seq_length if short else config.max_seq_length
            all_callbacks = [
                NonFiniteLossGuard(checkpoint_dir),
                PretrainingCheckpoint(
                    write_dir, tokenizer=tokenizer, keep=config.keep_checkpoints
                ),
                TrainingTensorBoard(
                    write_dir,
                    global_batch_size=config.batch_size,
                    update_freq=config.tensorboard_update_freq,
                    sequence_length=length,
                ),
                *(callbacks or []),
            ]
            phase = model.fit(
                dataset(config.train, config.seed, skip=skip, short=short),
                epochs=last,
                initial_epoch=first,
                steps_per_epoch=config.steps_per_epoch,
                validation_data=validation,
                callbacks=all_callbacks,
                shuffle=False,  # the datasets shuffle themselves
                verbose=verbose,
            )
            for key, values in phase.history.items():
                history.history.setdefault(key, []).extend(values)
            history.set_model(model)
            history.set_params(phase.params)
            history.epoch.extend(phase.epoch)
    return history
