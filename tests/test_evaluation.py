"""Entity-level NER scores and the SQuAD metric vs hand-computed cases."""

import json

import pytest

from keras_bert_impl.evaluation import entity_scores
from keras_bert_impl.evaluation import get_entities
from keras_bert_impl.evaluation import normalize_answer
from keras_bert_impl.evaluation import squad_exact_match
from keras_bert_impl.evaluation import squad_f1
from keras_bert_impl.evaluation import squad_scores


def test_get_entities_hand_cases():
    # IOB2.
    assert get_entities(["B-PER", "I-PER", "O", "B-LOC"]) == [
        ("PER", 0, 2),
        ("LOC", 3, 4),
    ]
    # IOB1 / lenient: I- after O starts; a type change splits.
    assert get_entities(["I-PER", "I-PER", "I-LOC", "O", "I-ORG"]) == [
        ("PER", 0, 2),
        ("LOC", 2, 3),
        ("ORG", 4, 5),
    ]
    # B after B: two entities; I of another type after B: two entities.
    assert get_entities(["B-PER", "B-PER", "I-LOC"]) == [
        ("PER", 0, 1),
        ("PER", 1, 2),
        ("LOC", 2, 3),
    ]
    # BIOES.
    assert get_entities(["B-PER", "E-PER", "S-LOC", "I-LOC", "E-LOC"]) == [
        ("PER", 0, 2),
        ("LOC", 2, 3),
        ("LOC", 3, 5),
    ]
    # Sentences are chained with an O between (seqeval's indices).
    assert get_entities([["B-PER"], ["I-PER"]]) == [
        ("PER", 0, 1),
        ("PER", 2, 3),
    ]
    assert get_entities([]) == []


def test_entity_scores_hand_computed():
    y_true = [
        ["B-PER", "I-PER", "O", "B-LOC", "O"],
        ["B-ORG", "I-ORG", "I-ORG", "O"],
    ]
    y_pred = [
        # PER right; LOC predicted as a longer span: wrong.
        ["B-PER", "I-PER", "O", "B-LOC", "I-LOC"],
        # ORG cut short: wrong; an extra PER: wrong.
        ["B-ORG", "I-ORG", "O", "B-PER"],
    ]
    s = entity_scores(y_true, y_pred)
    # 3 true, 4 predicted, 1 correct.
    assert (s["true_entities"], s["pred_entities"], s["correct"]) == (3, 4, 1)
    assert s["precision"] == pytest.approx(1 / 4)
    assert s["recall"] == pytest.approx(1 / 3)
    assert s["f1"] == pytest.approx(2 * (1 / 4) * (1 / 3) / (1 / 4 + 1 / 3))
    assert s["per_type"]["PER"]["precision"] == pytest.approx(1 / 2)
    assert s["per_type"]["PER"]["recall"] == 1.0
    assert s["per_type"]["ORG"]["f1"] == 0.0
    # No entity predicted and none true: 0, not an error.
    assert entity_scores([["O"]], [["O"]])["f1"] == 0.0
    with pytest.raises(ValueError, match="1 true tags but 2 predicted"):
        entity_scores([["O"]], [["O", "O"]])
    with pytest.raises(ValueError, match="same number of sentences"):
        entity_scores([["O"]], [])


def test_entity_scores_match_seqeval_reference():
    """`tests/data/seqeval_reference.json` holds seqeval 1.2.2's outputs
    (script: tests/data/make_seqeval_reference.py)."""
    with open("tests/data/seqeval_reference.json") as f:
        cases = json.load(f)["cases"]
    assert len(cases) == 60
    for case in cases:
        ours = entity_scores(case["y_true"], case["y_pred"])
        # seqeval's spans are inclusive, ours exclusive.
        assert [
            [t, s, e - 1] for t, s, e in get_entities(case["y_true"])
        ] == case["true_entities"]
        for key in ("precision", "recall", "f1"):
            assert ours[key] == pytest.approx(case[key], abs=1e-12)
        for type_, f1 in case["per_type_f1"].items():
            assert ours["per_type"][type_]["f1"] == pytest.approx(f1)


def test_normalize_answer():
    assert normalize_answer("The Denver Broncos!") == "denver broncos"
    assert normalize_answer("  an  apple,  a pear ") == "apple pear"
    # Articles only as words; punctuation removed before (official order).
    assert normalize_answer("Theatre of the absurd") == "theatre of absurd"
    assert normalize_answer("rock-n-roll") == "rocknroll"
    assert normalize_answer("The") == ""


def test_squad_em_f1_hand_computed():
    assert squad_exact_match("the Broncos", "Broncos.") == 1
    assert squad_exact_match("Denver Broncos", "Broncos") == 0
    # pred: [denver, broncos, won]; gold: [broncos, won, game]; common 2.
    assert squad_f1("Denver Broncos won", "the Broncos won a game") == (
        pytest.approx(2 * (2 / 3) * (2 / 3) / (4 / 3))
    )
    # Repeated tokens count by multiplicity: common = min counts = 1.
    assert squad_f1("the the cat cat", "cat") == pytest.approx(2 / 3)
    assert squad_f1("", "") == 1.0
    assert squad_f1("", "Broncos") == 0.0
    assert squad_f1("a", "") == 1.0  # "a" normalizes to "" (an article)
    assert squad_f1("dog", "cat") == 0.0


def test_squad_scores_v1_and_v2():
    gold = {
        "q1": ["Denver Broncos", "The Denver Broncos", "Broncos"],
        "q2": ["Santa Clara, California"],
        "q3": [],  # unanswerable
        "q4": ["", ""],  # unanswerable, SQuAD 2.0 style
    }
    pred = {"q1": "Broncos", "q2": "Clara California", "q3": "", "q4": "x"}
    s = squad_scores(gold, pred)
    # EM: q1 1, q2 0, q3 1, q4 0. F1: q1 1, q2 (p 1, r 2/3) 0.8, q3 1, q4 0.
    assert s["exact_match"] == pytest.approx(100 * 2 / 4)
    assert s["f1"] == pytest.approx(100 * (1 + 0.8 + 1 + 0) / 4)
    assert s["has_answer_total"] == 2 and s["no_answer_total"] == 2
    assert s["has_answer_f1"] == pytest.approx(90.0)
    assert s["no_answer_exact_match"] == pytest.approx(50.0)
    # v1.1 (all answerable): no breakdown; a missing prediction scores 0.
    s = squad_scores({"a": ["x y"], "b": ["z"]}, {"a": "x y"})
    assert s["exact_match"] == 50.0 and s["missing"] == 1
    assert "no_answer_total" not in s
    with pytest.raises(ValueError, match="nothing to evaluate"):
        squad_scores({}, {})
