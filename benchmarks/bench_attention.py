"""Attention core: the plain form vs `keras.ops.dot_product_attention`.

Times forward + backward of the attention core alone (scores, padding
mask, float32 softmax, weighted sum of the values; no projections) at
BERT shapes, sequence length `--seq-length` (default 128; 512 is the
paper's second pretraining phase), head size 64, in the two forms:

- `plain`: what `TransformerEncoderBlock` computes (`matmul`, scale, mask
  with `where`, softmax in float32, `matmul`); it is also where attention
  dropout goes in training;
- `fused`: `keras.ops.dot_product_attention(q, k, v, mask=...)` (on the
  TensorFlow backend and a CPU: Keras' own composite of the same ops; no
  fused kernel exists there, and the op has no attention-dropout input).

Both with and without `jit_compile`, interleaved over `--repeats` rounds
(`common.interleaved`); prints one JSON line per config and a table of
median ms [min-max] and the plain / fused speed ratio. The two forms are
tested equal in `tests/layers/test_fast_paths.py`.

    python benchmarks/bench_attention.py --configs mini,base
    python benchmarks/bench_attention.py --configs tiny,mini --seq-length 512 \\
        --batch-size 8
"""

import argparse
import math
import os
import statistics
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
sys.path.insert(0, os.path.dirname(__file__))

import common  # noqa: E402
import keras  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

# (batch, heads) of the pretraining benchmark at each config, length 128.
SHAPES = {"tiny": (32, 2), "mini": (32, 4), "small": (32, 8), "base": (16, 12)}
SEQ, HEAD_DIM = 128, 64  # SEQ: the default --seq-length


def plain(q, k, v, keep):
    # q, k, v: (batch, heads, seq, head_dim); keep: (batch, 1, 1, seq) bool.
    scores = tf.matmul(q, k, transpose_b=True) / math.sqrt(HEAD_DIM)
    scores = tf.where(keep, scores, -1e9)
    return tf.matmul(tf.nn.softmax(scores, axis=-1), v)


def fused(q, k, v, keep):
    # keras.ops.dot_product_attention takes (batch, seq, heads, head_dim).
    t = (0, 2, 1, 3)
    out = keras.ops.dot_product_attention(
        tf.transpose(q, t), tf.transpose(k, t), tf.transpose(v, t), mask=keep
    )
    return tf.transpose(out, t)


def step_fn(form, jit_compile):
    @tf.function(jit_compile=jit_compile)
    def step(q, k, v, keep):
        with tf.GradientTape() as tape:
            tape.watch([q, k, v])
            loss = tf.reduce_sum(form(q, k, v, keep))
        return tape.gradient(loss, [q, k, v])

    return step


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--configs", default="mini,base")
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--calls", type=int, default=5)
    parser.add_argument("--seq-length", type=int, default=SEQ)
    parser.add_argument(
        "--batch-size",
        type=int,
        default=None,
        help="Overrides the batch of SHAPES (e.g. 8 at length 512).",
    )
    parser.add_argument("--save", default="attention.jsonl")
    args = parser.parse_args()
    for name in args.configs.split(","):
        batch, heads = SHAPES[name]
        batch, seq = args.batch_size or batch, args.seq_length
        rng = np.random.default_rng(0)
        q, k, v = (
            tf.constant(
                rng.normal(size=(batch, heads, seq, HEAD_DIM)), "float32"
            )
            for _ in range(3)
        )
        lengths = rng.integers(seq // 2, seq + 1, batch)
        keep = tf.constant(
            (np.arange(seq)[None, :] < lengths[:, None])[:, None, None, :]
        )
        runners = {}
        for form_name, form in (("plain", plain), ("fused", fused)):
            for jit in (False, True):
                step = step_fn(form, jit)
                step(q, k, v, keep)  # trace and compile

                def run(step=step, inputs=(q, k, v, keep)):
                    for _ in range(args.calls):
                        out = step(*inputs)
                    out[0].numpy()  # synced

                runners[f"{form_name}_{'xla' if jit else 'noxla'}"] = run
        times = common.interleaved(runners, args.repeats)
        ms = {
            key: {
                "median": 1000 * statistics.median(t) / args.calls,
                "min": 1000 * min(t) / args.calls,
                "max": 1000 * max(t) / args.calls,
            }
            for key, t in times.items()
        }
        plain_over_fused = {
            mode: common.paired_ratios(
                times, f"plain_{mode}", [f"fused_{mode}"]
            )[f"fused_{mode}"]
            for mode in ("noxla", "xla")
        }
        result = {
            "benchmark": "attention",
            **common.stamp(),
            "config": name,
            "shape": [batch, heads, seq, HEAD_DIM],
            "seq_len": seq,
            "repeats": args.repeats,
            "calls_per_repeat": args.calls,
            "ms_per_forward_backward": ms,
            "plain_over_fused_speed": plain_over_fused,
            "tensorflow": tf.__version__,
            "keras": keras.__version__,
        }
        rows = [
            [name, key, f"{s['median']:.2f} [{s['min']:.2f}-{s['max']:.2f}]"]
            for key, s in ms.items()
        ] + [
            [name, f"plain / fused speed, {mode}", common.fmt_ratio(r)]
            for mode, r in plain_over_fused.items()
        ]
        common.emit(
            result,
            common.format_table(
                ["config", "form", "ms median [min-max]"], rows
            ),
            args.save,
        )


if __name__ == "__main__":
    main()
