"""Pretraining levers: what makes `tiny` BERT learn in minutes on 2 CPUs.

Question. The quickstart pretrains `tiny` on the BBC News training
articles for a few minutes. Which settings buy held-out masked-LM and NSP
accuracy in that budget: the peak learning rate, short sequences first
(the paper's length-64-then-128 schedule), dropout, batch size, the
masking budget, the vocabulary size, the article order? Each named run in
`RUNS` changes one lever; `F1` is the recipe scratch16 recommended.

Protocol.

1. Data: the quickstart's own split (`quickstart.load_bbc_news`: 1,912
   training and 213 held-out articles) written to `--work/data` with the
   quickstart's corpus writer. Held-out articles are used only for
   evaluation. `article_order="shuffled"` trains on the same lines in
   `random.Random(0).shuffle` order (the file is sorted by topic).
2. Vocabulary: `build_vocab` on the training articles with the
   quickstart's `learn_params`, `--work/vocab_<size>.txt`. Corpus and
   vocabularies are reused when present.
3. Pretraining: `PretrainingModel(build_encoder(BertConfig.preset(...)))`,
   `create_optimizer` (AdamW, weight decay 0.01, clip 1.0; warmup = 10% of
   all steps, then linear decay to 0 over all steps), XLA. The phases
   (`steps:len:batch[:max_pred]`; max_pred defaults to 15% of len) are
   successive `fit` calls sharing that one optimizer and schedule; phase
   i reads `pretraining_dataset(train, seed=seed + 100 * i)` (NSP 50/50,
   short_seq_prob 0.1, document buffer 1000). The health numbers are off
   (`--track-health` turns them on), as in the code the scratch rows ran.
4. Evaluation: `--eval-batches` (20) FIXED held-out batches of 32 pairs
   at length 128 (20 prediction slots, stream seed 12345), built once
   before training: 640 NSP pairs, ~10.9k masked tokens (NSP standard
   error ~0.02). Held-out MLM / NSP accuracy and losses after every phase
   (and every `eval_every` steps), next to the most-frequent-token
   baseline of the same masked tokens.
5. Timing: per phase, the seconds inside training steps, the first
   (compiling) step and the steady steps/s of the others; the total wall
   time of the phases (evaluations included); the load average at the
   end (the machine is shared: rates are lower bounds of an idle one).

One JSON line per run is appended to `--out`, with the machine stamp; the
encoder is saved to `--work/runs/<run>/encoder` (`load_checkpoint`).

    TF_CPP_MIN_LOG_LEVEL=3 python benchmarks/pretrain_levers.py \\
        --runs p_2ph_lr1e-3_do0,F1 --work runs/levers \\
        --out benchmarks/results/pretrain_levers.jsonl

Without `--runs` every run is made (about an hour on 2 busy cores). A smoke
test (a couple of minutes): `--runs p_2ph_lr1e-3_do0 --steps-scale 0.02
--work /tmp/levers_smoke --out /tmp/levers_smoke/out.jsonl`. The markdown
table of a results file, running nothing:

    python benchmarks/pretrain_levers.py --table \\
        --out benchmarks/results/pretrain_levers_scratch.jsonl

`results/pretrain_levers_scratch.jsonl` holds the first measurements of
these runs (scratch16's `pt.py` on the package at commit 531dce7, same
settings), converted to this schema; each line says so in `source`.
"""

import argparse
import json
import os
import random
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, ROOT)
sys.path.insert(0, HERE)

from common import RESULTS_DIR  # noqa: E402
from common import emit  # noqa: E402
from common import log  # noqa: E402
from common import stamp  # noqa: E402

# The quickstart's vocabulary search (see quickstart.run_quickstart).
VOCAB_LEARN_PARAMS = {"upper_thresh": 1000, "num_iterations": 2}
EVAL_LENGTH, EVAL_BATCH, EVAL_SEED = 128, 32, 12345
WEIGHT_DECAY = 0.01
DOCUMENT_BUFFER = 1000
SHUFFLE_SEED = 0  # article order of the "shuffled" runs


def _run(phases, lr, dropout, *, model="tiny", warmup=0.1, vocab_size=5000,
         seed=0, eval_every=0, article_order="sorted"):  # fmt: skip
    return dict(
        phases=phases, lr=lr, warmup=warmup, dropout=dropout,
        vocab_size=vocab_size, model=model, seed=seed,
        eval_every=eval_every, article_order=article_order,
    )  # fmt: skip


# name -> settings. phases: "steps:len:batch[:max_pred],..."; warmup: the
# fraction of all steps; eval_every: held-out evaluations between phase
# ends (they change no training, only the wall time and the curve).
RUNS = {
    "speed128": _run("100:128:32", 5e-4, 0.1),
    "p_lr1e-3": _run("1200:128:32", 1e-3, 0.1, eval_every=300),
    "p_lr2e-3": _run("1200:128:32", 2e-3, 0.1, eval_every=300),
    "p_lr1e-3_shuf": _run("1200:128:32", 1e-3, 0.1, eval_every=300,
                          article_order="shuffled"),
    "p_2ph_lr1e-3": _run("2400:64:32,300:128:32", 1e-3, 0.1, eval_every=600),
    "p_2ph_lr2e-3": _run("2400:64:32,300:128:32", 2e-3, 0.1,
                         eval_every=1200),
    "p_2ph_lr1e-3_do0": _run("2400:64:32,300:128:32", 1e-3, 0.0,
                             eval_every=1200),
    "F1": _run("3600:64:32,500:128:32", 1e-3, 0.0, eval_every=1200),
    "L_b64": _run("1200:64:64,300:128:32", 1e-3, 0.0),
    "L_mp16": _run("2400:64:32:16,300:128:32", 1e-3, 0.0),
    "L_v3000": _run("2400:64:32,300:128:32", 1e-3, 0.0, vocab_size=3000),
    "F1_seed1": _run("3600:64:32,500:128:32", 1e-3, 0.0, seed=1),
    "mini_probe": _run("600:64:32,100:128:32", 5e-4, 0.0, model="mini"),
}  # fmt: skip


def parse_phases(text, scale=1.0):
    """`"2400:64:32,300:128:32:20"` -> [(steps, length, batch, max_pred)];
    steps multiplied by `scale` (at least 1)."""
    from keras_bert_impl.data.pretraining import default_max_predictions

    phases = []
    for part in text.split(","):
        fields = [int(f) for f in part.split(":")]
        steps, length, batch = fields[:3]
        max_pred = (
            fields[3] if len(fields) > 3 else default_max_predictions(length)
        )
        phases.append((max(1, round(steps * scale)), length, batch, max_pred))
    return phases


def _git_commit():
    """HEAD's short hash, `+modified` if the package has local changes."""

    def git(*args):
        return subprocess.run(
            ["git", "-C", ROOT, *args], capture_output=True, text=True,
            check=True,
        ).stdout.strip()  # fmt: skip

    try:
        head = git("rev-parse", "--short", "HEAD")
        dirty = git("status", "--porcelain", "--", "keras_bert_impl")
    except (OSError, subprocess.CalledProcessError):
        return None
    return head + ("+modified" if dirty else "")


# === Data ====================================================================


def prepare_data(work, vocab_sizes, shuffled):
    """The quickstart's split and vocabularies in `work`, reused if there.

    Returns dict: `train`, `held_out`, `train_shuffled` (JSON Lines paths)
    and `vocab` (size -> path).
    """
    from keras_bert_impl.quickstart import _write_corpus
    from keras_bert_impl.quickstart import load_bbc_news
    from keras_bert_impl.tokenization.vocab_learning import build_vocab

    data = os.path.join(work, "data")
    os.makedirs(data, exist_ok=True)
    paths = {
        "train_txt": os.path.join(data, "train.txt"),
        "train": os.path.join(data, "train.jsonl"),
        "held_out": os.path.join(data, "held_out.jsonl"),
        "train_shuffled": os.path.join(data, "train_shuffled.jsonl"),
    }
    if not all(
        os.path.exists(paths[k]) for k in ("train_txt", "train", "held_out")
    ):
        train, held_out, topics = load_bbc_news(None)
        _write_corpus(train, os.path.join(data, "train"))
        _write_corpus(held_out, os.path.join(data, "held_out"))
        log(
            f"data: {len(train)} training, {len(held_out)} held-out "
            f"articles, topics {', '.join(topics)} -> {data}"
        )
    if shuffled and not os.path.exists(paths["train_shuffled"]):
        with open(paths["train"], encoding="utf-8") as f:
            lines = f.readlines()
        random.Random(SHUFFLE_SEED).shuffle(lines)
        with open(paths["train_shuffled"], "w", encoding="utf-8") as f:
            f.writelines(lines)
    paths["vocab"] = {}
    for size in sorted(set(vocab_sizes)):
        path = os.path.join(work, f"vocab_{size}.txt")
        if not os.path.exists(path):
            start = time.time()
            build_vocab(
                [paths["train_txt"]],
                vocab_size=size,
                output=path,
                verbose=False,
                learn_params=VOCAB_LEARN_PARAMS,
            )
            log(f"vocab: {size} pieces in {time.time() - start:.0f}s -> {path}")
        paths["vocab"][size] = path
    return paths


def fixed_eval_set(held_out, tokenizer, batches):
    """The held-out batches every evaluation uses, as numpy arrays, and
    their description (pairs, masked tokens, most-frequent baseline)."""
    import numpy as np

    from keras_bert_impl import pretraining_dataset
    from keras_bert_impl.data.pretraining import default_max_predictions

    ds = pretraining_dataset(
        [held_out],
        tokenizer,
        max_seq_length=EVAL_LENGTH,
        batch_size=EVAL_BATCH,
        seed=EVAL_SEED,
        max_predictions_per_seq=default_max_predictions(EVAL_LENGTH),
        verbose=False,
    )
    parts = [[], [], []]
    for batch in ds.take(batches):
        for part, tensors in zip(parts, batch, strict=True):
            part.append({k: v.numpy() for k, v in tensors.items()})
    x, y, w = (
        {k: np.concatenate([d[k] for d in part]) for k in part[0]}
        for part in parts
    )
    ids = y["masked_lm"][w["masked_lm"] > 0]
    counts = np.bincount(ids, minlength=tokenizer.vocabulary_size)
    info = {
        "batches": batches,
        "batch_size": EVAL_BATCH,
        "seq_length": EVAL_LENGTH,
        "max_predictions": default_max_predictions(EVAL_LENGTH),
        "seed": EVAL_SEED,
        "pairs": int(len(y["next_sentence"])),
        "masked_tokens": int(len(ids)),
        "baseline_mlm": float(counts.max() / counts.sum()),
        "baseline_token": tokenizer.vocabulary[int(counts.argmax())],
        "nsp_label_mean": float(y["next_sentence"].mean()),
    }
    return (x, y, w), info


# === One run =================================================================


def pretrain_run(name, spec, paths, args):
    """Pretrains one run of `RUNS`; returns its result line."""
    import keras
    import tensorflow as tf

    import keras_bert_impl as kbi
    from keras_bert_impl.training.pretrain import PretrainingModel

    phases = parse_phases(spec["phases"], args.steps_scale)
    total = sum(p[0] for p in phases)
    warmup = int(spec["warmup"] * total)
    seed = spec["seed"] if args.seed is None else args.seed
    eval_every = args.eval_every
    if eval_every is None:  # the run's own, scaled with its steps
        eval_every = spec["eval_every"] and max(
            1, round(spec["eval_every"] * args.steps_scale)
        )
    vocab = paths["vocab"][spec["vocab_size"]]
    train = paths[
        "train_shuffled" if spec["article_order"] == "shuffled" else "train"
    ]
    tokenizer = kbi.BertTokenizer(vocab)
    (ex, ey, ew), eval_info = fixed_eval_set(
        paths["held_out"], tokenizer, args.eval_batches
    )
    log(
        f"{name}: eval set {eval_info['pairs']} pairs, "
        f"{eval_info['masked_tokens']} masked tokens, most-frequent "
        f"baseline {eval_info['baseline_mlm']:.4f} "
        f"({eval_info['baseline_token']})"
    )

    keras.utils.set_random_seed(seed)
    config = kbi.BertConfig.preset(
        spec["model"],
        vocabulary_size=tokenizer.vocabulary_size,
        dropout=spec["dropout"],
        attention_dropout=spec["dropout"],
    )
    encoder = kbi.build_encoder(config)
    model = PretrainingModel(encoder)
    model.track_health = args.track_health
    model.compile(
        optimizer=kbi.create_optimizer(
            spec["lr"],
            total_steps=total,
            warmup_steps=warmup,
            weight_decay=WEIGHT_DECAY,
        ),
        jit_compile=True,
    )
    evals = []

    def evaluate(step, train_s):
        r = model.evaluate(
            ex,
            ey,
            sample_weight=ew,
            batch_size=EVAL_BATCH,
            verbose=0,
            return_dict=True,
        )
        evals.append(
            {
                "step": step,
                "train_s": train_s,
                "mlm": r["masked_lm_accuracy"],
                "nsp": r["next_sentence_accuracy"],
                "mlm_loss": r["masked_lm_loss"],
                "nsp_loss": r["next_sentence_loss"],
            }
        )
        log(
            f"  step {step} (train {train_s:.0f}s): held-out MLM "
            f"{evals[-1]['mlm']:.4f} NSP {evals[-1]['nsp']:.4f}"
        )

    class Clock(keras.callbacks.Callback):
        """Seconds inside the train steps (the first of each phase apart);
        held-out evaluations every `eval_every` steps inside a phase."""

        def __init__(self):
            super().__init__()
            self.train_s, self.step, self.phase_end = 0.0, 0, 0

        def on_train_batch_begin(self, batch, logs=None):
            self.start = time.perf_counter()

        def on_train_batch_end(self, batch, logs=None):
            seconds = time.perf_counter() - self.start
            self.train_s += seconds
            self.step += 1
            if batch == 0:
                self.first = seconds
            if (
                eval_every
                and self.step % eval_every == 0
                and self.step < self.phase_end
            ):
                evaluate(self.step, self.train_s)

    clock = Clock()
    phase_results = []
    start_all = time.perf_counter()
    for i, (steps, length, batch, max_pred) in enumerate(phases):
        ds = kbi.pretraining_dataset(
            [train],
            tokenizer,
            max_seq_length=length,
            batch_size=batch,
            seed=seed + 100 * i,
            max_predictions_per_seq=max_pred,
            document_buffer=DOCUMENT_BUFFER,
            nsp_prob=0.5,
            short_seq_prob=0.1,
            verbose=False,
        )
        clock.phase_end = clock.step + steps
        start, train_before = time.perf_counter(), clock.train_s
        history = model.fit(
            ds,
            epochs=1,
            steps_per_epoch=steps,
            verbose=0,
            shuffle=False,  # the stream is shuffled
            callbacks=[clock],
        ).history
        wall_s = time.perf_counter() - start
        train_s = clock.train_s - train_before
        steady = (
            (steps - 1) / (train_s - clock.first)
            if steps > 1 and train_s > clock.first
            else None
        )
        evaluate(clock.step, clock.train_s)
        phase_results.append(
            {
                "phase": i,
                "steps": steps,
                "seq_length": length,
                "batch_size": batch,
                "max_predictions": max_pred,
                "wall_s": wall_s,
                "train_s": train_s,
                "steps_per_s": steps / train_s,
                "first_step_s": clock.first,
                "steady_steps_per_s": steady,
                "last_train_mlm_acc": history["masked_lm_accuracy"][-1],
                "last_train_nsp_acc": history["next_sentence_accuracy"][-1],
            }
        )
        log(
            f"{name} phase {i} ({steps} x {length}, batch {batch}, "
            f"{max_pred} predictions): {train_s:.0f}s of steps, steady "
            f"{steady or 0:.2f} steps/s, first step {clock.first:.1f}s"
        )
    total_wall = time.perf_counter() - start_all
    loadavg = [round(x, 2) for x in os.getloadavg()]
    kbi.save_checkpoint(
        encoder,
        os.path.join(args.work, "runs", name, "encoder"),
        vocab=tokenizer,
        overwrite=True,
    )
    final = evals[-1]
    return {
        "benchmark": "pretrain_levers",
        **stamp(),
        "tensorflow": tf.__version__,
        "keras": keras.__version__,
        "git_commit": _git_commit(),
        "run": name,
        "model": spec["model"],
        "phases": [
            {"steps": s, "seq_length": n, "batch_size": b, "max_predictions": m}
            for s, n, b, m in phases
        ],
        "steps_scale": args.steps_scale,
        "total_steps": total,
        "learning_rate": spec["lr"],
        "warmup_steps": warmup,
        "dropout": spec["dropout"],
        "weight_decay": WEIGHT_DECAY,
        "vocab_size": tokenizer.vocabulary_size,
        "seed": seed,
        "article_order": spec["article_order"],
        "document_buffer": DOCUMENT_BUFFER,
        "eval_every": eval_every,
        "jit_compile": True,
        "track_health": args.track_health,
        "eval": eval_info,
        "phase_results": phase_results,
        "evals": evals,
        "final": final,
        "mlm_over_baseline": final["mlm"] / eval_info["baseline_mlm"],
        "train_s": clock.train_s,
        "total_wall_s": total_wall,
        "loadavg_end": loadavg,
    }


# === The table ===============================================================

TABLE_HEADER = (
    "run",
    "model",
    "phases (steps:len:batch:max_pred)",
    "lr",
    "warmup steps",
    "dropout",
    "vocab",
    "wall s",
    "steady steps/s per phase",
    "held-out MLM",
    "NSP",
    "MLM/baseline",
    "load at end",
)


def _rate(phase):
    if phase.get("steady_steps_per_s") is not None:
        return f"{phase['steady_steps_per_s']:.2f}"
    return f"{phase['steps_per_s']:.2f} (all steps)"


def table_row(r):
    name = r["run"] + (" *" if r.get("source") else "")
    if r.get("steps_scale", 1) != 1:
        name += f" (steps x{r['steps_scale']:g})"
    if r["seed"] != RUNS.get(r["run"], {}).get("seed", 0):
        name += f" (seed {r['seed']})"
    return [
        name,
        r["model"],
        ", ".join(
            f"{p['steps']}:{p['seq_length']}:{p['batch_size']}:"
            f"{p['max_predictions']}"
            for p in r["phases"]
        ),
        f"{r['learning_rate']:g}",
        str(r["warmup_steps"]),
        f"{r['dropout']:g}",
        str(r["vocab_size"]),
        f"{r['total_wall_s']:.0f}",
        ", ".join(_rate(p) for p in r["phase_results"]),
        f"{r['final']['mlm']:.4f}",
        f"{r['final']['nsp']:.4f}",
        f"{r['mlm_over_baseline']:.2f}x",
        f"{r['loadavg_end'][0]:.2f}",
    ]


def markdown_table(rows):
    lines = [
        "| " + " | ".join(TABLE_HEADER) + " |",
        "|" + "---|" * len(TABLE_HEADER),
    ]
    lines += ["| " + " | ".join(table_row(r)) + " |" for r in rows]
    sources = sorted({r["source"] for r in rows if r.get("source")})
    for source in sources:
        lines.append(f"\n\\* {source}.")
    return "\n".join(lines)


def print_table(path):
    if not os.path.exists(path):
        sys.exit(f"no results file {path}")
    with open(path, encoding="utf-8") as f:
        rows = [json.loads(line) for line in f if line.strip()]
    print(markdown_table(rows))


# === Main ====================================================================


def main():
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n")[0],
        epilog="runs: " + ", ".join(RUNS),
    )
    parser.add_argument(
        "--runs",
        default=",".join(RUNS),
        help="comma-separated names of RUNS (default: all)",
    )
    parser.add_argument(
        "--work", default="runs/levers", help="corpus, vocabularies, encoders"
    )
    parser.add_argument(
        "--out",
        default=os.path.join(RESULTS_DIR, "pretrain_levers.jsonl"),
        help="JSON Lines file the results are appended to (read by --table)",
    )
    parser.add_argument(
        "--seed",
        type=int,
        default=None,
        help="override every run's seed (default: its own, 0 except F1_seed1)",
    )
    parser.add_argument("--eval-batches", type=int, default=20)
    parser.add_argument(
        "--eval-every",
        type=int,
        default=None,
        help="override the runs' held-out evaluations between phase ends "
        "(0: phase ends only)",
    )
    parser.add_argument(
        "--steps-scale",
        type=float,
        default=1.0,
        help="multiply every phase's steps (at least 1), for smoke tests",
    )
    parser.add_argument(
        "--track-health",
        action="store_true",
        help="record the training-health numbers in the "
        "step (off in the scratch code)",
    )
    parser.add_argument(
        "--table",
        action="store_true",
        help="print the markdown table of --out and exit",
    )
    args = parser.parse_args()
    args.out = os.path.abspath(args.out)
    if args.table:
        print_table(args.out)
        return
    names = [n for n in args.runs.split(",") if n]
    unknown = [n for n in names if n not in RUNS]
    if unknown or not names:
        parser.error(f"unknown runs {unknown}; choose from {', '.join(RUNS)}")
    if not args.steps_scale > 0:
        parser.error("--steps-scale must be positive")
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    specs = {n: RUNS[n] for n in names}
    paths = prepare_data(
        args.work,
        [s["vocab_size"] for s in specs.values()],
        any(s["article_order"] == "shuffled" for s in specs.values()),
    )
    for name, spec in specs.items():
        log(f"== {name}: {spec}")
        result = pretrain_run(name, spec, paths, args)
        emit(result, markdown_table([result]), args.out)


if __name__ == "__main__":
    main()
