"""read_vocab / write_vocab / build_vocab and `keras-bert-impl vocab`."""

import pytest

from keras_bert_impl.cli import main as cli_main
from keras_bert_impl.tokenization.bert_tokenizer import BertTokenizer
from keras_bert_impl.tokenization.vocab import SPECIAL_TOKENS
from keras_bert_impl.tokenization.vocab import build_vocab
from keras_bert_impl.tokenization.vocab import read_vocab
from keras_bert_impl.tokenization.vocab import write_vocab
from tests.tokenization.conftest import CHINESE
from tests.tokenization.conftest import UNCASED

CORPUS = (
    "The quick brown fox jumps over the lazy dog.\n"
    "Jumping foxes and lazy dogs: the Quick, the Brown!\n"
    "Café naïve résumé — 中文字符 and more jumping.\n"
) * 20


def test_real_vocabularies():
    assert len(read_vocab(UNCASED)) == 30522
    chinese = read_vocab(CHINESE)
    assert len(chinese) == 21128  # str.splitlines() would give 21130
    assert "\u2028" in chinese


def test_write_read_round_trip(tmp_path):
    tokens = [*SPECIAL_TOKENS, "a", "##b", "\u2028", "ü"]
    write_vocab(tokens, tmp_path / "sub" / "vocab.txt")
    assert read_vocab(tmp_path / "sub" / "vocab.txt") == tokens


@pytest.mark.parametrize(
    "content, message",
    [
        (
            "[PAD]\n[UNK]\n[CLS]\n[SEP]\na\n",
            r"lacks the special token '\[MASK\]'",
        ),
        (
            "[PAD]\n[UNK]\n[CLS]\n[SEP]\n[MASK]\nab\nc\nab\n",
            "Duplicate token 'ab' at line 8 .*first at line 6",
        ),
        ("[PAD]\n[UNK]\n\n[CLS]\n[SEP]\n[MASK]\n", "Empty token at line 3"),
        ("", "empty"),
    ],
)
def test_read_vocab_errors(tmp_path, content, message):
    path = tmp_path / "vocab.txt"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(ValueError, match=message):
        read_vocab(path)


def test_read_vocab_not_utf8(tmp_path):
    path = tmp_path / "vocab.txt"
    path.write_bytes(b"[PAD]\n[UNK]\n\xff\n")
    with pytest.raises(ValueError, match="not UTF-8 at line 3"):
        read_vocab(path)


def test_build_vocab(tmp_path):
    corpus = tmp_path / "corpus.txt"
    corpus.write_text(CORPUS, encoding="utf-8")
    output = tmp_path / "vocab.txt"
    vocab = build_vocab(
        [str(corpus)], vocab_size=80, output=str(output), verbose=False
    )
    assert vocab[: len(SPECIAL_TOKENS)] == list(SPECIAL_TOKENS)
    assert read_vocab(output) == vocab
    assert len(set(vocab)) == len(vocab)
    # Same normalization as the tokenizer: lower-case, no accents, CJK split.
    assert "The" not in vocab and "é" not in vocab and "中" in vocab
    tok = BertTokenizer(vocab)
    ids = tok.tokenize("the quick brown fox").numpy().tolist()
    assert tok.unk_id not in ids


def test_build_vocab_cased(tmp_path):
    corpus = tmp_path / "corpus.txt"
    corpus.write_text(CORPUS, encoding="utf-8")
    vocab = build_vocab(
        str(corpus), vocab_size=200, lower_case=False, verbose=False
    )
    assert "T" in vocab and "é" in vocab


def test_build_vocab_empty_corpus(tmp_path):
    (tmp_path / "empty.txt").write_text("\n  \n\n", encoding="utf-8")
    with pytest.raises(ValueError, match="corpus is empty"):
        build_vocab(str(tmp_path / "*.txt"), vocab_size=50, verbose=False)
    with pytest.raises(FileNotFoundError, match="No input file matches"):
        build_vocab(str(tmp_path / "missing*.txt"), verbose=False)


def test_build_vocab_non_utf8(tmp_path):
    path = tmp_path / "bad.txt"
    path.write_bytes(CORPUS.encode() + b"caf\xe9 latin-1 line\n")
    with pytest.raises(ValueError, match=r"bad\.txt:61: not valid UTF-8"):
        build_vocab(str(path), vocab_size=50, verbose=False)
    vocab = build_vocab(
        str(path), vocab_size=50, errors="replace", verbose=False
    )
    assert "\ufffd" not in "".join(vocab)


def test_cli(tmp_path, capsys):
    for i in range(2):
        (tmp_path / f"part{i}.txt").write_text(CORPUS, encoding="utf-8")
    output = tmp_path / "vocab.txt"
    status = cli_main(
        [
            "vocab",
            "--input",
            str(tmp_path / "part*.txt"),
            "--vocab-size",
            "60",
            "--output",
            str(output),
            "--no-lower-case",
            "--quiet",
        ]
    )
    assert status == 0
    vocab = read_vocab(output)
    assert "T" in vocab
    assert f"wrote {len(vocab)} tokens" in capsys.readouterr().out
    status = cli_main(
        ["vocab", "--input", str(tmp_path / "nope*.txt"), "--output", "x.txt"]
    )
    assert status == 2
    assert "No input file matches" in capsys.readouterr().err
