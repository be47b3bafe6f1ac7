"""`finetune`: the paper's fine-tuning recipe around `model.fit`.

BERT's recipe (arXiv 1810.04805, section 4 and appendix A.3), as defaults
of `FinetuneConfig`, all overridable: AdamW (weight decay 0.01, LayerNorm
and bias variables excluded, epsilon 1e-6), a learning rate of 3e-5 (the
paper searches 2e-5, 3e-5, 5e-5) reached after a linear warmup over the
first 10% of the updates and then decayed linearly to 0, 3 epochs (2–4),
batch size 32 (16 or 32), dropout 0.1 on the head, and gradients clipped
to a global norm of 1.0.

>>> model = BertClassifier.from_checkpoint(  # doctest: +SKIP
...     "all-MiniLM-L6-v2/", label_names=["fresh", "rotten"])
>>> history = finetune(model, train_ds, eval_ds,  # doctest: +SKIP
...                    output_dir="runs/rt", tokenizer="vocab.txt")

Run folder (`output_dir`): `model.keras` (the model after the last epoch),
`best.keras` (the epoch with the best `monitor` value), `label_names.json`,
`bert_config.json`, `finetune_config.json`, the tokenizer (`vocab.txt`,
`tokenizer.json`) when given, and TensorBoard events in `train/` and
`validation/` (losses, metrics, learning rate, examples/second, against
the step). Reload with `load_finetuned(output_dir)`.
"""

import dataclasses
import json
import os
import shutil
from typing import Any

import keras

MODEL_FILE = "model.keras"
BEST_FILE = "best.keras"
LABELS_FILE = "label_names.json"
CONFIG_FILE = "finetune_config.json"
BERT_CONFIG_FILE = "bert_config.json"
TASKS = ("classify", "pair", "regress", "ner", "squad", "choice")
"""Task names, as the CLI's `--task`."""


@dataclasses.dataclass
class FinetuneConfig:
    """The fine-tuning recipe; every field has the paper's default.

    Args:
        learning_rate: float. Peak learning rate. Defaults to `3e-5` (the
            paper searches 2e-5 to 5e-5).
        epochs: int. Passes over the training set. Defaults to `3`.
        batch_size: int. Examples per step; the datasets given to
            `finetune` unbatched are batched to it. Defaults to `32`.
        warmup_ratio: float in [0, 1). Share of the updates with linear
            warmup, then linear decay to 0. Defaults to `0.1`.
        weight_decay: float. Decoupled weight decay (LayerNorm and bias
            variables excluded). Defaults to `0.01`.
        dropout: float. Dropout of the task head (`build_task_model`).
            Defaults to `0.1`.
        clipnorm: optional float. Global gradient-norm clipping. Defaults
            to `1.0`.
        beta_1, beta_2, epsilon: Adam's. Defaults `0.9`, `0.999`, `1e-6`.
        steps_per_epoch: optional int. Needed when the training dataset's
            length is unknown (e.g. after `filter`); defaults to its
            cardinality.
        monitor: optional str. Log that picks `best.keras`, e.g.
            `"val_accuracy"`. Defaults to `"val_loss"` with an eval set,
            else `"loss"`.
        jit_compile: `True`, `False` or `"auto"` (default): XLA-compile
            the steps; `"auto"` compiles except under mixed precision on
            CPU, where XLA is slower (`resolve_jit_compile`).
        tensorboard_update_freq: `"epoch"` or int (steps).

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
    clipnorm: float | None = 1.0
    beta_1: float = 0.9
    beta_2: float = 0.999
    epsilon: float = 1e-6
    steps_per_epoch: int | None = None
    monitor: str | None = None
    jit_compile: bool | str = "auto"
    tensorboard_update_freq: str | int = "epoch"

    def __post_init__(self):
        for name in ("epochs", "batch_size"):
            _positive_int(name, getattr(self, name))
        if self.steps_per_epoch is not None:
            _positive_int("steps_per_epoch", self.steps_per_epoch)
        if not self.learning_rate > 0:
            raise ValueError(
                "`learning_rate` must be positive (the paper uses 2e-5 to "
                f"5e-5). Received: learning_rate={self.learning_rate}"
            )
        if not 0 <= self.warmup_ratio < 1:
            raise ValueError(
                "`warmup_ratio` must be in [0, 1). Received: "
                f"warmup_ratio={self.warmup_ratio}"
            )
        if not 0 <= self.dropout < 1:
            raise ValueError(
                f"`dropout` must be in [0, 1). Received: dropout={self.dropout}"
            )

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, config: dict[str, Any]) -> "FinetuneConfig":
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(config) - known)
        if unknown:
            raise ValueError(
                f"Unknown FinetuneConfig field(s) {unknown}. Known: "
                f"{sorted(known)}"
            )
        return cls(**config)


def _positive_int(name, value):
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(
            f"`{name}` must be a positive integer. Received: {name}={value!r}"
        )


def warmup_steps_for(total_steps: int, warmup_ratio: float = 0.1) -> int:
    """Warmup updates: `warmup_ratio` of `total_steps`, rounded down.

    Example:
    >>> warmup_steps_for(1000), warmup_steps_for(9), warmup_steps_for(1)
    (100, 0, 0)
    """
    return min(int(warmup_ratio * total_steps), max(total_steps - 1, 0))


def create_finetune_optimizer(
    total_steps: int,
    learning_rate: float = 3e-5,
    warmup_ratio: float = 0.1,
    weight_decay: float = 0.01,
    *,
    clipnorm: float | None = 1.0,
    beta_1: float = 0.9,
    beta_2: float = 0.999,
    epsilon: float = 1e-6,
) -> keras.optimizers.Optimizer:
    """AdamW with warmup over `warmup_ratio` of the run, then linear decay.

    Built by `keras_bert_impl.training.optimization.create_optimizer`
    (LayerNorm and bias variables excluded from weight decay).

    Args:
        total_steps: int. Optimizer updates of the whole run
            (`epochs × steps_per_epoch`); the rate reaches 0 there.
        learning_rate: float. Peak rate. Defaults to `3e-5`.
        warmup_ratio: float. Defaults to `0.1`.
        weight_decay: float. Defaults to `0.01`.
        clipnorm: optional float. Global norm clipping. Defaults to `1.0`.
        beta_1, beta_2, epsilon: Adam's.

    Returns:
        A `keras.optimizers.AdamW` whose `learning_rate` is a
        `WarmupLinearDecay`.

    Example:
    >>> opt = create_finetune_optimizer(total_steps=100)
    >>> schedule = opt._learning_rate
    >>> [round(float(schedule(t)), 8) for t in (0, 10, 55, 100)]
    [0.0, 3e-05, 1.5e-05, 0.0]
    """
    from keras_bert_impl.training.optimization import create_optimizer

    _positive_int("total_steps", total_steps)
    if not 0 <= warmup_ratio < 1:
        raise ValueError(
            "`warmup_ratio` must be in [0, 1). Received: "
            f"warmup_ratio={warmup_ratio}"
        )
    return create_optimizer(
        learning_rate,
        total_steps=total_steps,
        warmup_steps=warmup_steps_for(total_steps, warmup_ratio),
        optimizer="adamw",
        weight_decay=weight_decay,
        beta_1=beta_1,
        beta_2=beta_2,
        epsilon=epsilon,
        global_clipnorm=clipnorm,
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
    num_choices: int | None = None,
    dtype: str | None = None,
):
    """Builds the task model of `task`, on a checkpoint or fresh.

    Args:
        task: str. One of `TASKS`: `"classify"` and `"pair"`
            (`BertClassifier`, `text_pair` set for `"pair"`), `"regress"`
            (`BertRegressor`), `"ner"` (`BertTokenClassifier`), `"squad"`
            (`BertQuestionAnswering`), `"choice"` (`BertMultipleChoice`).
        init: optional str. A Hugging Face folder, a TF1 checkpoint or a
            pretraining run folder of this package; `None` builds a fresh
            encoder from `bert_config`.
        bert_config: `BertConfig` or preset name, for `init=None`.
        num_classes, label_names: the classes of `"classify"`, `"pair"`
            and `"ner"`.
        vocab: optional `BertTokenizer`, token list or `vocab.txt` path; its
            size must match the model's (defaults, with `init`, to the
            `vocab.txt` beside the checkpoint).
        dropout: float. Head dropout. Defaults to `0.1`.
        num_choices: optional int for `"choice"`.
        dtype: optional dtype policy, e.g. `"mixed_bfloat16"`.

    Returns:
        The task model (not compiled).

    Raises:
        ValueError: unknown task, no `init` and no `bert_config`, a
            vocabulary of another size than the model's, or a bad task
            argument.

    Example:
    >>> model = build_task_model("pair", bert_config=BertConfig.preset(
    ...     "tiny", vocabulary_size=32, num_layers=1), label_names=["a", "b"])
    >>> type(model).__name__, model.text_pair, model.label_names
    ('BertClassifier', True, ('a', 'b'))
    """
    from keras_bert_impl.models import tasks

    if task not in TASKS:
        raise ValueError(
            f"`task` must be one of {TASKS}. Received: task={task!r}"
        )
    if init is not None:
        encoder = tasks.load_encoder(init, vocab=vocab, dtype=dtype)
    else:
        from keras_bert_impl.models.encoder import build_encoder

        if bert_config is None:
            raise ValueError(
                "Pass `init` (a checkpoint to start from) or `bert_config` "
                "(a BertConfig or preset name for a fresh model). Received: "
                "init=None, bert_config=None"
            )
        encoder = build_encoder(bert_config, dtype=dtype)
        if vocab is not None:
            tasks.check_vocabulary_size(
                encoder.vocabulary_size, vocab, "the model config"
            )
    if task in ("classify", "pair"):
        return tasks.BertClassifier(
            encoder,
            num_classes=num_classes,
            label_names=label_names,
            dropout=dropout,
            text_pair=task == "pair",
        )
    if task == "regress":
        return tasks.BertRegressor(encoder, dropout=dropout)
    if task == "ner":
        return tasks.BertTokenClassifier(
            encoder,
            num_classes=num_classes,
            label_names=label_names,
            dropout=dropout,
        )
    if task == "squad":
        return tasks.BertQuestionAnswering(encoder, dropout=dropout)
    return tasks.BertMultipleChoice(
        encoder, num_choices=num_choices, dropout=dropout
    )


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
        dataset = dataset.batch(batch_size)
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
                "config.steps_per_epoch. Received: cardinality="
                f"{n}"
            )
        return None
    return n


def _write_run_files(model, output_dir, config, tokenizer):
    os.makedirs(output_dir, exist_ok=True)
    with open(os.path.join(output_dir, CONFIG_FILE), "w") as f:
        json.dump(config.to_dict(), f, indent=2, sort_keys=True)
        f.write("\n")
    names = getattr(model, "label_names", None)
    with open(os.path.join(output_dir, LABELS_FILE), "w") as f:
        json.dump(None if names is None else list(names), f, indent=2)
        f.write("\n")
    encoder = getattr(model, "encoder", None)
    if encoder is not None and hasattr(encoder, "bert_config"):
        encoder.bert_config.to_json(os.path.join(output_dir, BERT_CONFIG_FILE))
    if tokenizer is None:
        return
    if isinstance(tokenizer, str | os.PathLike):
        target = os.path.join(output_dir, "vocab.txt")
        if os.path.abspath(tokenizer) != os.path.abspath(target):
            shutil.copyfile(tokenizer, target)
    else:
        tokenizer.save(output_dir)


def finetune(
    model: keras.Model,
    train_ds,
    eval_ds=None,
    config: FinetuneConfig | None = None,
    output_dir: str | os.PathLike | None = None,
    tokenizer=None,
    callbacks: list | None = None,
    verbose: str | int = "auto",
) -> keras.callbacks.History:
    """Fine-tunes a task model with the paper's recipe and `model.fit`.

    Compiles `model` with its task loss and metrics and
    `create_finetune_optimizer` (warmup over `warmup_ratio` of
    `epochs × steps_per_epoch` updates, then linear decay to 0), trains
    with a progress bar, evaluates `eval_ds` after each epoch, and, with
    `output_dir`, logs to TensorBoard and saves the run (see the module
    docstring). A NaN/inf loss stops the run with `NonFiniteLossError`.

    Args:
        model: a task model (`BertClassifier`, `BertRegressor`,
            `BertTokenClassifier`, `BertQuestionAnswering`,
            `BertMultipleChoice`).
        train_ds: `tf.data.Dataset` of `(features, labels)` or
            `(features, labels, sample_weight)`, batched or not (an
            unbatched one is batched to `config.batch_size`). Shuffle it
            yourself (e.g. `shuffle(..., reshuffle_each_iteration=True)`).
        eval_ds: optional dataset of the same structure.
        config: `FinetuneConfig`. Defaults to `FinetuneConfig()`.
        output_dir: optional str. Run folder (created).
        tokenizer: optional `BertTokenizer` or `vocab.txt` path, saved in
            `output_dir`; its size must match the model's vocabulary.
        callbacks: optional extra Keras callbacks.
        verbose: `fit`'s verbosity (`"auto"`: a progress bar).

    Returns:
        The `History` of `fit`.

    Raises:
        ValueError: empty `train_ds` or `eval_ds`, a training set of
            unknown length without `steps_per_epoch`, a tokenizer of
            another vocabulary size, or a model that is not a Keras model.

    Example:
    >>> import tempfile
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
    (2, ['bert_config.json', 'best.keras', 'finetune_config.json',
         'label_names.json', 'model.keras', 'tokenizer.json', 'train',
         'vocab.txt'])
    >>> shutil.rmtree(output_dir)
    """
    from keras_bert_impl.models.tasks import check_vocabulary_size
    from keras_bert_impl.training.callbacks import NonFiniteLossGuard
    from keras_bert_impl.training.callbacks import PretrainingTensorBoard

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
        ),
        jit_compile=config.jit_compile,
    )
    monitor = config.monitor or ("val_loss" if eval_ds is not None else "loss")
    all_callbacks = [NonFiniteLossGuard()]
    if output_dir is not None:
        output_dir = os.fspath(output_dir)
        _write_run_files(model, output_dir, config, tokenizer)
        all_callbacks += [
            PretrainingTensorBoard(
                output_dir,
                global_batch_size=config.batch_size,
                update_freq=config.tensorboard_update_freq,
            ),
            keras.callbacks.ModelCheckpoint(
                os.path.join(output_dir, BEST_FILE),
                monitor=monitor,
                save_best_only=True,
            ),
        ]
    all_callbacks += list(callbacks or [])
    history = model.fit(
        train_ds,
        validation_data=eval_ds,
        epochs=config.epochs,
        steps_per_epoch=config.steps_per_epoch,
        callbacks=all_callbacks,
        verbose=verbose,
    )
    if output_dir is not None:
        model.save(os.path.join(output_dir, MODEL_FILE))
    return history


def load_finetuned(path: str | os.PathLike, best: bool = False):
    """Reloads a model saved by `finetune`, with its tokenizer if saved.

    Args:
        path: str. The run folder, or a `.keras` file in it.
        best: bool. Load `best.keras` instead of `model.keras` (folder
            only). Defaults to `False`.

    Returns:
        `(model, tokenizer or None)`.

    Raises:
        FileNotFoundError: no such model file.

    Example (the run folder holds what `finetune(model, ...,
    output_dir=output_dir, tokenizer=tokenizer)` writes; the two files read
    back are saved by hand here, to keep the example quick):
    >>> import tempfile
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
    path = os.fspath(path)
    if os.path.isdir(path):
        folder = path
        path = os.path.join(path, BEST_FILE if best else MODEL_FILE)
    else:
        folder = os.path.dirname(path)
    if not os.path.isfile(path):
        raise FileNotFoundError(
            f"No fine-tuned model at {path}: run `finetune(..., "
            "output_dir=...)` first, or pass the .keras file."
        )
    import keras_bert_impl.models.tasks  # noqa: F401  (registers classes)

    model = keras.models.load_model(path)
    tokenizer = None
    if os.path.isfile(os.path.join(folder, "vocab.txt")):
        from keras_bert_impl.tokenization.bert_tokenizer import BertTokenizer

        tokenizer = BertTokenizer.load(folder)
    return model, tokenizer
