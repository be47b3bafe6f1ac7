"""Multiple choice (SWAG-style) reader and `(b, C, L)` batches."""

import numpy as np
import pytest
import tensorflow as tf
from tokenizers import BertWordPieceTokenizer

from keras_bert_impl.data.choice import choice_dataset
from keras_bert_impl.data.choice import read_choice

DATA = "tests/data/finetune"


def test_swag_csv_matches_hf_pairs(uncased_tokenizer):
    examples = read_choice(f"{DATA}/swag_sample.csv")
    # sent1 is the context; sent2 starts every ending.
    assert examples.contexts[0] == "The chef slices an onion."
    assert examples.endings[0][3] == "She folds the pan, then sleeps."
    assert examples.labels == [0, 1, 2]
    ds = choice_dataset(f"{DATA}/swag_sample.csv", uncased_tokenizer, 24)
    assert ds.num_choices == 4 and ds.num_examples == 3
    x, y = next(iter(ds))
    assert y.numpy().tolist() == [0, 1, 2]
    hf = BertWordPieceTokenizer("tests/data/vocab/uncased.txt")
    for k in ("token_ids", "segment_ids", "padding_mask"):
        assert x[k].shape == (3, 4, 24) and x[k].dtype == tf.int32
    for i in range(3):
        for c in range(4):
            ref = hf.encode(examples.contexts[i], examples.endings[i][c])
            n = len(ref.ids)
            assert x["token_ids"][i, c, :n].numpy().tolist() == ref.ids
            assert x["segment_ids"][i, c, :n].numpy().tolist() == (ref.type_ids)
            assert x["padding_mask"][i, c].numpy().sum() == n


def test_jsonl_endings_list_and_static_shapes(uncased_tokenizer):
    ds = choice_dataset(
        f"{DATA}/choice.jsonl", uncased_tokenizer, max_seq_length=16,
        batch_size=2, drop_remainder=True,
    )  # fmt: skip
    x_spec, y_spec = ds.element_spec
    assert x_spec["token_ids"].shape.as_list() == [2, 2, 16]
    assert y_spec.shape.as_list() == [2]
    x, y = next(iter(ds))
    assert y.numpy().tolist() == [0, 1]
    single = uncased_tokenizer.encode(
        "The kettle is boiling.", "I make some tea.", max_length=16
    )
    np.testing.assert_array_equal(
        x["token_ids"][1, 1], single["token_ids"].numpy()
    )


def test_startphrase_without_sent_columns(uncased_tokenizer, tmp_path):
    (tmp_path / "s.tsv").write_text(
        "startphrase\tending1\tending0\tending10\tending2\tlabel\n"
        "go\tb\ta\tk\tc\t3\n"
    )
    examples = read_choice(str(tmp_path / "s.tsv"))
    # Endings ordered by their number, not by column position.
    assert examples.endings == [["a", "b", "c", "k"]]
    assert examples.contexts == ["go"]


def test_choice_errors(uncased_tokenizer, tmp_path):
    (tmp_path / "a.csv").write_text("context,ending0,ending1,label\nx,y,z,2\n")
    with pytest.raises(ValueError, match=r"a\.csv:2: label '2'.*0 to 1"):
        read_choice(str(tmp_path / "a.csv"))
    (tmp_path / "b.jsonl").write_text(
        '{"context": "x", "endings": ["a", "b"], "label": 0}\n'
        '{"context": "x", "endings": ["a", "b", "c"], "label": 0}\n'
    )
    with pytest.raises(ValueError, match=r"b\.jsonl:2: 3 endings.*has 2"):
        read_choice(str(tmp_path / "b.jsonl"))
    (tmp_path / "c.csv").write_text("context,option,label\nx,y,0\n")
    with pytest.raises(ValueError, match=r"No ending columns.*'option'"):
        read_choice(str(tmp_path / "c.csv"))
    (tmp_path / "d.csv").write_text("context,ending0,label\n")
    with pytest.raises(ValueError, match="No examples"):
        choice_dataset(str(tmp_path / "d.csv"), uncased_tokenizer)
    (tmp_path / "e.csv").write_text("premise,ending0,label\nx,y,0\n")
    with pytest.raises(ValueError, match="context_column"):
        read_choice(str(tmp_path / "e.csv"))
    x = next(
        iter(
            choice_dataset(
                f"{DATA}/swag_sample.csv",
                uncased_tokenizer,
                16,
                label_column=None,
            )  # fmt: skip
        )
    )
    assert x["token_ids"].shape == (3, 4, 16)


def test_choice_length_buckets(uncased_tokenizer):
    ds = choice_dataset(
        f"{DATA}/choice.jsonl", uncased_tokenizer, max_seq_length=64,
        batch_size=1, length_buckets=(16, 32),
    )  # fmt: skip
    # The French pair needs 17+ pieces, the English one at most 16.
    assert [x["token_ids"].shape for x, _ in ds] == [(1, 2, 32), (1, 2, 16)]
