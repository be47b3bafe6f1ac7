"""BertTokenizer API: shapes, packing, tf.data, tf.function, SavedModel."""

import json
import shutil

import numpy as np
import pytest
import tensorflow as tf

from keras_bert_impl.tokenization.bert_tokenizer import BertTokenizer
from tests.tokenization.conftest import TINY
from tests.tokenization.conftest import UNCASED
from tests.tokenization.conftest import hf_reference


def test_attributes(tiny_tokenizer):
    tok = tiny_tokenizer
    assert tok.vocabulary_size == 32 == len(tok.vocabulary)
    assert (tok.pad_id, tok.unk_id, tok.cls_id, tok.sep_id, tok.mask_id) == (
        0,
        1,
        2,
        3,
        4,
    )
    assert tok.lower_case is True and tok.strip_accents is None


def test_tokenize_shapes(tiny_tokenizer):
    batch = tiny_tokenizer.tokenize(["The fox jumps.", ""])
    assert isinstance(batch, tf.RaggedTensor) and batch.dtype == tf.int32
    assert batch.to_list() == [[10, 13, 14, 15, 5], []]
    single = tiny_tokenizer.tokenize("The fox jumps.")
    assert single.shape.rank == 1
    assert single.numpy().tolist() == [10, 13, 14, 15, 5]


def test_tokenize_words(tiny_tokenizer):
    words = tiny_tokenizer.tokenize_words(["The fox jumps. Unaffable"])
    assert words.to_list() == [[[10], [13], [14, 15], [5], [1]]]
    assert tiny_tokenizer.tokenize_words("jumped").to_list() == [[14, 16]]


def test_offsets_recover_original_characters(uncased_tokenizer):
    text = "Ünïcode café — İstanbul 中文!"
    ids, start, end = uncased_tokenizer.tokenize_with_offsets([text])
    spans = [
        text[s:e] for s, e in zip(start[0].numpy(), end[0].numpy(), strict=True)
    ]
    assert spans[:3] == ["Ünïcode", "café", "—"]
    assert spans[-3:] == ["中", "文", "!"]
    # The same spans with TensorFlow ops, in characters.
    sub = tf.strings.substr(text, start[0], end[0] - start[0], unit="UTF8_CHAR")
    assert [s.decode() for s in sub.numpy()] == spans


def test_detokenize(tiny_tokenizer):
    ids = tiny_tokenizer.tokenize(["The fox jumps, the dog!"])
    text = tiny_tokenizer.detokenize(ids)
    assert text.numpy().tolist() == [b"the fox jumps , the dog !"]
    dense = tiny_tokenizer.encode(["The fox jumps"], max_length=8)
    assert tiny_tokenizer.detokenize(dense["token_ids"]).numpy().tolist() == [
        b"the fox jumps"
    ]
    assert tiny_tokenizer.detokenize([2, 1, 13, 3, 0]).numpy() == b"[UNK] fox"


def _truncate_seq_pair(a, b, budget):
    """Google BERT's `_truncate_seq_pair`, the reference for `encode`."""
    a, b = list(a), list(b)
    while len(a) + len(b) > budget:
        if len(a) > len(b):
            a.pop()
        else:
            b.pop()
    return a, b


def test_encode_pairs_of_another_batch_size_is_an_error(uncased_tokenizer):
    tok = uncased_tokenizer
    with pytest.raises(ValueError, match="2 texts and 3 pairs"):
        tok.encode(["a", "b"], ["c", "d", "e"], max_length=8)

    @tf.function(input_signature=[tf.TensorSpec([None], tf.string)] * 2)
    def encode(texts, pairs):
        return tok.encode(texts, pairs, max_length=8)

    with pytest.raises(tf.errors.InvalidArgumentError, match="same number"):
        encode(tf.constant(["a", "b"]), tf.constant(["c", "d", "e"]))
    out = encode(tf.constant(["a", "b"]), tf.constant(["c", "d"]))
    assert out["token_ids"].shape == (2, 8)


@pytest.mark.parametrize("max_length", [8, 9, 16, 64])
def test_encode_pairs(uncased_tokenizer, max_length):
    tok = uncased_tokenizer
    texts = ["one two three four five six seven", "short", "", "a b c d e f"]
    pairs = ["uno dos", "a much longer second segment here", "", "g h i j k"]
    out = tok.encode(texts, pairs, max_length=max_length)
    assert set(out) == {"token_ids", "segment_ids", "padding_mask"}
    for value in out.values():
        assert value.dtype == tf.int32
        assert value.shape == (4, max_length)
    for i, (a, b) in enumerate(zip(texts, pairs, strict=True)):
        ta = tok.tokenize(a).numpy().tolist()
        tb = tok.tokenize(b).numpy().tolist()
        ta, tb = _truncate_seq_pair(ta, tb, max_length - 3)
        ids = [tok.cls_id, *ta, tok.sep_id, *tb, tok.sep_id]
        segments = [0] * (len(ta) + 2) + [1] * (len(tb) + 1)
        pad = max_length - len(ids)
        assert out["token_ids"][i].numpy().tolist() == ids + [0] * pad
        assert out["segment_ids"][i].numpy().tolist() == segments + [0] * pad
        assert (
            out["padding_mask"][i].numpy().tolist()
            == [1] * len(ids) + [0] * pad
        )


def test_encode_single_matches_reference(uncased_tokenizer):
    texts = ["Hello, World! This is a test of truncation.", "Tiny"]
    out = uncased_tokenizer.encode(texts, max_length=8)
    reference = hf_reference(UNCASED, True)
    reference.enable_truncation(8)
    reference.enable_padding(length=8)
    for i, enc in enumerate(reference.encode_batch(texts)):
        assert out["token_ids"][i].numpy().tolist() == enc.ids
        assert out["padding_mask"][i].numpy().tolist() == enc.attention_mask
        assert out["segment_ids"][i].numpy().tolist() == enc.type_ids


def test_encode_scalar_and_bad_length(tiny_tokenizer):
    out = tiny_tokenizer.encode("the fox", "the dog", max_length=8)
    assert out["token_ids"].numpy().tolist() == [2, 10, 13, 3, 10, 19, 3, 0]
    with pytest.raises(ValueError, match="max_length=3"):
        tiny_tokenizer.encode("a", "b", max_length=3)


def test_in_tf_data_and_tf_function(tiny_tokenizer):
    tok = tiny_tokenizer
    lines = ["The quick brown fox", "jumps over the lazy dog", ""]
    expected = tok.encode(lines, max_length=8)
    ds = tf.data.Dataset.from_tensor_slices(lines).batch(2)
    ds = ds.map(
        lambda x: tok.encode(x, max_length=8),
        num_parallel_calls=tf.data.AUTOTUNE,
    )
    got = np.concatenate([b["token_ids"].numpy() for b in ds])
    np.testing.assert_array_equal(got, expected["token_ids"].numpy())

    @tf.function(input_signature=[tf.TensorSpec([None], tf.string)])
    def all_methods(x):
        ids, start, end = tok.tokenize_with_offsets(x)
        return (
            tok.tokenize(x).to_tensor(),
            tok.tokenize_words(x).flat_values,
            ids.to_tensor(),
            end.to_tensor(),
            tok.detokenize(tok.tokenize(x)),
            tok.encode(x, x, max_length=8)["token_ids"],
        )

    out = all_methods(tf.constant(lines))
    np.testing.assert_array_equal(
        out[0].numpy(), tok.tokenize(lines).to_tensor().numpy()
    )
    np.testing.assert_array_equal(out[0].numpy(), out[2].numpy())


def test_saved_model_round_trip(tmp_path, uncased_tokenizer):
    module = tf.Module()
    module.tokenizer = uncased_tokenizer

    @tf.function(input_signature=[tf.TensorSpec([None], tf.string)])
    def serve(text):
        return module.tokenizer.encode(text, max_length=16)

    module.serve = serve
    lines = tf.constant(["Hello, SavedModel world!", "Ünïcode 中文 test"])
    expected = serve(lines)
    tf.saved_model.save(module, str(tmp_path / "model"))
    loaded = tf.saved_model.load(str(tmp_path / "model"))
    got = loaded.serve(lines)
    for key in expected:
        np.testing.assert_array_equal(got[key].numpy(), expected[key].numpy())


def test_config_and_save_load(tmp_path):
    tok = BertTokenizer(TINY, lower_case=False, strip_accents=True)
    clone = BertTokenizer.from_config(tok.get_config())
    assert clone.get_config() == tok.get_config()
    tok.save(str(tmp_path / "tok"))
    assert sorted(p.name for p in (tmp_path / "tok").iterdir()) == [
        "tokenizer_config.json",  # Hugging Face's file and keys
        "vocab.txt",
    ]
    settings = json.loads(
        (tmp_path / "tok" / "tokenizer_config.json").read_text()
    )
    assert settings["do_lower_case"] is False
    assert settings["strip_accents"] is True
    loaded = BertTokenizer.load(str(tmp_path / "tok"))
    assert loaded.get_config() == tok.get_config()
    text = ["The Fox, café"]
    assert loaded.tokenize(text).to_list() == tok.tokenize(text).to_list()


def test_load_reads_every_settings_file(tmp_path):
    """The first release's own `tokenizer.json`, a Hugging Face fast
    `tokenizer.json` (normalizer), and `tokenizer_config.json` winning over
    both; a folder with only vocab.txt is uncased."""
    shutil.copyfile(TINY, tmp_path / "vocab.txt")
    assert BertTokenizer.load(str(tmp_path)).lower_case is True
    legacy = {"lower_case": False, "strip_accents": None,
              "max_word_length": 100, "suffix_indicator": "##"}  # fmt: skip
    (tmp_path / "tokenizer.json").write_text(json.dumps(legacy))
    assert BertTokenizer.load(str(tmp_path)).lower_case is False
    fast = {
        "version": "1.0",
        "normalizer": {"type": "BertNormalizer", "lowercase": False,
                       "strip_accents": True, "handle_chinese_chars": True},
        "model": {"type": "WordPiece", "max_input_chars_per_word": 50,
                  "continuing_subword_prefix": "##"},
    }  # fmt: skip
    (tmp_path / "tokenizer.json").write_text(json.dumps(fast))
    loaded = BertTokenizer.load(str(tmp_path))
    assert (loaded.lower_case, loaded.strip_accents) == (False, True)
    assert loaded.max_word_length == 50
    (tmp_path / "tokenizer_config.json").write_text(
        json.dumps({"do_lower_case": True, "strip_accents": None})
    )
    loaded = BertTokenizer.load(str(tmp_path))
    assert (loaded.lower_case, loaded.strip_accents) == (True, None)
    assert (
        BertTokenizer.load(str(tmp_path), lower_case=False).lower_case is False
    )


def test_strip_accents_follows_lower_case_unless_set():
    words = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "cafe", "café"]
    assert BertTokenizer(words).tokenize("Café").numpy().tolist() == [5]
    cased = BertTokenizer(words, lower_case=False)
    assert cased.tokenize("café").numpy().tolist() == [6]
    keep = BertTokenizer(words, strip_accents=False)
    assert keep.tokenize("CAFÉ").numpy().tolist() == [6]


def test_bad_inputs(uncased_tokenizer):
    tok = uncased_tokenizer
    empty = tok.tokenize(["", " \t\n"])
    assert empty.to_list() == [[], []]
    controls = tok.tokenize(["\x00\x01\x02\u200b\ufeff\x7f"])
    assert controls.to_list() == [[]]
    out = tok.encode(["", "\x00\x01"], max_length=4)
    assert out["token_ids"].numpy().tolist() == [[101, 102, 0, 0]] * 2
    # One 1 MB line: 100,000 ten-letter words, and one 1 MB word ([UNK]).
    line = "abcdefghi " * 100_000
    ids = tok.tokenize([line, "x" * 1_000_000])
    assert ids.row_lengths().numpy().tolist() == [
        100_000 * len(tok.tokenize("abcdefghi").numpy()),
        1,
    ]
    assert ids[1].numpy().tolist() == [tok.unk_id]


def test_bad_vocab_arguments():
    with pytest.raises(ValueError, match=r"\[MASK\]"):
        BertTokenizer(["[PAD]", "[UNK]", "[CLS]", "[SEP]", "a"])
    with pytest.raises(ValueError, match="Duplicate token 'a' at line 7"):
        BertTokenizer(["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "a", "a"])
    with pytest.raises(ValueError, match="max_word_length=0"):
        BertTokenizer(TINY, max_word_length=0)
