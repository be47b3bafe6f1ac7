"""Fixtures of the export tests: a tiny encoder, its tokenizer, exports.

Exports are session-scoped: each kind of model is exported once and the
tests read the same version directory.
"""

import os
import pathlib
import string
import subprocess
import sys

import keras
import numpy as np
import pytest

VOCAB = pathlib.Path(__file__).parents[1] / "data" / "vocab" / "tiny.txt"
REPO = pathlib.Path(__file__).parents[2]
LABELS = ("contradiction", "entailment", "neutral")  # sorted, as a label map
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


def spread(model, seed=0, scale=0.5):
    """Random weights of a wider spread than an initializer's.

    Fresh heads (truncated normal, stddev 0.02) give near-equal logits, so
    an argmax would hang on rounding; spread weights make every decision
    clear.
    """
    rng = np.random.default_rng(seed)
    for variable in model.weights:
        shape = tuple(variable.shape)
        if len(shape) >= 2:  # kernels and embeddings; not norms or biases
            variable.assign(rng.normal(0.0, scale, shape).astype("float32"))
    return model


def task_model(kind):
    """A real task model of `keras_bert_impl.models` on a tiny encoder.

    The classifier and the regressor take a text pair.
    """
    import keras_bert_impl.models as tasks

    encoder = tiny_encoder()
    model = {
        "classifier": lambda: tasks.BertClassifier(
            encoder, label_names=LABELS, text_pair=True
        ),
        "regressor": lambda: tasks.BertRegressor(encoder, text_pair=True),
        "token_classifier": lambda: tasks.BertTokenClassifier(
            encoder, label_names=TAGS
        ),
        "question_answering": lambda: tasks.BertQuestionAnswering(encoder),
        "multiple_choice": lambda: tasks.BertMultipleChoice(encoder),
    }[kind]()
    return spread(model)


@pytest.fixture(scope="session")
def task_export(tokenizer, export_root):
    """`task_export(kind) -> (model, path)`: each kind exported once, as
    `<kind>/1`, with detection from the class and warmup requests."""
    from keras_bert_impl.export import export_savedmodel

    cache = {}

    def get(kind):
        if kind not in cache:
            model = task_model(kind)
            # XLA where the numeric model changes shape (multiple choice's
            # 3-D inputs) or is compared in a fresh process; the decoding
            # tests of NER and QA skip the compile time.
            jit = kind not in ("token_classifier", "question_answering")
            path = export_savedmodel(
                model, tokenizer, export_root / kind / "1", jit_compile=jit
            )
            cache[kind] = (model, path)
        return cache[kind]

    return get


@pytest.fixture(scope="session")
def classifier_export(task_export):
    """`(model, path)`: a 3-class text-pair `BertClassifier`."""
    return task_export("classifier")


SENTIMENT = REPO / "tests" / "data" / "finetune" / "sentiment_train.tsv"
TINY_CHECKPOINT = REPO / "tests" / "data" / "tiny_bert_for_pretraining"
SENTIMENT_LABELS = ("neg", "pos")


def vocab64():
    """The 64 tokens of the tiny pretrained checkpoint's vocabulary: the
    special tokens, letters and `##` letters, a few words."""
    tokens = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", ".", ","]
    tokens += list(string.ascii_lowercase)
    tokens += ["##" + c for c in string.ascii_lowercase]
    tokens += ["the", "fox", "dog", "lazy", "brown"]
    return tokens


@pytest.fixture(scope="session")
def finetuned_export(tmp_path_factory):
    """`(run folder, export path)`: a classifier fine-tuned and exported
    the way a user does it.

    `keras-bert-impl finetune` starts from the tiny pretrained checkpoint
    (2 layers, hidden 16, 64 tokens) and fits 2 epochs on the six labelled
    sentences of `tests/data/finetune/sentiment_train.tsv` (labels neg /
    pos); `keras-bert-impl export`, in a new process, writes the run folder
    as `sentiment/1`.
    """
    from keras_bert_impl import cli

    root = tmp_path_factory.mktemp("finetuned")
    vocab = root / "vocab.txt"
    vocab.write_text("\n".join(vocab64()) + "\n")
    run = root / "run"
    code = cli.main(
        ["finetune", "--task", "classify", "--train", str(SENTIMENT),
         "--init", str(TINY_CHECKPOINT), "--vocab", str(vocab),
         "--output", str(run), "--epochs", "2", "--batch-size", "2",
         "--learning-rate", "1e-3", "--max-seq-length", "32", "--seed", "3",
         "--no-jit", "--quiet"]
    )  # fmt: skip
    assert code == 0
    # Export in a new process, as a user does after training: the run
    # folder alone must be enough (no class registered by the training).
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3")
    export = subprocess.run(
        [sys.executable, "-m", "keras_bert_impl.cli", "export",
         "--model", str(run), "--name", "sentiment",
         "--root", str(root / "savedmodels")],
        capture_output=True, text=True, timeout=600, env=env,
    )  # fmt: skip
    assert export.returncode == 0, export.stderr
    return run, str(root / "savedmodels" / "sentiment" / "1")


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
