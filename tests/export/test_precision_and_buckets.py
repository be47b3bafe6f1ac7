"""bfloat16 exports, finer length buckets, and the notes written beside."""

import os
import pathlib
import re

import numpy as np
import pytest
import tensorflow as tf

from keras_bert_impl.export import deploy_notes
from keras_bert_impl.export.signatures import length_buckets
from tests.export.conftest import TEXTS
from tests.export.conftest import task_model

PAIRS = ("a dog", "the fox", "", "zebra", "brown")


@pytest.fixture(scope="module")
def bf16_classifier(tokenizer, tmp_path_factory, classifier_export):
    from keras_bert_impl.export import export_savedmodel

    model, _ = classifier_export
    root = tmp_path_factory.mktemp("bf16")
    path = export_savedmodel(
        model, tokenizer, root / "clf" / "1", precision="bfloat16"
    )
    return path


def _variable_dtypes(path):
    reader = tf.train.load_checkpoint(
        os.path.join(path, "variables", "variables")
    )
    return {
        name: dtype
        for name, dtype in reader.get_variable_to_dtype_map().items()
        if name != "_CHECKPOINTABLE_OBJECT_GRAPH"
    }


def test_bf16_export_stores_encoder_weights_in_bfloat16(bf16_classifier):
    dtypes = _variable_dtypes(bf16_classifier)
    kernels = {n: d for n, d in dtypes.items() if "kernel" in n}
    encoder = {n: d for n, d in kernels.items() if "logits" not in n}
    assert encoder and set(encoder.values()) == {tf.bfloat16}, encoder
    # Layer norms are bfloat16 variables too; the head stays float32.
    assert {d for n, d in kernels.items() if "logits" in n} == {tf.float32}


def test_bf16_export_agrees_with_float32(bf16_classifier, classifier_export):
    _, fp32_path = classifier_export
    inputs = {"text": tf.constant(TEXTS), "text_pair": tf.constant(PAIRS)}
    fp32 = tf.saved_model.load(fp32_path).signatures["serving_default"](
        **inputs
    )
    bf16 = tf.saved_model.load(bf16_classifier).signatures["serving_default"](
        **inputs
    )
    assert bf16["probabilities"].dtype == tf.float32
    difference = np.abs(bf16["probabilities"] - fp32["probabilities"]).max()
    assert 0 < difference < 0.05, difference  # rounded, not broken
    np.testing.assert_array_equal(bf16["label"], fp32["label"])


def test_float32_export_of_a_mixed_precision_model(tokenizer, tmp_path):
    """A model built under mixed_bfloat16 is exported with float32 math."""
    import keras

    from keras_bert_impl.export import export_savedmodel
    from keras_bert_impl.export.precision import with_precision

    keras.config.set_dtype_policy("mixed_bfloat16")
    try:
        model = task_model("classifier")
    finally:
        keras.config.set_dtype_policy("float32")
    copy = with_precision(model, "float32")
    assert copy is not model
    assert copy.encoder.get_layer("embeddings").compute_dtype == "float32"
    path = export_savedmodel(
        model, tokenizer, tmp_path / "m" / "1", jit_compile=False,
        warmup=False,
    )  # fmt: skip
    assert set(_variable_dtypes(path).values()) == {tf.float32}


def test_precision_must_be_known(classifier_export, tokenizer, tmp_path):
    from keras_bert_impl.export import export_savedmodel

    model, _ = classifier_export
    with pytest.raises(ValueError, match="`precision` must be one of"):
        export_savedmodel(model, tokenizer, tmp_path / "m" / "1",
                          precision="float16")  # fmt: skip
    assert not (tmp_path / "m").exists()


def test_length_step_buckets(tokenizer, tmp_path):
    from keras_bert_impl.export import export_savedmodel
    from tests.export.conftest import keras_outputs
    from tests.export.conftest import tiny_encoder

    assert length_buckets(128, 16) == [16, 32, 48, 64, 80, 96, 112, 128]
    assert length_buckets(100, 16) == [16, 32, 48, 64, 80, 96, 100]
    with pytest.raises(ValueError, match="length_step"):
        length_buckets(16, 0)
    encoder = tiny_encoder()
    # The steps pad XLA-bound requests (TensorFlow's kernels take any
    # length), so this export sends every request to XLA.
    path = export_savedmodel(
        encoder, tokenizer, tmp_path / "m" / "1", jit_compile=True,
        warmup=False, length_step=4,
    )  # fmt: skip
    out = tf.saved_model.load(path).signatures["serving_default"](
        text=tf.constant(TEXTS)
    )
    expected, _ = keras_outputs(encoder, tokenizer, TEXTS)
    np.testing.assert_allclose(
        out["pooled_output"], expected["pooled_output"], atol=1e-5
    )
    notes = (tmp_path / "m" / "1" / "assets.extra" / "SERVING.md").read_text()
    assert "lengths (one compilation each" in notes
    assert "4, 8, 12, 16" in notes
    assert "Every request runs XLA-compiled" in notes


def test_batching_file_and_notes(classifier_export):
    _, path = classifier_export
    extra = pathlib.Path(path) / "assets.extra"
    text = (extra / deploy_notes.BATCHING_FILE).read_text()
    # TF Serving's BatchingParameters text format: wrapped int64 fields,
    # repeated allowed sizes ending at max_batch_size.
    fields = dict(re.findall(r"^(\w+) \{ value: (\d+) \}$", text, re.M))
    assert set(fields) == {
        "max_batch_size", "batch_timeout_micros", "num_batch_threads",
        "max_enqueued_batches",
    }  # fmt: skip
    allowed = [int(n) for n in re.findall(r"^allowed_batch_sizes: (\d+)$",
                                          text, re.M)]  # fmt: skip
    notes = (extra / deploy_notes.NOTES_FILE).read_text()
    # Sized by the export's own max_length (rows x length within the
    # measured token budget).
    max_length = int(re.search(r"longer than (\d+) tokens", notes)[1])
    largest = deploy_notes.max_batch_size(max_length)
    assert largest * max_length <= deploy_notes.MAX_BATCH_TOKENS
    assert allowed == [2**i for i in range(largest.bit_length())]
    assert allowed[-1] == int(fields["max_batch_size"])
    assert "--xla_cpu_compilation_enabled=true" in notes
    # Intra- and inter-op threads both = the cores (inter-op = cores
    # measured 1.03-1.21x inter-op 1 at batch 1 on TensorFlow's kernels,
    # benchmarks/bench_serving_threads.py).
    intra = re.search(r"--tensorflow_intra_op_parallelism=(\d+)", notes)
    inter = re.search(r"--tensorflow_inter_op_parallelism=(\d+)", notes)
    assert intra[1] == inter[1] == str(os.cpu_count())
    assert "assets.extra/batching_parameters.txt" in notes
    assert "float32 weights" in notes
    # oneDNN's weight cache is advised for bfloat16 only (float32: within
    # noise, benchmarks/bench_onednn_weights.py).
    assert "TF_ONEDNN_ASSUME_FROZEN_WEIGHTS" not in notes


def test_cli_precision_flag(tmp_path):
    from keras_bert_impl.cli import build_parser

    args = build_parser().parse_args(
        ["export", "--model", "m", "--name", "n", "--precision", "bfloat16",
         "--length-step", "16"]
    )  # fmt: skip
    assert (args.precision, args.length_step) == ("bfloat16", 16)
    with pytest.raises(SystemExit):
        build_parser().parse_args(
            ["export", "--model", "m", "--name", "n", "--precision", "fp8"]
        )


def test_auto_jit_rule_per_precision(bf16_classifier, classifier_export):
    """`jit_compile="auto"` (the default) on this CPU host: the bfloat16
    export runs on TensorFlow's kernels (its notes need no XLA flag), a
    float32 export runs its small requests XLA-compiled; the CLI maps
    --xla / --no-xla."""
    from keras_bert_impl import runtime
    from keras_bert_impl.cli import build_parser
    from keras_bert_impl.runtime import resolve_serving_jit_compile

    assert not tf.config.list_physical_devices("GPU")
    notes = pathlib.Path(bf16_classifier) / "assets.extra" / "SERVING.md"
    assert "--xla_cpu_compilation_enabled" not in notes.read_text()
    assert "oneDNN" in notes.read_text()
    # The server command carries the weight cache, and says for whom.
    assert (
        "    TF_ONEDNN_ASSUME_FROZEN_WEIGHTS=1 tensorflow_model_server "
        in notes.read_text()
    )
    assert "Only for a serving process" in notes.read_text()
    every = runtime.XLA_ALL_REQUESTS
    assert resolve_serving_jit_compile("auto", "float32", 384) == 128
    assert resolve_serving_jit_compile("auto", "float32", 768) == 32
    assert resolve_serving_jit_compile("auto", "bfloat16", 384) == 0
    assert resolve_serving_jit_compile(True, "bfloat16", 384) == every
    assert resolve_serving_jit_compile(False, "float32", 384) == 0
    with pytest.raises(ValueError, match="jit_compile"):
        resolve_serving_jit_compile("yes", "float32", 384)
    base = ["export", "--model", "m", "--name", "n"]
    parse = build_parser().parse_args
    assert parse(base).jit_compile == "auto"
    assert parse([*base, "--no-xla"]).jit_compile is False
    assert parse([*base, "--xla"]).jit_compile is True


def test_docker_command_serves_the_folder_with_the_flags_it_needs():
    # The `docker run` line the quickstart and the REST example print.
    line = deploy_notes.docker_command("/srv/my models/qa", "qa", 128)
    assert line == (
        "docker run -p 8501:8501 -v '/srv/my models/qa:/models/qa' "
        "-e MODEL_NAME=qa tensorflow/serving --xla_cpu_compilation_enabled=true"
    )
    # No XLA-compiled request (a bfloat16 or jit_compile=False export): no
    # flag; the volume is the folder's absolute path.
    line = deploy_notes.docker_command("sm/qa", "qa", 0)
    assert line.endswith("-e MODEL_NAME=qa tensorflow/serving")
    assert f"-v {os.path.abspath('sm/qa')}:/models/qa " in line
    # The same flag as SERVING.md's.
    notes = deploy_notes.serving_notes("qa", 128, "float32", [8, 16], 16)
    assert deploy_notes.XLA_SERVER_FLAG in notes
    assert "--xla_cpu_compilation_enabled" not in deploy_notes.serving_notes(
        "qa", 0, "bfloat16", [8, 16], 16
    )
