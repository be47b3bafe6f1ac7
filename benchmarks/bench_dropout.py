"""Dropout mask cost inside and outside XLA, by random algorithm.

Keras' TensorFlow backend draws dropout masks with
`tf.nn.experimental.stateless_dropout`, whose algorithm is auto-selected;
inside an XLA-compiled function on the CPU that is ThreeFry, which XLA's
CPU backend runs far slower than Philox. This times one mask of BERT
tiny's attention-probability shape `(32, 2, 128, 128)` (1 M elements), with
and without `jit_compile`, interleaved over `--repeats` rounds, and prints
the medians (ms) and one JSON line. `keras_bert_impl.layers.Dropout` asks
for Philox.

    python benchmarks/bench_dropout.py
"""

import argparse
import json
import os
import statistics
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import tensorflow as tf  # noqa: E402

SHAPE = (32, 2, 128, 128)


def variants():
    def auto(x, s):
        return tf.nn.experimental.stateless_dropout(x, 0.1, seed=s)

    def philox(x, s):
        return tf.nn.experimental.stateless_dropout(
            x, 0.1, seed=s, rng_alg="philox"
        )

    return {"auto_select (Keras' default)": auto, "philox (ours)": philox}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--calls", type=int, default=20)
    args = parser.parse_args()
    x = tf.random.normal(SHAPE)
    seed = tf.constant([1, 2], tf.int32)
    fns = {}
    for name, fn in variants().items():
        for jit in (False, True):
            f = tf.function(fn, jit_compile=jit)
            f(x, seed).numpy()  # trace, compile
            fns[f"{name}, {'XLA' if jit else 'no XLA'}"] = f
    times = {k: [] for k in fns}
    for _ in range(args.repeats):
        for key, f in fns.items():
            start = time.perf_counter()
            for _ in range(args.calls):
                out = f(x, seed)
            out.numpy()
            times[key].append(1000 * (time.perf_counter() - start) / args.calls)
    result = {k: statistics.median(v) for k, v in times.items()}
    for key, ms in result.items():
        print(f"{key:40s} {ms:8.2f} ms per 1 M-element mask")
    print(json.dumps({"benchmark": "dropout", "shape": SHAPE, "ms": result}))


if __name__ == "__main__":
    main()
