"""The measurement behind `jit_compile="auto"`: XLA or not, per model.

For each preset, precision and kind of training step, the same model,
optimizer and batch are trained with `jit_compile=True` and `False`, one
step of each in turn (`common.alternating`: the order swapped every pair,
each step timed from Keras' `train_function` to its loss on the host),
after an untimed warmup that compiles both. Reported per case: median
ms/step of each mode, the median of the per-pair speed ratios XLA / no
XLA (> 1: XLA faster) with a bootstrap 95% interval, the mode `"auto"`
picks (`keras_bert_impl.runtime.resolve_jit_compile`, asked exactly as
`pretrain` and `compile` ask it) and how far that pick is from the faster
mode (`auto_gap`: 1 - auto's speed / the faster mode's, from the paired
ratio; 0 when auto picks the faster). Steps a second apart see the same
load on a shared VM; this script's first form timed blocks of steps in 5
rounds and its ratios spread by ±20%.

Kinds of step:

- `pretrain`: `PretrainingModel` (what `pretrain` trains: MLM + NSP, 15%
  of the positions predicted) on a fixed random batch;
- `finetune`: `BertClassifier` (2 classes) with the package's fine-tuning
  optimizer recipe, on a fixed random batch.

Precisions: `fp32`, and `bf16` = Keras `mixed_bfloat16` (float32
variables, bfloat16 compute), the policy `pretrain --dtype` and
fine-tuning's `--dtype` set.

    python benchmarks/bench_jit_auto.py                # every case
    python benchmarks/bench_jit_auto.py --presets tiny --precisions fp32 \\
        --kinds finetune --pairs 5                     # a quick look

One JSON line per case goes to `benchmarks/results/jit_auto.jsonl`.
"""

import argparse
import os
import statistics
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))

import common  # noqa: E402
import keras  # noqa: E402

from keras_bert_impl.runtime import model_jit_compile  # noqa: E402

# Pairs of steps and batch size, by preset (base is slow, and two base
# pretrainers with their optimizer states must fit in memory).
PAIRS = {"tiny": 60, "mini": 40, "small": 20, "base": 12}
BATCH = {"tiny": 32, "mini": 32, "small": 32, "base": 16}


def measure(args, kind, preset, precision):
    pairs, batch_size = args.pairs or PAIRS[preset], BATCH[preset]
    built = {
        mode: common.synthetic_training(
            kind,
            preset,
            batch_size,
            args.seq_length,
            precision=precision,
            jit_compile=mode == "xla",
            vocabulary_size=args.vocabulary_size,
        )
        for mode in ("xla", "no_xla")
    }
    models = {mode: model for mode, (model, _) in built.items()}
    steppers = {
        mode: common.train_stepper(*pair) for mode, pair in built.items()
    }

    def progress(index, times):
        if (index + 1) % 10 == 0 or index + 1 == pairs:
            common.log(
                f"{kind} {preset} {precision} pair {index + 1}/{pairs}: "
                f"XLA {statistics.median(times['xla']) * 1e3:.1f} ms, "
                f"no XLA {statistics.median(times['no_xla']) * 1e3:.1f} ms"
            )

    times = common.alternating(steppers, pairs, progress)
    auto = model_jit_compile(models["xla"], "auto")
    speedup = common.median_interval(
        [f / x for x, f in zip(times["xla"], times["no_xla"], strict=True)]
    )
    ratio = speedup["median"]
    faster = "xla" if ratio > 1 else "no_xla"
    auto_speed = ratio if auto else 1.0  # relative to no XLA
    gap = 1.0 - auto_speed / max(ratio, 1.0)
    return {
        "benchmark": "jit_auto",
        **common.stamp(),
        "method": "alternating steps",
        "kind": kind,
        "preset": preset,
        "precision": precision,
        "batch_size": batch_size,
        "seq_length": args.seq_length,
        "pairs": pairs,
        "ms_per_step": {mode: _stats(t) for mode, t in times.items()},
        "xla_speedup": speedup,
        "faster": faster,
        "auto": "xla" if auto else "no_xla",
        "auto_gap": gap,
    }


def _stats(seconds):
    ms = [s * 1e3 for s in seconds]
    return {"median": statistics.median(ms), "min": min(ms), "max": max(ms)}


def main():
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--presets", default="tiny,mini,small,base")
    parser.add_argument("--precisions", default="fp32,bf16")
    parser.add_argument("--kinds", default="pretrain,finetune")
    parser.add_argument("--vocabulary-size", type=int, default=8000)
    parser.add_argument("--seq-length", type=int, default=128)
    parser.add_argument(
        "--pairs", type=int, default=None, help="default: by preset (PAIRS)"
    )
    parser.add_argument("--out", default="jit_auto.jsonl")
    args = parser.parse_args()
    rows = []
    for preset in args.presets.split(","):
        for precision in args.precisions.split(","):
            for kind in args.kinds.split(","):
                result = measure(args, kind, preset, precision)
                ms = result["ms_per_step"]
                rows.append(
                    [
                        preset,
                        precision,
                        kind,
                        f"{ms['xla']['median']:.1f}",
                        f"{ms['no_xla']['median']:.1f}",
                        "{median:.2f}x [{low95:.2f}-{high95:.2f}]".format(
                            **result["xla_speedup"]
                        ),
                        result["faster"],
                        result["auto"],
                        f"{result['auto_gap']:.1%}",
                    ]
                )
                common.emit(result, None, args.out)
                keras.backend.clear_session()
    print(
        common.format_table(
            ["preset", "precision", "kind", "XLA ms", "no-XLA ms",
             "XLA speedup [95%]", "faster", "auto", "auto gap"],
            rows,
        )
    )  # fmt: skip


if __name__ == "__main__":
    main()
