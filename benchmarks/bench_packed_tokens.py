"""The encoder on a batch's real tokens only (`packed_tokens`) vs padded.

The export's unpadded path (TensorFlow's kernels) runs the encoder under
`keras_bert_impl.models.encoder.packed_tokens()`: the dense layers,
LayerNorms and activation of every block see the batch's real tokens only,
attention the padded layout. This benchmark times that forward against
the plain padded one, both `tf.function`s on TensorFlow's kernels (no
XLA), same weights (the real all-MiniLM-L6-v2), same batches:

* real text, each batch padded to its longest row as the export pads it:
  `short` (Rotten Tomatoes sentences), `long128` and `long512` (BBC
  articles cut at 128 and 512 tokens), the serving benchmark's samples
  (`bench_serving_e2e.load_texts`);
* `full` rows (every position real, random ids), where packing has
  nothing to skip and the encoder takes its padded path (a run-time
  branch): the cost of that branch.

Per case: a warmup, then `--rounds` interleaved rounds, each calling both
forwards enough times for about `--round-seconds`. Reported: ms per batch
(median [min-max]), the share of real tokens, and the per-round speed
ratio packed / padded (> 1: packing faster).

    python benchmarks/bench_packed_tokens.py --rounds 7

One JSON line goes to `benchmarks/results/packed_tokens.jsonl`.
"""

import argparse
import os
import sys
import time
import types

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, ".."))
sys.path.insert(0, HERE)

import common  # noqa: E402

CASES = (
    "short:8,short:32,long128:8,long128:32,long512:8,long512:32,"
    "full:1x300,full:8x128"
)


def parse_cases(text):
    """`"short:32,full:8x128"` -> [("short", 32), ("full", (8, 128))]."""
    cases = []
    for item in text.split(","):
        profile, _, size = item.strip().partition(":")
        if profile == "full":
            rows, _, tokens = size.partition("x")
            cases.append((profile, (int(rows), int(tokens))))
        else:
            cases.append((profile, int(size)))
    return cases


def batch_inputs(profile, size, tokenizer, rng):
    """int32 inputs of one batch, padded to its longest row."""
    import numpy as np
    import tensorflow as tf

    if profile == "full":
        rows, tokens = size
        ids = rng.integers(1000, 20000, (rows, tokens))
        return {
            "token_ids": tf.constant(ids, tf.int32),
            "segment_ids": tf.zeros((rows, tokens), tf.int32),
            "padding_mask": tf.ones((rows, tokens), tf.int32),
        }
    import bench_serving_e2e

    max_length = bench_serving_e2e.PROFILES[profile][1]
    sample = types.SimpleNamespace(
        short_sentences=128, long_sentences=32, max_sentences=None
    )
    texts = bench_serving_e2e.load_texts(profile, sample)[:size]
    packed = tokenizer.encode(tf.constant(texts), max_length=max_length)
    longest = int(np.max(np.sum(packed["padding_mask"], 1)))
    return {k: v[:, :longest] for k, v in packed.items()}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--cases", default=CASES)
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--round-seconds", type=float, default=0.5)
    parser.add_argument("--threads", type=int, default=os.cpu_count())
    parser.add_argument("--out", default="packed_tokens.jsonl")
    args = parser.parse_args(argv)

    import numpy as np
    import tensorflow as tf
    import tensorflow_text  # noqa: F401  (the tokenizer's ops)
    from bench_serving_xla_tokens import load_model

    from keras_bert_impl.models.encoder import packed_tokens

    tf.config.threading.set_intra_op_parallelism_threads(args.threads)
    tf.config.threading.set_inter_op_parallelism_threads(args.threads)
    encoder, tokenizer = load_model("minilm")

    def forward(inputs):
        out = encoder(inputs, training=False)
        return out["sequence_output"], out["pooled_output"]

    def forward_packed(inputs):
        with packed_tokens():
            return forward(inputs)

    runs = {
        "padded": tf.function(forward, jit_compile=False),
        "packed": tf.function(forward_packed, jit_compile=False),
    }
    rng = np.random.default_rng(0)
    rows_out, table = [], []
    for profile, size in parse_cases(args.cases):
        inputs = batch_inputs(profile, size, tokenizer, rng)
        mask = inputs["padding_mask"].numpy().astype(bool)
        outs = {}
        for name, call in runs.items():  # trace and first runs
            for _ in range(2):
                outs[name] = [t.numpy() for t in call(inputs)]
        error = float(
            np.max(np.abs(outs["packed"][0][mask] - outs["padded"][0][mask]))
        )
        start = time.perf_counter()
        runs["padded"](inputs)[1].numpy()
        calls = max(
            2, round(args.round_seconds / (time.perf_counter() - start))
        )

        def runner(name, inputs=inputs, calls=calls):
            def run():
                for _ in range(calls):
                    runs[name](inputs)[1].numpy()

            return run

        times = common.interleaved(
            {name: runner(name) for name in runs}, args.rounds
        )
        ms = {
            name: [1000 * t / calls for t in seconds]
            for name, seconds in times.items()
        }
        ms = {
            name: {"median": float(np.median(v)), "min": min(v), "max": max(v)}
            for name, v in ms.items()
        }
        speedup = common.paired_ratios(times, "packed", ["padded"])["padded"]
        label = (
            f"{profile}:{size[0]}x{size[1]}"
            if profile == "full"
            else (f"{profile}:{size}")
        )
        rows_out.append({
            "case": label, "shape": list(mask.shape),
            "real_share": float(mask.mean()), "calls_per_round": calls,
            "ms": ms, "packed_over_padded": speedup,
            "max_abs_diff_sequence_output": error,
        })  # fmt: skip
        table.append([
            label, "x".join(str(n) for n in mask.shape),
            f"{mask.mean():.2f}", f"{ms['padded']['median']:.1f}",
            f"{ms['packed']['median']:.1f}", common.fmt_ratio(speedup),
        ])  # fmt: skip
        common.log(table[-1])
    result = {
        "benchmark": "packed_tokens",
        **common.stamp(),
        "model": "all-MiniLM-L6-v2",
        "threads": args.threads,
        "rounds": args.rounds,
        "load_average": os.getloadavg(),
        "versions": {"tensorflow": tf.__version__},
        "cases": rows_out,
    }
    header = ["case", "batch", "real", "padded ms", "packed ms", "speedup"]
    common.emit(result, common.format_table(header, table), args.out)


if __name__ == "__main__":
    main()
