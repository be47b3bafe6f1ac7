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
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

from keras_bert_impl.config import BertConfig  # noqa: E402
from keras_bert_impl.models.classifier import BertClassifier  # noqa: E402
from keras_bert_impl.models.encoder import build_encoder  # noqa: E402
from keras_bert_impl.optimizers import create_optimizer  # noqa: E402
from keras_bert_impl.runtime import model_jit_compile  # noqa: E402
from keras_bert_impl.training.pretrain import PretrainingModel  # noqa: E402

POLICIES = {"fp32": "float32", "bf16": "mixed_bfloat16"}
# Pairs of steps and batch size, by preset (base is slow, and two base
# pretrainers with their optimizer states must fit in memory).
PAIRS = {"tiny": 60, "mini": 40, "small": 20, "base": 12}
BATCH = {"tiny": 32, "mini": 32, "small": 32, "base": 16}


def make_batch(kind, vocabulary_size, batch_size, seq_length, seed=0):
    rng = np.random.default_rng(seed)
    x = {
        "token_ids": rng.integers(5, vocabulary_size, (batch_size, seq_length)),
        "segment_ids": np.repeat(
            (np.arange(seq_length) >= seq_length // 2)[None], batch_size, 0
        ),
        "padding_mask": np.ones((batch_size, seq_length)),
    }
    if kind == "finetune":
        x = {k: v.astype("int32") for k, v in x.items()}
        y = rng.integers(0, 2, batch_size).astype("int32")
        return tf.data.Dataset.from_tensors((x, y)).repeat().prefetch(2)
    predictions = int(np.ceil(0.15 * seq_length))
    x["mask_positions"] = rng.integers(1, seq_length, (batch_size, predictions))
    x = {k: v.astype("int32") for k, v in x.items()}
    y = {
        "masked_lm": rng.integers(
            5, vocabulary_size, (batch_size, predictions)
        ).astype("int32"),
        "next_sentence": rng.integers(0, 2, batch_size).astype("int32"),
    }
    w = {
        "masked_lm": np.ones((batch_size, predictions), "float32"),
        "next_sentence": np.ones(batch_size, "float32"),
    }
    return tf.data.Dataset.from_tensors((x, y, w)).repeat().prefetch(2)


def make_model(kind, preset, precision, vocabulary_size, jit_compile):
    keras.utils.set_random_seed(0)
    config = BertConfig.preset(preset, vocabulary_size=vocabulary_size)
    encoder = build_encoder(config, dtype=POLICIES[precision])
    optimizer = create_optimizer(1e-4, 10_000, 100)
    if kind == "pretrain":
        model = PretrainingModel(encoder)
    else:
        model = BertClassifier(encoder, num_classes=2)
    model.compile(optimizer=optimizer, jit_compile=jit_compile)
    return model


def measure(args, kind, preset, precision):
    pairs, batch_size = args.pairs or PAIRS[preset], BATCH[preset]
    ds = make_batch(kind, args.vocabulary_size, batch_size, args.seq_length)
    models = {
        mode: make_model(
            kind, preset, precision, args.vocabulary_size, mode == "xla"
        )
        for mode in ("xla", "no_xla")
    }
    steppers = {
        mode: common.train_stepper(model, ds) for mode, model in models.items()
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
