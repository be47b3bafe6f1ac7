"""Hand-written hard cases: parity with HF `tokenizers`, and the pinned
differences (characters whose Unicode properties changed after the tables
HF `tokenizers` ships; see the README)."""

import pytest
import tensorflow as tf

from keras_bert_impl.tokenization.bert_tokenizer import BertTokenizer
from tests.tokenization.conftest import CHINESE
from tests.tokenization.conftest import UNCASED
from tests.tokenization.conftest import hf_reference

CASES = [
    "",
    " ",
    "Café naïve résumé Ångström façade",  # precomposed accents
    "Cafe\u0301 nai\u0308ve",  # combining marks
    "\u0301\u0308 lone marks",
    "zero\u200bwidth\u200dspace\u200cjoiner\ufeffbom",  # Cf removed
    "soft\u00adhyphen",
    "emoji 😀👍🏽 👨\u200d👩\u200d👧 flags 🇫🇷",
    "مرحبا بالعالم، كيف الحال؟",  # Arabic
    "ภาษาไทยไม่มีการเว้นวรรคระหว่างคำเลยนะครับผมคิดว่ามันยาวมาก",  # Thai
    "a" * 100 + " " + "b" * 101 + " ok",  # the 100-character limit
    "é" * 100 + " " + "é" * 101,  # the limit counts characters, not bytes
    "ab" * 60 + "," + "cd" * 30,
    "tab\there\nnewline\r\nCRLF\x0bvt\x0cff\x85nel",
    "nul\x00byte \x01\x02\x1f\x7f controls \ufffd replacement",
    "\u2028line\u2029para\u3000ideographic\u00a0nbsp\u2009thin",
    "Ｆｕｌｌｗｉｄｔｈ　ＡＢＣ　１２３！",  # full-width forms
    "ﬁnance ﬂow ﬀ",  # ligatures (no NFKC)
    "İstanbul ISTANBUL ıi",  # Turkish dotted/dotless i
    "Straße STRASSE ẞ",  # German sharp s
    "ΟΔΟΣ Σίσυφος ΣΑΣ",  # Greek final sigma
    "中文字符和English混合，还有标点。",
    "日本語のテキストです。カタカナとひらがな",
    "한국어 텍스트",
    "\U00020000\U0002a700 rare CJK",
    "x²+y³=z⁴ ½ ™ ①",
    "ＡＢ\u0300Ｃ",
    "'quotes' \"double\" «guillemets» „low“ —dash– …",
    "$100 #hashtag @user 50% a&b <tag> {braces} [brackets] ~tilde`",
    "URL http://example.com/path?x=1&y=2 email a.b@c.de",
    "private\ue000use\U000f0000chars",
    "\x00\x01\x02\u200b\ufeff",  # only control characters
]


@pytest.mark.parametrize(
    "vocab, lower_case, strip_accents",
    [
        (UNCASED, True, None),
        (UNCASED, True, False),
        (UNCASED, False, True),
        (CHINESE, False, None),
    ],
)
def test_hard_cases_match_reference(vocab, lower_case, strip_accents):
    reference = hf_reference(vocab, lower_case, strip_accents)
    tok = BertTokenizer(
        vocab, lower_case=lower_case, strip_accents=strip_accents
    )
    expected = reference.encode_batch(CASES, add_special_tokens=False)
    ids, start, end = tok.tokenize_with_offsets(tf.constant(CASES))
    fast = tok.tokenize(tf.constant(CASES)).to_list()
    for i, text in enumerate(CASES):
        assert fast[i] == expected[i].ids, text
        assert ids[i].numpy().tolist() == expected[i].ids, text
        offsets = list(
            zip(start[i].numpy().tolist(), end[i].numpy().tolist(), strict=True)
        )
        assert offsets == [tuple(o) for o in expected[i].offsets], text


def test_invalid_utf8_bytes_are_dropped(uncased_tokenizer):
    # A string tensor may hold any bytes: invalid UTF-8 is decoded as U+FFFD
    # (as Python's errors="replace" would), which the cleanup removes.
    ids = uncased_tokenizer.tokenize(tf.constant([b"ca\xfft \xc3", b"cat"]))
    assert ids[0].numpy().tolist() == ids[1].numpy().tolist()


@pytest.mark.parametrize(
    "text, ours, theirs",
    [
        # Po since Unicode 14 (ICU/RE2 know it; HF's tables do not): we split.
        ("a\u061db", ["a", "[UNK]", "b"], ["[UNK]"]),
        # Po in HF's tables, So since Unicode 12: HF splits, we do not.
        ("a\u166db", ["[UNK]"], ["a", "[UNK]", "b"]),
        # Capital letter added in Unicode 14 (Vithkuqi): ICU 74 does not
        # lower-case it, Rust does; both are [UNK] for this vocab, but the
        # word differs ("𐕰" vs "𐖗"), so a vocab holding either would differ.
        ("\U00010570", ["[UNK]"], ["[UNK]"]),
    ],
)
def test_pinned_differences(uncased_tokenizer, text, ours, theirs):
    vocab = uncased_tokenizer.vocabulary
    got = uncased_tokenizer.tokenize(text).numpy().tolist()
    ref = hf_reference(UNCASED, True).encode(text, add_special_tokens=False)
    assert [vocab[i] for i in got] == ours
    assert ref.tokens == theirs


def test_casing_difference_pinned_on_normalized_text():
    tok = BertTokenizer(UNCASED)
    reference = hf_reference(UNCASED, True)
    ours = tok.normalize("\U00010570").numpy().decode()
    theirs = reference.normalizer.normalize_str("\U00010570")
    assert ours == "\U00010570"
    assert theirs == "\U00010597"
