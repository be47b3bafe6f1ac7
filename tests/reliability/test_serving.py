"""Malformed and fuzzed requests to an export, as TF Serving would get them.

One fresh process with only tensorflow + tensorflow_text (the server's
view) loads a classifier and a multiple-choice export and, for every
signature, sends requests of every wrong rank and dtype: each must fail
with an error (never crash the process), and the next valid request must
still give the right outputs. Fuzzed text (random code points from every
script, controls, invalid UTF-8, huge words and lines) goes through the
in-graph tokenizer here and through the export there.
"""

import json
import random

import numpy as np
import pytest

import keras_bert_impl as kbi
from tests.export.conftest import run_python
from tests.reliability.conftest import TINY
from tests.reliability.conftest import TINY_VOCAB

VALID = ["the quick brown fox", "hello world"]


def fuzz_texts(n=120, seed=0):
    """Random strings: every script, controls, combining marks, emoji,
    private use, noncharacters, huge words, invalid UTF-8 bytes."""
    rng = random.Random(seed)
    ranges = [(0x20, 0x7E), (0x0, 0x1F), (0x80, 0x24F), (0x300, 0x36F),
              (0x370, 0x3FF), (0x400, 0x4FF), (0x590, 0x6FF), (0x900, 0x97F),
              (0x3040, 0x30FF), (0x4E00, 0x9FFF), (0xAC00, 0xD7A3),
              (0xE000, 0xF8FF), (0xFDD0, 0xFDEF), (0x1F300, 0x1FAFF),
              (0x20000, 0x2A6DF), (0x10FFF0, 0x10FFFD)]  # fmt: skip
    out = []
    for i in range(n):
        length = rng.choice([0, 1, 5, 40, 300, 3000])
        chars = []
        for _ in range(length):
            lo, hi = rng.choice(ranges)
            chars.append(chr(rng.randint(lo, hi)))
        text = "".join(chars).encode("utf-8", "surrogatepass")
        if i % 7 == 0:  # invalid UTF-8 bytes inside
            cut = rng.randint(0, len(text))
            text = text[:cut] + bytes([rng.choice([0x80, 0xC0, 0xFF, 0xFE])])
            text += text[cut:]
        if i % 11 == 0:
            text = b"a" * rng.choice([99, 100, 101, 5000])  # long words
        out.append(text)
    return out


@pytest.fixture(scope="module")
def exports(tmp_path_factory):
    root = tmp_path_factory.mktemp("serving")
    tokenizer = kbi.BertTokenizer(TINY_VOCAB)
    encoder = kbi.build_encoder(kbi.BertConfig(**TINY))
    classifier = kbi.BertClassifier(encoder, label_names=["neg", "pos"])
    choice = kbi.BertMultipleChoice(
        kbi.build_encoder(kbi.BertConfig(**TINY)), num_choices=None
    )
    paths = {}
    for name, model in (("classifier", classifier), ("choice", choice)):
        paths[name] = kbi.export_savedmodel(
            model, tokenizer, root / name / "1", jit_compile=False,
            warmup=False,
        )  # fmt: skip
    expected = np.asarray(
        classifier(tokenizer.encode(VALID, max_length=32), training=False)
    )
    return {"paths": paths, "expected": expected, "root": root}


SERVER = r"""
import json, sys
import numpy as np
import tensorflow as tf
import tensorflow_text  # noqa: F401  (the server's ops, not the package)

paths, expected = json.loads(sys.argv[1]), np.load(sys.argv[2])
VALID = ["the quick brown fox", "hello world"]
report = {"errors": {}, "valid_after": [], "fuzz": None}

def check_valid(classifier):
    out = classifier.signatures["serving_default"](text=tf.constant(VALID))
    diff = float(np.abs(out["logits"].numpy() - expected).max())
    report["valid_after"].append(diff)

classifier = tf.saved_model.load(paths["classifier"])
choice = tf.saved_model.load(paths["choice"])
bad_text = {
    "scalar": tf.constant("hello"),
    "rank2": tf.constant([["bad", "good film"]]),
    "rank3": tf.constant([[["a"]]]),
    "int": tf.constant([1, 2]),
    "float": tf.constant([1.5]),
}
bad_ids = {
    "scalar": tf.constant(3),
    "rank1": tf.constant([2, 5, 3]),
    "rank3": tf.constant([[[2, 5, 3]]]),
    "string": tf.constant([["a"]]),
    "float": tf.constant([[1.0]]),
}
cases = []
for name in ("serving_default", "tokenize"):
    for kind, value in bad_text.items():
        cases.append((f"classifier/{name}/{kind}", classifier, name,
                      {"text": value}))
for kind, value in bad_ids.items():
    good = tf.constant([[2, 5, 3]])
    cases.append((f"classifier/from_ids/{kind}", classifier, "from_ids",
                  {"token_ids": value, "segment_ids": tf.zeros_like(good),
                   "padding_mask": tf.ones_like(good)}))
for kind, value in {"scalar": tf.constant("x"), "rank1": tf.constant(["a"]),
                    "rank3": tf.constant([[["a"]]]),
                    "int": tf.constant([[1]])}.items():
    cases.append((f"choice/serving_default/choices-{kind}", choice,
                  "serving_default",
                  {"text": tf.constant(["the fox"]), "choices": value}))
cases.append(("choice/serving_default/batch-mismatch", choice,
              "serving_default", {"text": tf.constant(["a", "b"]),
                                  "choices": tf.constant([["a", "b"]])}))
for case, model, name, inputs in cases:
    try:
        model.signatures[name](**inputs)
        report["errors"][case] = None
    except Exception as e:
        report["errors"][case] = type(e).__name__
    check_valid(classifier)
with open(sys.argv[3]) as f:
    fuzz = [bytes.fromhex(h) for h in json.load(f)]
out = classifier.signatures["serving_default"](text=tf.constant(fuzz))
probs = out["probabilities"].numpy()
report["fuzz"] = {"rows": len(probs),
                  "sums": float(np.abs(probs.sum(-1) - 1).max())}
check_valid(classifier)
print(json.dumps(report))
"""


@pytest.mark.large
def test_malformed_requests_fail_and_the_server_goes_on(exports, tmp_path):
    np.save(tmp_path / "expected.npy", exports["expected"])
    fuzz = tmp_path / "fuzz.json"
    fuzz.write_text(json.dumps([t.hex() for t in fuzz_texts(60)]))
    report = json.loads(
        run_python(
            SERVER,
            json.dumps(exports["paths"]),
            tmp_path / "expected.npy",
            fuzz,
        ).splitlines()[-1]
    )
    errors = report["errors"]
    assert len(errors) == 2 * 5 + 5 + 4 + 1
    accepted = [case for case, error in errors.items() if error is None]
    assert accepted == [], accepted  # every malformed request is refused
    assert set(errors.values()) <= {"InvalidArgumentError", "TypeError",
                                    "ValueError"}  # fmt: skip
    # After each refused request the same process answers a valid one
    # with the right numbers.
    assert len(report["valid_after"]) == len(errors) + 1
    assert max(report["valid_after"]) < 1e-5
    assert report["fuzz"]["rows"] == 60 and report["fuzz"]["sums"] < 1e-5


def test_fuzzed_text_through_the_tokenizer():
    """Every fuzzed string tokenizes and packs: ids in the vocabulary,
    [CLS] first, a [SEP] closing each row, no crash."""
    tokenizer = kbi.BertTokenizer(TINY_VOCAB)
    texts = fuzz_texts(200, seed=1)
    ids = tokenizer.tokenize(texts)
    flat = ids.flat_values.numpy()
    assert ids.nrows() == len(texts)
    assert ((flat >= 0) & (flat < tokenizer.vocabulary_size)).all()
    _, start, end = tokenizer.tokenize_with_offsets(texts)
    assert (start.flat_values.numpy() <= end.flat_values.numpy()).all()
    packed = tokenizer.encode(texts, texts[::-1], max_length=24)
    token_ids = packed["token_ids"].numpy()
    assert token_ids.shape == (200, 24)
    assert (token_ids[:, 0] == tokenizer.cls_id).all()
    lengths = packed["padding_mask"].numpy().sum(1)
    assert (token_ids[np.arange(200), lengths - 1] == tokenizer.sep_id).all()
