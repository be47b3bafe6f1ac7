"""The encoder block's dense layers on 2-D rows vs on 3-D tensors.

`TransformerEncoderBlock` runs its six dense layers on `(batch * seq,
hidden)` rows, so that on TensorFlow's kernels (no XLA: the bf16 export,
fp32 training from mini up) Grappler's remapper fuses each MatMul with its
BiasAdd (and the feed-forward's GELU) into one `_FusedMatMul`. Before,
Keras' `Dense` on `(batch, seq, hidden)` went through `tf.tensordot`,
whose Reshape sat between MatMul and BiasAdd, and nothing fused
(`benchmarks/grappler_fusions.py` counts the ops).

The baseline is the block as it was at `--baseline` (a commit of this
repository, read with `git show`, so nothing of it is kept in the
package); the candidate is the installed block. Both stacks (six
all-MiniLM-L6-v2-shaped blocks: hidden 384, 12 heads, 1536 inner, no
dropout) hold the same weights. Each (precision, step, shape) is timed in
`--rounds` interleaved rounds; a round runs each stack's step enough
times for about a second of work. Inference is the forward pass, training
the forward and the gradients of a squared-sum loss. The max |difference|
of the forward outputs is recorded.

    python benchmarks/bench_block_rows.py --rounds 7

One JSON line per run goes to `benchmarks/results/block_rows.jsonl`.
"""

import argparse
import importlib.util
import os
import subprocess
import sys
import tempfile

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, ".."))

import common  # noqa: E402

BLOCK_FILE = "keras_bert_impl/layers/encoder_block.py"
# The last commit whose block ran its dense layers on 3-D tensors.
BASELINE = "695b7d8"
HIDDEN, HEADS, INNER, LAYERS = 384, 12, 1536, 6


def baseline_block(commit):
    """`TransformerEncoderBlock` as it was at `commit`."""
    import keras

    source = subprocess.run(
        ["git", "-C", HERE, "show", f"{commit}:{BLOCK_FILE}"],
        check=True, capture_output=True, text=True,
    ).stdout  # fmt: skip
    folder = tempfile.mkdtemp(prefix="kbi_block_")
    path = os.path.join(folder, "baseline_block.py")
    with open(path, "w", encoding="utf-8") as f:
        f.write(source)
    # Its registration would clash with the installed block's name.
    objects = keras.saving.get_custom_objects()
    installed = objects.pop("keras_bert_impl>TransformerEncoderBlock", None)
    spec = importlib.util.spec_from_file_location("baseline_block", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    if installed is not None:
        objects["keras_bert_impl>TransformerEncoderBlock"] = installed
    return module.TransformerEncoderBlock


def case(blocks_by_name, policy, step, batch, length, rounds):
    import keras
    import numpy as np
    import tensorflow as tf

    keras.config.set_dtype_policy(policy)
    rng = np.random.default_rng(0)
    x = tf.constant(rng.normal(size=(batch, length, HIDDEN)), "float32")
    mask = tf.ones((batch, length), "int32")
    stacks = {}
    for name, cls in blocks_by_name.items():
        stack = [
            cls(HEADS, INNER, dropout=0.0, attention_dropout=0.0)
            for _ in range(LAYERS)
        ]
        for block in stack:
            block(x, padding_mask=mask)
        stacks[name] = stack
    first = list(stacks.values())[0]
    for stack in list(stacks.values())[1:]:
        for source, target in zip(first, stack, strict=True):
            target.set_weights(source.get_weights())
    keras.config.set_dtype_policy("float32")

    def make(stack):
        def forward(x, mask):
            for block in stack:
                x = block(x, padding_mask=mask)
            return x

        @tf.function(jit_compile=False)
        def run(x, mask):
            if step == "inference":
                return forward(x, mask)
            with tf.GradientTape() as tape:
                loss = tf.reduce_sum(tf.cast(forward(x, mask), "float32") ** 2)
            weights = [w.value for b in stack for w in b.trainable_weights]
            return loss, tape.gradient(loss, weights)

        return run, tf.function(forward, jit_compile=False)

    runs = {name: make(stack) for name, stack in stacks.items()}
    outputs = [
        tf.cast(forward(x, mask), "float32").numpy()
        for _, forward in runs.values()
    ]
    max_diff = float(np.max(np.abs(outputs[0] - outputs[-1])))
    for run, _ in runs.values():  # trace and warm up
        run(x, mask)
    probe = common.interleaved(
        {n: (lambda r=r: _sync(r(x, mask))) for n, (r, _) in runs.items()}, 1
    )
    reps = max(1, int(1.0 / max(min(t[0] for t in probe.values()), 1e-4)))

    def repeat(run):
        for _ in range(reps):
            out = run(x, mask)
        _sync(out)

    times = common.interleaved(
        {n: (lambda r=r: repeat(r)) for n, (r, _) in runs.items()}, rounds
    )
    times = {n: [t / reps for t in ts] for n, ts in times.items()}
    stats = {n: common.rate_stats(ts, batch) for n, ts in times.items()}
    return {
        "policy": policy,
        "step": step,
        "batch": batch,
        "length": length,
        "reps_per_round": reps,
        "sequences_per_s": stats,
        "rows_vs_baseline": common.paired_ratios(times, "rows", ["baseline"])[
            "baseline"
        ],
        "max_abs_diff": max_diff,
    }


def _sync(out):
    import tensorflow as tf

    first = tf.nest.flatten(out)[0]
    first.numpy()


def main():
    parser = argparse.ArgumentParser(
        description=__doc__.splitlines()[0],
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--baseline", default=BASELINE)
    parser.add_argument(
        "--cases",
        default="float32:inference:1x32,float32:inference:32x64,"
        "float32:inference:32x128,bfloat16:inference:1x32,"
        "bfloat16:inference:32x64,bfloat16:inference:32x128,"
        "float32:training:32x128,mixed_bfloat16:training:32x128",
        help="policy:step:BATCHxLENGTH, comma-separated",
    )
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--out", default="block_rows.jsonl")
    args = parser.parse_args()

    from keras_bert_impl.layers.encoder_block import TransformerEncoderBlock

    blocks = {
        "baseline": baseline_block(args.baseline),
        "rows": TransformerEncoderBlock,
    }
    rows, cases = [], []
    for spec in args.cases.split(","):
        policy, step, shape = spec.split(":")
        batch, length = map(int, shape.split("x"))
        common.log(f"{policy} {step} {batch}x{length}")
        result = case(blocks, policy, step, batch, length, args.rounds)
        cases.append(result)
        speed = result["sequences_per_s"]
        rows.append([
            policy, step, f"{batch}x{length}",
            common.fmt_rate(speed["baseline"]), common.fmt_rate(speed["rows"]),
            common.fmt_ratio(result["rows_vs_baseline"]),
            f"{result['max_abs_diff']:.2g}",
        ])  # fmt: skip
    common.emit(
        {
            "benchmark": "block_rows",
            **common.stamp(),
            "baseline_commit": args.baseline,
            "rounds": args.rounds,
            "loadavg": os.getloadavg(),
            "cases": cases,
        },
        common.format_table(
            [
                "policy",
                "step",
                "shape",
                "baseline seq/s",
                "rows seq/s",
                "rows / baseline (paired)",
                "max |diff|",
            ],
            rows,
        ),  # fmt: skip
        args.out,
    )


if __name__ == "__main__":
    main()
