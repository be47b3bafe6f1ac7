"""The cost of the training-health numbers inside the compiled step.

`keras_bert_impl.health` adds the gradient norm before clipping, the weight
norm and the update-to-weight ratio to every train step (a snapshot of the
weights before the update and three global norms). This times the same
steps with `track_health` on and off, side by side: the pretraining step
(`PretrainingModel`, masked LM + NSP) and a fine-tuning step
(`BertClassifier`), for the given presets, with XLA as the package's
`"auto"` decides, interleaved over `--repeats` rounds; the cost is the
paired ratio of step times, on minus off. Each repetition's time is the
sum of its train batches' wall times (a callback), without what `fit`
does around them.

    python benchmarks/bench_health.py --configs tiny,mini --repeats 7
"""

import argparse
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))
sys.path.insert(0, HERE)

from common import emit  # noqa: E402
from common import format_table  # noqa: E402
from common import interleaved  # noqa: E402
from common import log  # noqa: E402
from common import paired_ratios  # noqa: E402
from common import stamp  # noqa: E402
from common import step_timer  # noqa: E402


def _timed(model, data, steps):
    """One repetition: `steps` train steps in one `fit`; returns the
    seconds spent in the steps (`interleaved` takes a returned float)."""
    timer = step_timer()

    def run():
        model.fit(data, steps_per_epoch=steps, epochs=1, verbose=0,
                  shuffle=False, callbacks=[timer])  # fmt: skip
        return timer.seconds

    return run


def _pretraining(preset, batch, length, steps, track):
    import keras
    import numpy as np
    import tensorflow as tf

    import keras_bert_impl as kbi
    from keras_bert_impl.training.pretrain import PretrainingModel

    keras.utils.set_random_seed(0)
    config = kbi.BertConfig.preset(preset, vocabulary_size=30522)
    model = PretrainingModel(kbi.build_encoder(config))
    model.track_health = track
    model.compile(optimizer=kbi.create_optimizer(1e-4, 1000, 10))
    rng = np.random.default_rng(0)
    slots = max(1, int(0.15 * length))
    x = {
        "token_ids": rng.integers(5, 30000, (batch, length)).astype("int32"),
        "segment_ids": np.zeros((batch, length), "int32"),
        "padding_mask": np.ones((batch, length), "int32"),
        "mask_positions": np.tile(np.arange(slots), (batch, 1)).astype("int32"),
    }
    y = {
        "masked_lm": rng.integers(5, 30000, (batch, slots)).astype("int32"),
        "next_sentence": rng.integers(0, 2, (batch,)).astype("int32"),
    }
    w = {"masked_lm": np.ones((batch, slots), "float32"),
         "next_sentence": np.ones((batch,), "float32")}  # fmt: skip
    data = tf.data.Dataset.from_tensors((x, y, w)).repeat()
    model.fit(data, steps_per_epoch=2, epochs=1, verbose=0,
              shuffle=False)  # compile  # fmt: skip
    return _timed(model, data, steps)


def _finetuning(preset, batch, length, steps, track):
    import keras
    import numpy as np
    import tensorflow as tf

    import keras_bert_impl as kbi

    keras.utils.set_random_seed(0)
    config = kbi.BertConfig.preset(preset, vocabulary_size=30522)
    model = kbi.BertClassifier(kbi.build_encoder(config), num_classes=2)
    model.track_health = track
    model.compile(optimizer=kbi.create_finetune_optimizer(1000))
    rng = np.random.default_rng(0)
    x = {
        "token_ids": rng.integers(5, 30000, (batch, length)).astype("int32"),
        "segment_ids": np.zeros((batch, length), "int32"),
        "padding_mask": np.ones((batch, length), "int32"),
    }
    y = rng.integers(0, 2, (batch,)).astype("int32")
    data = tf.data.Dataset.from_tensors((x, y)).repeat()
    model.fit(data, steps_per_epoch=2, epochs=1, verbose=0, shuffle=False)
    return _timed(model, data, steps)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--configs", default="tiny,mini")
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--seq-length", type=int, default=128)
    parser.add_argument(
        "--steps", type=int, default=10, help="steps per timed repetition"
    )
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--save", default="health.jsonl")
    args = parser.parse_args()
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    rows, results = [], []
    for preset in args.configs.split(","):
        for kind, build in (("pretrain", _pretraining),
                            ("finetune", _finetuning)):  # fmt: skip
            log(f"{preset} {kind}: building")
            runners = {
                name: build(preset, args.batch_size, args.seq_length,
                            args.steps, track)
                for name, track in (("off", False), ("on", True))
            }  # fmt: skip
            times = interleaved(runners, args.repeats)
            ratio = paired_ratios(times, "off", ["on"])["on"]
            ms = {
                n: 1000 * sorted(t)[len(t) // 2] / args.steps
                for n, t in times.items()
            }
            results.append({"config": preset, "step": kind, "ms": ms,
                            "cost": ratio})  # fmt: skip
            rows.append([preset, kind, f"{ms['off']:.1f}", f"{ms['on']:.1f}",
                         f"{100 * (ratio['median'] - 1):+.1f}% "
                         f"[{100 * (ratio['min'] - 1):+.1f}, "
                         f"{100 * (ratio['max'] - 1):+.1f}]"])  # fmt: skip
    table = format_table(
        ["config", "step", "ms off", "ms on", "cost (paired, median [range])"],
        rows,
    )
    emit(
        {"benchmark": "health", **stamp(), "batch_size": args.batch_size,
         "seq_length": args.seq_length, "steps": args.steps,
         "repeats": args.repeats, "results": results},
        table, args.save,
    )  # fmt: skip


if __name__ == "__main__":
    main()
