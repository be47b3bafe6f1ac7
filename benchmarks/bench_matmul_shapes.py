"""FLOP/s of the matmuls of a BERT layer, next to a large square matmul.

What bounds the pretraining step on a CPU: at `mini`/`small` the layer's
matmuls are (batch x 128 tokens) x hidden x {hidden, 4 hidden}, much
smaller than the 2048^2 matmul the "% of peak" columns divide by, and
they do not reach its FLOP/s. This times, in fp32 with TensorFlow's
kernels (oneDNN), interleaved over `--repeats` rounds: the square matmul,
and for each config the three dense shapes of a block (QKV/output
projection, FFN in, FFN out) plus the attention batch matmuls, forward
only; prints median GFLOP/s and each shape's fraction of the square one.
`minilm` is one served request (batch 1, all-MiniLM-L6-v2's widths):
with `--seq 26`, the matmuls of a 26-token sentence.

    python benchmarks/bench_matmul_shapes.py --configs mini,small,base
    python benchmarks/bench_matmul_shapes.py --configs minilm --seq 26
"""

import argparse
import os
import statistics
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
sys.path.insert(0, os.path.dirname(__file__))

import common  # noqa: E402
import tensorflow as tf  # noqa: E402

# (batch, hidden, heads) as in bench_pretrain_step.py's runs.
CONFIGS = {
    "tiny": (32, 128, 2),
    "mini": (32, 256, 4),
    "small": (32, 512, 8),
    "base": (16, 768, 12),
    "minilm": (1, 384, 12),
}
SEQ = 128


def shapes(name, seq=SEQ):
    batch, hidden, heads = CONFIGS[name]
    rows = batch * seq
    head = hidden // heads
    bh, h4 = batch * heads, 4 * hidden
    return {
        f"{name} projection {rows}x{hidden}x{hidden}": (
            (rows, hidden),
            (hidden, hidden),
        ),
        f"{name} ffn in {rows}x{hidden}x{h4}": ((rows, hidden), (hidden, h4)),
        f"{name} ffn out {rows}x{h4}x{hidden}": ((rows, h4), (h4, hidden)),
        f"{name} scores {bh}x({seq}x{head}x{seq})": (
            (bh, seq, head),
            (bh, head, seq),
        ),
    }


def runner(a_shape, b_shape, calls):
    a = tf.random.normal(a_shape)
    b = tf.random.normal(b_shape)
    matmul = tf.function(tf.matmul)
    matmul(a, b).numpy()
    flops = 2 * a_shape[-2] * a_shape[-1] * b_shape[-1]
    if len(a_shape) == 3:
        flops *= a_shape[0]

    def run():
        start = time.perf_counter()
        for _ in range(calls):
            out = matmul(a, b)
        out.numpy()
        return time.perf_counter() - start

    return run, flops * calls


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--configs", default="mini,small,base")
    parser.add_argument("--seq", type=int, default=SEQ, help="tokens per row")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--save", default="matmul_shapes.jsonl")
    args = parser.parse_args()
    cases = {"square 2048x2048x2048": ((2048, 2048), (2048, 2048))}
    for name in args.configs.split(","):
        cases.update(shapes(name, args.seq))
    runners, flops = {}, {}
    for key, (a, b) in cases.items():
        # About 2 GFLOP of work per repetition whatever the shape.
        one = 2 * a[-2] * a[-1] * b[-1] * (a[0] if len(a) == 3 else 1)
        runners[key], flops[key] = runner(a, b, max(1, int(2e9 // one)))
    times = common.interleaved(runners, args.repeats)
    gflops = {
        key: flops[key] / statistics.median(t) / 1e9 for key, t in times.items()
    }
    square = gflops["square 2048x2048x2048"]
    result = {
        "benchmark": "matmul_shapes",
        **common.stamp(),
        "repeats": args.repeats,
        "seq": args.seq,
        "gflop_per_s": gflops,
        "fraction_of_square": {k: v / square for k, v in gflops.items()},
        "tensorflow": tf.__version__,
    }
    rows = [[k, f"{v:.1f}", f"{v / square:.0%}"] for k, v in gflops.items()]
    common.emit(
        result,
        common.format_table(["matmul", "GFLOP/s", "of square"], rows),
        args.save,
    )


if __name__ == "__main__":
    main()
