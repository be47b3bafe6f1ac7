"""The pretrainer's last-block-at-needed-rows fast path equals the full graph.

`BertPretrainer.call` runs the last Transformer block only at `[CLS]` and
the masked positions (`TransformerEncoderBlock.call_at_positions`). These
tests compare it with the plain functional graph the model was built from
(`keras.Model`'s functional `call`): outputs and gradients. No timings.
"""

import keras
import numpy as np
import pytest
import tensorflow as tf

from keras_bert_impl.config import BertConfig
from keras_bert_impl.layers.encoder_block import TransformerEncoderBlock
from keras_bert_impl.models.encoder import build_encoder
from keras_bert_impl.models.pretrainer import BertPretrainer

CONFIG = BertConfig.preset("tiny", vocabulary_size=64, num_layers=2)


def _inputs(batch=3, seq=12, seed=0):
    rng = np.random.default_rng(seed)
    ids = rng.integers(5, CONFIG.vocabulary_size, (batch, seq)).astype("int32")
    mask = np.ones_like(ids)
    mask[1, seq - 4 :] = 0  # padding in one row
    segments = np.zeros_like(ids)
    segments[:, seq // 2 :] = 1
    positions = np.array([[1, 2, 3], [4, 7, 0], [11, 5, 5]], "int32")
    return {
        "token_ids": ids,
        "segment_ids": segments,
        "padding_mask": mask,
        "mask_positions": positions,
    }


def _plain(model, x, training=False):
    # The functional graph of `__init__`, bypassing the overridden call.
    return super(BertPretrainer, model).call(x, training=training)


@pytest.fixture(autouse=True)
def _seed():
    keras.utils.set_random_seed(0)


def test_call_at_positions_equals_gathered_full_output():
    block = TransformerEncoderBlock(num_heads=2, intermediate_dim=32)
    rng = np.random.default_rng(2)
    x = rng.normal(size=(2, 9, 16)).astype("float32")
    mask = np.ones((2, 9), "int32")
    mask[0, 6:] = 0
    positions = np.array([[0, 8, 3, 3], [5, 1, 0, 2]], "int32")
    full = keras.ops.convert_to_numpy(block(x, padding_mask=mask))
    rows = keras.ops.convert_to_numpy(
        block.call_at_positions(x, positions, padding_mask=mask)
    )
    expected = np.take_along_axis(full, positions[:, :, None], axis=1)
    assert rows.shape == (2, 4, 16)
    np.testing.assert_allclose(rows, expected, atol=1e-5, rtol=1e-5)


@pytest.mark.parametrize("dtype", [None, "mixed_bfloat16"])
def test_pretrainer_fast_call_equals_functional_graph(dtype):
    model = BertPretrainer(build_encoder(CONFIG, dtype=dtype))
    x = _inputs()
    fast = model(x)
    plain = _plain(model, x)
    atol = 1e-5 if dtype is None else 2e-2
    for name in ("masked_lm", "next_sentence"):
        got = keras.ops.convert_to_numpy(keras.ops.cast(fast[name], "float32"))
        want = keras.ops.convert_to_numpy(
            keras.ops.cast(plain[name], "float32")
        )
        assert got.shape == want.shape
        np.testing.assert_allclose(got, want, atol=atol, rtol=atol)


def test_pretrainer_fast_call_has_the_functional_gradients():
    # Dropout off (training=False) so both paths see the same function;
    # every weight, the last block's included, gets the same gradient.
    model = BertPretrainer(build_encoder(CONFIG))
    x = _inputs()
    labels = x["token_ids"][:, :3]
    scce = keras.losses.SparseCategoricalCrossentropy(from_logits=True)

    def grads(fn):
        with tf.GradientTape() as tape:
            out = fn(x)
            loss = scce(labels, out["masked_lm"]) + scce(
                np.array([0, 1, 0]), out["next_sentence"]
            )
        return tape.gradient(loss, model.trainable_variables)

    fast = grads(lambda v: model(v, training=False))
    plain = grads(lambda v: _plain(model, v))
    assert len(fast) == len(plain) == len(model.trainable_variables)
    for var, g_fast, g_plain in zip(
        model.trainable_variables, fast, plain, strict=True
    ):
        g_fast = tf.convert_to_tensor(g_fast).numpy()
        g_plain = tf.convert_to_tensor(g_plain).numpy()
        np.testing.assert_allclose(
            g_fast, g_plain, atol=1e-6, rtol=1e-4, err_msg=var.path
        )
