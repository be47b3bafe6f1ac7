import keras
import numpy as np
import pytest

from keras_bert_impl import BertPretrainer
from keras_bert_impl import build_encoder


def _batch(tiny_inputs):
    x = dict(tiny_inputs)
    x["mask_positions"] = np.array([[1, 5, 0], [2, 0, 0]], "int32")
    y = {
        "masked_lm": np.array([[10, 20, 0], [14, 0, 0]], "int32"),
        "next_sentence": np.array([0, 1], "int32"),
    }
    w = {
        "masked_lm": np.array([[1, 1, 0], [1, 0, 0]], "float32"),
        "next_sentence": np.ones(2, "float32"),
    }
    return x, y, w


class TestBertPretrainer:
    def test_outputs_and_tied_weights(self, tiny_config, tiny_inputs):
        encoder = build_encoder(tiny_config)
        pretrainer = BertPretrainer(encoder)
        x, _, _ = _batch(tiny_inputs)
        out = pretrainer(x)
        assert tuple(out["masked_lm"].shape) == (2, 3, 32)
        assert tuple(out["next_sentence"].shape) == (2, 2)
        h, v = tiny_config.hidden_dim, tiny_config.vocabulary_size
        # Heads add: transform dense, LayerNorm, output bias, NSP dense; the
        # output projection is the (shared) token embedding.
        head_params = (h * h + h) + 2 * h + v + (2 * h + 2)
        assert pretrainer.count_params() == encoder.count_params() + head_params

    def test_masked_lm_loss_ignores_padded_slots(
        self, tiny_config, tiny_inputs
    ):
        pretrainer = BertPretrainer(build_encoder(tiny_config))
        pretrainer.compile()
        x, y, w = _batch(tiny_inputs)
        logits = np.asarray(pretrainer(x)["masked_lm"], "float64")
        logp = logits - np.log(np.exp(logits).sum(-1, keepdims=True))
        nll = -np.take_along_axis(logp, y["masked_lm"][..., None], -1)[..., 0]
        expected = (nll * w["masked_lm"]).sum() / w["masked_lm"].sum()
        result = pretrainer.evaluate(
            x, y, sample_weight=w, batch_size=2, return_dict=True, verbose=0
        )
        assert result["masked_lm_loss"] == pytest.approx(expected, rel=1e-4)

    def test_fit_reduces_loss_with_xla(self, tiny_config, tiny_inputs):
        pretrainer = BertPretrainer(build_encoder(tiny_config))
        pretrainer.compile(optimizer=keras.optimizers.Adam(1e-2))
        assert pretrainer.jit_compile is True
        x, y, w = _batch(tiny_inputs)
        history = pretrainer.fit(
            x, y, sample_weight=w, batch_size=2, epochs=15, verbose=0
        )
        logs = history.history
        for key in (
            "loss",
            "masked_lm_loss",
            "next_sentence_loss",
            "masked_lm_accuracy",
            "next_sentence_accuracy",
        ):
            assert key in logs, sorted(logs)
        assert logs["loss"][-1] < 0.5 * logs["loss"][0]

    def test_keras_save_and_reload_keeps_tie(
        self, tiny_config, tiny_inputs, tmp_path
    ):
        pretrainer = BertPretrainer(build_encoder(tiny_config))
        x, _, _ = _batch(tiny_inputs)
        path = tmp_path / "pretrainer.keras"
        pretrainer.save(path)
        reloaded = keras.saving.load_model(path)
        assert isinstance(reloaded, BertPretrainer)
        a, b = pretrainer(x), reloaded(x)
        for key in a:
            np.testing.assert_array_equal(
                np.asarray(a[key]), np.asarray(b[key])
            )
        head = reloaded.masked_lm_head
        assert head.token_embedding is reloaded.encoder.token_embedding

    def test_rejects_non_encoder(self):
        with pytest.raises(ValueError, match="BertEncoder"):
            BertPretrainer(keras.Sequential([keras.layers.Dense(2)]))
