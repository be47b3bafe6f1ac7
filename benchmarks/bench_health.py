"""The cost of the training-health numbers inside the compiled step.

`keras_bert_impl.health` adds the gradient norm before clipping, the weight
norm and the update-to-weight ratio to every train step (a snapshot of the
weights before the update and three global norms). This times the same
compiled step with `track_health` on and off: the pretraining step
(`PretrainingModel`, masked LM + NSP) and a fine-tuning step
(`BertClassifier`), for the given presets, with XLA as the package's
`"auto"` decides.

The two steps alternate one by one (`common.alternating`: `--pairs`
pairs, the order swapped every pair), each timed from the call of Keras'
`train_function` to its loss on the host (`common.train_stepper`), and
the cost is the median of the per-pair ratios, on over off, with a
bootstrap 95% interval of that median. On a shared VM the load drifts
over seconds; two steps a few hundred milliseconds apart see the same
load, so the per-pair ratio is steady where the ratio of repetitions of
whole `fit` calls (this script's first form) spread ±20%.

    python benchmarks/bench_health.py --configs tiny,mini --pairs 200
"""

import argparse
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))
sys.path.insert(0, HERE)

from common import alternating  # noqa: E402
from common import emit  # noqa: E402
from common import format_table  # noqa: E402
from common import log  # noqa: E402
from common import median_interval  # noqa: E402
from common import stamp  # noqa: E402
from common import synthetic_training  # noqa: E402
from common import train_stepper  # noqa: E402


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--configs", default="tiny,mini")
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--seq-length", type=int, default=128)
    parser.add_argument("--pairs", type=int, default=200)
    parser.add_argument("--save", default="health.jsonl")
    args = parser.parse_args()
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    rows, results = [], []
    for preset in args.configs.split(","):
        for kind in ("pretrain", "finetune"):
            log(f"{preset} {kind}: building")
            built = {
                name: synthetic_training(
                    kind,
                    preset,
                    args.batch_size,
                    args.seq_length,
                    track_health=track,
                )
                for name, track in (("off", False), ("on", True))
            }
            steppers = {
                name: train_stepper(*pair) for name, pair in built.items()
            }
            times = alternating(steppers, args.pairs)
            per_pair = [
                on / off for off, on in zip(times["off"], times["on"],
                                            strict=True)
            ]  # fmt: skip
            cost = median_interval(per_pair)
            ms = {
                name: 1000 * median_interval(t)["median"]
                for name, t in times.items()
            }
            results.append({
                "config": preset, "step": kind, "ms": ms,
                "jit_compile": bool(built["on"][0].jit_compile),
                "cost": {**cost, "min": min(per_pair), "max": max(per_pair)},
            })  # fmt: skip
            median, low, high = cost["median"], cost["low95"], cost["high95"]
            cost = (
                f"{100 * (median - 1):+.1f}% "
                f"[{100 * (low - 1):+.1f}, {100 * (high - 1):+.1f}]"
            )
            rows.append([preset, kind, f"{ms['off']:.1f}", f"{ms['on']:.1f}",
                         cost])  # fmt: skip
            log(rows[-1])
    table = format_table(
        ["config", "step", "ms off", "ms on",
         "cost, median of pairs [95% interval]"],
        rows,
    )  # fmt: skip
    emit(
        {"benchmark": "health", **stamp(), "method": "alternating steps",
         "batch_size": args.batch_size, "seq_length": args.seq_length,
         "pairs": args.pairs, "results": results},
        table, args.save,
    )  # fmt: skip


if __name__ == "__main__":
    main()
