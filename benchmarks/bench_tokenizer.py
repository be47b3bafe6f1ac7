"""Tokens/second: `BertTokenizer` in `tf.data` vs HF `tokenizers` batch encode.

Both tokenize the same real lines (BBC News, chit-chat, Rotten Tomatoes with
the bert-base-uncased vocab) in one process, in interleaved repetitions; the
ids are checked equal first. Prints one JSON line and a short table.

    python benchmarks/bench_tokenizer.py [--lines 60000] [--repeats 5]
"""

import argparse
import json
import os
import statistics
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))

import tensorflow as tf  # noqa: E402
from tokenizers import BertWordPieceTokenizer  # noqa: E402

from keras_bert_impl.tokenization.bert_tokenizer import BertTokenizer  # noqa: E402
from tests.tokenization import corpora  # noqa: E402

sys.path.insert(0, os.path.dirname(__file__))
import common  # noqa: E402

VOCAB = os.path.join(
    os.path.dirname(__file__), "..", "tests", "data", "vocab", "uncased.txt"
)


def _paired(times, peer):
    """Median, min and max of per-round time ratios peer / ours."""
    ratios = [
        p / o
        for p, o in zip(times[peer], times["keras_bert_impl"], strict=True)
    ]
    return [
        round(statistics.median(ratios), 2),
        round(min(ratios), 2),
        round(max(ratios), 2),
    ]


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lines", type=int, default=60000)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--batch-size", type=int, default=512)
    parser.add_argument("--save", default="tokenizer.jsonl")
    args = parser.parse_args(argv)

    third = args.lines // 3
    lines = (
        corpora.bbc_news(third)
        + corpora.chitchat(third)
        + corpora.rotten_tomatoes(third)
    )
    hf = BertWordPieceTokenizer(VOCAB, lowercase=True)
    tok = BertTokenizer(VOCAB, lower_case=True)

    # Built once: `map` traces `tokenize` once, as in a training pipeline.
    ds = tf.data.Dataset.from_tensor_slices(lines).batch(args.batch_size)
    ds = ds.map(tok.tokenize, num_parallel_calls=tf.data.AUTOTUNE)
    ds = ds.prefetch(tf.data.AUTOTUNE)

    def ours():
        return list(ds)

    def theirs():
        return hf.encode_batch(lines, add_special_tokens=False)

    ref = [e.ids for e in theirs()]
    got = [row for batch in ours() for row in batch.to_list()]
    mismatches = sum(a != b for a, b in zip(ref, got, strict=True))
    num_tokens = sum(map(len, ref))

    runners = (
        ("keras_bert_impl", ours),
        ("hf_tokenizers", theirs),
    )
    times = {name: [] for name, _ in runners}
    for _ in range(args.repeats):  # interleaved, so load drifts hit all
        for name, fn in runners:
            start = time.perf_counter()
            fn()
            times[name].append(time.perf_counter() - start)
    rates = {k: [num_tokens / t for t in v] for k, v in times.items()}
    median = {k: statistics.median(v) for k, v in rates.items()}
    result = {
        "benchmark": "tokenizer",
        **common.stamp(),
        "lines": len(lines),
        "tokens": num_tokens,
        "mismatched_lines": mismatches,
        "cpus": os.cpu_count(),
        "repeats": args.repeats,
        "tokens_per_s": {
            k: {
                "median": round(median[k]),
                "min": round(min(v)),
                "max": round(max(v)),
            }
            for k, v in rates.items()
        },
        "ratio_median": round(
            median["keras_bert_impl"] / median["hf_tokenizers"], 2
        ),
        # per-round paired ratios, median [min, max]
        "ratio_paired": _paired(times, "hf_tokenizers"),
        "load_average": os.getloadavg()[0],
    }
    print(json.dumps(result))
    if args.save:
        path = os.path.join(common.RESULTS_DIR, args.save)
        with open(path, "a") as f:
            f.write(json.dumps(result) + "\n")
    print(f"\n{'tokenizer':<18}{'median tok/s':>14}{'min':>12}{'max':>12}")
    for k, v in rates.items():
        print(f"{k:<18}{median[k]:>14,.0f}{min(v):>12,.0f}{max(v):>12,.0f}")
    print(
        f"ratio {result['ratio_median']}x on {len(lines)} lines, "
        f"{num_tokens} tokens, {mismatches} mismatched lines; paired "
        f"{result['ratio_paired']}"
    )
    return 0 if mismatches == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
