"""Statistical and property tests on real text (BBC News, real vocab).

Every property is checked over a whole epoch (more than 10,000 examples).
"""

import re
import unicodedata

import numpy as np
import pytest
import tensorflow as tf

from keras_bert_impl.data import MaskedLMMasker
from keras_bert_impl.data import pretraining
from keras_bert_impl.data import pretraining_dataset
from keras_bert_impl.data import read_documents
from keras_bert_impl.data import sentence_pair_dataset

SEQ = 128
SLOTS = 20  # default_max_predictions(128)


def _concat(batches):
    """A list of `(x, y, w)` numpy batches → `(x, y, w)` of whole arrays."""
    return tuple(
        {k: np.concatenate([b[i][k] for b in batches]) for k in batches[0][i]}
        for i in range(3)
    )


def _unmasked(x, y, w):
    """`token_ids` with the original ids put back at the masked positions."""
    original = x["token_ids"].copy()
    rows = np.repeat(np.arange(len(original)), w["masked_lm"].shape[1])
    real = w["masked_lm"].reshape(-1) > 0
    cols = x["mask_positions"].reshape(-1)
    original[rows[real], cols[real]] = y["masked_lm"].reshape(-1)[real]
    return original


@pytest.fixture(scope="module")
def epoch(bbc_corpus, uncased_tokenizer):
    """One full epoch of masked batches (> 10,000 examples)."""
    ds = pretraining_dataset(
        [bbc_corpus], uncased_tokenizer, SEQ, batch_size=256, seed=7,
        corpus_format="documents", repeat=False,
    )  # fmt: skip
    x, y, w = _concat(list(ds.as_numpy_iterator()))
    assert len(x["token_ids"]) >= 10_000
    return x, y, w


@pytest.fixture(scope="module")
def pairs(bbc_corpus, uncased_tokenizer):
    """One epoch of the pair stage (unmasked, > 10,000 examples), with the
    lengths of A and B as the stage handed them to the packer."""
    lengths = []
    pack = pretraining._PairStage._pack

    def recording(self, examples):
        lengths.extend((len(e[0]), len(e[1])) for e in examples)
        return pack(self, examples)

    ds = sentence_pair_dataset(
        [bbc_corpus], uncased_tokenizer, SEQ, seed=3,
        corpus_format="documents",
    )  # fmt: skip
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(pretraining._PairStage, "_pack", recording)
        batches = list(ds.batch(1024).as_numpy_iterator())
    out = {k: np.concatenate([b[k] for b in batches]) for k in batches[0]}
    out["lengths"] = np.array(lengths, np.int64).reshape(-1, 2)
    assert len(out["token_ids"]) >= 10_000
    return out


@pytest.fixture(scope="module")
def documents(bbc_corpus):
    """The corpus documents as text, index = document number in the file."""
    return [" ".join(d) for d in read_documents([bbc_corpus], "documents")]


def test_shapes_are_static_and_fit(epoch):
    x, y, w = epoch
    n = len(x["token_ids"])
    for key in ("token_ids", "segment_ids", "padding_mask"):
        assert x[key].shape == (n, SEQ) and x[key].dtype == np.int32
    assert x["mask_positions"].shape == (n, SLOTS)
    assert y["masked_lm"].shape == (n, SLOTS)
    assert y["next_sentence"].shape == (n,)
    assert w["masked_lm"].dtype == np.float32
    np.testing.assert_array_equal(w["next_sentence"], 1.0)


def test_packing_is_cls_a_sep_b_sep_then_padding(epoch, uncased_tokenizer):
    """Every example is `[CLS] A [SEP] B [SEP]` followed by padding only,
    with the segment ids and the padding mask agreeing with the [SEP]s."""
    tok = uncased_tokenizer
    x, y, w = epoch
    ids = _unmasked(x, y, w)
    n = x["padding_mask"].sum(1)
    positions = np.arange(SEQ)[None, :]
    real = positions < n[:, None]
    # The padding mask is 1 on a prefix, 0 after it; padding is [PAD].
    np.testing.assert_array_equal(x["padding_mask"], real.astype(np.int32))
    assert (ids[~real] == tok.pad_id).all()
    assert (ids[:, 0] == tok.cls_id).all()
    # Exactly two [SEP]s: the last real token and the end of A.
    sep = (ids == tok.sep_id) & real
    assert (sep.sum(1) == 2).all()
    assert (ids[np.arange(len(ids)), n - 1] == tok.sep_id).all()
    first_sep = np.argmax(sep, axis=1)
    assert (first_sep >= 2).all() and (first_sep <= n - 3).all()  # A, B ≠ ∅
    special = np.isin(ids, [tok.cls_id, tok.pad_id, tok.mask_id])
    assert not (special & real & (positions > 0)).any()
    # Segment 0 up to the first [SEP], 1 up to the last, 0 on padding.
    expected = (positions > first_sep[:, None]) & real
    np.testing.assert_array_equal(x["segment_ids"], expected.astype(np.int32))


def test_pairs_fit_max_seq_length_before_packing(pairs):
    """The pair stage itself hands the packer pairs that fit, and the
    packed arrays hold exactly those A and B lengths."""
    len_a, len_b = pairs["lengths"].T
    assert len(len_a) == len(pairs["token_ids"])
    total = len_a + len_b + 3
    assert (len_a >= 1).all() and (len_b >= 1).all()
    assert total.max() <= SEQ, total.max()
    # Long news documents: most pairs are cut to use the whole budget.
    assert np.mean(total == SEQ) > 0.5
    np.testing.assert_array_equal(pairs["padding_mask"].sum(1), total)
    np.testing.assert_array_equal((pairs["segment_ids"] == 1).sum(1), len_b + 1)


def test_next_sentence_balance(epoch):
    _, y, _ = epoch
    positives = np.mean(y["next_sentence"] == 0)
    assert abs(positives - 0.5) < 0.02, positives


def test_selection_rate_and_80_10_10(epoch, uncased_tokenizer):
    x, y, w = epoch
    tok = uncased_tokenizer
    special = {tok.cls_id, tok.sep_id, tok.pad_id, tok.mask_id}
    original = _unmasked(x, y, w)
    # Candidates: real tokens that are not [CLS]/[SEP] (before masking,
    # [MASK] never occurs in text).
    candidates = (x["padding_mask"] > 0) & ~np.isin(
        original, [tok.cls_id, tok.sep_id]
    )
    rows = np.repeat(np.arange(len(original)), SLOTS)
    cols = x["mask_positions"].reshape(-1)
    real = w["masked_lm"].reshape(-1) > 0
    selected = real.sum()
    rate = selected / candidates.sum()
    assert abs(rate - 0.15) < 0.005, rate
    # Replacement split among the selected tokens.
    now = x["token_ids"][rows[real], cols[real]]
    was = y["masked_lm"].reshape(-1)[real]
    masked = np.mean(now == tok.mask_id)
    unchanged = np.mean(now == was)
    randomized = 1 - masked - unchanged
    assert abs(masked - 0.8) < 0.01, masked
    assert abs(randomized - 0.1) < 0.01, randomized
    assert abs(unchanged - 0.1) < 0.01, unchanged
    # Never a special or padding token selected.
    assert not np.isin(was, list(special)).any()
    assert (cols[real] < x["padding_mask"].sum(1)[rows[real]]).all()
    # Positions are distinct within a row, and padding slots weigh 0.
    for p, m in zip(
        x["mask_positions"][:500], w["masked_lm"][:500], strict=True
    ):
        assert len(set(p[m > 0])) == int(m.sum())


def _segments(ids, segment_ids, padding_mask):
    """The token ids of A and of B of one packed example."""
    n = padding_mask.sum()
    body, seg = ids[1 : n - 1], segment_ids[1 : n - 1]
    return body[seg == 0][:-1], body[seg == 1]  # [:-1]: the middle [SEP]


def test_pairs_come_from_the_corpus(pairs, documents, uncased_tokenizer):
    """A and B are contiguous token runs of their documents, B follows A in
    a real pair, and a random B is never from A's document."""
    ragged = uncased_tokenizer.tokenize(documents)
    as_text = [" " + " ".join(map(str, row)) + " " for row in ragged.to_list()]
    random_count = 0
    for ids, seg, mask, label, doc, b_doc in zip(
        pairs["token_ids"], pairs["segment_ids"], pairs["padding_mask"],
        pairs["next_sentence"], pairs["document"], pairs["b_document"],
        strict=True,
    ):  # fmt: skip
        assert ids[0] == uncased_tokenizer.cls_id
        a, b = _segments(ids, seg, mask)
        a = " " + " ".join(map(str, a)) + " "
        b = " " + " ".join(map(str, b)) + " "
        assert a in as_text[doc] and b in as_text[b_doc]
        if label:
            random_count += 1
            assert b_doc != doc
        else:
            assert b_doc == doc
            # A real continuation: B starts where A ends (or later
            # text of the document, when A was cut at its end).
            assert as_text[doc].index(a) < as_text[doc].rindex(b)
    assert 0.48 < random_count / len(pairs["token_ids"]) < 0.52


def _normalized(text):
    """What the uncased tokenizer keeps of `text`, whitespace removed: NFD,
    no accents or control characters, lower case (written independently
    of the tokenizer)."""
    text = unicodedata.normalize("NFD", text)
    text = "".join(
        c
        for c in text
        if unicodedata.category(c) not in ("Mn", "Cc", "Cf", "Co")
    )
    return "".join(text.lower().split())


def test_examples_decode_to_corpus_text(pairs, documents, uncased_tokenizer):
    """Detokenized, A is a contiguous piece of its own document's
    normalized text, and B of B's document (whitespace aside: the
    tokenizer splits punctuation off words)."""
    tok = uncased_tokenizer
    texts = [_normalized(d) for d in documents]
    a_ids, b_ids = [], []
    for ids, seg, mask in zip(
        pairs["token_ids"], pairs["segment_ids"], pairs["padding_mask"],
        strict=True,
    ):  # fmt: skip
        a, b = _segments(ids, seg, mask)
        a_ids.append(a.tolist())
        b_ids.append(b.tolist())
    decoded_a = tok.detokenize(tf.ragged.constant(a_ids, tf.int32)).numpy()
    decoded_b = tok.detokenize(tf.ragged.constant(b_ids, tf.int32)).numpy()
    unknown = 0
    for a, b, doc, b_doc in zip(
        decoded_a, decoded_b, pairs["document"], pairs["b_document"],
        strict=True,
    ):  # fmt: skip
        for piece, source in ((a, doc), (b, b_doc)):
            piece = "".join(piece.decode("utf-8").split())
            assert piece, "an empty segment"
            if "[UNK]" in piece:  # an unknown word: any characters there
                unknown += 1
                parts = [re.escape(p) for p in piece.split("[UNK]")]
                assert re.search(".+?".join(parts), texts[source]), piece
            else:
                assert piece in texts[source], (piece, int(source))
    assert len(decoded_a) >= 10_000 and unknown < 0.01 * len(decoded_a)


def test_masker_repeats_per_seed_and_changes_per_seed(epoch, uncased_tokenizer):
    """The masker alone, over every example: the same seed gives the same
    masks, another seed other ones."""
    masker = MaskedLMMasker(uncased_tokenizer.vocabulary, SLOTS)
    ids = tf.constant(_unmasked(*epoch))
    a = masker(ids, tf.constant([4, 2]))
    b = masker(ids, tf.constant([4, 2]))
    c = masker(ids, tf.constant([4, 3]))
    for key in a:
        np.testing.assert_array_equal(a[key], b[key])
    same = np.all(a["mask_positions"].numpy() == c["mask_positions"], axis=1)
    assert same.mean() < 0.01


@pytest.fixture(scope="module")
def two_sentence_corpus(tmp_path_factory, bbc_corpus, uncased_tokenizer):
    """BBC sentences two by two, one document each ("sentences" format),
    short enough that no pair is truncated: with `nsp_prob=0` and
    `short_seq_prob=0` every epoch makes the very same pairs."""
    sentences = [
        s for d in read_documents([bbc_corpus], "documents") for s in d
    ]
    sizes = uncased_tokenizer.tokenize(sentences).row_lengths().numpy()
    docs = []
    for i in range(0, len(sentences) - 1, 2):
        if sizes[i] and sizes[i + 1] and sizes[i] + sizes[i + 1] <= SEQ - 3:
            docs.append(f"{sentences[i]}\n{sentences[i + 1]}")
        if len(docs) == 10_240:
            break
    assert len(docs) == 10_240
    path = tmp_path_factory.mktemp("pairs") / "two_sentences.txt"
    path.write_text("\n\n".join(docs) + "\n", encoding="utf-8")
    return path


def test_masks_change_per_epoch_and_repeat_per_seed(
    two_sentence_corpus, uncased_tokenizer
):
    """Through the pipeline, with the pairs held fixed: a second epoch
    masks the same examples differently, and a second pipeline with the
    same seed repeats both epochs exactly."""

    def make(seed):
        return pretraining_dataset(
            [two_sentence_corpus], uncased_tokenizer, SEQ, batch_size=256,
            seed=seed, corpus_format="sentences", nsp_prob=0.0,
            short_seq_prob=0.0, shuffle_buffer=1, repeat=False,
        )  # fmt: skip

    def run(ds):
        return _concat(list(ds.as_numpy_iterator()))

    ds = make(5)
    first, second = run(ds), run(ds)  # iterating again = the next epoch
    assert len(first[0]["token_ids"]) == 10_240
    # The same pairs in both epochs (the masks isolated) ...
    np.testing.assert_array_equal(_unmasked(*first), _unmasked(*second))
    for key in ("segment_ids", "padding_mask"):
        np.testing.assert_array_equal(first[0][key], second[0][key])
    # ... masked differently in almost every example.
    same = np.all(
        first[0]["mask_positions"] == second[0]["mask_positions"], axis=1
    )
    assert same.mean() < 0.05, same.mean()
    assert (
        np.mean(np.all(first[0]["token_ids"] == second[0]["token_ids"], axis=1))
        < 0.05
    )
    # The same seed: the same masks, epoch by epoch.
    again = make(5)
    replay = (run(again), run(again))
    for ours, theirs in zip((first, second), replay, strict=True):
        for part, other in zip(ours, theirs, strict=True):
            for key in part:
                np.testing.assert_array_equal(part[key], other[key])
    # Another seed: the same pairs, other masks.
    other = run(make(6))
    np.testing.assert_array_equal(_unmasked(*first), _unmasked(*other))
    same = np.all(
        first[0]["mask_positions"] == other[0]["mask_positions"], axis=1
    )
    assert same.mean() < 0.05, same.mean()
