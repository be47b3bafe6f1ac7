"""Sequences/s of encoder inference at batch 1 and 32, fp32 and bf16.

Peers, built from the same `BertConfig` with fresh weights (no download),
run on the same random batch at sequence length `--seq-length` (default
128; 512 is the paper's second pretraining phase):

- `kbi`: this package's `BertEncoder` called in a `tf.function` with
  `jit_compile=True`, and `kbi_noxla` without;
- `keras_hub_xla` / `keras_hub_noxla`: keras-hub's `BertBackbone`, the
  same way;
- `hf_torch`: Hugging Face `BertModel` under `torch.inference_mode()` (bf16:
  the model cast to bfloat16), in `hf_peer.py` under `$KBI_TORCH_PYTHON`.

bf16 means `dtype="mixed_bfloat16"` for the Keras peers. Each peer runs in
turn, `--repeats` rounds; the table gives median sequences/s [min-max] and
the ratio of medians of our best mode to each peer.

    python benchmarks/bench_inference.py --configs mini --batch-sizes 1,32 \\
        --precisions fp32,bf16
    python benchmarks/bench_inference.py --configs tiny,mini --seq-length 512 \\
        --batch-sizes 1,8 --precisions fp32,bf16
"""

import argparse
import os
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))

import common  # noqa: E402
import keras  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

from keras_bert_impl.config import BertConfig  # noqa: E402
from keras_bert_impl.models.encoder import build_encoder  # noqa: E402

SEQ_LEN = 128  # the default --seq-length
ALL_PEERS = ("kbi", "kbi_noxla", "keras_hub_xla", "keras_hub_noxla", "hf_torch")


def make_inputs(batch_size, vocabulary_size, seq_len, seed=0):
    rng = np.random.default_rng(seed)
    ids = rng.integers(5, vocabulary_size, (batch_size, seq_len))
    segments = np.zeros_like(ids)
    segments[:, seq_len // 2 :] = 1
    return {
        "token_ids": tf.constant(ids, "int32"),
        "segment_ids": tf.constant(segments, "int32"),
        "padding_mask": tf.ones((batch_size, seq_len), "int32"),
    }


def build_keras_hub(config, dtype):
    import keras_hub

    return keras_hub.models.BertBackbone(
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


def keras_runner(model, inputs, jit_compile):
    """A callable running `n` forward passes, result synced to the host."""
    forward = tf.function(
        lambda x: model(x, training=False)["sequence_output"],
        jit_compile=jit_compile,
    )
    forward(inputs).numpy()  # trace, compile, warm up

    def run(n):
        for _ in range(n):
            out = forward(inputs)
        out.numpy()

    return run


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--configs", default="mini")
    parser.add_argument("--batch-sizes", default="1,32")
    parser.add_argument("--precisions", default="fp32,bf16")
    parser.add_argument("--seq-length", type=int, default=SEQ_LEN)
    parser.add_argument("--peers", default=",".join(ALL_PEERS))
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument(
        "--seconds",
        type=float,
        default=1.5,
        help="Target duration of one repetition of one peer.",
    )
    parser.add_argument("--torch-python", default=common.default_torch_python())
    parser.add_argument("--save", default="inference.jsonl")
    args = parser.parse_args(argv)
    peers = args.peers.split(",")
    hf = None
    if "hf_torch" in peers:
        hf = common.TorchPeer(args.torch_python)
        if not hf.available:
            common.log("hf_torch unavailable:", hf.error)

    rows = []
    for name in args.configs.split(","):
        config = BertConfig.preset(name)
        for precision in args.precisions.split(","):
            dtype = "mixed_bfloat16" if precision == "bf16" else None
            for batch_size in map(int, args.batch_sizes.split(",")):
                result = measure(
                    args, peers, hf, config, name, precision, dtype, batch_size
                )
                rows += table_rows(result)
                common.emit(result, None, args.save)
                keras.backend.clear_session()
    print(
        common.format_table(
            [
                "config",
                "prec",
                "batch",
                "seq",
                "peer",
                "seq/s median [min-max]",
                "kbi/peer",
            ],
            rows,
        )
    )
    if hf is not None:
        hf.close()


def measure(args, peers, hf, config, name, precision, dtype, batch_size):
    inputs = make_inputs(batch_size, config.vocabulary_size, args.seq_length)
    keras.utils.set_random_seed(0)
    runners = {}
    if "kbi" in peers or "kbi_noxla" in peers:
        encoder = build_encoder(config, dtype=dtype)
        if "kbi" in peers:
            runners["kbi"] = keras_runner(encoder, inputs, True)
        if "kbi_noxla" in peers:
            runners["kbi_noxla"] = keras_runner(encoder, inputs, False)
    if "keras_hub_xla" in peers or "keras_hub_noxla" in peers:
        backbone = build_keras_hub(config, dtype)
        if "keras_hub_xla" in peers:
            runners["keras_hub_xla"] = keras_runner(backbone, inputs, True)
        if "keras_hub_noxla" in peers:
            runners["keras_hub_noxla"] = keras_runner(backbone, inputs, False)
    if hf is not None and hf.available:
        hf.setup(
            task="inference",
            config=config.to_dict(),
            batch_size=batch_size,
            seq_len=args.seq_length,
            num_predictions=0,
            precision=precision,
        )
        runners["hf_torch"] = hf.run
    # Calibrate: one peer's single pass sets the passes per repetition.
    first = next(iter(runners))
    start = time.perf_counter()
    reported = runners[first](1)
    one = reported if reported is not None else time.perf_counter() - start
    n = max(1, round(args.seconds / max(one, 1e-4)))
    times = common.interleaved(
        {k: (lambda run=v: run(n)) for k, v in runners.items()},
        args.repeats,
    )
    stats = {k: common.rate_stats(v, n * batch_size) for k, v in times.items()}
    ours = [k for k in ("kbi", "kbi_noxla") if k in stats]
    best = max(ours, key=lambda k: stats[k]["median"]) if ours else None
    return {
        "benchmark": "inference",
        **common.stamp(),
        "config": name,
        "precision": precision,
        "batch_size": batch_size,
        "seq_len": args.seq_length,
        "passes_per_repeat": n,
        "repeats": args.repeats,
        "versions": {
            "tensorflow": tf.__version__,
            "keras": keras.__version__,
            **(hf.versions if hf is not None and hf.available else {}),
        },
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
    }


def table_rows(result):
    rows = []
    for peer, stat in result["seq_per_s"].items():
        ratio = result["kbi_best_over"].get(peer)
        rows.append(
            [
                result["config"],
                result["precision"],
                result["batch_size"],
                result["seq_len"],
                peer + (" *" if peer == result["kbi_best"] else ""),
                common.fmt_rate(stat),
                common.fmt_ratio(ratio),
            ]
        )
    return rows


if __name__ == "__main__":
    main()
