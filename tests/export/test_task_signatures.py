"""`serving_default` of every task model: NER spans, QA answers, choices,
regression scores.

The real task models (`keras_bert_impl.models`, on a tiny encoder
with spread weights) are exported with their kind detected from the class;
the decoded outputs are checked against the Keras model's outputs on
`BertTokenizer.encode` inputs, decoded in NumPy.
"""

import numpy as np
import pytest
import tensorflow as tf
import tensorflow_text  # noqa: F401

from keras_bert_impl.export.tasks import detect_task
from tests.export.conftest import MAX_LENGTH
from tests.export.conftest import TAGS
from tests.export.conftest import TEXTS
from tests.export.conftest import task_model
from tests.export.conftest import tiny_encoder

pytestmark = pytest.mark.large


def _signatures(task_export, kind):
    model, path = task_export(kind)
    return model, tf.saved_model.load(path).signatures


def test_token_classifier_labels_with_character_spans(task_export, tokenizer):
    model, signatures = _signatures(task_export, "token_classifier")
    texts = list(TEXTS)
    out = signatures["serving_default"](text=tf.constant(texts))
    out = {k: v.numpy() for k, v in out.items()}
    encoded = tokenizer.encode(texts, max_length=MAX_LENGTH)
    logits = np.asarray(model(encoded, training=False))
    ids, _, _ = tokenizer.tokenize_with_offsets(texts)
    for row, text in enumerate(texts):
        n = min(len(ids[row]), MAX_LENGTH - 2)  # [CLS] ... [SEP]
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
        assert (out["label_ids"][row, n:] == -1).all()
    assert len(set(out["label_ids"][0, :9].tolist())) > 1  # not constant
    assert out["tokens"][0, :3].tolist() == [b"The", b"quick", b"brown"]
    assert out["tokens"][3, 0].decode() == "Café"
    assert out["labels"].shape[1] == 0 or not out["token_mask"][1].any()


def test_question_answering_answer_text_and_span(task_export, tokenizer):
    model, signatures = _signatures(task_export, "question_answering")
    questions = ["which fox?", "", "a", "hello"]
    contexts = [
        "The quick brown fox jumped over the lazy dog.",
        "",
        TEXTS[4],
        "Café unaffing zebra, a b c?",
    ]
    out = signatures["serving_default"](
        question=tf.constant(questions), context=tf.constant(contexts)
    )
    out = {k: v.numpy() for k, v in out.items()}
    encoded = tokenizer.encode(questions, contexts, max_length=MAX_LENGTH)
    logits = model(encoded, training=False)
    start_logits = np.asarray(logits["start_logits"])
    end_logits = np.asarray(logits["end_logits"])
    _, starts, ends = tokenizer.tokenize_with_offsets(contexts)
    for row, context in enumerate(contexts):
        segment = encoded["segment_ids"][row].numpy()
        mask = encoded["padding_mask"][row].numpy()
        # Context tokens: segment 1, real, not the final [SEP].
        where = np.flatnonzero((segment == 1) & (mask == 1))[:-1]
        answer = out["answer"][row].decode()
        null = start_logits[row, 0] + end_logits[row, 0]
        np.testing.assert_allclose(out["null_score"][row], null, atol=1e-5)
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


def test_multiple_choice_picks_a_choice(task_export, tokenizer):
    model, signatures = _signatures(task_export, "multiple_choice")
    serve = signatures["serving_default"]
    text = ["the fox jumped over", "hello", ""]
    choices = [["the dog", "a cafe", ""], ["world", "b", "c c"],
               ["", "fox", " ".join(["dog"] * 30)]]  # fmt: skip
    for rows in (1, 3):  # two batch sizes
        out = serve(text=tf.constant(text[:rows]),
                    choices=tf.constant(choices[:rows]))  # fmt: skip
        flat_text = [t for t in text[:rows] for _ in range(3)]
        flat_choices = [c for row in choices[:rows] for c in row]
        encoded = tokenizer.encode(flat_text, flat_choices, MAX_LENGTH)
        encoded = {
            k: tf.reshape(v, (rows, 3, MAX_LENGTH)) for k, v in encoded.items()
        }
        logits = np.asarray(model(encoded, training=False))
        probabilities = tf.nn.softmax(logits).numpy()
        np.testing.assert_allclose(out["logits"], logits, atol=1e-5)
        np.testing.assert_allclose(out["probabilities"], probabilities, 1e-5)
        best = probabilities.argmax(-1)
        assert out["choice"].numpy().tolist() == best.tolist()
        assert [a.decode() for a in out["answer"].numpy()] == [
            choices[i][b] for i, b in enumerate(best)
        ]
    assert len(set(logits[2].round(4).tolist())) == 3  # distinct choices
    ids_out = signatures["from_ids"](**encoded)
    np.testing.assert_allclose(ids_out["logits"], logits, atol=1e-5)
    # Any number of choices; batch sizes must agree.
    out = serve(text=tf.constant(["a"]), choices=tf.constant([["a", "b"]]))
    assert out["probabilities"].shape == (1, 2)
    with pytest.raises(tf.errors.InvalidArgumentError, match="same batch"):
        serve(text=tf.constant(["a", "b"] * 10),
              choices=tf.constant([["a", "b"]]))  # fmt: skip


def test_regressor_scores(task_export, tokenizer):
    model, signatures = _signatures(task_export, "regressor")
    texts, pairs = list(TEXTS), list(reversed(TEXTS))
    out = signatures["serving_default"](
        text=tf.constant(texts), text_pair=tf.constant(pairs)
    )
    assert sorted(out) == ["score"]
    expected = np.asarray(
        model(tokenizer.encode(texts, pairs, MAX_LENGTH), training=False)
    )
    assert expected.shape == (len(texts), 1)
    np.testing.assert_allclose(out["score"], expected[:, 0], atol=1e-5)
    assert np.ptp(expected) > 1e-3  # inputs give different scores
    ids = signatures["tokenize"](
        text=tf.constant(texts), text_pair=tf.constant(pairs)
    )
    from_ids = signatures["from_ids"](**ids)
    np.testing.assert_allclose(from_ids["score"], expected[:, 0], atol=1e-5)


def test_mismatched_batches_are_rejected_not_crashing(task_export):
    # tensorflow-text's RoundRobinTrim reads out of bounds on segments with
    # different row counts (garbage ids, or a segfault that takes the whole
    # server down); the serving graph checks first.
    _, signatures = _signatures(task_export, "question_answering")
    with pytest.raises(tf.errors.InvalidArgumentError, match="same batch size"):
        signatures["serving_default"](
            question=tf.constant(["a", "b", "c"] * 20),
            context=tf.constant(["the fox"]),
        )


def test_detect_task_from_the_class():
    import keras

    import keras_bert_impl.models as tasks

    model = keras.Sequential([keras.layers.Dense(2)])
    with pytest.raises(ValueError, match="pass `task=`"):
        detect_task(model)
    assert detect_task(tiny_encoder()).kind == "encoder"
    for kind in ("classifier", "regressor", "token_classifier",
                 "question_answering", "multiple_choice"):  # fmt: skip
        assert detect_task(task_model(kind)).kind == kind
    classifier = detect_task(task_model("classifier"))
    assert classifier.text_pair and classifier.label_names[0] == "contradiction"
    four = detect_task(tasks.BertMultipleChoice(tiny_encoder(), num_choices=4))
    assert four.num_choices == 4
    assert four.text_inputs["choices"].shape.as_list() == [None, 4]
    assert four.ids_shape == [None, 4, None]
    with pytest.raises(ValueError, match="one score per input"):
        detect_task(task_model("classifier"), task="regressor")
