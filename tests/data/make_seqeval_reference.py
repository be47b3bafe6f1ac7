"""Writes `seqeval_reference.json`: seqeval's own scores on random tags.

Run with a Python that has `seqeval` (not a CI dependency):

    pip install seqeval==1.2.2
    python tests/data/make_seqeval_reference.py

`tests/test_evaluation.py` checks `keras_bert_impl.evaluation` against the
committed file: entities and micro / per-type precision, recall and F1 of
seqeval's default (non-strict) mode on random BIO / IOB1 / BIOES and
malformed sequences.
"""

import json
import os
import random
import warnings

from seqeval.metrics import f1_score
from seqeval.metrics import precision_score
from seqeval.metrics import recall_score
from seqeval.metrics.sequence_labeling import get_entities

TAGS = ["O", "O", "O", "B-PER", "I-PER", "B-LOC", "I-LOC", "I-ORG",
        "B-ORG", "E-PER", "S-LOC"]  # fmt: skip


def sentence(rng, n):
    return [rng.choice(TAGS) for _ in range(n)]


def corrupt(rng, tags):
    out = list(tags)
    for i in range(len(out)):
        if rng.random() < 0.25:
            out[i] = rng.choice(TAGS)
    return out


def main():
    rng = random.Random(20261125)
    cases = []
    for _ in range(60):
        y_true = [sentence(rng, rng.randint(0, 12)) for _ in range(5)]
        y_pred = [corrupt(rng, t) for t in y_true]
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            case = {
                "y_true": y_true,
                "y_pred": y_pred,
                "true_entities": [list(e) for e in get_entities(y_true)],
                "precision": precision_score(y_true, y_pred),
                "recall": recall_score(y_true, y_pred),
                "f1": f1_score(y_true, y_pred),
                "per_type_f1": dict(
                    zip(
                        sorted({e[0] for e in get_entities(y_true + y_pred)}),
                        [
                            float(x)
                            for x in f1_score(y_true, y_pred, average=None)
                        ],
                        strict=False,
                    )
                ),
            }
        cases.append(case)
    path = os.path.join(os.path.dirname(__file__), "seqeval_reference.json")
    with open(path, "w") as f:
        json.dump({"seqeval": "1.2.2", "cases": cases}, f)
        f.write("\n")


if __name__ == "__main__":
    main()
