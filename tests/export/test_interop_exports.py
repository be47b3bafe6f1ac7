"""One command from a checkpoint made elsewhere to TF Serving.

`keras-bert-impl export --model <folder> --name <name>` on:

- a Hugging Face classifier folder (`tests/data/hf_tasks/
  sequence_classification`, saved by `transformers`): the task comes from
  `config.json`, the casing from the tokenizer files, the labels from
  `id2label`; served from a fresh process with only tensorflow +
  tensorflow_text, raw sentences give the probabilities `transformers`
  gives (softmax of its committed logits) within 1e-4, and its label
  names;
- a multi-label folder: per-label probabilities and the labels over 0.5;
- the real all-MiniLM-L6-v2 folder, untouched: an `embedding` export (mean
  pooling + L2 normalization, read from its `modules.json`) whose vectors
  equal the sentence-transformers recipe computed with `transformers`
  (committed) within 1e-5.
"""

import json
import os

import numpy as np
import pytest

from keras_bert_impl import assets
from keras_bert_impl import cli
from tests.export.conftest import run_python

HF = os.path.join(os.path.dirname(__file__), os.pardir, "data", "hf_tasks")

SERVE = r"""
import json, sys
import tensorflow as tf
import tensorflow_text  # noqa: F401
path, names = sys.argv[1], json.loads(sys.argv[2])
pairs = json.loads(sys.argv[3])
serve = tf.saved_model.load(path).signatures["serving_default"]
inputs = {"text": tf.constant(names)}
if pairs:
    inputs["text_pair"] = tf.constant(pairs)
out = serve(**inputs)
print(json.dumps({k: v.numpy().tolist() if v.dtype != tf.string else
                  [[x.decode() for x in row] if isinstance(row, list) else
                   row.decode() for row in v.numpy().tolist()]
                  for k, v in out.items()}))
"""


def _export(model, root, name, capsys, *extra):
    code = cli.main(["export", "--model", str(model), "--name", name,
                     "--root", str(root), "--no-warmup", *extra])  # fmt: skip
    out, err = capsys.readouterr()
    assert code == 0, err
    return os.path.join(root, name, "1")


def _serve(path, texts, pairs=None):
    out = run_python(SERVE, path, json.dumps(texts), json.dumps(pairs or []))
    return json.loads(out.splitlines()[-1])


def _softmax(x):
    x = np.asarray(x, "float64")
    e = np.exp(x - x.max(-1, keepdims=True))
    return e / e.sum(-1, keepdims=True)


@pytest.mark.large
def test_huggingface_classifier_folder_to_serving(tmp_path, capsys):
    folder = os.path.join(HF, "sequence_classification")
    ref = np.load(os.path.join(folder, "reference.npz"))
    path = _export(folder, tmp_path, "hf_classifier", capsys)
    texts = [str(t) for t in ref["texts"]]
    out = _serve(path, texts)
    expected = _softmax(ref["logits"])
    assert np.abs(np.asarray(out["probabilities"]) - expected).max() < 1e-4
    names = [str(n) for n in ref["id2label"]]
    assert out["label_names"][0] == names
    assert out["label"] == [names[i] for i in expected.argmax(-1)]


@pytest.mark.large
def test_huggingface_multi_label_folder_to_serving(tmp_path, capsys):
    folder = os.path.join(HF, "sequence_multi_label")
    ref = np.load(os.path.join(folder, "reference.npz"))
    path = _export(folder, tmp_path, "tags", capsys)
    texts = [str(t) for t in ref["texts"]]
    out = _serve(path, texts)
    expected = 1 / (1 + np.exp(-ref["logits"].astype("float64")))
    assert np.abs(np.asarray(out["probabilities"]) - expected).max() < 1e-4
    names = [str(n) for n in ref["id2label"]]
    chosen = [[n if p > 0.5 else "" for n, p in zip(names, row, strict=True)]
              for row in expected]  # fmt: skip
    assert out["labels"] == chosen
    assert np.array_equal(out["label_mask"], (expected > 0.5).astype(int))


@pytest.mark.large
def test_minilm_embedding_export_matches_sentence_transformers(
    tmp_path, capsys
):
    folder = assets.asset_path(assets.MINILM, assets.MINILM_DIR)
    reference = np.load(os.path.join(HF, "minilm_sentence_embeddings.npz"))
    path = _export(folder, tmp_path, "minilm", capsys)
    out = _serve(path, [str(s) for s in reference["sentences"]])
    assert sorted(out) == ["embedding"]
    vectors = np.asarray(out["embedding"])
    assert np.abs(vectors - reference["embeddings"]).max() < 1e-5
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=-1), 1, atol=1e-5)
