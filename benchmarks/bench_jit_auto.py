"""The measurement behind `jit_compile="auto"`: XLA or not, per model.

For each preset, precision and kind of training step, the same model,
optimizer and batch are trained with `jit_compile=True` and `False` in
interleaved rounds (each round: one timed block of steps per mode, order
alternated; the batches are timed by a callback, not the whole `fit` call,
whose setup varied by seconds on a shared VM), after an untimed warmup
that compiles both. Reported per case: median ms/step [min-max] of each
mode, the paired speed ratio XLA / no XLA (per round; > 1: XLA faster),
the mode `"auto"` picks (`keras_bert_impl.runtime.resolve_jit_compile`,
asked exactly as `pretrain` and `compile` ask it) and how far that pick
is from the faster mode (`auto_gap`: 0 when auto picks the faster
median; else 1 - auto's rate / best rate).

Kinds of step:

- `pretrain`: `PretrainingModel` (what `pretrain` trains: MLM + NSP, 15%
  of the positions predicted) on a fixed random batch;
- `finetune`: `BertClassifier` (2 classes) with the package's fine-tuning
  optimizer recipe, on a fixed random batch.

Precisions: `fp32`, and `bf16` = Keras `mixed_bfloat16` (float32
variables, bfloat16 compute), the policy `pretrain --dtype` and
fine-tuning's `--dtype` set.

    python benchmarks/bench_jit_auto.py                # every case, 5 rounds
    python benchmarks/bench_jit_auto.py --presets tiny --precisions fp32 \\
        --kinds finetune --rounds 2                    # a quick look

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
# Steps per timed block and batch size, by preset (base is slow, and two
# base pretrainers with their optimizer states must fit in memory).
STEPS = {"tiny": 10, "mini": 4, "small": 2, "base": 1}
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
    steps, batch_size = STEPS[preset], BATCH[preset]
    ds = make_batch(kind, args.vocabulary_size, batch_size, args.seq_length)
    models = {
        mode: make_model(kind, preset, precision, args.vocabulary_size, mode)
        for mode in (True, False)
    }
    for model in models.values():  # compilation and tracing, not timed
        model.fit(ds, steps_per_epoch=2, epochs=1, verbose=0)
    times = {True: [], False: []}
    timer = common.step_timer()  # the batches only, not fit's setup
    for round_ in range(args.rounds):
        order = (True, False) if round_ % 2 == 0 else (False, True)
        for mode in order:
            models[mode].fit(
                ds, steps_per_epoch=steps, epochs=1, verbose=0,
                callbacks=[timer],
            )  # fmt: skip
            times[mode].append(timer.seconds / steps)
        common.log(
            f"{kind} {preset} {precision} round {round_ + 1}: "
            f"XLA {times[True][-1] * 1e3:.1f} ms, "
            f"no XLA {times[False][-1] * 1e3:.1f} ms"
        )
    auto = model_jit_compile(models[True], "auto")
    medians = {mode: statistics.median(t) for mode, t in times.items()}
    best = min(medians, key=medians.get)
    paired = [f / x for x, f in zip(times[True], times[False], strict=True)]
    gap = 1.0 - medians[best] / medians[auto]
    return {
        "benchmark": "jit_auto",
        **common.stamp(),
        "kind": kind,
        "preset": preset,
        "precision": precision,
        "batch_size": batch_size,
        "seq_length": args.seq_length,
        "steps_per_block": steps,
        "rounds": args.rounds,
        "ms_per_step": {
            "xla": _stats(times[True]),
            "no_xla": _stats(times[False]),
        },
        "xla_speedup": {
            "median": statistics.median(paired),
            "min": min(paired),
            "max": max(paired),
        },
        "faster": "xla" if best else "no_xla",
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
    parser.add_argument("--rounds", type=int, default=5)
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
                        common.fmt_ratio(result["xla_speedup"]),
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
             "XLA speedup", "faster", "auto", "auto gap"],
            rows,
        )
    )  # fmt: skip


if __name__ == "__main__":
    main()
