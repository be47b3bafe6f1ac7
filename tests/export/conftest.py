"""Fixtures of the export tests: a tiny encoder, its tokenizer, exports.

Exports are session-scoped: each kind of model is exported once and the
tests read the same version directory.
"""

import os
import pathlib
import subprocess
import sys

import keras
import numpy as np
import pytest

VOCAB = pathlib.Path(__file__).parents[1] / "data" / "vocab" / "tiny.txt"
REPO = pathlib.Path(__file__).parents[2]
LABELS = ("negative", "neutral", "positive")
TAGS = ("O", "B-ANIMAL", "I-ANIMAL")
# Texts over the tiny vocabulary: words, continuations, unknown words,
# punctuation, an empty string and one longer than the model's length.
TEXTS = (
    "The quick brown fox jumped over the lazy dog!",
    "",
    "hello world",
    "Café unaffing zebra, a b c?",
    " ".join(["fox"] * 40),
)
MAX_LENGTH = 16


def tiny_encoder():
    from keras_bert_impl import BertConfig
    from keras_bert_impl import build_encoder

    keras.utils.set_random_seed(7)
    return build_encoder(
        BertConfig(
            vocabulary_size=32,
            hidden_dim=16,
            num_layers=1,
            num_heads=2,
            intermediate_dim=32,
            max_sequence_length=MAX_LENGTH,
        )
    )


@pytest.fixture(scope="session")
def tokenizer():
    from keras_bert_impl.tokenization.bert_tokenizer import BertTokenizer

    return BertTokenizer(VOCAB, lower_case=True)


@pytest.fixture(scope="session")
def export_root(tmp_path_factory):
    return tmp_path_factory.mktemp("savedmodels")


@pytest.fixture(scope="session")
def encoder_export(tokenizer, export_root):
    """`(encoder, path)`: a bare encoder exported as `encoder/1`."""
    from keras_bert_impl.export import export_savedmodel

    encoder = tiny_encoder()
    path = export_savedmodel(encoder, tokenizer, export_root / "encoder" / "1")
    return encoder, path


@pytest.fixture(scope="session")
def classifier_export(tokenizer, export_root):
    """`(model, path)`: a 3-class text-pair classifier as `classifier/1`."""
    from keras_bert_impl.export import export_savedmodel
    from tests.export import toy_models

    model = toy_models.classifier(tiny_encoder(), len(LABELS))
    path = export_savedmodel(
        model,
        tokenizer,
        export_root / "classifier" / "1",
        task="classifier",
        label_names=LABELS,
        text_pair=True,
    )
    return model, path


def keras_outputs(model, tokenizer, texts, pairs=None, length=MAX_LENGTH):
    """The Keras model's outputs on `BertTokenizer.encode` inputs (numpy)."""
    inputs = tokenizer.encode(list(texts), pairs, max_length=length)
    outputs = model(inputs, training=False)
    if not isinstance(outputs, dict):
        outputs = {"logits": outputs}
    return {k: np.asarray(v) for k, v in outputs.items()}, {
        k: v.numpy() for k, v in inputs.items()
    }


def run_python(code, *args, timeout=300):
    """Runs `code` in a fresh interpreter; returns its stdout."""
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3")
    env.pop("PYTHONPATH", None)  # the fresh process must not see the repo
    result = subprocess.run(
        [sys.executable, "-c", code, *map(str, args)],
        capture_output=True,
        text=True,
        timeout=timeout,
        env=env,
        cwd="/",
    )
    if result.returncode != 0:
        raise AssertionError(f"subprocess failed:\n{result.stderr[-3000:]}")
    return result.stdout
