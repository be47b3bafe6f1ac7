"""The signatures of an export, called in-process on the reloaded model."""

import os

import numpy as np
import pytest
import tensorflow as tf
import tensorflow_text  # noqa: F401

from keras_bert_impl.export import graph_ops
from keras_bert_impl.export import warmup
from keras_bert_impl.export.signatures import length_buckets
from tests.export.conftest import LABELS
from tests.export.conftest import MAX_LENGTH
from tests.export.conftest import REPO
from tests.export.conftest import TEXTS
from tests.export.conftest import keras_outputs


@pytest.fixture(scope="module")
def encoder_loaded(encoder_export):
    encoder, path = encoder_export
    return encoder, tf.saved_model.load(path)


@pytest.fixture(scope="module")
def classifier_loaded(classifier_export):
    model, path = classifier_export
    return model, tf.saved_model.load(path)


def _crop(keras_out, inputs, served_mask):
    """Keras outputs cut to the served (longest-row) length."""
    length = served_mask.shape[1]
    return {
        k: v[:, :length] if v.ndim == 3 else v for k, v in keras_out.items()
    }, {k: v[:, :length] for k, v in inputs.items()}


@pytest.mark.parametrize("batch", [1, 5])
def test_encoder_text_signature_matches_keras(encoder_loaded, tokenizer, batch):
    encoder, loaded = encoder_loaded
    texts = (TEXTS * 2)[:batch]
    served = loaded.signatures["serving_default"](text=tf.constant(texts))
    served = {k: v.numpy() for k, v in served.items()}
    expected, inputs = keras_outputs(encoder, tokenizer, texts)
    expected, inputs = _crop(expected, inputs, served["padding_mask"])
    np.testing.assert_array_equal(served["token_ids"], inputs["token_ids"])
    np.testing.assert_array_equal(
        served["padding_mask"], inputs["padding_mask"]
    )
    for name in ("pooled_output", "sequence_output"):
        mask = inputs["padding_mask"][..., None] if name[0] == "s" else 1
        np.testing.assert_allclose(
            served[name] * mask, expected[name] * mask, atol=1e-5
        )


@pytest.mark.parametrize("batch", [1, 5])
def test_text_signature_in_a_session_as_tf_serving_runs_it(
    encoder_export, classifier_export, batch, monkeypatch
):
    # TF Serving does not call the TF2 function: it imports the graph and
    # runs Session::Run on the signature's tensors (tf.cond between the
    # XLA and TensorFlow-kernel paths, the tokenizer's tables initialized
    # by the loader). The same outputs as the reloaded function; the
    # serving benchmarks' `common.LoadedSavedModel` runs both ways.
    monkeypatch.syspath_prepend(str(REPO / "benchmarks"))
    from common import LoadedSavedModel

    texts = np.array((TEXTS * 2)[:batch], dtype=object)
    for (_, path), pair in ((encoder_export, False), (classifier_export, True)):
        inputs = {"text": texts}
        if pair:  # the classifier takes text pairs
            inputs["text_pair"] = texts[::-1].copy()
        served = {
            runner: LoadedSavedModel(str(path), runner, threads=2).signature(
                "serving_default"
            )(**inputs)
            for runner in ("session", "function")
        }
        session, reloaded = served["session"], served["function"]
        assert sorted(session) == sorted(reloaded)
        for name, value in reloaded.items():
            if value.dtype.kind in "OSU":
                np.testing.assert_array_equal(session[name], value)
            else:
                np.testing.assert_allclose(session[name], value, atol=1e-6)


@pytest.mark.parametrize("runner", ["session", "function"])
def test_tokenize_then_from_ids_is_the_whole_request(
    encoder_export, runner, monkeypatch
):
    # `benchmarks/bench_serving_parts.py` splits a request's time into
    # `tokenize` and `from_ids`: the parts must compose into
    # `serving_default` (same outputs), or it would time something else.
    monkeypatch.syspath_prepend(str(REPO / "benchmarks"))
    import bench_serving_parts
    from common import LoadedSavedModel

    loaded = LoadedSavedModel(str(encoder_export[1]), runner, threads=2)
    assert loaded.input_names("from_ids") == [
        "padding_mask", "segment_ids", "token_ids",
    ]  # fmt: skip
    runners, diff = bench_serving_parts.prepare(loaded, list(TEXTS), 2)
    assert sorted(diff) == ["pooled_output", "sequence_output"]
    assert max(diff.values()) <= 1e-6
    assert sorted(runners) == sorted(bench_serving_parts.PARTS)
    for run in runners.values():
        run()


def test_lengths_vary_and_long_text_is_truncated(encoder_loaded):
    _, loaded = encoder_loaded
    serve = loaded.signatures["serving_default"]
    short = serve(text=tf.constant(["hello"]))["token_ids"].numpy()
    assert short.tolist() == [[2, 26, 3]]  # [CLS] hello [SEP], no padding
    long = serve(text=tf.constant([" ".join(["fox"] * 100)]))
    ids = long["token_ids"].numpy()
    assert ids.shape == (1, MAX_LENGTH)
    assert ids[0, 0] == 2 and ids[0, -1] == 3
    assert long["sequence_output"].shape == (1, MAX_LENGTH, 16)


def test_empty_string_and_empty_batch(encoder_loaded, classifier_loaded):
    _, encoder = encoder_loaded
    out = encoder.signatures["serving_default"](text=tf.constant([""]))
    assert out["token_ids"].numpy().tolist() == [[2, 3]]
    assert np.isfinite(out["pooled_output"].numpy()).all()
    out = encoder.signatures["serving_default"](text=tf.constant([], tf.string))
    assert out["pooled_output"].shape == (0, 16)
    _, classifier = classifier_loaded
    out = classifier.signatures["serving_default"](
        text=tf.constant([""]), text_pair=tf.constant([""])
    )
    assert out["label"].numpy()[0].decode() in LABELS
    np.testing.assert_allclose(out["probabilities"].numpy().sum(), 1, 1e-6)


def test_classifier_labels_and_probabilities(classifier_loaded, tokenizer):
    model, loaded = classifier_loaded
    texts, pairs = list(TEXTS), list(reversed(TEXTS))
    out = loaded.signatures["serving_default"](
        text=tf.constant(texts), text_pair=tf.constant(pairs)
    )
    out = {k: v.numpy() for k, v in out.items()}
    expected, _ = keras_outputs(model, tokenizer, texts, pairs)
    probabilities = tf.nn.softmax(expected["logits"]).numpy()
    np.testing.assert_allclose(out["probabilities"], probabilities, atol=1e-5)
    np.testing.assert_allclose(out["logits"], expected["logits"], atol=1e-5)
    best = probabilities.argmax(-1)
    assert out["label_id"].tolist() == best.tolist()
    assert [b.decode() for b in out["label"]] == [LABELS[i] for i in best]
    assert out["label_names"].shape == (len(texts), len(LABELS))
    assert [b.decode() for b in out["label_names"][0]] == list(LABELS)
    np.testing.assert_allclose(out["score"], probabilities.max(-1), atol=1e-6)


def test_from_ids_and_tokenize_signatures(classifier_loaded, tokenizer):
    model, loaded = classifier_loaded
    texts, pairs = ["the quick fox", "a b"], ["hello", ""]
    ids = loaded.signatures["tokenize"](
        text=tf.constant(texts), text_pair=tf.constant(pairs)
    )
    encoded = tokenizer.encode(texts, pairs, max_length=MAX_LENGTH)
    width = ids["token_ids"].shape[1]
    for name in ("token_ids", "segment_ids", "padding_mask"):
        np.testing.assert_array_equal(ids[name], encoded[name][:, :width])
    out = loaded.signatures["from_ids"](**encoded)
    expected, _ = keras_outputs(model, tokenizer, texts, pairs)
    np.testing.assert_allclose(out["logits"], expected["logits"], atol=1e-5)
    # Over-long id rows are cut to the model's length, not rejected.
    wide = {k: np.concatenate([v, v], axis=1) for k, v in encoded.items()}
    assert loaded.signatures["from_ids"](**wide)["logits"].shape == (2, 3)


def _parameter_bytes(model):
    return sum(
        int(np.prod(v.shape)) * np.dtype(v.dtype).itemsize
        for v in model.weights
    )


def _variables_bytes(path, data_only=False):
    folder = os.path.join(path, "variables")
    return sum(
        os.path.getsize(os.path.join(folder, f))
        for f in os.listdir(folder)
        if not data_only or ".data-" in f
    )


def test_each_weight_stored_once(encoder_export, classifier_export):
    for model, path in (encoder_export, classifier_export):
        stored = {
            name: shape
            for name, shape in tf.train.list_variables(
                os.path.join(path, "variables", "variables")
            )
            if name != "_CHECKPOINTABLE_OBJECT_GRAPH"
        }
        assert len(stored) == len(model.weights)
        assert sorted(int(np.prod(s)) for s in stored.values()) == sorted(
            int(np.prod(v.shape)) for v in model.weights
        )


def test_variables_on_disk_within_10_percent(tokenizer, tmp_path):
    from keras_bert_impl import BertConfig
    from keras_bert_impl import build_encoder
    from keras_bert_impl.export import export_savedmodel

    encoder = build_encoder(
        BertConfig(
            vocabulary_size=32, hidden_dim=128, num_layers=1, num_heads=2,
            intermediate_dim=256, max_sequence_length=16,
        )
    )  # fmt: skip
    path = export_savedmodel(encoder, tokenizer, tmp_path / "w" / "1",
                             jit_compile=False, warmup=False)  # fmt: skip
    stored, expected = _variables_bytes(path), _parameter_bytes(encoder)
    assert expected > 500_000
    assert expected <= stored <= 1.1 * expected, (stored, expected)


def _functions_with_matmuls(path, op="MatMul"):
    """Names of the SavedModel's functions that hold an `op` node."""
    from tensorflow.core.protobuf import saved_model_pb2

    with open(os.path.join(path, "saved_model.pb"), "rb") as f:
        saved = saved_model_pb2.SavedModel.FromString(f.read())
    return {
        function.signature.name
        for graph in saved.meta_graphs
        for function in graph.graph_def.library.function
        if any(node.op == op for node in function.node_def)
    }


def test_default_export_runs_small_requests_with_xla(
    tokenizer, classifier_export, tmp_path, monkeypatch
):
    """The default float32 export on a CPU host holds the numeric model
    twice over the same weights: XLA-compiled for requests within the
    token budget, on TensorFlow's kernels (unpadded) for larger ones; both
    give the Keras model's numbers. An all-XLA export (`jit_compile=True`,
    the classifier here) holds only the compiled one."""
    from keras_bert_impl import runtime
    from keras_bert_impl.export import export_savedmodel
    from tests.export.conftest import tiny_encoder

    # The measured budget gives this 16-wide encoder 65,536 tokens; 64
    # sends 1 row (1 x 16 padded tokens) to XLA and 5 or 40 rows
    # (8 x 16, 64 x 16) to TensorFlow's kernels.
    monkeypatch.setattr(runtime, "SERVING_XLA_MAX_WORK", 64 * 16 * 16)
    encoder = tiny_encoder()
    path = export_savedmodel(encoder, tokenizer, tmp_path / "m" / "1",
                             warmup=False)  # fmt: skip
    serve = tf.saved_model.load(path).signatures["serving_default"]
    for batch in (1, 5, 40):
        texts = (TEXTS * 10)[:batch]
        served = serve(text=tf.constant(texts))
        expected, inputs = keras_outputs(encoder, tokenizer, texts)
        expected, _ = _crop(expected, inputs, served["padding_mask"])
        np.testing.assert_allclose(
            served["pooled_output"], expected["pooled_output"], atol=1e-5
        )
        real = served["padding_mask"].numpy().astype(bool)
        sequence = served["sequence_output"].numpy()
        np.testing.assert_allclose(
            sequence[real], expected["sequence_output"][real], atol=1e-5
        )
        if batch > 1:  # TensorFlow's kernels, padding skipped: zeros there
            assert not real.all() and not np.any(sequence[~real])
    compiled = set(graph_ops.xla_functions(path))
    with_matmuls = _functions_with_matmuls(path)
    assert with_matmuls & compiled and with_matmuls - compiled
    # The skipped padding: real tokens scattered back for attention, on
    # TensorFlow's kernels only.
    assert _functions_with_matmuls(path, "ScatterNd")
    assert not any(
        "ScatterNd" in ops for ops in graph_ops.xla_functions(path).values()
    )
    _, xla = classifier_export
    assert _functions_with_matmuls(xla) <= set(graph_ops.xla_functions(xla))
    notes = os.path.join(path, "assets.extra", "SERVING.md")
    with open(notes) as f:
        assert "Requests of up to 64 tokens" in f.read()


def test_tokenizer_runs_outside_xla(encoder_export, classifier_export):
    for _, path in (encoder_export, classifier_export):
        compiled = graph_ops.xla_functions(path)
        assert len(compiled) == 1, compiled
        (ops,) = compiled.values()
        assert "MatMul" in ops or "BatchMatMulV2" in ops
        assert not ops & set(graph_ops.TENSORFLOW_TEXT_OPS)
        assert not any(op.startswith(("String", "Regex")) for op in ops)
        assert set(graph_ops.TENSORFLOW_TEXT_OPS) & set(
            graph_ops.saved_model_ops(path)
        )


def test_no_xla_export_and_warmup_replay(tokenizer, tmp_path):
    from keras_bert_impl.export import export_savedmodel
    from tests.export.conftest import tiny_encoder

    encoder = tiny_encoder()
    path = export_savedmodel(
        encoder, tokenizer, tmp_path / "m" / "3", jit_compile=False
    )
    assert graph_ops.xla_functions(path) == {}
    loaded = tf.saved_model.load(path)
    out = loaded.signatures["serving_default"](text=tf.constant(TEXTS[:2]))
    expected, _ = keras_outputs(encoder, tokenizer, TEXTS[:2])
    np.testing.assert_allclose(
        out["pooled_output"], expected["pooled_output"], atol=1e-5
    )
    # The warmup file: one PredictionLog per batch size, each replayable.
    requests = warmup.read_warmup(path)
    assert [len(r[1]["text"]) for r in requests] == list(
        warmup.WARMUP_BATCH_SIZES
    )
    for signature_name, inputs in requests:
        assert signature_name == "serving_default"
        out = loaded.signatures[signature_name](**inputs)
        assert out["pooled_output"].shape == (len(inputs["text"]), 16)


@pytest.mark.parametrize("kind", ["classifier", "multiple_choice"])
def test_warmup_covers_every_compiled_shape(task_export, kind):
    """After the sentence batches, one request per shape XLA compiles:
    these all-XLA exports (tiny encoders, `max_length` 16, so batches of
    up to 32 rows in the batching file) compile 1-32 rows x 8 or 16
    tokens; the requests land on exactly those, through each task's own
    packing (a text pair; a text and its choices)."""
    from keras_bert_impl.export.deploy_notes import max_batch_size

    _, path = task_export(kind)
    requests = warmup.read_warmup(path)
    names = {"classifier": {"text", "text_pair"},
             "multiple_choice": {"text", "choices"}}[kind]  # fmt: skip
    assert all(set(inputs) == names for _, inputs in requests)
    sizes = warmup.WARMUP_BATCH_SIZES
    assert [len(r[1]["text"]) for r in requests[: len(sizes)]] == list(sizes)
    tokenize = tf.saved_model.load(path).signatures["tokenize"]
    shapes = set()
    for _, inputs in requests[len(sizes) :]:
        ids = tokenize(**inputs)["token_ids"]
        length = next(n for n in length_buckets(MAX_LENGTH)
                      if n >= ids.shape[-1])  # fmt: skip
        shapes.add((ids.shape[0], length))
    rows = [2**i for i in range(max_batch_size(MAX_LENGTH).bit_length())]
    assert shapes == {(r, n) for r in rows for n in length_buckets(MAX_LENGTH)}
    assert len(requests) == len(sizes) + len(shapes)


def test_filler_word():
    assert warmup.filler_word(["[PAD]", "[UNK]", "##s", "The", "the"]) == "the"
    assert warmup.filler_word(["[PAD]", "##的", "的"]) == "的"


def test_length_buckets():
    assert length_buckets(512) == [8, 16, 32, 64, 128, 256, 512]
    assert length_buckets(8) == [8]
    assert length_buckets(5) == [5]
