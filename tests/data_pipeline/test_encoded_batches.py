"""The readers' two batching paths: packed once and cached, or streamed.

`encoded_batches` keeps the packed examples in memory when they fit in
`CACHE_LIMIT_BYTES` (so later epochs skip the tokenizer) and otherwise
shuffles raw examples and packs every batch. Both must give the same
batches in the same order, epoch after epoch, with the dataset's length
known (Keras' schedules need it).
"""

import numpy as np
import pytest
import tensorflow as tf

from keras_bert_impl.data import batching
from keras_bert_impl.data.choice import choice_dataset
from keras_bert_impl.data.classification import classification_dataset
from keras_bert_impl.data.ner import ner_dataset

DATA = "tests/data/finetune"


def _epochs(ds, n=2):
    """n epochs of numpy batches (each batch flattened to a list)."""
    return [
        [tf.nest.map_structure(np.asarray, b) for b in ds] for _ in range(n)
    ]


def _assert_same(a, b):
    assert len(a) == len(b)
    for x, y in zip(a, b, strict=True):
        tf.nest.map_structure(np.testing.assert_array_equal, x, y)


def _rows_file(tmp_path):
    rows = [
        f"{' '.join(['word'] * (i % 7 + 1))} {i}\t{i % 3}" for i in range(37)
    ]
    path = tmp_path / "t.tsv"
    path.write_text("text\tlabel\n" + "\n".join(rows) + "\n")
    return str(path)


READERS = {
    "classification": lambda tok, tmp: classification_dataset(
        _rows_file(tmp), tok, max_seq_length=16, batch_size=8, shuffle=True,
        seed=5, length_buckets=(8,),
    ),
    "ner": lambda tok, tmp: ner_dataset(
        f"{DATA}/conll_sample.txt", tok, max_seq_length=16, batch_size=2,
        shuffle=True, seed=5,
    ),
    "choice": lambda tok, tmp: choice_dataset(
        f"{DATA}/swag_sample.csv", tok, max_seq_length=24, batch_size=2,
        shuffle=True, seed=5,
    ),
}  # fmt: skip


@pytest.mark.parametrize("reader", sorted(READERS))
def test_cached_and_streamed_paths_agree(
    reader, uncased_tokenizer, tmp_path, monkeypatch
):
    cached = READERS[reader](uncased_tokenizer, tmp_path)
    monkeypatch.setattr(batching, "CACHE_LIMIT_BYTES", 0)
    streamed = READERS[reader](uncased_tokenizer, tmp_path)
    # Only the cached pipeline holds a CacheDataset.
    assert "CacheDatasetV2" in _ops(cached)
    assert not any(op.startswith("Cache") for op in _ops(streamed))
    a, b = _epochs(cached), _epochs(streamed)
    for epoch_a, epoch_b in zip(a, b, strict=True):
        _assert_same(epoch_a, epoch_b)
    # A new order each epoch, seeded: the cache keeps packed rows, not
    # the first epoch's batches.
    assert _order(a[0]) != _order(a[1])
    n = int(cached.cardinality())
    assert n == len(a[0]) == int(streamed.cardinality())


def _order(batches):
    """Each example's token ids (without padding), in batch order."""
    out = []
    for batch in batches:
        ids, mask = batch[0]["token_ids"], batch[0]["padding_mask"]
        for row, keep in zip(
            ids.reshape(len(ids), -1), mask.reshape(len(ids), -1), strict=True
        ):
            out.append(tuple(row[keep > 0]))
    return out


def _ops(ds):
    graph = tf.compat.v1.GraphDef()
    graph.ParseFromString(ds._as_serialized_graph().numpy())
    return {node.op for node in graph.node}
