"""The export as TF Serving sees it: a process without this package.

One fresh interpreter, which imports only `tensorflow`, `tensorflow_text`
and numpy (not this package, not pytest), checks every op of the exported
graphs (functions included) against TensorFlow's op registry, then imports
`tensorflow_text` and checks the rest, then loads the exports and runs them
on raw text at two batch sizes. Its outputs must equal the Keras models'
(within 1e-5): a bare encoder, and a classifier fine-tuned with
`keras-bert-impl finetune` and exported with `keras-bert-impl export`
(issue 7's "done when"), whose labels must be the Keras model's.
"""

import json
import os
import subprocess

import numpy as np
import pytest

from keras_bert_impl.export import graph_ops
from tests.export.conftest import SENTIMENT_LABELS
from tests.export.conftest import TEXTS
from tests.export.conftest import keras_outputs
from tests.export.conftest import run_python

BATCHES = (1, 5)

FRESH = r"""
import json
import sys

import numpy as np
import tensorflow as tf
from tensorflow.core.protobuf import saved_model_pb2
from tensorflow.python.framework import op_def_registry

cases = json.loads(sys.argv[1])
reference = np.load(sys.argv[2])
op_only_paths = json.loads(sys.argv[3])


def graph_ops(path):
    with open(path + "/saved_model.pb", "rb") as f:
        saved = saved_model_pb2.SavedModel.FromString(f.read())
    ops = set()
    for meta in saved.meta_graphs:
        functions = {f.signature.name for f in meta.graph_def.library.function}
        nodes = list(meta.graph_def.node)
        for f in meta.graph_def.library.function:
            nodes.extend(f.node_def)
        ops |= {n.op for n in nodes if n.op not in functions}
    return ops


paths = [c["path"] for c in cases] + op_only_paths
ops = set().union(*(graph_ops(p) for p in paths))
core = {op for op in ops if op_def_registry.get(op) is not None}
import tensorflow_text  # noqa: E402,F401

text = {op for op in ops - core if op_def_registry.get(op) is not None}
report = {
    "core": sorted(core),
    "text": sorted(text),
    "unregistered": sorted(ops - core - text),
    "diffs": {},
}
for case in cases:
    serve = tf.saved_model.load(case["path"]).signatures["serving_default"]
    for batch in case["batches"]:
        key = f"{case['name']}_{batch}"
        inputs = {
            name: tf.constant(list(values))
            for name, values in case["inputs"][str(batch)].items()
        }
        out = serve(**inputs)
        for name in case["compare"]:
            got = out[name].numpy()
            want = reference[f"{key}_{name}"]
            if got.dtype == object:
                report["diffs"][f"{key}_{name}"] = float(
                    got.astype(str).tolist() != want.astype(str).tolist()
                )
            else:
                if got.ndim == 3:  # sequence output: real tokens only
                    mask = reference[f"{key}_mask"][:, : got.shape[1], None]
                    got, want = got * mask, want[:, : got.shape[1]] * mask
                report["diffs"][f"{key}_{name}"] = float(
                    np.abs(got - want).max()
                )
report["loads"] = [  # every kind of model loads here too
    "serving_default" in tf.saved_model.load(p).signatures
    for p in op_only_paths
]
report["modules"] = sorted(
    m
    for m in sys.modules
    if m.split(".")[0] in ("keras_bert_impl", "tests", "pytest", "_pytest")
)
print(json.dumps(report))
"""


def _finetuned_texts(batch):
    """Raw text for the sentiment classifier: new sentences, an empty one
    and one longer than the model's 32 positions."""
    texts = [
        "a wonderful, moving film",
        "dull and lifeless, I fell asleep",
        "",
        "the plot makes no sense " * 8,
        "not bad at all",
    ]
    return texts[:batch]


def _cases(encoder_export, finetuned_export, tokenizer, tmp_path):
    import keras
    import tensorflow as tf

    from keras_bert_impl.tokenization.bert_tokenizer import BertTokenizer

    reference, cases = {}, []
    encoder, encoder_path = encoder_export
    run, classifier_path = finetuned_export
    classifier = keras.saving.load_model(run / "model.keras")
    assert tuple(classifier.label_names) == SENTIMENT_LABELS
    config = json.loads((run / "finetune_config.json").read_text())
    assert (config["run"]["train_examples"], config["run"]["total_steps"]) == (
        6,
        6,
    )
    run_tokenizer = BertTokenizer(
        run / "vocab.txt", lower_case=config["lower_case"]
    )
    length = classifier.encoder.max_sequence_length  # the export's length
    exports = (("encoder", encoder_path), ("classifier", classifier_path))
    for name, path in exports:
        case = {"name": name, "path": str(path), "batches": BATCHES}
        case["inputs"] = {}
        for batch in BATCHES:
            key = f"{name}_{batch}"
            if name == "encoder":
                texts = list(TEXTS * 2)[:batch]
                outputs, inputs = keras_outputs(encoder, tokenizer, texts)
                reference[f"{key}_pooled_output"] = outputs["pooled_output"]
                reference[f"{key}_sequence_output"] = outputs["sequence_output"]
                case["compare"] = ["pooled_output", "sequence_output"]
            else:
                texts = _finetuned_texts(batch)
                outputs, inputs = keras_outputs(
                    classifier, run_tokenizer, texts, length=length
                )
                probabilities = tf.nn.softmax(outputs["logits"]).numpy()
                labels = np.array(SENTIMENT_LABELS)[probabilities.argmax(-1)]
                reference[f"{key}_probabilities"] = probabilities
                reference[f"{key}_label"] = labels
                case["compare"] = ["probabilities", "label"]
            reference[f"{key}_mask"] = inputs["padding_mask"]
            case["inputs"][str(batch)] = {"text": texts}
        cases.append(case)
    npz = tmp_path / "reference.npz"
    np.savez(npz, **reference)
    return cases, npz


pytestmark = pytest.mark.large

KINDS = ("classifier", "regressor", "token_classifier",
         "question_answering", "multiple_choice")  # fmt: skip


def test_fresh_process_without_package(
    encoder_export, finetuned_export, task_export, tokenizer, tmp_path
):
    cases, npz = _cases(encoder_export, finetuned_export, tokenizer, tmp_path)
    # The op list covers every kind of model (the text-pair classifier
    # too); outputs are compared for the encoder and the fine-tuned
    # classifier.
    others = [str(task_export(kind)[1]) for kind in KINDS]
    report = json.loads(
        run_python(FRESH, json.dumps(cases), npz, json.dumps(others))
    )
    assert report["modules"] == []
    assert report["loads"] == [True] * len(KINDS)
    assert report["unregistered"] == []
    all_ops = set(report["core"]) | set(report["text"])
    assert not all_ops & set(graph_ops.PYTHON_OPS)
    assert report["text"] == sorted(graph_ops.TENSORFLOW_TEXT_OPS)
    assert len(report["diffs"]) == 2 * 2 * len(BATCHES)
    for key, diff in report["diffs"].items():
        assert diff <= 1e-5, (key, diff)


def test_saved_model_cli_lists_signatures(classifier_export):
    _, path = classifier_export
    cli = os.path.join(os.path.dirname(os.sys.executable), "saved_model_cli")
    out = subprocess.run(
        [cli, "show", "--dir", path, "--all"],
        capture_output=True,
        text=True,
        timeout=300,
        env=dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3"),
        check=True,
    ).stdout
    for signature in ("serving_default", "from_ids", "tokenize"):
        assert f"signature_def['{signature}']" in out
    for name in ("inputs['text']", "inputs['text_pair']", "inputs['token_ids']",
                 "outputs['probabilities']", "outputs['label']"):  # fmt: skip
        assert name in out
    assert "DT_STRING" in out and "DT_INT32" in out
