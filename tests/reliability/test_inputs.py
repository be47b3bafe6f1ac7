"""Bad input, as a skeptical user brings it: one clear line, nothing lost.

Each row runs a command of the CLI in this process (`cli.main`, stderr
captured at the file-descriptor level) on a broken file or argument: the
exit status is 2 (a user's mistake), stderr is one line naming the
offending file, line or flag, and the files the user already had are as
they were. Rows marked "works" are inputs that once crashed and now run.
"""

import json
import os
import shutil
import struct

import pytest

from keras_bert_impl import cli
from tests.reliability.conftest import TINY_VOCAB
from tests.reliability.conftest import finetune_args
from tests.reliability.conftest import one_error_line
from tests.reliability.conftest import pretrain_args
from tests.reliability.conftest import write_corpus


def _main(argv, capfd):
    try:
        code = cli.main([str(a) for a in argv])
    except SystemExit as e:  # argparse
        code = e.code
    out, err = capfd.readouterr()
    return code, out, err


def _files(folder):
    """Relative path -> bytes of every file under `folder`."""
    found = {}
    for base, _, names in os.walk(folder):
        for name in names:
            path = os.path.join(base, name)
            with open(path, "rb") as f:
                found[os.path.relpath(path, folder)] = f.read()
    return found


# -- each builder makes the broken input in `root`; returns argv pieces ------


def _vocab_missing_special(ws, root):
    path = root / "vocab.txt"
    path.write_text("[PAD]\n[UNK]\n[CLS]\n[SEP]\nhello\n")
    return pretrain_args(ws, root / "run", vocab=path), ["vocab.txt", "[MASK]"]


def _vocab_not_utf8(ws, root):
    path = root / "vocab.txt"
    with open(TINY_VOCAB, "rb") as f:
        lines = f.read().split(b"\n")
    lines[7] = b"caf\xe9"
    path.write_bytes(b"\n".join(lines))
    return pretrain_args(ws, root / "run", vocab=path), ["vocab.txt", "line 8"]


def _vocab_wrong_size_for_checkpoint(ws, root):
    path = root / "vocab.txt"
    with open(TINY_VOCAB, encoding="utf-8") as f:
        path.write_text(f.read() + "extra\n", encoding="utf-8")
    args = finetune_args(ws, root / "out", vocab=path)
    return args, ["33 tokens", "vocabulary_size=32"]


def _corpus_empty(ws, root):
    corpus = root / "empty.txt"
    corpus.write_text("\n\n")
    args = pretrain_args(ws, root / "run")
    args[args.index(ws["corpus"])] = str(corpus)
    return args, ["empty"]


def _corpus_one_document(ws, root):
    corpus = root / "one.txt"
    corpus.write_text("the fox jumps.\nthe dog.\n")
    args = pretrain_args(ws, root / "run")
    args[args.index(ws["corpus"])] = str(corpus)
    return args, ["single document"]


def _corpus_not_utf8_late(ws, root):
    corpus = write_corpus(root / "late.txt", bad_line=1362)
    args = pretrain_args(ws, root / "run")
    args[args.index(ws["corpus"])] = corpus
    return args, ["late.txt:1362", "UTF-8", "--encoding-errors replace"]


def _corpus_bad_json(ws, root):
    corpus = root / "c.jsonl"
    lines = [json.dumps({"text": "the fox jumps. the dog."})] * 30
    lines[20] = '{"text": "unterminated'
    corpus.write_text("\n".join(lines) + "\n")
    args = pretrain_args(ws, root / "run")
    args[args.index(ws["corpus"])] = str(corpus)
    return args, ["c.jsonl:21", "JSON"]


def _csv_missing_label_column(ws, root):
    path = root / "t.csv"
    path.write_text("sentiment,text\npos,the fox\n")
    args = finetune_args(ws, root / "out")
    args[args.index(ws["csv"])] = str(path)
    return args, ["'label'", "t.csv", "--label-column"]


def _csv_ragged_row(ws, root):
    path = root / "t.csv"
    path.write_text("text,label\nthe fox,pos\nthe dog,neg,extra\n")
    args = finetune_args(ws, root / "out")
    args[args.index(ws["csv"])] = str(path)
    return args, ["t.csv:3", "3 columns"]


def _safetensors_truncated(ws, root):
    folder = root / "ckpt"
    shutil.copytree(ws["checkpoint"], folder)
    weights = folder / "model.safetensors"
    weights.write_bytes(weights.read_bytes()[:5000])
    return ["convert", "--input", folder, "--output", root / "o", "--format",
            "tf1"], ["model.safetensors", "truncated"]  # fmt: skip


def _safetensors_huge_header(ws, root):
    folder = root / "ckpt"
    shutil.copytree(ws["checkpoint"], folder)
    weights = folder / "model.safetensors"
    data = weights.read_bytes()
    weights.write_bytes(struct.pack("<Q", 1 << 40) + data[8:])
    return ["embed", "--checkpoint", folder, "hello"], [
        "model.safetensors",
        "truncated or corrupt",
    ]


def _tf1_data_truncated(ws, root):
    import keras_bert_impl as kbi

    encoder, _ = kbi.load_checkpoint(ws["checkpoint"])
    folder = kbi.save_checkpoint(
        encoder, root / "tf1", format="tf1", vocab=TINY_VOCAB
    )
    data = folder / "bert_model.ckpt.data-00000-of-00001"
    data.write_bytes(data.read_bytes()[:1000])
    return ["convert", "--input", folder, "--output", root / "o", "--format",
            "hf"], ["bert_model.ckpt", "truncated"]  # fmt: skip


def _export_name_escapes_root(ws, root):
    return ["export", "--model", ws["checkpoint"], "--name", "../../escape",
            "--root", root / "sm"], ["--name", "'../../escape'"]  # fmt: skip


def _option_of_another_task(ws, root):
    args = finetune_args(ws, root / "out", "--doc-stride", "64")
    return args, ["--doc-stride", "--task squad"]


def _output_is_a_file(ws, root):
    (root / "out").write_text("not a folder")
    return finetune_args(ws, root / "out" / "run"), ["out", "is a file"]


def _output_under_proc(ws, root):
    return ["vocab", "--input", ws["corpus"], "--vocab-size", "100",
            "--output", "/proc/vocab.txt"], ["/proc/vocab.txt"]  # fmt: skip


ROWS = {
    "vocab-missing-special-token": _vocab_missing_special,
    "vocab-not-utf8": _vocab_not_utf8,
    "vocab-wrong-size-for-checkpoint": _vocab_wrong_size_for_checkpoint,
    "corpus-empty": _corpus_empty,
    "corpus-one-document": _corpus_one_document,
    "corpus-not-utf8-on-line-1362": _corpus_not_utf8_late,
    "corpus-bad-json-line": _corpus_bad_json,
    "csv-missing-label-column": _csv_missing_label_column,
    "csv-ragged-row": _csv_ragged_row,
    "checkpoint-truncated-safetensors": _safetensors_truncated,
    "checkpoint-safetensors-huge-header": _safetensors_huge_header,
    "checkpoint-truncated-tf1-data": _tf1_data_truncated,
    "argument-export-name-escapes-root": _export_name_escapes_root,
    "argument-option-of-another-task": _option_of_another_task,
    "output-is-a-file": _output_is_a_file,
    "output-in-proc": _output_under_proc,
}


@pytest.mark.parametrize("case", list(ROWS))
def test_bad_input_is_one_clear_line_and_nothing_is_lost(
    case, workspace, tmp_path, capfd
):
    argv, pieces = ROWS[case](workspace, tmp_path)
    before = _files(workspace["root"])
    code, out, err = _main(argv, capfd)
    assert code == 2, (code, out[-2000:], err[-2000:])
    line = one_error_line(err)
    assert line.startswith("keras-bert-impl "), line
    for piece in pieces:
        assert piece in line, (piece, line)
    assert "Traceback" not in err
    assert _files(workspace["root"]) == before  # the user's files as they were
    assert not (tmp_path / "escape").exists()
    leftovers = [n for n in os.listdir(tmp_path) if ".partial-" in n]
    assert leftovers == []


def test_csv_field_over_128_kb_is_read(tmp_path):
    """Python's csv refuses fields over 128 KB by default; a long document
    in one cell is valid input."""
    from keras_bert_impl.data.classification import read_classification

    long_text = "the fox jumps. " * 20_000  # 300 KB
    path = tmp_path / "long.csv"
    path.write_text(f'text,label\n"{long_text}",pos\nthe dog,neg\n')
    examples = read_classification(str(path))
    assert len(examples.texts[0]) == len(long_text)
    assert examples.labels == ["pos", "neg"]


def test_vocab_checks_its_output_before_learning(workspace, tmp_path, capfd):
    """`vocab --output` under a file fails at once, not after learning."""
    import time

    (tmp_path / "f").write_text("x")
    start = time.monotonic()
    code, _, err = _main(
        ["vocab", "--input", workspace["corpus"], "--vocab-size", "100",
         "--output", tmp_path / "f" / "vocab.txt", "--quiet"],
        capfd,
    )  # fmt: skip
    assert code == 2 and "is a file" in one_error_line(err)
    assert time.monotonic() - start < 5


def test_fit_prints_no_shuffle_warning(workspace, tmp_path, recwarn):
    """`fit` on our tf.data streams is called with shuffle=False: no
    "`shuffle=True` was passed, but will be ignored" warning."""
    import keras_bert_impl as kbi

    config = kbi.FinetuneConfig(
        task="classify", init=workspace["checkpoint"],
        train=[workspace["csv"]], epochs=1, batch_size=8,
        max_seq_length=16, jit_compile=False,
    )  # fmt: skip
    kbi.run_finetuning(config, tmp_path / "run", verbose=0)
    assert not [w for w in recwarn if "shuffle" in str(w.message)]


def test_hints_name_cli_flags(tmp_path):
    """Messages a CLI user reads name the flag, not only the Python
    argument."""
    from keras_bert_impl.data.corpus import validate_corpus

    corpus = write_corpus(tmp_path / "c.txt", bad_line=5)
    with pytest.raises(ValueError, match="--encoding-errors replace"):
        validate_corpus([corpus])
    path = tmp_path / "t.csv"
    path.write_text("sentiment,text\npos,the fox\n")
    from keras_bert_impl.data.classification import read_classification

    with pytest.raises(ValueError, match="--label-column"):
        read_classification(str(path))
