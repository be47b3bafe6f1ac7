"""Writes tiny `BertForPreTraining` checkpoints and their reference outputs.

For each activation, "gelu" (erf) and "gelu_new" (tanh approximation), this
builds a randomly initialised Hugging Face `transformers.BertForPreTraining`
with a tiny config (vocab 64, hidden 16, 2 layers, 2 heads, intermediate 32,
32 positions, 2 segment types), adds small seeded noise to every parameter
(std 0.3 on matrices, 0.1 on vectors: biases and LayerNorm gammas/betas are
not the trivial zeros/ones, so a swapped or missing one shows, and the
activations are large enough that "gelu" and "gelu_new" outputs differ by
~1e-3 or more), and writes:

    tests/data/tiny_bert_for_pretraining/  ("gelu")
    tests/data/tiny_bert_for_pretraining_gelu_tanh/  ("gelu_new")
        config.json, model.safetensors: `save_pretrained` output, real HF
        names (`bert.` prefix, `cls.predictions.transform.dense.weight`,
        `cls.predictions.bias`, `cls.seq_relationship.weight`, ...). The
        tied `cls.predictions.decoder.weight` (= the word embeddings) is
        kept or dropped as `save_pretrained` does; `SAVED_KEYS` below is
        checked against what it wrote.
    tests/data/tiny_pretraining_reference.npz  ("gelu")
    tests/data/tiny_pretraining_reference_gelu_tanh.npz  ("gelu_new")
        token_ids, segment_ids, padding_mask: int32 [4, 12] (mask 1 = token;
            ids 2 = [CLS], 3 = [SEP], 0 = padding, both segments present).
        prediction_logits: float32 [4, 12, 64] (masked-LM head).
        seq_relationship_logits: float32 [4, 2] (next-sentence head).
        sequence_output: float32 [4, 12, 16], pooled_output: float32 [4, 16]
            (from `model.bert`).
        hidden_act, versions: unicode.

The outputs come from the model reloaded from the written folder, in eval
mode, float32, on torch's CPU build. torch and transformers are needed only
to regenerate these files, never by the tests or CI, which read the committed
files. Re-run from the repo root with:

    /work/venv/torchref/bin/python tests/data/make_tiny_pretraining_reference.py

(a virtualenv with `torch==2.13.0` (CPU), `transformers`, `safetensors` and
`numpy`). The output is deterministic.
"""

import json
import shutil
from pathlib import Path

import numpy as np
import safetensors
import safetensors.numpy
import torch
import transformers

HERE = Path(__file__).resolve().parent
SEQ_LEN = 12
SEED = 1234
# Noise added to the init: large enough for matrices that activations reach
# |x| ~ 1-3, where erf GELU and its tanh approximation differ by ~1e-3 (with
# the 0.02 init alone they would differ by ~1e-5 and a test could not tell).
MATRIX_NOISE_STD = 0.3
VECTOR_NOISE_STD = 0.1
VARIANTS = [
    ("gelu", "tiny_bert_for_pretraining", "tiny_pretraining_reference"),
    (
        "gelu_new",
        "tiny_bert_for_pretraining_gelu_tanh",
        "tiny_pretraining_reference_gelu_tanh",
    ),
]
LAYER_KEYS = [
    "attention.self.query.weight",
    "attention.self.query.bias",
    "attention.self.key.weight",
    "attention.self.key.bias",
    "attention.self.value.weight",
    "attention.self.value.bias",
    "attention.output.dense.weight",
    "attention.output.dense.bias",
    "attention.output.LayerNorm.weight",
    "attention.output.LayerNorm.bias",
    "intermediate.dense.weight",
    "intermediate.dense.bias",
    "output.dense.weight",
    "output.dense.bias",
    "output.LayerNorm.weight",
    "output.LayerNorm.bias",
]
# Every key `save_pretrained` must write (the tied decoder weight/bias may
# come on top; the script prints what it wrote).
SAVED_KEYS = {
    "bert.embeddings.word_embeddings.weight",
    "bert.embeddings.position_embeddings.weight",
    "bert.embeddings.token_type_embeddings.weight",
    "bert.embeddings.LayerNorm.weight",
    "bert.embeddings.LayerNorm.bias",
    *(f"bert.encoder.layer.{i}.{k}" for i in range(2) for k in LAYER_KEYS),
    "bert.pooler.dense.weight",
    "bert.pooler.dense.bias",
    "cls.predictions.bias",
    "cls.predictions.transform.dense.weight",
    "cls.predictions.transform.dense.bias",
    "cls.predictions.transform.LayerNorm.weight",
    "cls.predictions.transform.LayerNorm.bias",
    "cls.seq_relationship.weight",
    "cls.seq_relationship.bias",
}
OPTIONAL_KEYS = {
    "cls.predictions.decoder.weight",
    "cls.predictions.decoder.bias",
    "bert.embeddings.position_ids",
}


def tiny_config(hidden_act):
    return transformers.BertConfig(
        vocab_size=64,
        hidden_size=16,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=32,
        max_position_embeddings=32,
        type_vocab_size=2,
        hidden_act=hidden_act,
        hidden_dropout_prob=0.1,
        attention_probs_dropout_prob=0.1,
        layer_norm_eps=1e-12,
        initializer_range=0.02,
        pad_token_id=0,
    )


def make_inputs():
    """4 rows: [CLS] a [SEP] b [SEP] + padding, both segments, 4 lengths."""
    rng = np.random.default_rng(SEED)
    # (length of segment a, length of segment b); total = a + b + 3.
    shapes = [(4, 5), (3, 4), (5, 0), (2, 1)]
    n = len(shapes)
    token_ids = np.zeros((n, SEQ_LEN), np.int32)
    segment_ids = np.zeros((n, SEQ_LEN), np.int32)
    padding_mask = np.zeros((n, SEQ_LEN), np.int32)
    for i, (len_a, len_b) in enumerate(shapes):
        a = rng.integers(5, 64, size=len_a).tolist()
        b = rng.integers(5, 64, size=len_b).tolist()
        row = [2, *a, 3] + ([*b, 3] if len_b else [])
        segs = [0] * (len_a + 2) + ([1] * (len_b + 1) if len_b else [])
        token_ids[i, : len(row)] = row
        segment_ids[i, : len(segs)] = segs
        padding_mask[i, : len(row)] = 1
    assert padding_mask.sum(1).max() == SEQ_LEN
    assert (padding_mask == 0).any() and (segment_ids == 1).any()
    return token_ids, segment_ids, padding_mask


def build_model(hidden_act):
    torch.manual_seed(SEED)
    model = transformers.BertForPreTraining(tiny_config(hidden_act))
    model.set_attn_implementation("eager")
    generator = torch.Generator().manual_seed(SEED + 1)
    with torch.no_grad():
        # named_parameters() yields tied tensors once, so ties survive.
        for _, param in sorted(model.named_parameters()):
            noise = torch.randn(param.shape, generator=generator)
            std = MATRIX_NOISE_STD if param.ndim == 2 else VECTOR_NOISE_STD
            param.add_(std * noise)
    decoder = model.cls.predictions.decoder.weight
    assert decoder is model.bert.embeddings.word_embeddings.weight
    model.eval()
    return model


def run(model, token_ids, segment_ids, padding_mask):
    inputs = {
        "input_ids": torch.from_numpy(token_ids).long(),
        "attention_mask": torch.from_numpy(padding_mask).long(),
        "token_type_ids": torch.from_numpy(segment_ids).long(),
    }
    with torch.no_grad():
        out = model(**inputs)
        base = model.bert(**inputs)
    return {
        "prediction_logits": out.prediction_logits.numpy(),
        "seq_relationship_logits": out.seq_relationship_logits.numpy(),
        "sequence_output": base.last_hidden_state.numpy(),
        "pooled_output": base.pooler_output.numpy(),
    }


def write_variant(hidden_act, folder_name, npz_name, inputs, versions):
    folder = HERE / folder_name
    shutil.rmtree(folder, ignore_errors=True)
    model = build_model(hidden_act)
    expected = run(model, *inputs)
    model.save_pretrained(str(folder))
    assert sorted(p.name for p in folder.iterdir()) == [
        "config.json",
        "model.safetensors",
    ], list(folder.iterdir())
    saved = safetensors.numpy.load_file(str(folder / "model.safetensors"))
    missing = SAVED_KEYS - set(saved)
    extra = set(saved) - SAVED_KEYS - OPTIONAL_KEYS
    assert not missing and not extra, (missing, extra)
    config = json.loads((folder / "config.json").read_text())
    assert config["hidden_act"] == hidden_act, config

    reloaded, info = transformers.BertForPreTraining.from_pretrained(
        str(folder),
        attn_implementation="eager",
        dtype=torch.float32,
        output_loading_info=True,
    )
    assert not info["missing_keys"], info
    reloaded.eval()
    outputs = run(reloaded, *inputs)
    for key, value in outputs.items():
        np.testing.assert_array_equal(value, expected[key], err_msg=key)

    token_ids, segment_ids, padding_mask = inputs
    np.savez_compressed(
        HERE / f"{npz_name}.npz",
        token_ids=token_ids,
        segment_ids=segment_ids,
        padding_mask=padding_mask,
        **{k: v.astype(np.float32) for k, v in outputs.items()},
        hidden_act=np.array(hidden_act),
        versions=versions,
    )
    print(f"{folder_name}: {hidden_act}")
    for key in sorted(saved):
        print(f"  {key} {list(saved[key].shape)} {saved[key].dtype}")
    for path in [*sorted(folder.iterdir()), HERE / f"{npz_name}.npz"]:
        print(f"  {path.relative_to(HERE)}: {path.stat().st_size} bytes")


def main():
    torch.set_num_threads(1)
    versions = np.array(
        [
            f"torch=={torch.__version__}",
            f"transformers=={transformers.__version__}",
            f"safetensors=={safetensors.__version__}",
            f"numpy=={np.__version__}",
            "attn_implementation=eager, dtype=float32, eval mode",
        ]
    )
    inputs = make_inputs()
    for hidden_act, folder_name, npz_name in VARIANTS:
        write_variant(hidden_act, folder_name, npz_name, inputs, versions)
    print("\n".join(versions))


if __name__ == "__main__":
    main()
