"""Train-step time of the pretrainer with and without XLA.

    TF_CPP_MIN_LOG_LEVEL=3 python benchmarks/bench_xla.py

For each preset (`tiny`, `mini`) the same model and batch are trained with
`jit_compile=True` and `False`; after warm-up (compilation), timed blocks
of steps alternate between the two so machine load hits both alike. Prints
the median step time of each and the ratio (no-XLA / XLA: > 1 means XLA
is faster).
"""

import argparse
import statistics
import time

import keras
import numpy as np
import tensorflow as tf

import keras_bert_impl as kbi
from keras_bert_impl.optimizers import create_optimizer
from keras_bert_impl.training.pretrain import PretrainingModel


def batch(vocabulary_size, batch_size, seq_length, predictions, seed=0):
    rng = np.random.default_rng(seed)
    x = {
        "token_ids": rng.integers(5, vocabulary_size, (batch_size, seq_length)),
        "segment_ids": np.repeat(
            (np.arange(seq_length) >= seq_length // 2)[None], batch_size, 0
        ),
        "padding_mask": np.ones((batch_size, seq_length)),
        "mask_positions": rng.integers(
            1, seq_length, (batch_size, predictions)
        ),
    }
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
    return x, y, w


def make_model(preset, vocabulary_size, jit_compile):
    keras.utils.set_random_seed(0)
    config = kbi.BertConfig.preset(preset, vocabulary_size=vocabulary_size)
    model = PretrainingModel(kbi.build_encoder(config))
    model.compile(
        optimizer=create_optimizer(1e-4, 10_000, 100), jit_compile=jit_compile
    )
    return model


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--presets", nargs="+", default=["tiny", "mini"])
    parser.add_argument("--vocabulary-size", type=int, default=8000)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--seq-length", type=int, default=128)
    parser.add_argument("--steps", type=int, default=10, help="per block")
    parser.add_argument("--repetitions", type=int, default=5)
    args = parser.parse_args()
    predictions = int(np.ceil(0.15 * args.seq_length))
    x, y, w = batch(
        args.vocabulary_size, args.batch_size, args.seq_length, predictions
    )
    ds = (
        tf.data.Dataset.from_tensors((x, y, w)).repeat().prefetch(2)
    )  # the data is not what is measured
    print(
        f"batch {args.batch_size} x {args.seq_length}, {args.steps} steps "
        f"per block, {args.repetitions} interleaved blocks each, "
        f"{tf.config.threading.get_intra_op_parallelism_threads() or 'all'}"
        " intra-op threads"
    )
    print("preset  XLA ms/step  no-XLA ms/step  no-XLA/XLA")
    for preset in args.presets:
        models = {
            jit: make_model(preset, args.vocabulary_size, jit)
            for jit in (True, False)
        }
        for model in models.values():  # compile / trace, not timed
            model.fit(ds, steps_per_epoch=3, epochs=1, verbose=0)
        times = {True: [], False: []}
        for _ in range(args.repetitions):
            for jit, model in models.items():
                start = time.perf_counter()
                model.fit(ds, steps_per_epoch=args.steps, epochs=1, verbose=0)
                times[jit].append((time.perf_counter() - start) / args.steps)
                ms = times[jit][-1] * 1000
                print(f"  {preset} jit={jit}: {ms:.1f} ms/step", flush=True)
        xla = statistics.median(times[True]) * 1000
        plain = statistics.median(times[False]) * 1000
        print(f"{preset:6}  {xla:11.1f}  {plain:14.1f}  {plain / xla:10.2f}")


if __name__ == "__main__":
    main()
