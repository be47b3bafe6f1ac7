"""SQuAD reader, doc-stride windows, n-best decoding and the full path."""

import json

import numpy as np
import pytest
import tensorflow as tf

from keras_bert_impl import assets
from keras_bert_impl.data.squad import SquadExample
from keras_bert_impl.data.squad import decode_squad
from keras_bert_impl.data.squad import read_squad
from keras_bert_impl.data.squad import squad_dataset
from keras_bert_impl.data.squad import squad_windows
from keras_bert_impl.evaluation import squad_scores

SAMPLE = "tests/data/finetune/squad_v2_sample.json"
LONG = (
    "The committee met on Monday in the old town hall. The members talked "
    "about roads, schools, the budget for the coming year and the plans for "
    "a new library near the station. After a long debate the mayor, Greta "
    "Holm, announced that the library would open in the spring of 2031."
)


def _oracle_logits(windows):
    start = np.full(windows.token_ids.shape, -5.0, "float32")
    end = start.copy()
    rows = np.arange(len(windows))
    start[rows, windows.start_positions] += 10
    end[rows, windows.end_positions] += 10
    return start, end


def test_read_squad_v2_sample_and_allennlp_fixture():
    examples = read_squad(SAMPLE)
    assert [e.qid for e in examples] == ["kb1", "kb2", "kb3", "np1"]
    assert examples[0].answers == [("1931", 27), ("in 1931", 24)]
    assert examples[2].is_impossible and examples[2].answers == []
    path = assets.asset_path(
        assets.ALLENNLP, "allennlp/tests/fixtures/data/squad.json"
    )
    real = read_squad(str(path))
    assert len(real) == 5
    assert real[0].answers == [("Saint Bernadette Soubirous", 515)]


def test_read_squad_bad_answers(tmp_path):
    with open(SAMPLE) as f:
        data = json.load(f)
    data["data"][0]["paragraphs"][0]["qas"][1]["answers"][0][
        "answer_start"
    ] += 1
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(data))
    with pytest.raises(
        ValueError, match=r"bad\.json \(question id kb2\).*'Ada Lindqvist'"
    ):
        read_squad(str(path))
    skipped = read_squad(str(path), bad_answers="skip")
    assert [e.qid for e in skipped] == ["kb1", "kb3", "np1"]
    (tmp_path / "x.json").write_text('{"version": 1}')
    with pytest.raises(ValueError, match="'data' list"):
        read_squad(str(tmp_path / "x.json"))
    (tmp_path / "e.json").write_text('{"data": []}')
    with pytest.raises(ValueError, match="no questions"):
        read_squad(str(tmp_path / "e.json"))


def test_window_layout_and_labels(uncased_tokenizer):
    examples = read_squad(SAMPLE)
    w = squad_windows(
        examples, uncased_tokenizer, max_seq_length=64, max_query_length=16
    )
    assert len(w) == 4  # every context fits one window
    q = uncased_tokenizer.tokenize(examples[1].question).numpy().tolist()
    row = w.token_ids[1]
    assert row[0] == uncased_tokenizer.cls_id
    assert row[1 : len(q) + 1].tolist() == q
    assert row[len(q) + 1] == uncased_tokenizer.sep_id
    assert (w.segment_ids[1, : len(q) + 2] == 0).all()
    n = w.padding_mask[1].sum()
    assert (w.segment_ids[1, len(q) + 2 : n] == 1).all()
    assert row[n - 1] == uncased_tokenizer.sep_id
    # The labels point at the answer's tokens; offsets give its text back.
    s, e = w.start_positions[1], w.end_positions[1]
    context = examples[1].context
    assert context[w.char_start[1, s] : w.char_end[1, e]] == "Ada Lindqvist"
    text = uncased_tokenizer.detokenize(row[s : e + 1]).numpy().decode()
    assert text == "ada lindqvist"
    # Unanswerable: [CLS].
    assert (w.start_positions[2], w.end_positions[2]) == (0, 0)
    # Question and special tokens have no character offsets.
    assert (w.char_start[1, : len(q) + 2] == -1).all()
    assert w.char_start[1, n - 1] == -1


def test_long_context_answer_in_second_window(uncased_tokenizer):
    start = LONG.index("Greta Holm")
    example = SquadExample(
        "q", "Who is the mayor?", LONG, [("Greta Holm", start)]
    )
    w = squad_windows(
        [example], uncased_tokenizer, max_seq_length=32,
        max_query_length=8, doc_stride=16,
    )  # fmt: skip
    assert len(w) >= 3
    q = len(uncased_tokenizer.tokenize(example.question))
    context_tokens = len(uncased_tokenizer.tokenize(LONG))
    # Windows of 32 - q - 3 context tokens, 16 apart, cover the context.
    per_window = 32 - q - 3
    assert (w.padding_mask.sum(1)[:-1] == 32).all()
    assert len(w) == 1 + -(-(context_tokens - per_window) // 16)
    labelled = np.flatnonzero(w.start_positions)
    assert labelled[0] >= 1  # not in the first window
    assert w.start_positions[0] == 0 and w.end_positions[0] == 0
    for i in labelled:
        s, e = w.start_positions[i], w.end_positions[i]
        assert LONG[w.char_start[i, s] : w.char_end[i, e]] == "Greta Holm"
    # Every context token has max context in exactly one window.
    assert w.max_context.sum() == context_tokens
    starts, ends = _oracle_logits(w)
    predictions, _ = decode_squad([example], w, starts, ends)
    assert predictions == {"q": "Greta Holm"}


def _one_window(tokenizer):
    context = "Ada Lindqvist designed it in 1931 ."
    example = SquadExample("q", "who", context, [("Ada Lindqvist", 0)])
    w = squad_windows(
        [example], tokenizer, max_seq_length=16, max_query_length=4
    )
    # [CLS] who [SEP] ada lin ##dq ##vist designed it in 1931 . [SEP]
    return example, w


def test_decode_hand_computed(uncased_tokenizer):
    example, w = _one_window(uncased_tokenizer)
    tokens = [uncased_tokenizer.vocabulary[i] for i in w.token_ids[0]]
    first = tokens.index("ada")
    year = tokens.index("1931")
    start = np.zeros((1, 16), "float32")
    end = np.zeros((1, 16), "float32")
    # Question token "who" scores highest: never an answer.
    start[0, 1], end[0, 1] = 9.0, 9.0
    # Span ada..1931: 3 + 2 = 5; span 1931..1931: 2.5 + 2 = 4.5;
    # 1931 start with an end before it (ada) is excluded.
    start[0, first], start[0, year] = 3.0, 2.5
    end[0, year], end[0, first] = 2.0, 1.0
    predictions, nbest = decode_squad([example], w, start, end)
    assert predictions["q"] == "Ada Lindqvist designed it in 1931"
    texts = [t for t, _ in nbest["q"]]
    assert texts[:3] == ["Ada Lindqvist designed it in 1931", "1931", "Ada"]
    assert [s for _, s in nbest["q"]][:3] == [5.0, 4.5, 4.0]
    # max_answer_length 3: the long span (8 tokens) is out.
    predictions, _ = decode_squad([example], w, start, end, max_answer_length=3)
    assert predictions["q"] == "1931"
    # n_best_size 1: only the best start (ada) and end (1931) are tried.
    _, nbest = decode_squad([example], w, start, end, n_best_size=1)
    assert nbest["q"] == []  # the best start and end are "who"
    start[0, 1] = end[0, 1] = 0.0
    _, nbest = decode_squad([example], w, start, end, n_best_size=1)
    assert nbest["q"] == [("Ada Lindqvist designed it in 1931", 5.0)]


def test_decode_v2_null_threshold(uncased_tokenizer):
    example, w = _one_window(uncased_tokenizer)
    tokens = [uncased_tokenizer.vocabulary[i] for i in w.token_ids[0]]
    year = tokens.index("1931")
    start = np.zeros((1, 16), "float32")
    end = np.zeros((1, 16), "float32")
    start[0, year], end[0, year] = 2.0, 2.0  # best span: 4.0
    start[0, 0], end[0, 0] = 2.5, 2.5  # null: 5.0
    args = ([example], w, start, end)
    assert decode_squad(*args, version_2=True)[0]["q"] == ""
    # null - best = 1.0: not above a threshold of 1.0 → the span.
    assert (
        decode_squad(*args, version_2=True, null_score_diff_threshold=1.0)[0][
            "q"
        ]
        == "1931"
    )
    # v1.1 never answers "".
    assert decode_squad(*args, version_2=False)[0]["q"] == "1931"
    with pytest.raises(ValueError, match="start_logits"):
        decode_squad([example], w, start[:, :8], end)


def test_squad_dataset_full_path(uncased_tokenizer):
    ds = squad_dataset(
        SAMPLE, uncased_tokenizer, max_seq_length=32, max_query_length=12,
        doc_stride=8, batch_size=4,
    )  # fmt: skip
    x, y = ds.element_spec
    assert x["token_ids"].shape.as_list() == [None, 32]
    assert set(y) == {"start_logits", "end_logits"}
    assert y["start_logits"].dtype == tf.int32
    assert ds.num_examples == len(ds.windows) > len(ds.examples)
    starts, ends = [], []
    for xb, yb in ds:
        # Stand-in for a model: logits peaked at the labels.
        s = tf.one_hot(yb["start_logits"], 32) * 10.0
        e = tf.one_hot(yb["end_logits"], 32) * 10.0
        starts.append(s.numpy())
        ends.append(e.numpy())
        assert xb["padding_mask"].dtype == tf.int32
    predictions, _ = decode_squad(
        ds.examples, ds.windows, np.concatenate(starts), np.concatenate(ends)
    )
    gold = {e.qid: e.answer_texts for e in ds.examples}
    scores = squad_scores(gold, predictions)
    assert scores["exact_match"] == 100.0 and scores["no_answer_total"] == 1


def test_squad_windows_bad_arguments(uncased_tokenizer):
    examples = read_squad(SAMPLE)
    with pytest.raises(ValueError, match="max_seq_length=40"):
        squad_windows(examples, uncased_tokenizer, max_seq_length=40)
    with pytest.raises(ValueError, match="doc_stride=0"):
        squad_windows(examples, uncased_tokenizer, doc_stride=0)
    with pytest.raises(ValueError, match="empty"):
        squad_windows([], uncased_tokenizer)


def test_read_squad_without_answers_for_prediction(tmp_path):
    data = {
        "data": [
            {
                "paragraphs": [
                    {
                        "context": "Oslo is in Norway.",
                        "qas": [{"id": "p1", "question": "Where is Oslo?"}],
                    }
                ]
            }
        ]
    }
    path = tmp_path / "predict.json"
    path.write_text(json.dumps(data))
    with pytest.raises(ValueError, match="require_answers=False"):
        read_squad(str(path))
    (example,) = read_squad(str(path), require_answers=False)
    assert example.answers == [] and not example.is_impossible


def test_allennlp_squad_fixture_round_trip(uncased_tokenizer):
    """Real SQuAD v1.1 paragraphs (long contexts, several windows each):
    labels → logits → decoded answers match the gold text exactly."""
    path = assets.asset_path(
        assets.ALLENNLP, "allennlp/tests/fixtures/data/squad.json"
    )
    examples = read_squad(str(path))
    w = squad_windows(
        examples, uncased_tokenizer, max_seq_length=96, max_query_length=24,
        doc_stride=32,
    )  # fmt: skip
    assert len(w) > 2 * len(examples)
    assert (w.start_positions > 0).sum() >= len(examples)
    starts, ends = _oracle_logits(w)
    predictions, _ = decode_squad(examples, w, starts, ends)
    assert predictions == {e.qid: e.answers[0][0] for e in examples}
