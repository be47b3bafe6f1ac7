"""Where XLA stops paying for a served request: the `jit_compile="auto"` rule.

An export runs each request either XLA-compiled, padded to its shape
bucket (a power of two rows, the next `length_buckets` length), or on
TensorFlow's own kernels, unpadded. This benchmark times both on the same
request shapes through the exported `from_ids` signature (the numeric
model as TF Serving runs it, minus the tokenizer): one export with
`jit_compile=True`, one with `jit_compile=False`, same weights, each run
as TF Serving runs it (`--runner session`, the default: the `serve`
graph in a `Session`, tensors fed and fetched by name; `--runner
function`: `tf.saved_model.load` and the concrete function, as the runs
before 2026-12-07 did; `common.LoadedSavedModel`). Request shapes
(`--cases`, rows x tokens) span the padded sizes around the crossover;
their ids are random in-vocabulary tokens, every position real.

Per case: a warmup (XLA compiles the bucket), then `--rounds` interleaved
rounds; a round calls each export enough times for about
`--round-seconds`. Reported: ms per request (median [min-max]) and the
per-round speed ratio XLA / TensorFlow's kernels (> 1: XLA faster), with
the request's padded tokens (padded rows x padded length), the quantity
`runtime.serving_xla_max_tokens` bounds.

Models: `minilm` (the real all-MiniLM-L6-v2, the serving benchmarks'
model) and any preset name (`tiny`, `mini`, `small`, `base`: random
weights, the same shapes as the real checkpoints). `--precision bfloat16`
times two bfloat16 exports instead.

    python benchmarks/bench_serving_xla_tokens.py --rounds 7
    python benchmarks/bench_serving_xla_tokens.py --models base --rounds 5
    python benchmarks/bench_serving_xla_tokens.py --precision bfloat16
    XLA_FLAGS=--xla_cpu_use_xnnpack=true \\
        python benchmarks/bench_serving_xla_tokens.py --cases 1x26,1x100

One JSON line per model goes to `benchmarks/results/serving_xla_tokens.jsonl`.
"""

import argparse
import os
import sys
import tempfile
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, ".."))

import common  # noqa: E402

CASES = "1x26,1x60,1x100,2x26,2x60,4x26,4x40,2x100,8x26,1x300,8x45,32x50"


def parse_cases(text):
    """`"1x26,8x45"` -> [(1, 26), (8, 45)]."""
    cases = []
    for item in text.split(","):
        rows, _, tokens = item.strip().partition("x")
        cases.append((int(rows), int(tokens)))
    return cases


def padded_tokens(rows, tokens, max_length):
    """The padded size of a request bound for XLA, as the export pads it."""
    from keras_bert_impl.export.signatures import length_buckets

    padded_rows = 1 << (rows - 1).bit_length()
    length = next(n for n in length_buckets(max_length) if n >= tokens)
    return padded_rows * length


def load_model(name):
    """(model, tokenizer) for `minilm` or a preset name."""
    from keras_bert_impl import BertConfig
    from keras_bert_impl import BertTokenizer
    from keras_bert_impl import assets
    from keras_bert_impl import build_encoder
    from keras_bert_impl.checkpoints import load_checkpoint

    minilm = str(assets.asset_path(assets.MINILM, assets.MINILM_DIR))
    tokenizer = BertTokenizer.load(minilm)
    if name == "minilm":
        encoder, _ = load_checkpoint(minilm)
    else:
        config = BertConfig.preset(
            name, vocabulary_size=tokenizer.vocabulary_size
        )
        encoder = build_encoder(config)
    return encoder, tokenizer


def run_model(name, cases, args):
    import numpy as np
    import tensorflow as tf

    from keras_bert_impl.export import export_savedmodel

    encoder, tokenizer = load_model(name)
    max_length = encoder.max_sequence_length
    root = tempfile.mkdtemp(prefix="kbi_xla_tokens_")
    serve = {}
    for mode, jit in (("xla", True), ("tf", False)):
        path = export_savedmodel(
            encoder, tokenizer, os.path.join(root, mode, "1"),
            jit_compile=jit, warmup=False, precision=args.precision,
        )  # fmt: skip
        serve[mode] = common.LoadedSavedModel(
            path, args.runner, args.threads
        ).signature("from_ids")
    rng = np.random.default_rng(0)
    rows_out, table = [], []
    for rows, tokens in cases:
        inputs = {
            "token_ids": rng.integers(1000, 2000, (rows, tokens)).astype(
                np.int32
            ),
            "segment_ids": np.zeros((rows, tokens), np.int32),
            "padding_mask": np.ones((rows, tokens), np.int32),
        }
        for mode in serve:  # compile / first run
            for _ in range(2):
                serve[mode](**inputs)["sequence_output"]
        start = time.perf_counter()
        serve["tf"](**inputs)["sequence_output"]
        calls = max(
            2, round(args.round_seconds / (time.perf_counter() - start))
        )

        def runner(mode, inputs=inputs, calls=calls):
            def run():
                for _ in range(calls):
                    serve[mode](**inputs)["sequence_output"]

            return run

        times = common.interleaved(
            {mode: runner(mode) for mode in serve}, args.rounds
        )
        per_call = {
            mode: [1000 * t / calls for t in seconds]
            for mode, seconds in times.items()
        }
        ms = {
            mode: {
                "median": float(np.median(v)),
                "min": min(v),
                "max": max(v),
            }
            for mode, v in per_call.items()
        }
        speedup = common.paired_ratios(times, "xla", ["tf"])["tf"]
        padded = padded_tokens(rows, tokens, max_length)
        rows_out.append({
            "rows": rows, "tokens": tokens, "padded_tokens": padded,
            "calls_per_round": calls, "ms": ms, "xla_over_tf": speedup,
        })  # fmt: skip
        table.append([
            f"{rows}x{tokens}", rows * tokens, padded,
            f"{ms['xla']['median']:.2f}", f"{ms['tf']['median']:.2f}",
            common.fmt_ratio(speedup),
        ])  # fmt: skip
        common.log(name, table[-1])
    result = {
        "benchmark": "serving_xla_tokens",
        **common.stamp(),
        "model": name,
        "precision": args.precision,
        "max_length": max_length,
        "threads": args.threads,
        "runner": args.runner,
        "rounds": args.rounds,
        "load_average": os.getloadavg(),
        "versions": {"tensorflow": tf.__version__},
        "xla_flags": os.environ.get("XLA_FLAGS", ""),
        "cases": rows_out,
    }
    header = ["request", "tokens", "padded", "XLA ms", "TF ms", "XLA / TF"]
    common.emit(result, common.format_table(header, table), args.out)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--models", default="minilm")
    parser.add_argument("--cases", default=CASES)
    parser.add_argument(
        "--precision",
        default="float32",
        help="the exports' precision: float32 or bfloat16",
    )
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--round-seconds", type=float, default=0.3)
    parser.add_argument("--threads", type=int, default=os.cpu_count())
    common.add_runner_argument(parser)
    parser.add_argument("--out", default="serving_xla_tokens.jsonl")
    args = parser.parse_args(argv)

    import tensorflow as tf

    tf.config.threading.set_intra_op_parallelism_threads(args.threads)
    tf.config.threading.set_inter_op_parallelism_threads(args.threads)
    for name in args.models.split(","):
        run_model(name, parse_cases(args.cases), args)


if __name__ == "__main__":
    main()
