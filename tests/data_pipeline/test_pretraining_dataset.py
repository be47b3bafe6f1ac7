import gzip
import json

import numpy as np
import pytest

from keras_bert_impl.data import pretraining_dataset
from keras_bert_impl.data import read_documents
from keras_bert_impl.data import split_sentences
from keras_bert_impl.data.corpus import CorpusStats

SENTENCES = [
    "The bank raised rates on Monday.",
    "Markets fell sharply after the news.",
    "Analysts expect another rise in June.",
    "The team won the cup final.",
    "Fans celebrated in the streets all night.",
    "The coach praised his young players.",
    "A new phone was launched today.",
    "It has a larger screen and a faster chip.",
    "Critics say the price is too high.",
]


def _write_sentences(path, docs):
    path.write_text("\n\n".join("\n".join(d) for d in docs) + "\n")
    return path


@pytest.fixture
def corpus(tmp_path):
    docs = [SENTENCES[0:3], SENTENCES[3:6], SENTENCES[6:9]] * 4
    return _write_sentences(tmp_path / "corpus.txt", docs)


def _take(ds, n=3):
    return [{k: v.numpy() for k, v in b[0].items()} for b in ds.take(n)]


class TestCorpusFormats:
    def test_sentences_documents_jsonl_gzip_glob(self, tmp_path):
        docs = [SENTENCES[0:3], SENTENCES[3:6]]
        _write_sentences(tmp_path / "a.txt", docs)
        (tmp_path / "b.txt").write_text(
            "\n".join(" ".join(d) for d in docs) + "\n"
        )
        with gzip.open(tmp_path / "c.jsonl.gz", "wt") as f:
            for d in docs:
                f.write(json.dumps({"text": " ".join(d), "id": 1}) + "\n")
        expected = docs
        assert list(read_documents([tmp_path / "a.txt"])) == expected
        assert (
            list(read_documents([tmp_path / "b.txt"], "documents")) == expected
        )
        assert list(read_documents([tmp_path / "c.jsonl.gz"])) == expected
        # auto-detection reads b.txt as one sentence-per-line document.
        assert len(list(read_documents([str(tmp_path / "*.txt")]))) == 3

    def test_split_sentences(self):
        assert split_sentences(
            'He said "Stop." Then he left. 3.5 is a number.'
        ) == [
            'He said "Stop."',
            "Then he left.",
            "3.5 is a number.",
        ]

    def test_non_utf8_strict_names_file_and_line(self, tmp_path):
        path = tmp_path / "bad.txt"
        path.write_bytes(b"fine line.\ncaf\xe9 au lait.\n")
        with pytest.raises(ValueError, match=r"bad.txt:2: not valid UTF-8"):
            list(read_documents([path]))
        stats = CorpusStats()
        docs = list(read_documents([path], errors="replace", stats=stats))
        assert docs == [["fine line.", "caf\ufffd au lait."]]
        assert stats.replaced_lines == 1

    def test_empty_files_are_skipped_and_counted(self, tmp_path, corpus):
        (tmp_path / "empty.txt").write_text("")
        (tmp_path / "blank.txt").write_text("\n\n\n")
        stats = CorpusStats()
        docs = list(read_documents([str(tmp_path / "*.txt")], stats=stats))
        assert len(docs) == 12 and stats.empty_files == 2

    def test_missing_files(self, tmp_path, uncased_tokenizer):
        with pytest.raises(ValueError, match="No corpus file matches"):
            pretraining_dataset([str(tmp_path / "*.nope")], uncased_tokenizer)

    def test_jsonl_without_text_field(self, tmp_path):
        path = tmp_path / "x.jsonl"
        path.write_text('{"body": "x"}\n')
        with pytest.raises(ValueError, match=r"x.jsonl:1: .* no 'text' field"):
            list(read_documents([path]))


class TestPretrainingDataset:
    def test_empty_corpus(self, tmp_path, uncased_tokenizer):
        (tmp_path / "empty.txt").write_text("\n\n")
        with pytest.raises(ValueError, match="corpus is empty"):
            pretraining_dataset([tmp_path / "empty.txt"], uncased_tokenizer)

    def test_single_document(self, tmp_path, uncased_tokenizer):
        path = _write_sentences(tmp_path / "one.txt", [SENTENCES[:3]])
        with pytest.raises(ValueError, match="single document"):
            pretraining_dataset([path], uncased_tokenizer)

    def test_same_seed_same_stream_new_masks_each_epoch(
        self, corpus, uncased_tokenizer
    ):
        def make(seed):
            return pretraining_dataset(
                [corpus], uncased_tokenizer, 32, batch_size=4, seed=seed,
                repeat=False, shuffle_buffer=8,
            )  # fmt: skip

        ds = make(0)
        first, again = _take(ds), _take(make(0))
        for a, b in zip(first, again, strict=True):
            for key in a:
                np.testing.assert_array_equal(a[key], b[key])
        second_epoch = _take(ds)  # iterating again = the next epoch
        assert any(
            not np.array_equal(a["token_ids"], b["token_ids"])
            for a, b in zip(first, second_epoch, strict=True)
        )
        other_seed = _take(make(1))
        assert not np.array_equal(
            first[0]["token_ids"], other_seed[0]["token_ids"]
        )

    def test_long_lines_are_truncated(self, tmp_path, uncased_tokenizer):
        long = " ".join(["word"] * 500) + "."
        path = _write_sentences(
            tmp_path / "long.txt", [[long], SENTENCES[3:6], [long, long]]
        )
        ds = pretraining_dataset(
            [path], uncased_tokenizer, 16, batch_size=2, shuffle_buffer=4
        )
        for x, _, _ in ds.take(5):
            assert x["token_ids"].shape == (2, 16)
            assert (x["padding_mask"].numpy().sum(1) <= 16).all()

    def test_one_sentence_documents(self, tmp_path, uncased_tokenizer):
        path = _write_sentences(
            tmp_path / "short.txt", [[s] for s in SENTENCES]
        )
        ds = pretraining_dataset(
            [path], uncased_tokenizer, 32, batch_size=8, repeat=False,
            shuffle_buffer=4,
        )  # fmt: skip
        labels = np.concatenate([y["next_sentence"].numpy() for _, y, _ in ds])
        assert len(labels) >= 8 and set(labels) <= {0, 1}

    def test_tfrecord_cache(self, tmp_path, corpus, uncased_tokenizer):
        cache = tmp_path / "cache"

        def make():
            return pretraining_dataset(
                [corpus], uncased_tokenizer, 32, batch_size=4, seed=5,
                repeat=False, cache_dir=str(cache),
            )  # fmt: skip

        first = _take(make())  # first pass tokenizes and writes the cache
        files = list(cache.glob("documents-*.tfrecord"))
        assert len(files) == 1 and not list(cache.glob("*.tmp-*"))
        cached = _take(make())  # reads the cache: same stream, same seed
        for a, b in zip(first, cached, strict=True):
            for key in a:
                np.testing.assert_array_equal(a[key], b[key])

    def test_fits_a_pretrainer(self, corpus, uncased_tokenizer):
        from keras_bert_impl import BertConfig
        from keras_bert_impl import BertPretrainer
        from keras_bert_impl import build_encoder

        cfg = BertConfig.preset(
            "tiny", vocabulary_size=uncased_tokenizer.vocabulary_size,
            num_layers=1, hidden_dim=16, num_heads=2, intermediate_dim=32,
            max_sequence_length=32,
        )  # fmt: skip
        model = BertPretrainer(build_encoder(cfg))
        model.compile()
        ds = pretraining_dataset(
            [corpus], uncased_tokenizer, 32, batch_size=4, shuffle_buffer=8
        )
        history = model.fit(ds, steps_per_epoch=2, epochs=1, verbose=0)
        assert np.isfinite(history.history["loss"][0])

    @pytest.mark.parametrize(
        "kwargs, match",
        [
            ({"max_seq_length": 4}, "at least 5"),
            ({"batch_size": 0}, "batch_size"),
            ({"corpus_format": "xml"}, "corpus_format"),
        ],
    )
    def test_invalid_arguments(self, corpus, uncased_tokenizer, kwargs, match):
        with pytest.raises(ValueError, match=match):
            pretraining_dataset([corpus], uncased_tokenizer, **kwargs)
