"""Fixtures of the tokenization tests: committed vocabularies, references."""

import pathlib

import pytest

VOCAB_DIR = pathlib.Path(__file__).parents[1] / "data" / "vocab"
UNCASED = VOCAB_DIR / "uncased.txt"  # bert-base-uncased, 30,522 tokens
CHINESE = VOCAB_DIR / "chinese.txt"  # bert-base-chinese, 21,128 tokens
TINY = VOCAB_DIR / "tiny.txt"  # 32 tokens, the 5 specials first


def hf_reference(vocab, lower_case, strip_accents=None):
    """The reference: HF `tokenizers` BertWordPieceTokenizer."""
    from tokenizers import BertWordPieceTokenizer

    return BertWordPieceTokenizer(
        str(vocab),
        lowercase=lower_case,
        strip_accents=strip_accents,
        clean_text=True,
        handle_chinese_chars=True,
    )


@pytest.fixture(scope="session")
def uncased_tokenizer():
    from keras_bert_impl.tokenization.bert_tokenizer import BertTokenizer

    return BertTokenizer(UNCASED, lower_case=True)


@pytest.fixture(scope="session")
def tiny_tokenizer():
    from keras_bert_impl.tokenization.bert_tokenizer import BertTokenizer

    return BertTokenizer(TINY, lower_case=True)
