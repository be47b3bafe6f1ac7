import json

import keras
import numpy as np
import pytest
import tensorflow as tf

import keras_bert_impl as kbi
from keras_bert_impl import BertConfig
from keras_bert_impl import build_encoder
from keras_bert_impl.models import BertEncoder
from tests.reference import bert_forward
from tests.reference import params_from_encoder


def _randomize(model, seed=0):
    """Non-trivial weights everywhere (LayerNorm and biases included)."""
    rng = np.random.default_rng(seed)
    for w in model.weights:
        w.assign(rng.normal(0, 0.2, w.shape).astype("float32") + (
            1.0 if w.path.endswith("gamma") else 0.0
        ))  # fmt: skip


class TestBertEncoder:
    def test_public_api(self, tiny_config):
        encoder = kbi.build_encoder(tiny_config)
        assert isinstance(encoder, kbi.BertEncoder)
        assert isinstance(encoder, keras.Model)
        assert [i.name for i in encoder.inputs] == [
            "padding_mask",
            "segment_ids",
            "token_ids",
        ] or {i.name for i in encoder.inputs} == {
            "token_ids",
            "segment_ids",
            "padding_mask",
        }
        assert set(encoder.output) == {"sequence_output", "pooled_output"}

    @pytest.mark.parametrize(
        "preset, expected",
        [("base", 109_482_240), ("large", 335_141_888)],
    )
    def test_paper_parameter_counts(self, preset, expected):
        encoder = build_encoder(BertConfig.preset(preset))
        assert encoder.count_params() == expected

    def test_output_shapes(self, tiny_config, tiny_inputs):
        out = build_encoder(tiny_config)(tiny_inputs)
        assert tuple(out["sequence_output"].shape) == (2, 8, 16)
        assert tuple(out["pooled_output"].shape) == (2, 16)

    def test_all_layer_outputs(self, tiny_config, tiny_inputs):
        encoder = build_encoder(tiny_config, return_all_layers=True)
        out = encoder(tiny_inputs)
        assert len(out["encoder_outputs"]) == tiny_config.num_layers
        np.testing.assert_array_equal(
            np.asarray(out["encoder_outputs"][-1]),
            np.asarray(out["sequence_output"]),
        )

    @pytest.mark.parametrize("activation", ["gelu", "gelu_approximate"])
    def test_matches_numpy_reference(
        self, tiny_config, tiny_inputs, activation
    ):
        cfg = tiny_config.replace(hidden_activation=activation)
        encoder = build_encoder(cfg)
        _randomize(encoder)
        out = encoder(tiny_inputs)
        seq, pooled = bert_forward(
            params_from_encoder(encoder),
            tiny_inputs["token_ids"],
            tiny_inputs["segment_ids"],
            tiny_inputs["padding_mask"],
            num_heads=cfg.num_heads,
            approximate_gelu=activation == "gelu_approximate",
        )
        real = tiny_inputs["padding_mask"].astype(bool)
        np.testing.assert_allclose(
            np.asarray(out["sequence_output"])[real], seq[real], atol=1e-5
        )
        np.testing.assert_allclose(
            np.asarray(out["pooled_output"]), pooled, atol=1e-5
        )

    def test_xla_forward_equals_eager(self, tiny_config, tiny_inputs):
        encoder = build_encoder(tiny_config)
        _randomize(encoder)
        eager = encoder(tiny_inputs)
        compiled = tf.function(encoder, jit_compile=True)(tiny_inputs)
        for key in ("sequence_output", "pooled_output"):
            np.testing.assert_allclose(
                np.asarray(compiled[key]), np.asarray(eager[key]), atol=1e-5
            )
        # The package's compile() defaults to XLA, and predict uses it.
        encoder.compile()
        assert encoder.jit_compile is True
        predicted = encoder.predict(tiny_inputs, verbose=0)
        np.testing.assert_allclose(
            predicted["pooled_output"], np.asarray(eager["pooled_output"]),
            atol=1e-5,
        )  # fmt: skip

    def test_padding_does_not_change_real_positions(
        self, tiny_config, tiny_inputs
    ):
        encoder = build_encoder(tiny_config)
        _randomize(encoder)
        out = encoder(tiny_inputs)
        changed = {k: v.copy() for k, v in tiny_inputs.items()}
        changed["token_ids"][1, 4:] = 17  # padded positions only
        changed["segment_ids"][1, 4:] = 1
        out2 = encoder(changed)
        np.testing.assert_allclose(
            np.asarray(out["sequence_output"])[1, :4],
            np.asarray(out2["sequence_output"])[1, :4],
            atol=1e-6,
        )
        np.testing.assert_allclose(
            np.asarray(out["pooled_output"]),
            np.asarray(out2["pooled_output"]),
            atol=1e-6,
        )

    def test_variable_batch_and_length(self, tiny_config):
        encoder = build_encoder(tiny_config)
        for batch, length in [(1, 3), (5, 8)]:
            ids = np.full((batch, length), 5, "int32")
            out = encoder(
                {
                    "token_ids": ids,
                    "segment_ids": 0 * ids,
                    "padding_mask": 1 + 0 * ids,
                }
            )
            assert tuple(out["sequence_output"].shape) == (batch, length, 16)

    def test_config_round_trip(self, tiny_config):
        encoder = build_encoder(tiny_config, name="enc")
        config = encoder.get_config()
        again = BertEncoder.from_config(config).get_config()
        assert json.dumps(config, sort_keys=True) == json.dumps(
            again, sort_keys=True
        )
        assert encoder.bert_config == tiny_config

    def test_keras_save_and_reload(self, tiny_config, tiny_inputs, tmp_path):
        encoder = build_encoder(tiny_config)
        _randomize(encoder)
        path = tmp_path / "encoder.keras"
        encoder.save(path)
        reloaded = keras.saving.load_model(path)
        assert isinstance(reloaded, BertEncoder)
        assert reloaded.bert_config == tiny_config
        a, b = encoder(tiny_inputs), reloaded(tiny_inputs)
        for key in a:
            np.testing.assert_array_equal(
                np.asarray(a[key]), np.asarray(b[key])
            )

    def test_mixed_bfloat16_trains_with_float32_variables(
        self, tiny_config, tiny_inputs
    ):
        encoder = build_encoder(tiny_config, dtype="mixed_bfloat16")
        assert all(w.dtype == "float32" for w in encoder.weights)
        out = encoder(tiny_inputs)
        assert keras.backend.standardize_dtype(out["pooled_output"].dtype) == (
            "bfloat16"
        )
        pooled = encoder.output["pooled_output"]
        head = keras.layers.Dense(2, dtype="mixed_bfloat16")(pooled)
        model = keras.Model(encoder.input, head)
        model.compile(
            optimizer="adam",
            loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
            jit_compile=True,
        )
        before = [np.asarray(w) for w in encoder.weights]
        history = model.fit(
            tiny_inputs, np.array([0, 1]), batch_size=2, verbose=0
        )
        assert np.isfinite(history.history["loss"][0])
        after = [np.asarray(w) for w in encoder.weights]
        assert any(
            not np.array_equal(x, y) for x, y in zip(before, after, strict=True)
        )
        assert all(w.dtype == "float32" for w in encoder.weights)

    def test_preset_name_accepted(self):
        assert build_encoder("tiny").num_layers == 2

    def test_invalid_config(self):
        with pytest.raises(ValueError, match="divisible by num_heads"):
            BertEncoder(hidden_dim=10, num_heads=3)
        with pytest.raises(ValueError, match="BertConfig"):
            build_encoder({"hidden_dim": 4})


def test_mixed_precision_survives_keras_save(tiny_config, tmp_path):
    encoder = build_encoder(tiny_config, dtype="mixed_bfloat16")
    config = encoder.get_config()
    rebuilt = BertEncoder.from_config(config)
    block = rebuilt.get_layer("transformer_layer_0")
    assert block.dtype_policy.name == "mixed_bfloat16"
    path = tmp_path / "bf16.keras"
    encoder.save(path)
    reloaded = keras.saving.load_model(path)
    assert reloaded.get_layer("embeddings").dtype_policy.name == (
        "mixed_bfloat16"
    )
    assert build_encoder(tiny_config).get_config()["dtype"] is None


@pytest.mark.parametrize(
    "dtype, expected",
    [(None, True), ("mixed_bfloat16", True), ("mixed_float16", False)],
)
def test_auto_jit_compile_by_precision_on_cpu(tiny_config, dtype, expected):
    """`compile()`'s default `"auto"` for a small pretrainer on a host
    without GPU/TPU (this one): XLA in float32 and bfloat16 (measured
    faster at tiny), not for float16 compute; explicit values win."""
    assert not tf.config.list_logical_devices("GPU")
    model = kbi.BertPretrainer(build_encoder(tiny_config, dtype=dtype))
    model.compile()
    assert model.jit_compile is expected
    model.compile(jit_compile=True)
    assert model.jit_compile is True
    model.compile(jit_compile=False)
    assert model.jit_compile is False
    with pytest.raises(ValueError, match="`jit_compile` must be True, False"):
        model.compile(jit_compile="yes")


def test_resolved_pretraining_config_records_the_xla_choice():
    from keras_bert_impl.training.pretrain import PretrainingConfig
    from keras_bert_impl.training.pretrain import resolve_config

    def resolved(**kw):
        config = PretrainingConfig(vocab="v", train=["c"], logdir="r", **kw)
        return resolve_config(config).jit_compile

    assert resolved() is True
    assert resolved(dtype="mixed_bfloat16") is True
    assert resolved(dtype="mixed_float16") is False
    assert resolved(dtype="mixed_float16", jit_compile=True) is True
    assert resolved(jit_compile=False) is False


def test_auto_jit_compile_follows_the_model_size_on_cpu():
    """On a CPU-only host: XLA for the pretraining step of small models
    only (tiny: 128 hidden), decided by the encoder's hidden size, in
    `compile` and in `pretrain`'s config, in float32 and bfloat16; never
    for a task model's (fine-tuning) step, measured slower there at every
    size."""
    from keras_bert_impl.runtime import CPU_XLA_MAX_HIDDEN_DIM
    from keras_bert_impl.runtime import resolve_jit_compile
    from keras_bert_impl.training.pretrain import PretrainingConfig
    from keras_bert_impl.training.pretrain import resolve_config

    assert not tf.config.list_logical_devices("GPU")
    for preset, expected in (("tiny", True), ("mini", False)):
        config = kbi.BertConfig.preset(preset, vocabulary_size=50,
                                       max_sequence_length=16)  # fmt: skip
        assert (config.hidden_dim <= CPU_XLA_MAX_HIDDEN_DIM) is expected
        encoder = build_encoder(config)
        model = kbi.BertPretrainer(encoder)
        model.compile()
        assert model.jit_compile is expected, preset
        run = PretrainingConfig(vocab="v", train=["c"], logdir="r")
        assert resolve_config(run, config).jit_compile is expected
        classifier = kbi.BertClassifier(encoder, num_classes=2)
        classifier.compile()
        assert classifier.jit_compile is False, preset
        classifier.compile(jit_compile=True)
        assert classifier.jit_compile is True
        bf16 = kbi.BertPretrainer(build_encoder(config, dtype="mixed_bfloat16"))
        bf16.compile()
        assert bf16.jit_compile is expected, preset
        assert resolve_config(
            PretrainingConfig(vocab="v", train=["c"], logdir="r",
                              dtype="mixed_bfloat16"), config
        ).jit_compile is expected  # fmt: skip
    with pytest.raises(ValueError, match="`step` must be one of"):
        resolve_jit_compile("auto", ["float32"], 128, step="serving")
