"""Which fused kernels Grappler gives the served model (no-XLA export).

An export compiled with `--no-xla` runs on TensorFlow's own kernels, after
Grappler rewrote the graph. Its remapper should fuse MatMul + BiasAdd
(+ GELU) into `_FusedMatMul` (or oneDNN's `_MklFusedMatMul`) and the
LayerNorm subgraph into `_MklLayerNorm`; whatever it does not fuse runs
op by op. This script exports the real all-MiniLM-L6-v2 as a classifier
(fp32 and bf16), runs Grappler with the session defaults TF Serving uses
on the `from_ids` signature's graph (functions inlined, as at load), and
counts the fused and the unfused ops per encoder layer.

    python benchmarks/grappler_fusions.py

One JSON line goes to `benchmarks/results/grappler_fusions.jsonl`.
"""

import argparse
import os
import sys
import tempfile

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))

import common  # noqa: E402
import tensorflow as tf  # noqa: E402

# The unfused pieces worth counting (every fused op, `_*`, is counted with
# the ops it absorbed).
PIECES = ("MatMul", "BatchMatMulV2", "BiasAdd", "Erf", "Erfc", "Mean",
          "SquaredDifference", "Rsqrt", "Softmax", "Einsum", "AddV2",
          "Mul")  # fmt: skip


def main():
    argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    ).parse_args()
    import keras_bert_impl as kbi
    from keras_bert_impl import assets
    from keras_bert_impl.checkpoints.resolve import load_encoder
    from keras_bert_impl.checkpoints.resolve import load_tokenizer
    from keras_bert_impl.export import export_savedmodel
    from keras_bert_impl.export.graph_ops import grappler_ops

    folder = str(assets.asset_path(assets.MINILM, assets.MINILM_DIR))
    encoder = load_encoder(folder)
    model = kbi.BertClassifier(encoder, num_classes=2)
    tokenizer = load_tokenizer(folder)
    layers = encoder.num_layers
    result = {"benchmark": "grappler_fusions", **common.stamp(), "ops": {}}
    rows = []
    with tempfile.TemporaryDirectory() as root:
        for precision in ("float32", "bfloat16"):
            path = export_savedmodel(
                model, tokenizer, os.path.join(root, precision, "1"),
                max_length=128, jit_compile=False, warmup=False,
                precision=precision,
            )  # fmt: skip
            loaded = tf.saved_model.load(path)
            counts, fused = grappler_ops(loaded.signatures["from_ids"])
            kept = {k: counts[k] for k in PIECES if counts.get(k)}
            result["ops"][precision] = kept
            result.setdefault("fused", {})[precision] = dict(fused)
            for op, n in sorted(fused.items()) + sorted(kept.items()):
                rows.append([precision, op, n, f"{n / layers:.1f}"])
    result["num_layers"] = layers
    common.emit(
        result,
        common.format_table(["precision", "op", "count", "per layer"], rows),
        "grappler_fusions.jsonl",
    )


if __name__ == "__main__":
    main()
