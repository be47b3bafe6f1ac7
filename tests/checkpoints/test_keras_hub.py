"""The keras-hub bridge: `from_keras_hub` / `to_keras_hub`.

Both directions must keep the outputs (within 1e-5 in float32) and the
weights (bit-identical after a round trip). Skipped when keras-hub, an
optional dependency, is not installed.
"""

import ast
import logging
import sys
from pathlib import Path

import numpy as np
import pytest

import keras_bert_impl as kbi
from keras_bert_impl.checkpoints import keras_hub as bridge
from keras_bert_impl.checkpoints.keras_hub import MINILM_GELU_DIFFERENCE
from keras_bert_impl.checkpoints.keras_hub import from_keras_hub
from keras_bert_impl.checkpoints.keras_hub import to_keras_hub

keras_hub = pytest.importorskip("keras_hub")

DATA = Path(__file__).resolve().parents[1] / "data"
OUTPUTS = ("sequence_output", "pooled_output")
TOLERANCE = 1e-5
LOGGER = "keras_bert_impl.checkpoints.keras_hub"


def _randomize(model, scale=0.5):
    """Gives every weight (biases, LayerNorm too) a non-trivial value.

    At the initial stddev of 0.02 the GELU pre-activations are so small
    that exact and approximate GELU agree to float32 precision.
    """
    rng = np.random.default_rng(0)
    model.set_weights(
        [rng.normal(0, scale, w.shape).astype("float32") for w in model.weights]
    )


def _max_diff(a, b, mask=None):
    """`{output: max abs diff}`; `sequence_output` at `mask` only if given."""
    diffs = {}
    for key in OUTPUTS:
        d = np.abs(
            np.asarray(a[key], "float32") - np.asarray(b[key], "float32")
        )
        if key == "sequence_output" and mask is not None:
            d = d[mask.astype(bool)]
        diffs[key] = float(d.max())
    return diffs


def _assert_same_weights(encoder, other):
    wa, wb = encoder.get_weights(), other.get_weights()
    assert len(wa) == len(wb)
    for x, y in zip(wa, wb, strict=True):
        assert x.dtype == y.dtype == np.float32
        np.testing.assert_array_equal(x, y)  # bit-identical


def _backbone(tiny_config, **kwargs):
    return keras_hub.models.BertBackbone(
        vocabulary_size=tiny_config.vocabulary_size,
        num_layers=tiny_config.num_layers,
        num_heads=tiny_config.num_heads,
        hidden_dim=tiny_config.hidden_dim,
        intermediate_dim=tiny_config.intermediate_dim,
        max_sequence_length=tiny_config.max_sequence_length,
        **kwargs,
    )


@pytest.fixture
def approximate_encoder(tiny_config):
    encoder = kbi.build_encoder(
        tiny_config.replace(hidden_activation="gelu_approximate")
    )
    _randomize(encoder)
    return encoder


def test_tiny_inputs_have_padding_and_two_segments(tiny_inputs):
    assert (tiny_inputs["padding_mask"] == 0).any()
    assert set(np.unique(tiny_inputs["segment_ids"])) == {0, 1}


def test_from_keras_hub_keeps_outputs(tiny_config, tiny_inputs):
    backbone = _backbone(tiny_config, dropout=0.2)
    _randomize(backbone)
    encoder = from_keras_hub(backbone)
    assert isinstance(encoder, kbi.BertEncoder)
    assert encoder.bert_config == tiny_config.replace(
        hidden_activation="gelu_approximate",
        dropout=0.2,
        attention_dropout=0.2,
        initializer_range=0.02,
        layer_norm_epsilon=1e-12,
    )
    diffs = _max_diff(
        encoder(tiny_inputs, training=False),
        backbone(tiny_inputs, training=False),
    )
    assert max(diffs.values()) <= TOLERANCE, diffs  # padded rows included


def test_to_keras_hub_keeps_outputs_and_round_trips(
    approximate_encoder, tiny_inputs, caplog
):
    with caplog.at_level(logging.WARNING, logger=LOGGER):
        backbone = to_keras_hub(approximate_encoder)
    assert caplog.records == []  # nothing approximated
    assert isinstance(backbone, keras_hub.models.BertBackbone)
    config = approximate_encoder.bert_config
    assert (backbone.num_layers, backbone.hidden_dim, backbone.dropout) == (
        config.num_layers,
        config.hidden_dim,
        config.dropout,
    )
    diffs = _max_diff(
        approximate_encoder(tiny_inputs, training=False),
        backbone(tiny_inputs, training=False),
    )
    assert max(diffs.values()) <= TOLERANCE, diffs

    again = from_keras_hub(backbone)
    assert again.bert_config == config
    _assert_same_weights(approximate_encoder, again)


def test_exact_gelu_is_refused_unless_approximated(
    tiny_config, tiny_inputs, caplog
):
    encoder = kbi.build_encoder(tiny_config)  # hidden_activation="gelu"
    _randomize(encoder)
    with pytest.raises(ValueError, match="GELU") as error:
        to_keras_hub(encoder)
    assert "approximate_gelu=True" in str(error.value)
    assert "hidden_activation='gelu'" in str(error.value)

    with caplog.at_level(logging.WARNING, logger=LOGGER):
        backbone = to_keras_hub(encoder, approximate_gelu=True)
    warnings = [r for r in caplog.records if r.name == LOGGER]
    assert len(warnings) == 1 and "GELU" in warnings[0].getMessage()
    diffs = _max_diff(
        encoder(tiny_inputs, training=False),
        backbone(tiny_inputs, training=False),
    )
    # Measured 3.1e-4 on both outputs with these weights: clearly more than
    # float32 noise (the exact conversion is within 4e-7), clearly small.
    for key, diff in diffs.items():
        assert 1e-5 < diff < 5e-3, (key, diffs)
    # The weights themselves are copied unchanged.
    twin = from_keras_hub(backbone)
    assert twin.hidden_activation == "gelu_approximate"
    _assert_same_weights(encoder, twin)
    diffs = _max_diff(twin(tiny_inputs), backbone(tiny_inputs))
    assert max(diffs.values()) <= TOLERANCE, diffs


@pytest.mark.parametrize(
    "changes, field",
    [
        ({"hidden_activation": "relu"}, "hidden_activation"),
        ({"hidden_activation": "tanh"}, "hidden_activation"),
        (
            {
                "hidden_activation": "gelu_approximate",
                "layer_norm_epsilon": 1e-6,
            },
            "layer_norm_epsilon",
        ),
        (
            {"hidden_activation": "gelu_approximate", "attention_dropout": 0.0},
            "attention_dropout",
        ),
    ],
)
def test_to_keras_hub_rejects_what_keras_hub_cannot_express(
    tiny_config, changes, field
):
    encoder = kbi.build_encoder(tiny_config.replace(**changes))
    with pytest.raises(ValueError, match=field):
        to_keras_hub(encoder, approximate_gelu=True)


def test_wrong_model_types_are_rejected(tiny_config, approximate_encoder):
    with pytest.raises(ValueError, match="encoder=BertBackbone"):
        to_keras_hub(_backbone(tiny_config))
    with pytest.raises(ValueError, match="backbone=BertEncoder"):
        from_keras_hub(approximate_encoder)


def test_from_keras_hub_names_a_mismatched_weight(tiny_config):
    backbone = _backbone(tiny_config)
    backbone.vocabulary_size = 40  # the config disagrees with the weights
    with pytest.raises(ValueError, match="token_embedding/embeddings") as error:
        from_keras_hub(backbone)
    assert "[32, 16], expected [40, 16]" in str(error.value)


@pytest.mark.parametrize("convert", [from_keras_hub, to_keras_hub])
def test_missing_keras_hub_says_how_to_install(convert, monkeypatch):
    monkeypatch.setitem(sys.modules, "keras_hub", None)  # import fails
    with pytest.raises(ImportError, match=r"pip install keras-hub==0\.32\.\*"):
        convert(None)


def test_module_imports_neither_keras_hub_nor_tensorflow():
    tree = ast.parse(Path(bridge.__file__).read_text(encoding="utf-8"))
    top = set()
    for node in tree.body:  # module level only
        if isinstance(node, ast.Import):
            top.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            top.add(node.module.split(".")[0])
    assert top.isdisjoint({"keras_hub", "tensorflow"}), top


def test_dtype_policy_is_kept_or_overridden(tiny_config, tiny_inputs):
    backbone = _backbone(tiny_config, dtype="mixed_bfloat16")
    _randomize(backbone)
    encoder = from_keras_hub(backbone)
    assert encoder.get_layer("embeddings").dtype_policy.name == "mixed_bfloat16"
    assert encoder.get_config()["dtype"]["config"]["name"] == "mixed_bfloat16"
    assert all(w.dtype == "float32" for w in encoder.weights)
    outputs = encoder(tiny_inputs, training=False)
    assert all(outputs[key].dtype == "bfloat16" for key in OUTPUTS)
    # bf16 compute in both, in a different order: close, not equal.
    diffs = _max_diff(outputs, backbone(tiny_inputs, training=False))
    assert max(diffs.values()) < 5e-2, diffs

    assert to_keras_hub(encoder).dtype_policy.name == "mixed_bfloat16"
    as_float32 = to_keras_hub(encoder, dtype="float32")
    assert as_float32.dtype_policy.name == "float32"
    encoder_float32 = from_keras_hub(backbone, dtype="float32")
    assert encoder_float32.get_layer("embeddings").dtype_policy.name == (
        "float32"
    )
    _assert_same_weights(encoder, encoder_float32)
    diffs = _max_diff(
        encoder_float32(tiny_inputs, training=False),
        as_float32(tiny_inputs, training=False),
    )
    assert max(diffs.values()) <= TOLERANCE, diffs


# ------------------------------------------------------ real all-MiniLM-L6-v2


@pytest.fixture(scope="module")
def minilm():
    from keras_bert_impl import assets

    encoder, _ = kbi.load_checkpoint(
        assets.asset_path(assets.MINILM, assets.MINILM_DIR)
    )
    reference = np.load(DATA / "minilm_reference.npz")
    inputs = {k: reference[k] for k in ("token_ids", "segment_ids")}
    inputs["padding_mask"] = reference["padding_mask"]
    return encoder, inputs


@pytest.mark.large
def test_minilm_to_keras_hub_within_documented_gelu_difference(minilm):
    encoder, inputs = minilm
    assert encoder.hidden_activation == "gelu"
    with pytest.raises(ValueError, match="GELU"):
        to_keras_hub(encoder)
    backbone = to_keras_hub(encoder, approximate_gelu=True)
    hub_outputs = backbone(inputs, training=False)
    mask = inputs["padding_mask"]
    diffs = _max_diff(encoder(inputs, training=False), hub_outputs, mask)
    print(f"\nMiniLM exact vs keras-hub approximate GELU: {diffs}")
    for key, diff in diffs.items():
        # Within the documented bound, and a real (not float32) difference.
        assert 1e-4 < diff <= MINILM_GELU_DIFFERENCE[key], (key, diffs)

    # The conversion itself is exact: the same weights with the
    # approximate GELU give keras-hub's outputs (real tokens; padded rows
    # are don't-care outputs).
    twin = from_keras_hub(backbone)
    assert twin.bert_config == encoder.bert_config.replace(
        hidden_activation="gelu_approximate"
    )
    _assert_same_weights(encoder, twin)
    diffs = _max_diff(twin(inputs, training=False), hub_outputs, mask)
    print(f"MiniLM approximate twin vs keras-hub: {diffs}")
    assert max(diffs.values()) <= TOLERANCE, diffs
