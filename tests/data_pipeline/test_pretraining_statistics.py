"""Statistical and property tests on real text (BBC News, real vocab)."""

import numpy as np
import pytest

from keras_bert_impl.data import pretraining_dataset
from keras_bert_impl.data import read_documents
from keras_bert_impl.data import sentence_pair_dataset

SEQ = 128


@pytest.fixture(scope="module")
def epoch(bbc_corpus, uncased_tokenizer):
    """One full epoch of masked batches (> 10,000 examples)."""
    ds = pretraining_dataset(
        [bbc_corpus], uncased_tokenizer, SEQ, batch_size=256, seed=7,
        corpus_format="documents", repeat=False,
    )  # fmt: skip
    batches = list(ds.as_numpy_iterator())
    x = {k: np.concatenate([b[0][k] for b in batches]) for k in batches[0][0]}
    y = {k: np.concatenate([b[1][k] for b in batches]) for k in batches[0][1]}
    w = {k: np.concatenate([b[2][k] for b in batches]) for k in batches[0][2]}
    assert len(x["token_ids"]) >= 10_000
    return x, y, w


def test_shapes_are_static_and_fit(epoch):
    x, y, w = epoch
    n = len(x["token_ids"])
    for key in ("token_ids", "segment_ids", "padding_mask"):
        assert x[key].shape == (n, SEQ) and x[key].dtype == np.int32
    assert x["mask_positions"].shape == (n, 20)
    assert y["masked_lm"].shape == (n, 20) and y["next_sentence"].shape == (n,)
    assert w["masked_lm"].dtype == np.float32
    np.testing.assert_array_equal(w["next_sentence"], 1.0)
    lengths = x["padding_mask"].sum(1)
    assert lengths.max() <= SEQ and lengths.min() >= 5


def test_selection_rate_and_80_10_10(epoch, uncased_tokenizer):
    x, y, w = epoch
    tok = uncased_tokenizer
    special = {tok.cls_id, tok.sep_id, tok.pad_id, tok.mask_id}
    # Candidates: real tokens that are not [CLS]/[SEP] (before masking,
    # [MASK] never occurs in text).
    original = x["token_ids"].copy()
    rows = np.repeat(np.arange(len(original)), 20)
    cols = x["mask_positions"].reshape(-1)
    real = w["masked_lm"].reshape(-1) > 0
    original[rows[real], cols[real]] = y["masked_lm"].reshape(-1)[real]
    candidates = (x["padding_mask"] > 0) & ~np.isin(
        original, [tok.cls_id, tok.sep_id]
    )
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


def test_next_sentence_balance(epoch):
    _, y, _ = epoch
    positives = np.mean(y["next_sentence"] == 0)
    assert abs(positives - 0.5) < 0.02, positives


def test_pairs_come_from_the_corpus(bbc_corpus, uncased_tokenizer):
    """A and B are contiguous token runs of their documents, B follows A in
    a real pair, and a random B is never from A's document."""
    docs = [
        " ".join(s for s in doc)
        for doc in read_documents([bbc_corpus], "documents")
    ]
    ragged = uncased_tokenizer.tokenize(docs)
    as_text = [" " + " ".join(map(str, row)) + " " for row in ragged.to_list()]
    ds = sentence_pair_dataset(
        [bbc_corpus], uncased_tokenizer, SEQ, seed=3,
        corpus_format="documents",
    )  # fmt: skip
    count = random_count = 0
    for ex in ds.batch(1024).as_numpy_iterator():
        for ids, seg, mask, label, doc, b_doc in zip(
            ex["token_ids"], ex["segment_ids"], ex["padding_mask"],
            ex["next_sentence"], ex["document"], ex["b_document"],
            strict=True,
        ):  # fmt: skip
            count += 1
            n = mask.sum()
            assert n <= SEQ and ids[0] == uncased_tokenizer.cls_id
            body = ids[1 : n - 1]
            a = body[(seg[1 : n - 1] == 0)][:-1]  # drop the middle [SEP]
            b = body[seg[1 : n - 1] == 1]
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
    assert count >= 10_000 and 0.48 < random_count / count < 0.52


def test_examples_decode_to_corpus_text(bbc_corpus, uncased_tokenizer):
    ds = pretraining_dataset(
        [bbc_corpus], uncased_tokenizer, SEQ, batch_size=4, seed=1,
        corpus_format="documents", masking_rate=0.0, shuffle_buffer=4,
    )  # fmt: skip
    x, _, _ = next(iter(ds))
    corpus = " ".join(bbc_corpus.read_text(encoding="utf-8").lower().split())
    for ids, seg in zip(x["token_ids"], x["segment_ids"], strict=True):
        ids, seg = ids.numpy(), seg.numpy()
        for segment in (0, 1):
            piece = ids[(seg == segment) & (ids > 3)]
            text = uncased_tokenizer.detokenize(piece[None]).numpy()[0]
            words = text.decode().split()
            # Every decoded word occurs in the (lower-cased) corpus.
            assert all(word.strip("#") in corpus for word in words)


def test_masks_repeat_per_seed_and_change_per_epoch(epoch, uncased_tokenizer):
    """Over every example: the same seed gives the same masks, a new seed
    (a new epoch) new ones."""
    import tensorflow as tf

    from keras_bert_impl.data import MaskedLMMasker

    x, y, w = epoch
    original = x["token_ids"].copy()
    rows = np.repeat(np.arange(len(original)), 20)
    real = w["masked_lm"].reshape(-1) > 0
    cols = x["mask_positions"].reshape(-1)
    original[rows[real], cols[real]] = y["masked_lm"].reshape(-1)[real]
    masker = MaskedLMMasker(uncased_tokenizer.vocabulary, 20)
    ids = tf.constant(original)
    a = masker(ids, tf.constant([4, 2]))
    b = masker(ids, tf.constant([4, 2]))
    c = masker(ids, tf.constant([4, 3]))
    for key in a:
        np.testing.assert_array_equal(a[key], b[key])
    same = np.all(a["mask_positions"].numpy() == c["mask_positions"], axis=1)
    assert same.mean() < 0.01
