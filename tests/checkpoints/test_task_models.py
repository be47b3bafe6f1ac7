"""Hugging Face task checkpoints both ways, against `transformers` outputs.

`tests/data/hf_tasks/<name>/` are tiny random models of every BERT task
architecture saved by `transformers` 5.24 (real bert-base-uncased
vocabulary, `id2label` names), with the logits `transformers` computes on
real sentences (`tests/data/make_hf_task_reference.py`). Each loads with
`kbi.load_task_model` into the matching task model, with the same logits
(within 1e-4) on the same inputs; saved back with `save_checkpoint(...,
format="hf")` the folder has exactly the tensor names and shapes
`transformers` saved, the same `architectures` / `id2label` /
`problem_type`, and reloads to the same logits. (That `transformers`
itself reloads our folder with no missing or unexpected keys is checked by
`make_hf_task_reference.py --check`, outside CI: torch is not a CI
dependency; its last report is `tests/data/hf_tasks/saved_by_us.json`.)
"""

import json
import os

import numpy as np
import pytest
from safetensors import safe_open

import keras_bert_impl as kbi

HF = os.path.join(os.path.dirname(__file__), os.pardir, "data", "hf_tasks")
CASES = {
    # folder: (our class, kwargs checked on the model)
    "sequence_classification": ("BertClassifier", {"multi_label": False}),
    "sequence_multi_label": ("BertClassifier", {"multi_label": True}),
    "sequence_regression": ("BertRegressor", {}),
    "token_classification": ("BertTokenClassifier", {}),
    "question_answering": ("BertQuestionAnswering", {}),
    "multiple_choice": ("BertMultipleChoice", {}),
}


def _reference(name):
    return np.load(os.path.join(HF, name, "reference.npz"))


def _inputs(ref):
    return {
        "token_ids": ref["input_ids"].astype("int32"),
        "segment_ids": ref["token_type_ids"].astype("int32"),
        "padding_mask": ref["attention_mask"].astype("int32"),
    }


def _outputs(model, ref):
    out = model(_inputs(ref), training=False)
    if isinstance(out, dict):
        return {k: np.asarray(v) for k, v in out.items()}
    return {"logits": np.asarray(out)}


def _expected(ref):
    if "start_logits" in ref.files:
        return {"start_logits": ref["start_logits"],
                "end_logits": ref["end_logits"]}  # fmt: skip
    return {"logits": ref["logits"]}


def _tensors(folder):
    path = os.path.join(folder, "model.safetensors")
    with safe_open(path, framework="numpy") as f:
        return {k: tuple(f.get_slice(k).get_shape()) for k in f.keys()}


def _real(ref, values, key):
    """Real-token positions only, for per-position outputs."""
    mask = ref["attention_mask"].astype(bool)
    if values.ndim >= 2 and values.shape[:2] == mask.shape:
        return values[mask]
    return values


@pytest.mark.parametrize("name", list(CASES))
def test_load_task_model_matches_transformers(name):
    cls, attributes = CASES[name]
    ref = _reference(name)
    model = kbi.load_task_model(os.path.join(HF, name))
    assert type(model).__name__ == cls
    for key, value in attributes.items():
        assert getattr(model, key) == value
    names = [str(n) for n in ref["id2label"]]
    if getattr(model, "label_names", None) is not None:
        assert list(model.label_names) == names
    got = _outputs(model, ref)
    for key, expected in _expected(ref).items():
        diff = np.abs(_real(ref, got[key], key) - _real(ref, expected, key))
        assert diff.max() < 1e-4, (key, diff.max())


@pytest.mark.parametrize("name", list(CASES))
def test_save_back_has_transformers_names_and_logits(name, tmp_path):
    folder = os.path.join(HF, name)
    model = kbi.load_task_model(folder)
    tokenizer = kbi.load_tokenizer(folder)
    out = kbi.save_checkpoint(model, tmp_path / name, vocab=tokenizer)
    assert _tensors(out) == _tensors(folder)  # no missing or extra keys
    ours = json.loads((out / "config.json").read_text())
    with open(os.path.join(folder, "config.json")) as f:
        theirs = json.load(f)
    assert ours["architectures"] == theirs["architectures"]
    if "problem_type" in theirs:
        assert ours["problem_type"] == theirs["problem_type"]
    if "id2label" in theirs:
        assert ours["id2label"] == theirs["id2label"]  # the label names
    reloaded = kbi.load_task_model(out)
    ref = _reference(name)
    a, b = _outputs(model, ref), _outputs(reloaded, ref)
    for key in a:
        np.testing.assert_array_equal(a[key], b[key])
    assert kbi.load_tokenizer(out).get_config() == tokenizer.get_config()


def test_masked_lm_and_pretraining_give_the_pretrainer():
    for name in ("masked_lm", "pretraining"):
        ref = _reference(name)
        model = kbi.load_task_model(os.path.join(HF, name))
        assert type(model).__name__ == "BertPretrainer"
        # The masked-LM logits at every position: the pretrainer predicts
        # at `mask_positions`, so ask for all of them.
        inputs = _inputs(ref)
        n, seq = inputs["token_ids"].shape
        inputs["mask_positions"] = np.tile(np.arange(seq), (n, 1)).astype(
            "int32"
        )
        out = model(inputs, training=False)
        logits = np.asarray(out["masked_lm"])
        ids = ref["prediction_vocab_ids"]
        mask = ref["attention_mask"].astype(bool)
        diff = np.abs(logits[..., ids][mask] - ref["prediction_logits"][mask])
        assert diff.max() < 1e-4, (name, diff.max())
        assert (logits.argmax(-1)[mask] == ref["prediction_argmax"][mask]).all()
        if name == "pretraining":
            nsp = np.asarray(out["next_sentence"])
            np.testing.assert_allclose(
                nsp, ref["seq_relationship_logits"], atol=1e-4
            )


def test_masked_lm_folder_has_no_vocab_txt():
    """transformers 5 saves the vocabulary only inside tokenizer.json."""
    folder = os.path.join(HF, "masked_lm")
    assert not os.path.exists(os.path.join(folder, "vocab.txt"))
    tokenizer = kbi.load_tokenizer(folder)
    assert tokenizer.vocabulary_size == 30522
    ref = _reference("masked_lm")
    texts = [str(t) for t in ref["texts"]]
    ids = tokenizer.encode(texts, max_length=ref["input_ids"].shape[1])
    ids = ids["token_ids"].numpy()
    for row, positions in enumerate(ref["masked_positions"]):
        ids[row, positions] = tokenizer.mask_id  # the reference masked them
    np.testing.assert_array_equal(ids, ref["input_ids"])


def test_pooler_less_real_minilm(tmp_path):
    """all-MiniLM-L6-v2 without its pooler (as many sentence-transformers
    exports are): loads, sequence_output equals Hugging Face's (the
    committed reference) within 1e-4; pooler=True gives a fresh pooler with
    a warning, pooler=False none; saving writes what the encoder has."""
    import shutil

    from safetensors.numpy import load_file
    from safetensors.numpy import save_file

    from keras_bert_impl import assets

    source = assets.asset_path(assets.MINILM, assets.MINILM_DIR)
    folder = tmp_path / "minilm"
    shutil.copytree(source, folder)
    tensors = load_file(str(folder / "model.safetensors"))
    tensors = {k: v for k, v in tensors.items() if not k.startswith("pooler.")}
    save_file(tensors, str(folder / "model.safetensors"),
              metadata={"format": "pt"})  # fmt: skip
    reference = np.load(
        os.path.join(HF, os.pardir, "minilm_reference.npz"), allow_pickle=False
    )
    inputs = {
        k: reference[k].astype("int32")
        for k in ("token_ids", "segment_ids", "padding_mask")
    }
    mask = reference["padding_mask"].astype(bool)
    without, _ = kbi.load_checkpoint(folder, pooler=False)
    assert without.pooler is False
    out = without(inputs)
    assert set(out) == {"sequence_output"}
    diff = np.abs(np.asarray(out["sequence_output"])[mask]
                  - reference["sequence_output"][mask])  # fmt: skip
    assert diff.max() < 1e-4
    with_fresh, _ = kbi.load_checkpoint(folder)
    assert "pooled_output" in with_fresh(inputs)
    saved = kbi.save_checkpoint(without, tmp_path / "out")
    assert not any(k.startswith("pooler.") for k in _tensors(saved))


def test_tf1_run_classifier_and_run_squad_heads(tmp_path):
    """Google's `run_classifier.py` (`output_weights` [labels, hidden],
    `output_bias`) and `run_squad.py` (`cls/squad/output_*`) checkpoints:
    the head's logits are the pooled (or sequence) output times the
    transposed weights plus the bias."""
    import tensorflow as tf

    encoder = kbi.build_encoder(
        kbi.BertConfig.preset("tiny", vocabulary_size=32, num_layers=1)
    )
    base = kbi.save_checkpoint(encoder, tmp_path / "tf1", format="tf1")
    reader = tf.train.load_checkpoint(str(base / "bert_model.ckpt"))
    tensors = {
        n: reader.get_tensor(n) for n in reader.get_variable_to_shape_map()
    }
    rng = np.random.default_rng(0)
    hidden = encoder.hidden_dim
    inputs = {
        "token_ids": np.array([[2, 7, 9, 3, 0]], "int32"),
        "segment_ids": np.zeros((1, 5), "int32"),
        "padding_mask": np.array([[1, 1, 1, 1, 0]], "int32"),
    }
    out = encoder(inputs)
    for name, heads, names in (
        ("classifier", {"output_weights": (3, hidden), "output_bias": (3,)},
         ["a", "b", "c"]),
        ("squad", {"cls/squad/output_weights": (2, hidden),
                   "cls/squad/output_bias": (2,)}, None),
    ):  # fmt: skip
        folder = tmp_path / name
        folder.mkdir()
        (folder / "bert_config.json").write_text(
            (base / "bert_config.json").read_text()
        )
        values = dict(tensors)
        for key, shape in heads.items():
            values[key] = rng.normal(size=shape).astype("float32")
        keys = sorted(values)
        tf.raw_ops.SaveV2(
            prefix=str(folder / "bert_model.ckpt"), tensor_names=keys,
            shape_and_slices=[""] * len(keys),
            tensors=[tf.constant(values[k]) for k in keys],
        )  # fmt: skip
        model = kbi.load_task_model(folder, label_names=names)
        weights, bias = (values[k] for k in heads)
        if name == "classifier":
            assert type(model).__name__ == "BertClassifier"
            assert model.label_names == ("a", "b", "c")
            expected = np.asarray(out["pooled_output"]) @ weights.T + bias
            got = np.asarray(model(inputs, training=False))
        else:
            assert type(model).__name__ == "BertQuestionAnswering"
            logits = np.asarray(out["sequence_output"]) @ weights.T + bias
            expected = logits[..., 0]
            got = np.asarray(model(inputs, training=False)["start_logits"])
        np.testing.assert_allclose(got, expected, atol=1e-5)
