"""Frozen-feature probe of the transfer study's encoders.

Does the pretrained English encoder of `pretrain_transfer.py` carry more
of a task's label than the same preset at random init, before any
fine-tuning? For a task and seed, both encoders embed the study's
labelled subset (budget 100) and the test set, frozen; three features per
text: the [CLS] vector, the pooled output (the tanh dense NSP trained) and
the mean of the sequence output over real tokens. Two numbers per
feature:

* nearest-centroid accuracy: centre on the labelled set's mean, unit
  length, class means of the labelled features, cosine argmax on the test
  set (no hyperparameter, no training);
* effective rank of the test features (exp of the entropy of the
  normalized singular values): how many directions the texts spread over.

Run after `pretrain_transfer.py` has pretrained and written the labelled
subsets (its `--work`):

    python benchmarks/transfer_probe.py --tasks bbc,rt --seeds 0,1,2

Appends one JSON line per (task, seed, init) to `--out`.
"""

import argparse
import csv
import json
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))
sys.path.insert(0, HERE)

import keras  # noqa: E402
import numpy as np  # noqa: E402
from finetune_data import ensure  # noqa: E402

from keras_bert_impl import BertConfig  # noqa: E402
from keras_bert_impl import BertTokenizer  # noqa: E402
from keras_bert_impl import build_encoder  # noqa: E402
from keras_bert_impl import load_checkpoint  # noqa: E402

LENGTHS = {"rt": 64, "bbc": 128}  # the study's fine-tuning lengths


def _rows(path):
    with open(path, newline="", encoding="utf-8") as f:
        return list(csv.reader(f))[1:]


def features(encoder, tokenizer, texts, length, batch_size=64):
    """{"cls", "pooled", "mean"} feature arrays of `texts`."""
    out = {"cls": [], "pooled": [], "mean": []}
    for i in range(0, len(texts), batch_size):
        x = tokenizer.encode(texts[i : i + batch_size], max_length=length)
        x = {k: np.asarray(x[k]) for k in ("token_ids", "segment_ids",
                                           "padding_mask")}  # fmt: skip
        y = encoder(x, training=False)
        seq = np.asarray(y["sequence_output"])
        mask = x["padding_mask"][..., None].astype("float32")
        out["cls"].append(seq[:, 0])
        out["pooled"].append(np.asarray(y["pooled_output"]))
        out["mean"].append((seq * mask).sum(1) / mask.sum(1))
    return {k: np.concatenate(v) for k, v in out.items()}


def centroid_accuracy(train, y_train, test, y_test, classes):
    mu = train.mean(0)
    a, b = train - mu, test - mu
    a /= np.linalg.norm(a, axis=1, keepdims=True) + 1e-9
    b /= np.linalg.norm(b, axis=1, keepdims=True) + 1e-9
    means = np.stack([a[y_train == k].mean(0) for k in range(classes)])
    return float(((b @ means.T).argmax(1) == y_test).mean())


def effective_rank(x):
    s = np.linalg.svd(x - x.mean(0), compute_uv=False)
    p = s / s.sum()
    return float(np.exp(-(p * np.log(p + 1e-12)).sum()))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--tasks", default="bbc,rt")
    parser.add_argument("--seeds", default="0,1,2")
    parser.add_argument("--work", default="runs/pretrain_transfer")
    parser.add_argument(
        "--out",
        default=os.path.join(
            HERE, "results", "pretrain_transfer", "probes.jsonl"
        ),
    )
    args = parser.parse_args(argv)
    with open(os.path.join(args.work, "en", "pretrain.json")) as f:
        plan = json.load(f)["plan"]
    tokenizer = BertTokenizer(plan["vocab"], lower_case=True)
    pretrained = load_checkpoint(os.path.join(plan["logdir"], "encoder"))
    if isinstance(pretrained, tuple):
        pretrained = pretrained[0]
    for task in args.tasks.split(","):
        test = _rows(os.path.join(ensure(), task, "test.csv"))
        for seed in (int(s) for s in args.seeds.split(",")):
            train = _rows(os.path.join(
                args.work, "labelled", f"{task}_100_seed{seed}.csv"
            ))  # fmt: skip
            names = sorted({label for label, _ in train})
            index = {n: i for i, n in enumerate(names)}
            y_train = np.array([index[label] for label, _ in train])
            y_test = np.array([index[label] for label, _ in test])
            keras.utils.set_random_seed(seed)
            random_init = build_encoder(BertConfig.preset(
                plan["model"], vocabulary_size=tokenizer.vocabulary_size
            ))  # fmt: skip
            for init, encoder in (("pretrained", pretrained),
                                  ("random", random_init)):  # fmt: skip
                a = features(encoder, tokenizer, [t for _, t in train],
                             LENGTHS[task])  # fmt: skip
                b = features(encoder, tokenizer, [t for _, t in test],
                             LENGTHS[task])  # fmt: skip
                row = {"task": task, "seed": seed, "init": init,
                       "labelled": len(train), "test": len(test)}  # fmt: skip
                for name in a:
                    row[f"{name}_centroid_accuracy"] = round(
                        centroid_accuracy(a[name], y_train, b[name], y_test,
                                          len(names)), 4)  # fmt: skip
                    row[f"{name}_effective_rank"] = round(
                        effective_rank(b[name]), 1
                    )
                print(json.dumps(row), flush=True)
                with open(args.out, "a", encoding="utf-8") as f:
                    f.write(json.dumps(row) + "\n")


if __name__ == "__main__":
    main()
