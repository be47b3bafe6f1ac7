"""Attention core: the block's form vs its alternatives, training and serving.

Times the attention core alone (scores, padding mask, float32 softmax,
weighted sum of the values; no projections) at BERT shapes, sequence
length `--seq-length` (default 128; 512 is the paper's second
pretraining phase), head size `--head-dim` (default 64).

Training (default): forward + backward, with and without `jit_compile`,
in two forms:

- `plain`: what `TransformerEncoderBlock` computes (queries scaled by
  1/sqrt(head_dim), `matmul`, mask with `where`, softmax in float32,
  `matmul`); it is also where attention dropout goes in training;
- `fused`: `keras.ops.dot_product_attention(q, k, v, mask=...)` (on the
  TensorFlow backend and a CPU: Keras' own composite of the same ops; no
  fused kernel exists there, and the op has no attention-dropout input).

`--inference`: forward only on TensorFlow's kernels (the served model's
path for long requests), from the (batch x seq, hidden) rows the block's
projections give (head split and merge included), in three forms:

- `plain`: the block's form, as above;
- `scores_scaled`: the scale applied to the (heads, queries, keys) scores
  after the matmul (the block's form before 2026-12-07);
- `unmasked`: the block's form without the mask, what a batch without
  padding runs (every one-row request) under `packed_tokens()`.

Interleaved over `--repeats` rounds (`common.interleaved`); prints one
JSON line per config and a table of median ms [min-max] and the speed
ratios. The forms are tested equal in `tests/layers/test_fast_paths.py`
and `tests/test_benchmark_scripts.py`.

    python benchmarks/bench_attention.py --configs mini,base
    python benchmarks/bench_attention.py --configs tiny,mini --seq-length 512 \\
        --batch-size 8
    python benchmarks/bench_attention.py --inference --configs minilm \\
        --head-dim 32 --batch-size 1 --seq-length 512
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

# (batch, heads) of the pretraining benchmark at each config, length 128;
# minilm: the served all-MiniLM-L6-v2 (head size 32), one request.
SHAPES = {
    "tiny": (32, 2),
    "mini": (32, 4),
    "small": (32, 8),
    "base": (16, 12),
    "minilm": (1, 12),
}
SEQ, HEAD_DIM = 128, 64  # the defaults of --seq-length and --head-dim


def plain(q, k, v, keep):
    # q, k, v: (batch, heads, seq, head_dim); keep: (batch, 1, 1, seq) bool
    # or None (no padding).
    q = q * (1.0 / math.sqrt(q.shape[-1]))
    scores = tf.matmul(q, k, transpose_b=True)
    if keep is not None:
        scores = tf.where(keep, scores, -1e9)
    return tf.matmul(tf.nn.softmax(scores, axis=-1), v)


def scores_scaled(q, k, v, keep):
    scores = tf.matmul(q, k, transpose_b=True) / math.sqrt(q.shape[-1])
    scores = tf.where(keep, scores, -1e9)
    return tf.matmul(tf.nn.softmax(scores, axis=-1), v)


def unmasked(q, k, v, keep):
    return plain(q, k, v, None)


def fused(q, k, v, keep):
    # keras.ops.dot_product_attention takes (batch, seq, heads, head_dim).
    t = (0, 2, 1, 3)
    out = keras.ops.dot_product_attention(
        tf.transpose(q, t), tf.transpose(k, t), tf.transpose(v, t), mask=keep
    )
    return tf.transpose(out, t)


def serving_fn(form, shape):
    """The form on (batch x seq, hidden) rows, as the block runs it."""
    batch, heads, seq, head_dim = shape

    def split(x):
        x = tf.reshape(x, (batch, seq, heads, head_dim))
        return tf.transpose(x, (0, 2, 1, 3))

    @tf.function(jit_compile=False)
    def forward(q, k, v, keep):
        out = form(split(q), split(k), split(v), keep)
        return tf.reshape(
            tf.transpose(out, (0, 2, 1, 3)), (-1, heads * head_dim)
        )

    return forward


def step_fn(form, jit_compile):
    @tf.function(jit_compile=jit_compile)
    def step(q, k, v, keep):
        with tf.GradientTape() as tape:
            tape.watch([q, k, v])
            loss = tf.reduce_sum(form(q, k, v, keep))
        return tape.gradient(loss, [q, k, v])

    return step


def training_runners(q, k, v, keep, calls):
    runners = {}
    for form_name, form in (("plain", plain), ("fused", fused)):
        for jit in (False, True):
            step = step_fn(form, jit)
            step(q, k, v, keep)  # trace and compile

            def run(step=step, inputs=(q, k, v, keep)):
                for _ in range(calls):
                    out = step(*inputs)
                out[0].numpy()  # synced

            runners[f"{form_name}_{'xla' if jit else 'noxla'}"] = run
    return runners


INFERENCE_FORMS = {
    "plain": plain,
    "scores_scaled": scores_scaled,
    "unmasked": unmasked,
}


def inference_runners(q, k, v, keep, calls):
    shape = tuple(q.shape)
    rows = [
        tf.reshape(tf.transpose(x, (0, 2, 1, 3)), (-1, shape[1] * shape[3]))
        for x in (q, k, v)
    ]
    runners = {}
    for form_name, form in INFERENCE_FORMS.items():
        forward = serving_fn(form, shape)
        forward(*rows, keep)  # trace

        def run(forward=forward, inputs=(*rows, keep)):
            for _ in range(calls):
                out = forward(*inputs)
            out.numpy()  # synced

        runners[form_name] = run
    return runners


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--configs", default="mini,base")
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--calls", type=int, default=5)
    parser.add_argument("--seq-length", type=int, default=SEQ)
    parser.add_argument("--head-dim", type=int, default=HEAD_DIM)
    parser.add_argument(
        "--batch-size",
        type=int,
        default=None,
        help="Overrides the batch of SHAPES (e.g. 8 at length 512).",
    )
    parser.add_argument(
        "--inference",
        action="store_true",
        help="Forward only on TensorFlow's kernels, the serving forms.",
    )
    parser.add_argument(
        "--padded",
        type=float,
        default=0.5,
        help="Rows get a random length in [seq x (1 - padded), seq] "
        "(default 0.5); 0: no padding.",
    )
    parser.add_argument("--save", default="attention.jsonl")
    args = parser.parse_args()
    for name in args.configs.split(","):
        batch, heads = SHAPES[name]
        batch, seq = args.batch_size or batch, args.seq_length
        rng = np.random.default_rng(0)
        shape = (batch, heads, seq, args.head_dim)
        q, k, v = (
            tf.constant(rng.normal(size=shape), "float32") for _ in range(3)
        )
        shortest = seq - int(seq * args.padded)
        lengths = rng.integers(shortest, seq + 1, batch)
        keep = tf.constant(
            (np.arange(seq)[None, :] < lengths[:, None])[:, None, None, :]
        )
        if args.inference:
            runners = inference_runners(q, k, v, keep, args.calls)
        else:
            runners = training_runners(q, k, v, keep, args.calls)
        times = common.interleaved(runners, args.repeats)
        ms = {
            key: {
                "median": 1000 * statistics.median(t) / args.calls,
                "min": 1000 * min(t) / args.calls,
                "max": 1000 * max(t) / args.calls,
            }
            for key, t in times.items()
        }
        if args.inference:
            ratios = common.paired_ratios(times, "plain", ["scores_scaled"])
            ratios.update(common.paired_ratios(times, "unmasked", ["plain"]))
            ratios = {
                "plain / scores_scaled": ratios["scores_scaled"],
                "unmasked / plain": ratios["plain"],
            }
        else:
            ratios = {
                f"plain / fused, {mode}": common.paired_ratios(
                    times, f"plain_{mode}", [f"fused_{mode}"]
                )[f"fused_{mode}"]
                for mode in ("noxla", "xla")
            }
        result = {
            "benchmark": "attention_inference"
            if args.inference
            else "attention",
            **common.stamp(),
            "config": name,
            "shape": list(shape),
            "seq_len": seq,
            "real_token_fraction": float(lengths.sum() / (batch * seq)),
            "repeats": args.repeats,
            "calls_per_repeat": args.calls,
            (
                "ms_per_forward"
                if args.inference
                else "ms_per_forward_backward"
            ): ms,
            "speed_ratios": ratios,
            "tensorflow": tf.__version__,
            "keras": keras.__version__,
        }
        rows = [
            [name, key, f"{s['median']:.2f} [{s['min']:.2f}-{s['max']:.2f}]"]
            for key, s in ms.items()
        ] + [
            [name, f"speed {key}", common.fmt_ratio(r)]
            for key, r in ratios.items()
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
