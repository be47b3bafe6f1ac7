import gzip
import json
import os

import numpy as np
import pytest
import tensorflow as tf

from keras_bert_impl.data import MaskedLMMasker
from keras_bert_impl.data import pretraining_dataset
from keras_bert_impl.data import read_documents
from keras_bert_impl.data import sentence_pair_dataset
from keras_bert_impl.data import split_sentences
from keras_bert_impl.data import write_document_cache
from keras_bert_impl.data.corpus import CorpusStats
from keras_bert_impl.data.corpus import resolve_format

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


def _pairs(ds):
    """Every example of a `sentence_pair_dataset`, with A and B taken apart:
    a list of `(a, b, next_sentence, document, b_document, length)`."""
    out = []
    for e in ds.as_numpy_iterator():
        n = int(e["padding_mask"].sum())
        body, seg = e["token_ids"][1 : n - 1], e["segment_ids"][1 : n - 1]
        a, b = body[seg == 0][:-1].tolist(), body[seg == 1].tolist()
        out.append((a, b, int(e["next_sentence"]), int(e["document"]),
                    int(e["b_document"]), n))  # fmt: skip
    return out


def _contiguous(piece, tokens):
    """Whether `piece` is a contiguous run of the list `tokens`."""
    k = len(piece)
    return any(tokens[i : i + k] == piece for i in range(len(tokens) - k + 1))


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
        with pytest.raises(FileNotFoundError, match="No file matches"):
            pretraining_dataset([str(tmp_path / "*.nope")], uncased_tokenizer)

    def test_jsonl_without_text_field(self, tmp_path):
        path = tmp_path / "x.jsonl"
        path.write_text('{"body": "x"}\n')
        with pytest.raises(ValueError, match=r"x.jsonl:1: .* no 'text' field"):
            list(read_documents([path]))


class _NoTokenizing:
    """A tokenizer stand-in whose `tokenize` must not be called."""

    def __init__(self, tokenizer):
        names = "vocabulary lower_case strip_accents cls_id sep_id pad_id"
        for name in (*names.split(), "mask_id", "vocabulary_size"):
            setattr(self, name, getattr(tokenizer, name))

    def tokenize(self, strings):
        raise AssertionError("tokenize() called despite the cache")


def _labels(ds):
    return np.concatenate([y["next_sentence"].numpy() for _, y, _ in ds])


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

    def test_long_lines_are_truncated(
        self, tmp_path, bbc_corpus, uncased_tokenizer
    ):
        """A line of ~500 tokens (a real article on one line of the
        "sentences" format) is cut to the budget: every pair with a long
        line fills all 16 positions, and its A and B are still contiguous
        pieces of that line (cut at a random end, as in the paper), which
        decode to a piece of the line's text."""
        tok = uncased_tokenizer
        long = bbc_corpus.read_text(encoding="utf-8").splitlines()[0]
        line_tokens = tok.tokenize(long).numpy().tolist()
        assert len(line_tokens) > 300
        docs = [[long], SENTENCES[3:6], [long, long]]
        path = _write_sentences(tmp_path / "long.txt", docs)
        ds = sentence_pair_dataset([path], tok, 16, seed=1)
        tokens = [[t for s in d for t in tok.tokenize(s).numpy().tolist()]
                  for d in docs]  # fmt: skip
        words = tok.split_words([long]).to_list()[0]
        normalized = " ".join(w.decode() for w in words)
        examples = _pairs(ds.repeat(5))
        assert len(examples) > 20
        with_long = 0
        for a, b, _, doc, b_doc, n in examples:
            assert n <= 16
            assert _contiguous(a, tokens[doc]) and _contiguous(b, tokens[b_doc])
            if doc in (0, 2) or b_doc in (0, 2):
                with_long += 1
                assert n == 16  # the whole budget
            for piece, source in ((a, doc), (b, b_doc)):
                if source in (0, 2):
                    assert _contiguous(piece, line_tokens)
                    text = tok.detokenize(piece).numpy().decode()
                    assert text and text in normalized
        assert with_long > 10

    def test_one_sentence_documents(self, tmp_path, uncased_tokenizer):
        """Each document is one sentence: a real pair splits it (A + B is
        the whole sentence), a random pair is the sentence and another
        document's sentence, and the labels stay balanced."""
        tok = uncased_tokenizer
        path = _write_sentences(
            tmp_path / "short.txt", [[s] for s in SENTENCES]
        )
        tokens = [tok.tokenize(s).numpy().tolist() for s in SENTENCES]
        ds = sentence_pair_dataset([path], tok, 32, seed=4)
        examples = _pairs(ds.repeat(20))
        assert len(examples) == 20 * len(SENTENCES)  # one pair a document
        for a, b, random_next, doc, b_doc, _ in examples:
            assert a and b
            if random_next:
                assert b_doc != doc
                assert a == tokens[doc] and b == tokens[b_doc]
            else:
                assert b_doc == doc and a + b == tokens[doc]
        labels = np.array([e[2] for e in examples])
        assert 0.35 < labels.mean() < 0.65
        ds = pretraining_dataset(
            [path], tok, 32, batch_size=8, repeat=False, shuffle_buffer=4,
        )  # fmt: skip
        assert len(_labels(ds)) == 8  # 9 examples, one batch of 8

    def test_documents_too_short_for_a_pair_are_counted(
        self, tmp_path, uncased_tokenizer
    ):
        """A one-token document and one that tokenizes to nothing give no
        pair (a one-token one could give only random ones); they are
        counted in `empty_documents` (and logged), every pass."""
        docs = [SENTENCES[0:3], ["Hello"], SENTENCES[3:6], ["\u200b"],
                SENTENCES[6:9]]  # fmt: skip
        path = tmp_path / "short.txt"
        path.write_text(
            "\n\n".join("\n".join(d) for d in docs) + "\n", encoding="utf-8"
        )
        stats = CorpusStats()
        ds = sentence_pair_dataset([path], uncased_tokenizer, 64, stats=stats)
        examples = _pairs(ds.repeat(10))
        assert stats.documents == 50 and stats.empty_documents == 20
        assert {e[3] for e in examples} == {0, 2, 4}
        assert 3 not in {e[4] for e in examples}  # no B from nothing

    def test_tfrecord_cache(self, tmp_path, corpus, uncased_tokenizer):
        cache = tmp_path / "cache"

        def make(tokenizer):
            return pretraining_dataset(
                [corpus], tokenizer, 32, batch_size=4, seed=5,
                repeat=False, shuffle_buffer=8, cache_dir=str(cache),
            )  # fmt: skip

        first = _take(make(uncased_tokenizer))  # writes the cache first
        files = list(cache.glob("corpus.txt-*.tfrecord"))
        assert len(files) == 1 and not list(cache.glob("*.tmp-*"))
        # A second run reads the cache: it never tokenizes.
        ds = make(_NoTokenizing(uncased_tokenizer))
        cached = _take(ds)
        for a, b in zip(first, cached, strict=True):
            for key in a:
                np.testing.assert_array_equal(a[key], b[key])
        # Masking (and pairing) stay dynamic after the cache.
        again = _take(ds)
        assert any(
            not np.array_equal(a["token_ids"], b["token_ids"])
            for a, b in zip(cached, again, strict=True)
        )

    def test_cache_progress_bar(
        self, tmp_path, corpus, uncased_tokenizer, monkeypatch, capsys
    ):
        """Writing the cache shows a `keras.utils.Progbar` over the text
        bytes, which ends at the corpus size; `verbose=False` shows none."""
        import keras

        many = tmp_path / "many.txt"  # many line batches of 256
        many.write_text(
            "\n".join(" ".join(SENTENCES[i % 9 : i % 9 + 2]) for i in
                      range(5000)) + "\n"
        )  # fmt: skip
        with gzip.open(tmp_path / "many.txt.gz", "wt") as f:
            f.write(many.read_text())
        files = [str(corpus), str(many), str(tmp_path / "many.txt.gz")]
        total = os.path.getsize(corpus) + 2 * os.path.getsize(many)
        bars = []

        class Recording(keras.utils.Progbar):
            def __init__(self, target, **kwargs):
                super().__init__(target, **kwargs)
                self.updates = []
                bars.append(self)

            def update(self, current, values=None, finalize=None):
                self.updates.append((current, finalize))
                super().update(current, values, finalize)

        monkeypatch.setattr(keras.utils, "Progbar", Recording)
        paths = [str(tmp_path / f"c{i}.tfrecord") for i in range(3)]
        write_document_cache(
            files, paths, uncased_tokenizer, "documents", verbose=True
        )
        (bar,) = bars
        assert bar.target == total and bar.unit_name == "byte"
        *steps, last = bar.updates
        assert last == (total, True)  # printed once, complete
        seen = [current for current, _ in steps]
        assert seen == sorted(seen) and 0 < seen[0] and seen[-1] < total
        assert len(set(seen)) > 3
        assert "byte" in capsys.readouterr().out
        write_document_cache(
            files, [p + ".quiet" for p in paths], uncased_tokenizer,
            "documents", verbose=False,
        )  # fmt: skip
        assert len(bars) == 1 and capsys.readouterr().out == ""
        # Through the pipeline: a bar only while the cache is written.
        cache = str(tmp_path / "cache")
        for _ in range(2):
            pretraining_dataset(
                [corpus], uncased_tokenizer, 32, cache_dir=cache
            )
        assert len(bars) == 2
        pretraining_dataset(
            [many], uncased_tokenizer, 32, cache_dir=cache,
            corpus_format="documents", verbose=False,
        )  # fmt: skip
        assert len(bars) == 2

    def test_fits_a_pretrainer(self, tmp_path):
        """The batches fit `BertPretrainer.compile()` defaults (XLA)."""
        from keras_bert_impl import BertConfig
        from keras_bert_impl import BertPretrainer
        from keras_bert_impl import build_encoder
        from keras_bert_impl.tokenization.bert_tokenizer import BertTokenizer

        tokenizer = BertTokenizer("tests/data/vocab/tiny.txt")  # 32 entries
        line = "the quick brown fox jumps over the lazy dog. hello world!"
        corpus = _write_sentences(tmp_path / "fox.txt", [[line] * 3] * 4)
        cfg = BertConfig.preset(
            "tiny", vocabulary_size=tokenizer.vocabulary_size,
            num_layers=1, hidden_dim=16, num_heads=2, intermediate_dim=32,
            max_sequence_length=32,
        )  # fmt: skip
        model = BertPretrainer(build_encoder(cfg))
        model.compile()  # jit_compile=True: static shapes are the contract
        ds = pretraining_dataset(
            [corpus], tokenizer, 32, batch_size=4, shuffle_buffer=8
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


class TestBadInputThroughThePipeline:
    def test_non_utf8_later_in_the_corpus(self, tmp_path, uncased_tokenizer):
        good = "\n\n".join("\n".join(SENTENCES[i : i + 3]) for i in (0, 3, 6))
        path = tmp_path / "late.txt"
        path.write_bytes(good.encode() + b"\n\ncaf\xe9 au lait.\nMore.\n")
        ds = pretraining_dataset(
            [path], uncased_tokenizer, 32, batch_size=2, repeat=False
        )
        with pytest.raises(Exception, match=r"late.txt:13: not valid UTF-8"):
            list(ds)
        stats = CorpusStats()
        ds = pretraining_dataset(
            [path], uncased_tokenizer, 32, batch_size=2, repeat=False,
            errors="replace", stats=stats,
        )  # fmt: skip
        assert len(_labels(ds)) > 0 and stats.replaced_lines == 1

    def test_empty_files_are_counted(self, tmp_path, corpus, uncased_tokenizer):
        (tmp_path / "empty.txt").write_text("")
        (tmp_path / "blank.txt").write_text("\n  \n")
        stats = CorpusStats()
        ds = pretraining_dataset(
            [str(tmp_path / "*.txt")], uncased_tokenizer, 32, batch_size=4,
            repeat=False, stats=stats,
        )  # fmt: skip
        assert len(_labels(ds)) > 0
        assert stats.empty_files == 2 and stats.files == 3
        assert stats.documents == 12

    def test_jsonl_gzip_documents_formats(self, tmp_path, uncased_tokenizer):
        docs = [SENTENCES[0:3], SENTENCES[3:6], SENTENCES[6:9]]
        with gzip.open(tmp_path / "c.jsonl.gz", "wt") as f:
            for d in docs:
                f.write(json.dumps({"text": " ".join(d)}) + "\n")
        (tmp_path / "d.txt").write_text("\n".join(" ".join(d) for d in docs))
        for path, fmt in ((tmp_path / "c.jsonl.gz", "auto"),
                          (tmp_path / "d.txt", "documents")):  # fmt: skip
            ds = sentence_pair_dataset(
                [path], uncased_tokenizer, 64, corpus_format=fmt
            )
            examples = list(ds.as_numpy_iterator())
            assert {int(e["document"]) for e in examples} == {0, 1, 2}

    def test_gzip_sentences_format(self, tmp_path, corpus, uncased_tokenizer):
        """A gzip-compressed file in the original BERT format (a sentence a
        line, blank lines between documents) gives exactly the stream of
        the same file uncompressed."""
        packed = tmp_path / "packed.txt.gz"
        with gzip.open(packed, "wb") as f:
            f.write(corpus.read_bytes())
        assert resolve_format([packed]) == "sentences"
        assert list(read_documents([packed])) == list(read_documents([corpus]))
        examples = list(
            sentence_pair_dataset([packed], uncased_tokenizer, 32, seed=2)
            .as_numpy_iterator()
        )  # fmt: skip
        assert {int(e["document"]) for e in examples} == set(range(12))
        plain = list(
            sentence_pair_dataset([corpus], uncased_tokenizer, 32, seed=2)
            .as_numpy_iterator()
        )  # fmt: skip
        assert len(examples) == len(plain)
        for a, b in zip(examples, plain, strict=True):
            for key in a:
                np.testing.assert_array_equal(a[key], b[key])

        def batches(path):
            ds = pretraining_dataset(
                [path], uncased_tokenizer, 32, batch_size=4, seed=2,
                repeat=False, shuffle_buffer=8,
            )  # fmt: skip
            return [x["token_ids"].numpy() for x, _, _ in ds]

        np.testing.assert_array_equal(batches(packed), batches(corpus))

    def test_mixed_formats_need_an_explicit_format(self, tmp_path):
        with pytest.raises(ValueError, match="corpus_format="):
            resolve_format([tmp_path / "a.jsonl", tmp_path / "b.txt"])


class TestSharding:
    @pytest.fixture
    def four_files(self, tmp_path):
        for i in range(4):
            docs = [SENTENCES[(i + j) % 9 : (i + j) % 9 + 2] for j in (0, 3)]
            _write_sentences(tmp_path / f"part{i}.txt", docs)
        return str(tmp_path / "part*.txt")

    def _files_of(self, ds):
        return {int(e["document"]) >> 32 for e in ds.as_numpy_iterator()}

    def test_auto_shard_by_file(self, four_files, uncased_tokenizer):
        from tensorflow.python.data.experimental.ops import distribute

        ds = sentence_pair_dataset([four_files], uncased_tokenizer, 32)
        options = tf.data.Options()
        policy = tf.data.experimental.AutoShardPolicy.FILE
        options.experimental_distribute.auto_shard_policy = policy
        ds = ds.with_options(options)
        seen = [
            self._files_of(distribute._AutoShardDataset(ds, 2, worker))
            for worker in (0, 1)
        ]
        assert seen == [{0, 2}, {1, 3}]

    def test_input_context(self, four_files, uncased_tokenizer):
        context = tf.distribute.InputContext(2, 1, 1)
        ds = sentence_pair_dataset(
            [four_files], uncased_tokenizer, 32, input_context=context
        )
        assert self._files_of(ds) == {1, 3}


def test_whole_word_masking_in_the_pipeline(corpus, uncased_tokenizer):
    ds = pretraining_dataset(
        [corpus], uncased_tokenizer, 32, batch_size=8, seed=2,
        whole_word_masking=True, mask_token_rate=1.0, random_token_rate=0.0,
        masking_rate=0.3, repeat=False, shuffle_buffer=8,
    )  # fmt: skip
    vocab = uncased_tokenizer.vocabulary
    for x, y, w in ds:
        ids = x["token_ids"].numpy()
        for i, row in enumerate(ids):
            masked = row == uncased_tokenizer.mask_id
            original = row.copy()
            real = w["masked_lm"].numpy()[i] > 0
            original[x["mask_positions"].numpy()[i][real]] = y[
                "masked_lm"
            ].numpy()[i][real]
            for p in range(1, len(row) - 1):
                # A continuation piece is masked iff the piece before is.
                if vocab[original[p]].startswith("##"):
                    assert masked[p] == masked[p - 1]


def test_injected_policies(corpus, uncased_tokenizer):
    """A custom selector (every 3rd position) through the whole pipeline."""

    def every_third(token_ids, seed):
        positions = tf.range(tf.shape(token_ids)[1])[None, :]
        return (positions % 3 == 1) & (token_ids > 4)

    masker = MaskedLMMasker(uncased_tokenizer.vocabulary, 12,
                            selector=every_third)  # fmt: skip
    ds = pretraining_dataset(
        [corpus], uncased_tokenizer, 32, batch_size=4, masker=masker,
        shuffle_buffer=8,
    )  # fmt: skip
    x, _, w = next(iter(ds))
    positions = x["mask_positions"].numpy()[w["masked_lm"].numpy() > 0]
    assert len(positions) and (positions % 3 == 1).all()
