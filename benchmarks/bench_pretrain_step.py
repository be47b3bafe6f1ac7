"""Sequences/s of one MLM + NSP pretraining step at sequence length 128 or 512.

Peers, built from the same `BertConfig` with fresh weights (no download),
all trained with AdamW(1e-4) on the same random batch (`--seq-length`
tokens, default 128; ceil(0.15 x length) masked predictions per sequence,
20 at 128 and 77 at 512, all of them real):

- `kbi`: this package's `BertPretrainer`, `model.fit`, its default
  `compile()` (XLA) and, as `kbi_noxla`, `jit_compile=False`;
- `keras_hub`: keras-hub's `BertBackbone` + `BertMaskedLM`'s head + an NSP
  `Dense(2)` on the pooled output, `model.fit`, with (`keras_hub_xla`) and
  without (`keras_hub_noxla`) `jit_compile=True`;
- `hf_torch`: Hugging Face `BertForPreTraining` on torch CPU (stock: MLM
  logits at every position), in `hf_peer.py` under `$KBI_TORCH_PYTHON`.

Each peer runs in turn, `--repeats` rounds; the table gives the median
sequences/s [min-max], the ratio of medians of `kbi` (its best mode) to
each peer, and the achieved FLOP/s as a fraction of a large matmul's
measured on the same run (FLOPs: 6 x non-embedding parameters x tokens,
plus 12 x layers x hidden x seq^2 per sequence for attention, plus the
tied vocabulary projection at the masked positions).

    python benchmarks/bench_pretrain_step.py --configs tiny,mini,small
    python benchmarks/bench_pretrain_step.py --configs base --repeats 3
    python benchmarks/bench_pretrain_step.py --configs mini,base \\
        --precision bf16 --loss-steps 30 --peers \\
        kbi,kbi_noxla,kbi_fp32,kbi_fp32_noxla,keras_hub_xla,keras_hub_noxla,hf_torch
    python benchmarks/bench_pretrain_step.py --configs tiny,mini \\
        --seq-length 512 --batch-size 8 --repeats 5
"""

import argparse
import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))

import common  # noqa: E402
import keras  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

from keras_bert_impl.config import BertConfig  # noqa: E402
from keras_bert_impl.data.pretraining import default_max_predictions  # noqa: E402
from keras_bert_impl.models.encoder import build_encoder  # noqa: E402
from keras_bert_impl.models.pretrainer import BertPretrainer  # noqa: E402

SEQ_LEN = 128  # the default; --seq-length 512 is the paper's second phase
# Steps per timed repetition and batch size, by config (base is slow).
DEFAULT_STEPS = {"tiny": 2, "mini": 1, "small": 1, "base": 1}
ALL_PEERS = ("kbi", "kbi_noxla", "keras_hub_xla", "keras_hub_noxla", "hf_torch")


def make_batch(batch_size, vocabulary_size, seq_len, num_predictions, seed=0):
    """The pretraining batch contract, random ids, all predictions real."""
    rng = np.random.default_rng(seed)
    b, s, p = batch_size, seq_len, num_predictions
    token_ids = rng.integers(5, vocabulary_size, (b, s), dtype="int32")
    segment_ids = np.zeros((b, s), "int32")
    segment_ids[:, s // 2 :] = 1
    positions = np.sort(
        np.stack([rng.permutation(s - 1)[:p] + 1 for _ in range(b)]), axis=1
    ).astype("int32")
    x = {
        "token_ids": token_ids,
        "segment_ids": segment_ids,
        "padding_mask": np.ones((b, s), "int32"),
        "mask_positions": positions,
    }
    y = {
        "masked_lm": np.take_along_axis(token_ids, positions, axis=1),
        "next_sentence": rng.integers(0, 2, (b,), dtype="int32"),
    }
    w = {
        "masked_lm": np.ones((b, p), "float32"),
        "next_sentence": np.ones((b,), "float32"),
    }
    return x, y, w


def losses_and_metrics():
    """`BertPretrainer.compile()`'s defaults, given to every Keras peer."""
    scce = keras.losses.SparseCategoricalCrossentropy
    acc = keras.metrics.SparseCategoricalAccuracy
    return {
        "loss": {
            "masked_lm": scce(
                from_logits=True, reduction="mean_with_sample_weight"
            ),
            "next_sentence": scce(from_logits=True),
        },
        "weighted_metrics": {"masked_lm": [acc(name="accuracy")]},
        "metrics": {"next_sentence": [acc(name="accuracy")]},
    }


def build_kbi(config, dtype):
    return BertPretrainer(build_encoder(config, dtype=dtype))


def build_keras_hub(config, dtype):
    import keras_hub

    backbone = keras_hub.models.BertBackbone(
        vocabulary_size=config.vocabulary_size,
        num_layers=config.num_layers,
        num_heads=config.num_heads,
        hidden_dim=config.hidden_dim,
        intermediate_dim=config.intermediate_dim,
        dropout=config.dropout,
        max_sequence_length=config.max_sequence_length,
        num_segments=config.num_segments,
        dtype=dtype,
    )
    masked_lm = keras_hub.models.BertMaskedLM(backbone)
    inputs = {
        name: keras.Input(shape=(None,), dtype="int32", name=name)
        for name in ("token_ids", "segment_ids", "padding_mask")
    }
    inputs["mask_positions"] = keras.Input(
        shape=(None,), dtype="int32", name="mask_positions"
    )
    encoded = backbone(
        {k: v for k, v in inputs.items() if k != "mask_positions"}
    )
    outputs = {
        "masked_lm": masked_lm.masked_lm_head(
            encoded["sequence_output"], inputs["mask_positions"]
        ),
        "next_sentence": keras.layers.Dense(
            2, dtype=dtype, name="next_sentence"
        )(encoded["pooled_output"]),
    }
    return keras.Model(inputs, outputs)


def keras_runner(model, batch, jit_compile):
    """Compiles `model`, warms it up; returns run(steps).

    A step is `train_on_batch` on tensors already on the device: the
    compiled train function `fit` runs, without `fit`'s per-call setup
    (which would weigh on the short tiny steps). The last step's logs are
    read back, so the timing includes all the work.
    """
    model.compile(
        optimizer=keras.optimizers.AdamW(learning_rate=1e-4),
        jit_compile=jit_compile,
        **losses_and_metrics(),
    )
    x, y, w = ({k: tf.constant(v) for k, v in part.items()} for part in batch)

    def run(steps):
        for _ in range(steps):
            model.train_on_batch(x, y, w)  # returns host numbers: synced

    run(2)  # trace, compile, warm up
    return run


def flops_per_sequence(config, seq_len, num_predictions):
    """Training FLOPs of one sequence (forward + backward = 3 x forward)."""
    h, n_layers, inter = (
        config.hidden_dim,
        config.num_layers,
        (config.intermediate_dim),
    )
    block = 4 * h * h + 2 * h * inter  # weights per block (no biases, LN)
    dense = n_layers * block + h * h + h * 2  # + pooler + NSP
    mlm_transform = h * h
    per_seq = 6 * dense * seq_len
    per_seq += 12 * n_layers * h * seq_len * seq_len  # QK^T and PV
    per_seq += (
        6 * (mlm_transform + h * config.vocabulary_size) * num_predictions
    )
    return per_seq


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--configs", default="tiny,mini,small")
    parser.add_argument("--peers", default=",".join(ALL_PEERS))
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument(
        "--seq-length",
        type=int,
        default=SEQ_LEN,
        help="Tokens per sequence; masked predictions: ceil(0.15 x it).",
    )
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument(
        "--steps",
        type=int,
        default=None,
        help="Steps per timed repetition (default by config).",
    )
    parser.add_argument("--precision", choices=("fp32", "bf16"), default="fp32")
    parser.add_argument(
        "--loss-steps",
        type=int,
        default=0,
        help="Also train fresh fp32 and bf16 models of ours this many steps "
        "from the same seed and report both masked-LM losses.",
    )
    parser.add_argument("--torch-python", default=common.default_torch_python())
    parser.add_argument("--save", default="pretrain_step.jsonl")
    args = parser.parse_args(argv)
    peers = args.peers.split(",")
    num_predictions = default_max_predictions(args.seq_length)
    dtype = "mixed_bfloat16" if args.precision == "bf16" else None

    matmul, matmul_flops = common.matmul_runner(
        "bfloat16" if args.precision == "bf16" else "float32"
    )
    hf = None
    if "hf_torch" in peers:
        hf = common.TorchPeer(args.torch_python)
        if not hf.available:
            common.log("hf_torch unavailable:", hf.error)

    for name in args.configs.split(","):
        config = BertConfig.preset(name)
        steps = args.steps or DEFAULT_STEPS.get(name, 2)
        batch = make_batch(
            args.batch_size,
            config.vocabulary_size,
            args.seq_length,
            num_predictions,
        )
        runners = {}
        keras.utils.set_random_seed(0)
        if "kbi" in peers:
            runners["kbi"] = keras_runner(build_kbi(config, dtype), batch, True)
        if "kbi_noxla" in peers:
            runners["kbi_noxla"] = keras_runner(
                build_kbi(config, dtype), batch, False
            )
        if "kbi_fp32" in peers and dtype is not None:
            # Our own float32 step in the same rounds, for the bf16 speedup.
            runners["kbi_fp32"] = keras_runner(
                build_kbi(config, None), batch, True
            )
        if "kbi_fp32_noxla" in peers and dtype is not None:
            runners["kbi_fp32_noxla"] = keras_runner(
                build_kbi(config, None), batch, False
            )
        if "keras_hub_xla" in peers:
            runners["keras_hub_xla"] = keras_runner(
                build_keras_hub(config, dtype), batch, True
            )
        if "keras_hub_noxla" in peers:
            runners["keras_hub_noxla"] = keras_runner(
                build_keras_hub(config, dtype), batch, False
            )
        if hf is not None and hf.available:
            hf.setup(
                task="pretrain",
                config=config.to_dict(),
                batch_size=args.batch_size,
                seq_len=args.seq_length,
                num_predictions=num_predictions,
                precision=args.precision,
            )
            runners["hf_torch"] = hf.run

        timed = {k: (lambda run=v, n=steps: run(n)) for k, v in runners.items()}
        timed["matmul_peak"] = lambda: matmul(4)
        times = common.interleaved(
            timed,
            args.repeats,
            on_round=lambda r, t, name=name: common.log(
                name, r + 1, {k: f"{v[-1]:.3f}" for k, v in t.items()}
            ),
        )
        units = steps * args.batch_size
        peak = common.rate_stats(times.pop("matmul_peak"), 4 * matmul_flops)
        stats = {k: common.rate_stats(v, units) for k, v in times.items()}
        result = report(
            name, config, args, num_predictions, steps, times, stats, peak, hf
        )
        del runners, timed  # free the timed models before training two more
        keras.backend.clear_session()
        if args.loss_steps:
            result["mlm_loss_after"] = loss_check(
                config, batch, args.loss_steps
            )
        table = common.format_table(
            [
                "config",
                "seq",
                "peer",
                "seq/s median [min-max]",
                "kbi/peer",
                "of peak",
            ],
            [
                [
                    name,
                    args.seq_length,
                    peer + (" *" if peer == result["kbi_best"] else ""),
                    common.fmt_rate(stats[peer]),
                    common.fmt_ratio(result["kbi_best_over"].get(peer)),
                    f"{result['fraction_of_peak'][peer]:.0%}",
                ]
                for peer in stats
            ],
        )
        common.emit(result, table, args.save)
    if hf is not None:
        hf.close()


def report(name, config, args, num_predictions, steps, times, stats, peak, hf):
    ours = [k for k in ("kbi", "kbi_noxla") if k in stats]
    best = max(ours, key=lambda k: stats[k]["median"]) if ours else None
    ours_fp32 = [k for k in ("kbi_fp32", "kbi_fp32_noxla") if k in stats]
    ours += ["kbi_fp32", "kbi_fp32_noxla"]  # never peers: they are ours
    keras_hub = [k for k in ("keras_hub_xla", "keras_hub_noxla") if k in stats]
    fps = flops_per_sequence(config, args.seq_length, num_predictions)
    result = {
        "benchmark": "pretrain_step",
        **common.stamp(),
        "config": name,
        "precision": args.precision,
        "batch_size": args.batch_size,
        "seq_len": args.seq_length,
        "num_predictions": num_predictions,
        "steps_per_repeat": steps,
        "repeats": args.repeats,
        "versions": {
            "tensorflow": tf.__version__,
            "keras": keras.__version__,
            **(hf.versions if hf is not None and hf.available else {}),
        },
        "matmul_flops_per_s": peak,
        "flops_per_sequence": fps,
        "seq_per_s": stats,
        "kbi_best": best,
        # Speed ratios of our best mode to each peer, paired by round.
        "kbi_best_over": common.paired_ratios(
            times, best, [k for k in stats if k not in ours]
        )
        if best
        else {},
        "ratio_of_medians": common.ratios(
            stats, best, [k for k in stats if k not in ours]
        )
        if best
        else {},
        "fraction_of_peak": {
            k: v["median"] * fps / peak["median"] for k, v in stats.items()
        },
    }
    if best and ours_fp32:
        # Our best bf16 mode over our best float32 mode, paired by round.
        best_fp32 = max(ours_fp32, key=lambda k: stats[k]["median"])
        result["kbi_best_fp32"] = best_fp32
        result["kbi_bf16_over_fp32"] = common.paired_ratios(
            times, best, [best_fp32]
        )[best_fp32]
    if best and keras_hub:
        hub_best = max(keras_hub, key=lambda k: stats[k]["median"])
        result["kbi_over_keras_hub_best"] = result["kbi_best_over"][hub_best]
    return result


def loss_check(config, batch, steps):
    """Masked-LM loss after `steps` of fp32 and of bf16, same seed/data."""
    losses = {}
    for precision, dtype in (("fp32", None), ("bf16", "mixed_bfloat16")):
        keras.utils.set_random_seed(1)
        model = build_kbi(config, dtype)
        model.compile(
            optimizer=keras.optimizers.AdamW(learning_rate=1e-4),
            **losses_and_metrics(),
        )
        ds = tf.data.Dataset.from_tensors(batch).repeat()
        history = model.fit(ds, steps_per_epoch=steps, epochs=1, verbose=0)
        losses[precision] = float(history.history["masked_lm_loss"][-1])
    losses["relative_difference"] = (
        abs(losses["bf16"] - losses["fp32"]) / (losses["fp32"])
    )
    return losses


if __name__ == "__main__":
    main()
