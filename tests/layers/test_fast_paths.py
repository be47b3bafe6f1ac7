"""The fast paths the benchmarks rely on compute what the plain forms do.

No timings here (the machines are shared): only that each fast path is
numerically the slow one within tolerance.
"""

import keras
import numpy as np
import pytest
import tensorflow as tf

from keras_bert_impl.config import BertConfig
from keras_bert_impl.layers.masked_lm_head import BertMaskedLMHead
from keras_bert_impl.models.encoder import build_encoder

CONFIG = BertConfig.preset("tiny", vocabulary_size=64, num_layers=2)


def _inputs(batch=2, seq=12, seed=0):
    rng = np.random.default_rng(seed)
    ids = rng.integers(1, CONFIG.vocabulary_size, (batch, seq)).astype("int32")
    mask = np.ones_like(ids)
    mask[1, seq - 4 :] = 0  # some padding
    segments = np.zeros_like(ids)
    segments[:, seq // 2 :] = 1
    return {"token_ids": ids, "segment_ids": segments, "padding_mask": mask}


@pytest.fixture(autouse=True)
def _seed():
    keras.utils.set_random_seed(0)


def test_masked_lm_gather_before_projection_equals_full_projection():
    # The head projects only the masked positions onto the vocabulary; that
    # must equal projecting every position and then picking the masked ones.
    head = BertMaskedLMHead(vocabulary_size=CONFIG.vocabulary_size)
    x = np.random.default_rng(1).normal(size=(3, 10, 16)).astype("float32")
    positions = np.array([[0, 4, 9], [1, 1, 2], [7, 8, 3]], "int32")
    gathered = keras.ops.convert_to_numpy(head(x, mask_positions=positions))
    full = keras.ops.convert_to_numpy(head(x))  # (3, 10, vocabulary_size)
    expected = np.take_along_axis(full, positions[:, :, None], axis=1)
    np.testing.assert_allclose(gathered, expected, atol=1e-5)


def test_xla_forward_equals_eager():
    encoder = build_encoder(CONFIG)
    inputs = _inputs()
    eager = encoder(inputs, training=False)
    compiled = tf.function(
        lambda x: encoder(x, training=False), jit_compile=True
    )(inputs)
    for key in ("sequence_output", "pooled_output"):
        np.testing.assert_allclose(
            keras.ops.convert_to_numpy(compiled[key]),
            keras.ops.convert_to_numpy(eager[key]),
            atol=1e-5,
        )


@pytest.mark.parametrize("jit_compile", [False, True])
def test_mixed_bfloat16_outputs_near_float32(jit_compile):
    fp32 = build_encoder(CONFIG)
    bf16 = build_encoder(CONFIG, dtype="mixed_bfloat16")
    bf16.set_weights(fp32.get_weights())  # float32 variables in both
    inputs = _inputs()
    ref = fp32(inputs, training=False)["sequence_output"]
    out = tf.function(
        lambda x: bf16(x, training=False), jit_compile=jit_compile
    )(inputs)["sequence_output"]
    assert out.dtype == "bfloat16"
    ref = keras.ops.convert_to_numpy(ref)
    out = keras.ops.convert_to_numpy(keras.ops.cast(out, "float32"))
    # LayerNorm outputs are O(1); bf16 keeps ~3 significant digits.
    np.testing.assert_allclose(out, ref, atol=0.1)
    assert np.abs(out - ref).mean() < 0.015


def test_plain_attention_equals_keras_dot_product_attention():
    # `benchmarks/bench_attention.py` times the block's plain attention
    # against `keras.ops.dot_product_attention`; both must compute the same
    # thing (inference: no attention dropout), padding mask included.
    from keras_bert_impl.layers.encoder_block import TransformerEncoderBlock

    block = TransformerEncoderBlock(num_heads=4, intermediate_dim=64)
    rng = np.random.default_rng(2)
    x = rng.normal(size=(3, 10, 32)).astype("float32")
    mask = np.ones((3, 10), "int32")
    mask[1, 6:] = 0
    mask[2, 3:] = 0
    block(x, padding_mask=mask)  # builds

    def attention(mask):  # the block's own, on its 2-D rows
        rows = x.reshape(30, 32)
        out = block._attention(rows, rows, (3, 10, 10), mask, training=False)
        return keras.ops.reshape(out, (3, 10, 32))

    ours = attention(mask)

    def heads(dense):  # (batch, seq, heads, head_dim)
        return keras.ops.reshape(dense(x), (3, 10, 4, 8))

    context = keras.ops.dot_product_attention(
        heads(block.query_dense),
        heads(block.key_dense),
        heads(block.value_dense),
        mask=mask.astype(bool)[:, None, None, :],
    )
    fused = block.attention_output_dense(
        keras.ops.reshape(context, (3, 10, 32))
    )
    np.testing.assert_allclose(
        keras.ops.convert_to_numpy(ours),
        keras.ops.convert_to_numpy(fused),
        atol=1e-5,
    )
    # The padded keys matter: masking them changes the result.
    unmasked = attention(np.ones_like(mask))
    assert not np.allclose(
        keras.ops.convert_to_numpy(unmasked)[1],
        keras.ops.convert_to_numpy(ours)[1],
        atol=1e-3,
    )


@pytest.mark.parametrize("activation", ["gelu", "relu"])
def test_dense_layers_fuse_with_bias_and_activation_in_grappler(activation):
    # Served without XLA (and trained from mini up), the block runs on
    # TensorFlow's kernels after Grappler: each of its six dense layers
    # must become one `_FusedMatMul` with its bias (the feed-forward's
    # first one with its activation too), not a MatMul + BiasAdd pair.
    from keras_bert_impl.export.graph_ops import grappler_ops
    from keras_bert_impl.layers.encoder_block import TransformerEncoderBlock

    blocks = [
        TransformerEncoderBlock(4, 64, activation=activation) for _ in range(2)
    ]

    @tf.function(
        input_signature=[
            tf.TensorSpec([None, None, 32]),
            tf.TensorSpec([None, None], tf.int32),
        ]
    )
    def forward(x, mask):
        for block in blocks:
            x = block(x, padding_mask=mask)
        return x

    counts, fused = grappler_ops(forward.get_concrete_function())
    fused_act = {"gelu": "GeluExact", "relu": "Relu"}[activation]
    assert fused == {
        "_FusedMatMul+BiasAdd": 2 * 5,
        f"_FusedMatMul+BiasAdd+{fused_act}": 2,
    }, (fused, counts)
    assert "BiasAdd" not in counts and "MatMul" not in counts, counts


def _ragged_inputs():
    """Rows of 12, 7 and 3 real tokens, and one with holes in its mask."""
    inputs = _inputs(batch=4, seq=12, seed=3)
    mask = np.zeros((4, 12), "int32")
    mask[0] = 1
    mask[1, :7] = 1
    mask[2, :3] = 1
    mask[3, [0, 1, 4, 5, 9]] = 1
    inputs["padding_mask"] = mask
    return inputs


@pytest.mark.parametrize("traced", [False, True])
def test_packed_tokens_equal_padded_at_real_positions(traced):
    from keras_bert_impl.models.encoder import packed_tokens

    encoder = build_encoder(CONFIG, return_all_layers=True)
    inputs = _ragged_inputs()

    def run(x):
        return encoder(x, training=False)

    if traced:
        run = tf.function(run)
    padded = run(inputs)
    with packed_tokens():
        packed = (tf.function(run.python_function) if traced else run)(inputs)
    real = inputs["padding_mask"].astype(bool)
    pairs = [(padded["pooled_output"], packed["pooled_output"], None)]
    pairs += [
        (a, b, real)
        for a, b in zip(
            padded["encoder_outputs"] + [padded["sequence_output"]],
            packed["encoder_outputs"] + [packed["sequence_output"]],
            strict=True,
        )
    ]
    assert len(pairs) == 1 + CONFIG.num_layers + 1
    for a, b, keep in pairs:
        a, b = keras.ops.convert_to_numpy(a), keras.ops.convert_to_numpy(b)
        if keep is None:
            np.testing.assert_allclose(b, a, atol=1e-5)
        else:
            np.testing.assert_allclose(b[keep], a[keep], atol=1e-5)
            assert not np.any(b[~keep])  # zeros at padding


def test_packed_tokens_without_padding_skip_the_attention_mask(monkeypatch):
    # A batch without padding (every request of one row) takes the plain
    # layout and applies no mask to the attention scores; a padded batch
    # still masks. Outputs equal the functional model's.
    from keras_bert_impl.layers.encoder_block import TransformerEncoderBlock
    from keras_bert_impl.models.encoder import packed_tokens

    encoder = build_encoder(CONFIG, return_all_layers=True)
    full = _inputs(batch=3, seq=12, seed=5)
    full["padding_mask"] = np.ones_like(full["padding_mask"])
    masks = []
    original = TransformerEncoderBlock._attention

    def attention(self, rows, query_rows, sizes, padding_mask, *args):
        masks.append(padding_mask)
        return original(self, rows, query_rows, sizes, padding_mask, *args)

    expected = encoder(full, training=False)
    monkeypatch.setattr(TransformerEncoderBlock, "_attention", attention)
    with packed_tokens():
        masks.clear()
        got = encoder(full, training=False)
        assert masks == [None] * CONFIG.num_layers
        masks.clear()
        encoder(_ragged_inputs(), training=False)
        assert len(masks) == CONFIG.num_layers
        assert all(m is not None for m in masks)
    for name in ("sequence_output", "pooled_output"):
        np.testing.assert_allclose(
            keras.ops.convert_to_numpy(got[name]),
            keras.ops.convert_to_numpy(expected[name]),
            atol=1e-6,
        )
    for a, b in zip(
        got["encoder_outputs"], expected["encoder_outputs"], strict=True
    ):
        np.testing.assert_allclose(
            keras.ops.convert_to_numpy(a),
            keras.ops.convert_to_numpy(b),
            atol=1e-6,
        )


def _dense_rows(encoder, inputs, training, monkeypatch):
    """The rows every Dense layer of the encoder saw, in one eager call."""
    seen = []
    original = keras.layers.Dense.call

    def call(self, x, *args, **kwargs):
        seen.append(int(x.shape[0]))
        return original(self, x, *args, **kwargs)

    monkeypatch.setattr(keras.layers.Dense, "call", call)
    encoder(inputs, training=training)
    monkeypatch.setattr(keras.layers.Dense, "call", original)
    return seen


def test_packed_tokens_run_dense_layers_on_real_tokens_only(monkeypatch):
    from keras_bert_impl.models.encoder import packed_tokens

    encoder = build_encoder(CONFIG)
    inputs = _ragged_inputs()
    real = int(inputs["padding_mask"].sum())  # 12 + 7 + 3 + 5 = 27 of 48
    with packed_tokens():
        rows = _dense_rows(encoder, inputs, False, monkeypatch)
        trained = _dense_rows(encoder, inputs, True, monkeypatch)
    # Six dense layers a block, then the pooler on the 4 [CLS] rows.
    assert rows == [real] * 6 * CONFIG.num_layers + [4]
    # Training keeps the padded layout (the fit path, XLA-compiled).
    assert trained == [48] * 6 * CONFIG.num_layers + [4]
    assert _dense_rows(encoder, inputs, False, monkeypatch) == trained


def test_packed_tokens_in_bfloat16():
    from keras_bert_impl.models.encoder import packed_tokens

    encoder = build_encoder(CONFIG, dtype="bfloat16")
    inputs = _ragged_inputs()
    padded = encoder(inputs, training=False)
    with packed_tokens():
        packed = encoder(inputs, training=False)
    assert packed["sequence_output"].dtype == padded["sequence_output"].dtype
    real = inputs["padding_mask"].astype(bool)
    a, b = (
        keras.ops.convert_to_numpy(
            keras.ops.cast(out["sequence_output"], "float32")
        )
        for out in (padded, packed)
    )
    np.testing.assert_allclose(b[real], a[real], atol=0.05)
