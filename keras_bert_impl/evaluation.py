"""Task metrics on predictions: classification, regression, NER, SQuAD.

Plain Python and NumPy (no TensorFlow import), usable on predictions from
anywhere; `keras-bert-impl evaluate` reports these.

- `accuracy`, `macro_f1`: classification and multiple choice.
- `pearson`, `spearman`: regression (STS-B).
- `multilabel_scores`: micro / macro F1, precision, recall, per label.

- `get_entities`, `entity_scores`: chunks of a BIO / IOB2 / IOB1 / BIOES
  tag sequence and micro precision / recall / F1 over exact (type, start,
  end) matches, with the chunking rules of `seqeval`'s default
  (non-strict) mode (Nakayama 2018, which follows the CoNLL `conlleval`
  script): an `I-X` after `O` or after another type starts an entity.
- `normalize_answer`, `squad_exact_match`, `squad_f1`, `squad_scores`: the
  official SQuAD v1.1 / v2.0 evaluation (`evaluate-v2.0.py`): answers are
  lower-cased, stripped of punctuation, of the articles a / an / the and of
  extra whitespace; each prediction scores the max over its gold answers;
  an unanswerable question has the gold answer `""`, and an empty
  prediction scores 1 on it and 0 on an answerable one.
"""

import collections
import math
import re
import string

import numpy as np

# -- classification and regression ---------------------------------------------


def accuracy(y_true, y_pred) -> float:
    """Share of equal labels.

    Example:
    >>> accuracy([0, 1, 1, 2], [0, 1, 2, 2])
    0.75
    """
    y_true, y_pred = np.asarray(y_true), np.asarray(y_pred)
    return float((y_true == y_pred).mean())


def macro_f1(y_true, y_pred, num_classes: int) -> float:
    """Unweighted mean of the per-class F1 scores (a class never predicted
    nor present scores 0).

    Example:
    >>> round(macro_f1([0, 0, 1, 1], [0, 1, 1, 1], 2), 4)
    0.7333
    """
    y_true, y_pred = np.asarray(y_true), np.asarray(y_pred)
    scores = []
    for c in range(num_classes):
        tp = float(np.sum((y_pred == c) & (y_true == c)))
        fp = float(np.sum((y_pred == c) & (y_true != c)))
        fn = float(np.sum((y_pred != c) & (y_true == c)))
        denom = 2 * tp + fp + fn
        scores.append(2 * tp / denom if denom else 0.0)
    return float(np.mean(scores))


def pearson(x, y) -> float:
    """Pearson's correlation coefficient (`nan` for a constant input).

    Example:
    >>> round(pearson([1, 2, 3], [2, 4, 7]), 4)
    0.9934
    """
    x, y = np.asarray(x, "float64"), np.asarray(y, "float64")
    x, y = x - x.mean(), y - y.mean()
    denom = math.sqrt(float((x * x).sum() * (y * y).sum()))
    return float((x * y).sum() / denom) if denom else float("nan")


def spearman(x, y) -> float:
    """Spearman's rank correlation (ties get their average rank).

    Example:
    >>> spearman([1, 2, 3, 4], [10, 20, 20, 40])
    0.9486832980505138
    """

    def ranks(v):
        v = np.asarray(v, "float64")
        order = np.argsort(v, kind="mergesort")
        r = np.empty(len(v))
        r[order] = np.arange(len(v))
        for value in np.unique(v):
            tied = v == value
            if tied.sum() > 1:
                r[tied] = r[tied].mean()
        return r

    return pearson(ranks(x), ranks(y))


def multilabel_scores(y_true, y_pred, names) -> dict:
    """Multi-label scores of multi-hot truth and predictions.

    Returns:
        dict: `micro_f1`, `micro_precision`, `micro_recall`, `macro_f1`,
        `subset_accuracy` (every label of the example right), and
        `per_label` `{name: {"precision", "recall", "f1", "support"}}`.

    Example:
    >>> s = multilabel_scores([[1, 0], [1, 1]], [[1, 0], [0, 1]], ["a", "b"])
    >>> s["micro_f1"], s["subset_accuracy"], s["per_label"]["a"]["recall"]
    (0.8, 0.5, 0.5)
    """
    y_true = np.asarray(y_true).astype(bool)
    y_pred = np.asarray(y_pred).astype(bool)
    tp = (y_true & y_pred).sum(0).astype(float)
    fp = (~y_true & y_pred).sum(0).astype(float)
    fn = (y_true & ~y_pred).sum(0).astype(float)

    def f1(t, p, n):
        return float(2 * t / (2 * t + p + n)) if 2 * t + p + n else 0.0

    def ratio(a, b):
        return float(a / b) if b else 0.0

    per_label = {
        name: {
            "precision": ratio(tp[i], tp[i] + fp[i]),
            "recall": ratio(tp[i], tp[i] + fn[i]),
            "f1": f1(tp[i], fp[i], fn[i]),
            "support": int(y_true[:, i].sum()),
        }
        for i, name in enumerate(names)
    }
    return {
        "examples": int(len(y_true)),
        "micro_f1": f1(tp.sum(), fp.sum(), fn.sum()),
        "micro_precision": ratio(tp.sum(), tp.sum() + fp.sum()),
        "micro_recall": ratio(tp.sum(), tp.sum() + fn.sum()),
        "macro_f1": float(np.mean([v["f1"] for v in per_label.values()])),
        "subset_accuracy": float((y_true == y_pred).all(1).mean()),
        "per_label": per_label,
    }


# -- entity-level NER scores ---------------------------------------------------


def _split_tag(tag):
    if tag in ("O", "."):
        return tag, ""
    if tag in ("B", "I", "E", "S"):
        return tag, "_"
    if len(tag) > 1 and tag[1] in "-_" and tag[0] in "BIES":
        return tag[0], tag[2:]
    return "I", tag  # a bare type ("PER") is an inside tag of that type


def _ends(prev_tag, tag, prev_type, type_):
    if prev_tag in ("E", "S"):
        return True
    if prev_tag in ("B", "I") and tag in ("B", "S", "O"):
        return True
    return prev_tag not in ("O", ".") and prev_type != type_


def _starts(prev_tag, tag, prev_type, type_):
    if tag in ("B", "S"):
        return True
    if prev_tag in ("E", "S", "O") and tag in ("E", "I"):
        return True
    return tag not in ("O", ".") and prev_type != type_


def get_entities(tags):
    """Entities of a tag sequence as `(type, start, end)`, `end` exclusive.

    Args:
        tags: list of str (`"B-PER"`, `"I-PER"`, `"O"`, ...), or a list of
            such lists (sentences are then chained with an `"O"` between,
            so indices count across them plus one per sentence break, as
            in seqeval).

    Example:
    >>> get_entities(["B-PER", "I-PER", "O", "I-LOC", "B-LOC", "I-ORG"])
    [('PER', 0, 2), ('LOC', 3, 4), ('LOC', 4, 5), ('ORG', 5, 6)]
    """
    if tags and isinstance(tags[0], list | tuple):
        flat = []
        for sentence in tags:
            flat.extend(list(sentence) + ["O"])
        tags = flat
    entities = []
    prev_tag, prev_type, begin = "O", "", 0
    for i, tag in enumerate(list(tags) + ["O"]):
        tag_, type_ = _split_tag(tag)
        if _ends(prev_tag, tag_, prev_type, type_):
            entities.append((prev_type, begin, i))
        if _starts(prev_tag, tag_, prev_type, type_):
            begin = i
        prev_tag, prev_type = tag_, type_
    return entities


def entity_scores(y_true, y_pred):
    """Entity-level micro precision, recall and F1, and per type.

    An entity counts as correct only when its type, start and end all
    match (seqeval's default).

    Args:
        y_true: list of tag sequences (one list of str per sentence).
        y_pred: the predicted tag sequences, same lengths.

    Returns:
        dict: `precision`, `recall`, `f1` (fractions in [0, 1], 0 when
        undefined), `true_entities`, `pred_entities`, `correct`, and
        `per_type` (the same keys per entity type).

    Example:
    >>> s = entity_scores([["B-PER", "I-PER", "O", "B-LOC"]],
    ...                   [["B-PER", "I-PER", "O", "B-ORG"]])
    >>> s["precision"], s["recall"], s["f1"]
    (0.5, 0.5, 0.5)
    """
    if len(y_true) != len(y_pred):
        raise ValueError(
            "`y_true` and `y_pred` must hold the same number of sentences. "
            f"Received: {len(y_true)} and {len(y_pred)}"
        )
    for i, (t, p) in enumerate(zip(y_true, y_pred, strict=True)):
        if len(t) != len(p):
            raise ValueError(
                f"Sentence {i}: {len(t)} true tags but {len(p)} predicted. "
                "Predict one tag per word."
            )
    true = set(get_entities([list(t) for t in y_true]))
    pred = set(get_entities([list(p) for p in y_pred]))
    types = sorted({e[0] for e in true | pred})
    per_type = {
        t: _prf({e for e in true if e[0] == t}, {e for e in pred if e[0] == t})
        for t in types
    }
    return {**_prf(true, pred), "per_type": per_type}


def _prf(true, pred):
    correct = len(true & pred)
    p = correct / len(pred) if pred else 0.0
    r = correct / len(true) if true else 0.0
    f = 2 * p * r / (p + r) if p + r else 0.0
    return {
        "precision": p,
        "recall": r,
        "f1": f,
        "true_entities": len(true),
        "pred_entities": len(pred),
        "correct": correct,
    }


# -- SQuAD ---------------------------------------------------------------------

_ARTICLES = re.compile(r"\b(a|an|the)\b", re.UNICODE)
_PUNCTUATION = set(string.punctuation)


def normalize_answer(text: str) -> str:
    """Lower case, no punctuation, no articles, single spaces (official).

    Example:
    >>> normalize_answer("The  Eiffel-Tower, in Paris!")
    'eiffeltower in paris'
    """
    text = text.lower()
    text = "".join(ch for ch in text if ch not in _PUNCTUATION)
    text = _ARTICLES.sub(" ", text)
    return " ".join(text.split())


def squad_exact_match(prediction: str, gold: str) -> int:
    """1 if the normalized answers are equal, else 0."""
    return int(normalize_answer(prediction) == normalize_answer(gold))


def squad_f1(prediction: str, gold: str) -> float:
    """Token-overlap F1 of the normalized answers (bag of words).

    When either is empty (no answer), 1.0 if both are, else 0.0.

    Example:
    >>> round(squad_f1("the big red dog", "a red dog barked"), 4)
    0.6667
    """
    pred_tokens = normalize_answer(prediction).split()
    gold_tokens = normalize_answer(gold).split()
    if not pred_tokens or not gold_tokens:
        return float(pred_tokens == gold_tokens)
    common = collections.Counter(pred_tokens) & collections.Counter(gold_tokens)
    same = sum(common.values())
    if same == 0:
        return 0.0
    precision = same / len(pred_tokens)
    recall = same / len(gold_tokens)
    return 2 * precision * recall / (precision + recall)


def squad_scores(gold_answers, predictions):
    """The official SQuAD v1.1 / v2.0 exact match and F1, in percent.

    Args:
        gold_answers: dict question id → list of gold answer texts (empty
            list, or only empty texts, for an unanswerable question).
        predictions: dict question id → predicted text (`""` = no answer).

    Returns:
        dict: `exact_match`, `f1`, `total`, and for v2.0 data (some
        questions unanswerable) also `has_answer_*` / `no_answer_*`
        breakdowns. A question with no prediction scores 0 (and is counted
        in `missing`).

    Example:
    >>> squad_scores({"q1": ["Denver Broncos"], "q2": []},
    ...              {"q1": "the Denver Broncos", "q2": ""})["exact_match"]
    100.0
    """
    if not gold_answers:
        raise ValueError(
            "`gold_answers` is empty: there is nothing to evaluate. Pass "
            "a non-empty evaluation set."
        )
    exact, f1 = {}, {}
    missing = 0
    for qid, golds in gold_answers.items():
        golds = [a for a in golds if normalize_answer(a)] or [""]
        if qid not in predictions:
            missing += 1
            exact[qid], f1[qid] = 0, 0.0
            continue
        pred = predictions[qid]
        exact[qid] = max(squad_exact_match(pred, g) for g in golds)
        f1[qid] = max(squad_f1(pred, g) for g in golds)
    out = _mean_scores(exact, f1, list(gold_answers))
    out["missing"] = missing
    has = [q for q, g in gold_answers.items() if any(map(normalize_answer, g))]
    no = [q for q in gold_answers if q not in set(has)]
    if no:
        for name, ids in (("has_answer", has), ("no_answer", no)):
            if ids:
                scores = _mean_scores(exact, f1, ids)
                out[f"{name}_exact_match"] = scores["exact_match"]
                out[f"{name}_f1"] = scores["f1"]
                out[f"{name}_total"] = scores["total"]
    return out


def _mean_scores(exact, f1, ids):
    n = len(ids)
    return {
        "exact_match": 100.0 * sum(exact[q] for q in ids) / n,
        "f1": 100.0 * sum(f1[q] for q in ids) / n,
        "total": n,
    }
