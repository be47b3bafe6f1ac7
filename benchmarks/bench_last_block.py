"""The pretraining step's last block at the needed rows only, timed.

`BertPretrainer.call` runs the last Transformer block's queries,
attention output and feed-forward only at `[CLS]` (for NSP) and at the
masked positions (for the masked LM), 1 + 20 of 128 rows, keys and values
still over every position (`TransformerEncoderBlock.call_at_positions`;
outputs and gradients equal to the full graph's,
`tests/models/test_last_block_rows.py`). This times the same compiled
pretraining step (`PretrainingModel`, masked LM + NSP, the package's
optimizer, XLA as `jit_compile="auto"` decides) both ways: `rows`, the
model as shipped, and `full`, a subclass whose `call` is the plain
functional graph the model was built from (every block at every
position), same seeded weights and batch (`common.synthetic_training`).

The two steps alternate one by one (`common.alternating`: `--pairs`
pairs, the order swapped every pair), each timed from Keras'
`train_function` to its loss on the host (`common.train_stepper`); the
speed-up is the median of the per-pair ratios full / rows, with a
bootstrap 95% interval.

    python benchmarks/bench_last_block.py --configs tiny,mini,small --pairs 60
"""

import argparse
import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))
sys.path.insert(0, HERE)

import common  # noqa: E402


def full_graph_pretrainer():
    """`PretrainingModel` whose every block runs at every position."""
    from keras_bert_impl.models.pretrainer import BertPretrainer
    from keras_bert_impl.training.pretrain import PretrainingModel

    class FullLastBlock(PretrainingModel):
        def call(self, inputs, training=None, mask=None):
            # The functional graph of `BertPretrainer.__init__`.
            return super(BertPretrainer, self).call(
                inputs, training=training, mask=mask
            )

    return FullLastBlock


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--configs", default="tiny,mini,small")
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--seq-length", type=int, default=128)
    parser.add_argument("--precision", choices=("fp32", "bf16"), default="fp32")
    parser.add_argument("--pairs", type=int, default=60)
    parser.add_argument("--save", default="last_block.jsonl")
    args = parser.parse_args(argv)

    import numpy as np

    results, rows = [], []
    for preset in args.configs.split(","):
        common.log(f"{preset}: building")
        built = {
            name: common.synthetic_training(
                "pretrain", preset, args.batch_size, args.seq_length,
                precision=args.precision, pretrainer_class=cls,
            )
            for name, cls in (("rows", None), ("full", full_graph_pretrainer()))
        }  # fmt: skip
        # Same weights, same batch: the first step's losses agree.
        losses = {}
        for name, (model, data) in built.items():
            batch = next(iter(data))
            losses[name] = float(
                model.test_on_batch(*batch, return_dict=True)["loss"]
            )
        steppers = {
            name: common.train_stepper(*pair) for name, pair in built.items()
        }
        times = common.alternating(steppers, args.pairs)
        per_pair = [
            full / rows
            for rows, full in zip(times["rows"], times["full"], strict=True)
        ]
        speedup = common.median_interval(per_pair)
        ms = {name: 1000 * float(np.median(t)) for name, t in times.items()}
        results.append({
            "config": preset,
            "jit_compile": bool(built["rows"][0].jit_compile),
            "ms": ms,
            "first_loss": losses,
            "speedup_rows_over_full": {
                **speedup, "min": min(per_pair), "max": max(per_pair),
            },
        })  # fmt: skip
        rows.append([
            preset, results[-1]["jit_compile"], f"{ms['full']:.1f}",
            f"{ms['rows']:.1f}",
            f"{speedup['median']:.2f}x [{speedup['low95']:.2f}-"
            f"{speedup['high95']:.2f}]",
            f"{abs(losses['rows'] - losses['full']):.1e}",
        ])  # fmt: skip
        common.log(rows[-1])
    table = common.format_table(
        ["config", "XLA", "ms full", "ms rows",
         "speed-up, median of pairs [95%]", "|loss diff|"],
        rows,
    )  # fmt: skip
    common.emit(
        {"benchmark": "last_block", **common.stamp(),
         "method": "alternating steps", "batch_size": args.batch_size,
         "seq_length": args.seq_length, "precision": args.precision,
         "pairs": args.pairs, "load_average": os.getloadavg(),
         "results": results},
        table, args.save,
    )  # fmt: skip


if __name__ == "__main__":
    main()
