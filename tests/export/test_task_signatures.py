"""`serving_default` of every kind of head: NER spans, QA answers, choices.

Toy heads (`toy_models.py`) stand in for the task models; the decoded
outputs are checked against the Keras model's logits decoded in NumPy.
"""

import numpy as np
import pytest
import tensorflow as tf

from keras_bert_impl.export import export_savedmodel
from keras_bert_impl.export.tasks import detect_task
from tests.export import toy_models
from tests.export.conftest import TAGS
from tests.export.conftest import TEXTS
from tests.export.conftest import tiny_encoder

pytestmark = pytest.mark.large


def _export(model, tokenizer, tmp_path, **kwargs):
    path = export_savedmodel(model, tokenizer, tmp_path / "m" / "1",
                             warmup=False, **kwargs)  # fmt: skip
    return tf.saved_model.load(path).signatures


def test_token_classifier_labels_with_character_spans(tokenizer, tmp_path):
    model = toy_models.token_classifier(tiny_encoder(), len(TAGS))
    serve = _export(model, tokenizer, tmp_path, task="token_classifier",
                    label_names=TAGS)["serving_default"]  # fmt: skip
    texts = list(TEXTS)
    out = {k: v.numpy() for k, v in serve(text=tf.constant(texts)).items()}
    encoded = tokenizer.encode(texts, max_length=16)
    logits = np.asarray(model(encoded))
    ids, _, _ = tokenizer.tokenize_with_offsets(texts)
    for row, text in enumerate(texts):
        n = min(len(ids[row]), 14)  # [CLS] + 14 tokens + [SEP] = 16
        assert out["token_mask"][row].sum() == n
        want = logits[row, 1 : 1 + n].argmax(-1)
        assert out["label_ids"][row, :n].tolist() == want.tolist()
        assert [b.decode() for b in out["labels"][row, :n]] == [
            TAGS[i] for i in want
        ]
        for j in range(n):
            start, end = out["start"][row, j], out["end"][row, j]
            assert out["tokens"][row, j].decode() == text[start:end]
        assert (out["labels"][row, n:] == b"").all()
    assert out["tokens"][0, :3].tolist() == [b"The", b"quick", b"brown"]
    assert out["tokens"][3, 0].decode() == "Café"


def test_question_answering_answer_text_and_span(tokenizer, tmp_path):
    model = toy_models.span_qa(tiny_encoder())
    serve = _export(model, tokenizer, tmp_path, task="question_answering")[
        "serving_default"
    ]
    questions = ["which fox?", "", "a"]
    contexts = ["The quick brown fox jumped over the lazy dog.", "", TEXTS[4]]
    out = serve(question=tf.constant(questions), context=tf.constant(contexts))
    out = {k: v.numpy() for k, v in out.items()}
    encoded = tokenizer.encode(questions, contexts, max_length=16)
    logits = model(encoded)
    start_logits = np.asarray(logits["start_logits"])
    end_logits = np.asarray(logits["end_logits"])
    _, starts, ends = tokenizer.tokenize_with_offsets(contexts)
    for row, context in enumerate(contexts):
        segment = encoded["segment_ids"][row].numpy()
        mask = encoded["padding_mask"][row].numpy()
        # Context tokens: segment 1, real, not the final [SEP].
        where = np.flatnonzero((segment == 1) & (mask == 1))[:-1]
        answer = out["answer"][row].decode()
        if len(where) == 0:
            assert answer == "" and out["start"][row] == out["end"][row] == 0
            continue
        best, span = -np.inf, None
        for a, i in enumerate(where):
            for b, j in enumerate(where[a : a + 30], start=a):
                score = start_logits[row, i] + end_logits[row, j]
                if score > best:
                    best, span = score, (a, b)
        start = int(starts[row][span[0]])
        end = int(ends[row][span[1]])
        assert (out["start"][row], out["end"][row]) == (start, end)
        assert answer == context[start:end]
        np.testing.assert_allclose(out["score"][row], best, atol=1e-5)


def test_multiple_choice_picks_a_choice(tokenizer, tmp_path):
    model = toy_models.MultipleChoice(tiny_encoder())
    ids = np.zeros((1, 2, 4), "int32")
    model({"token_ids": ids, "segment_ids": ids, "padding_mask": ids + 1})
    signatures = _export(model, tokenizer, tmp_path, task="multiple_choice")
    text = ["the fox jumped over", "hello"]
    choices = [["the dog", "a cafe", ""], ["world", "b", "c c"]]
    out = signatures["serving_default"](
        text=tf.constant(text), choices=tf.constant(choices)
    )
    flat_text = [t for t in text for _ in range(3)]
    flat_choices = [c for row in choices for c in row]
    encoded = tokenizer.encode(flat_text, flat_choices, max_length=16)
    encoded = {k: tf.reshape(v, (2, 3, 16)) for k, v in encoded.items()}
    logits = np.asarray(model(encoded))
    probabilities = tf.nn.softmax(logits).numpy()
    np.testing.assert_allclose(out["probabilities"], probabilities, atol=1e-5)
    best = probabilities.argmax(-1)
    assert out["choice"].numpy().tolist() == best.tolist()
    assert [a.decode() for a in out["answer"].numpy()] == [
        choices[i][b] for i, b in enumerate(best)
    ]
    ids_out = signatures["from_ids"](**encoded)
    np.testing.assert_allclose(ids_out["logits"], logits, atol=1e-5)


def test_detect_task_needs_a_known_model():
    import keras

    model = keras.Sequential([keras.layers.Dense(2)])
    with pytest.raises(ValueError, match="pass `task=`"):
        detect_task(model)
    assert detect_task(tiny_encoder()).kind == "encoder"


def test_mismatched_batches_are_rejected_not_crashing(tokenizer, tmp_path):
    # tensorflow-text's RoundRobinTrim reads out of bounds on segments with
    # different row counts; the serving graph must check first.
    model = toy_models.span_qa(tiny_encoder())
    serve = _export(model, tokenizer, tmp_path, task="question_answering")[
        "serving_default"
    ]
    with pytest.raises(tf.errors.InvalidArgumentError, match="same batch"):
        serve(
            question=tf.constant(["a", "b", "c"] * 20),
            context=tf.constant(["the fox"]),
        )
