"""Fixtures of the training tests: a tiny corpus and run config."""

import pytest

from tests.conftest import TINY

SENTENCES = [
    "the quick brown fox jumps over the lazy dog.",
    "a lazy dog jumped over a brown fox!",
    "hello world, the cafe is jumping.",
    "the dog jumps. the fox jumped.",
    "a b c abc cab.",
    "hello quick world!",
]


def write_corpus(path, documents=6):
    """`documents` small documents, one sentence a line, blank-separated."""
    lines = []
    for d in range(documents):
        for i in range(4):
            lines.append(SENTENCES[(d + i) % len(SENTENCES)])
        lines.append("")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def tiny_run_config(tmp_path, **overrides):
    """A `PretrainingConfig` for the tiny model on the tiny corpus."""
    from keras_bert_impl.training.pretrain import PretrainingConfig

    corpus = write_corpus(tmp_path / "corpus.txt")
    fields = dict(
        vocab="tests/data/vocab/tiny.txt",
        train=[str(corpus)],
        validation=[str(corpus)],
        logdir=str(tmp_path / "run"),
        model=dict(TINY),
        steps=4,
        steps_per_epoch=2,
        batch_size=4,
        max_seq_length=8,
        max_predictions_per_seq=2,
        learning_rate=1e-3,
        warmup_steps=1,
        validation_steps=2,
        shuffle_buffer=None,
    )
    fields.pop("shuffle_buffer")
    fields.update(overrides)
    return PretrainingConfig(**fields)


@pytest.fixture
def tiny_run(tmp_path):
    return tiny_run_config(tmp_path)
