"""The files of run folders and checkpoint folders: names, readers, writers.

One table of every file name the package writes into a folder, so that the
code that writes a run and the code that reads it back cannot drift, plus
the small readers and writers they share. No TensorFlow import.

Fine-tuning run (`finetune(..., output_dir=)`, `keras-bert-impl finetune
--output`):

    model.keras            the task model after the last epoch
    best.keras             the epoch with the best monitored value
    finetune_config.json   the resolved FinetuneConfig + what the run found
    eval_results.json      metrics on the evaluation files
    vocab.txt              the tokenizer's vocabulary
    tokenizer_config.json  its settings (Hugging Face's file and keys)
    train/, validation/    TensorBoard events

Pretraining run (`pretrain`, `keras-bert-impl pretrain --logdir`):

    pretraining_config.json, bert_config.json, vocab.txt,
    train/, validation/, checkpoints/ (ckpt-<step>/state.npz, latest.json),
    encoder/ (a Hugging Face checkpoint with vocab.txt and
    tokenizer_config.json)

Tokenizer settings travel with the vocabulary as Hugging Face writes them:
`tokenizer_config.json` (`do_lower_case`, `strip_accents`,
`tokenize_chinese_chars`). `read_tokenizer_settings` also reads a
Hugging Face fast-tokenizer `tokenizer.json` (its `BertNormalizer` and
`WordPiece` model) and the first release's own `tokenizer.json` (keys
`lower_case`, `strip_accents`, ...), which used the same file name.
"""

import json
import os
import tempfile

# -- fine-tuning runs ----------------------------------------------------------
MODEL_FILE = "model.keras"
BEST_MODEL_FILE = "best.keras"
FINETUNE_CONFIG_FILE = "finetune_config.json"
EVAL_RESULTS_FILE = "eval_results.json"
TRAIN_LOGS = "train"
VALIDATION_LOGS = "validation"
# Written by the first release, read for old run folders only.
LEGACY_LABELS_FILE = "label_names.json"
# -- pretraining runs ----------------------------------------------------------
PRETRAINING_CONFIG_FILE = "pretraining_config.json"
BERT_CONFIG_FILE = "bert_config.json"
CHECKPOINTS_DIR = "checkpoints"
ENCODER_DIR = "encoder"
STATE_FILE = "state.npz"
POINTER_FILE = "latest.json"
# -- the quickstart ------------------------------------------------------------
QUICKSTART_CONFIG_FILE = "quickstart_config.json"
RESULTS_FILE = "results.json"
# -- tokenizer files (any folder holding a vocabulary) -------------------------
VOCAB_FILE = "vocab.txt"
TOKENIZER_CONFIG_FILE = "tokenizer_config.json"
# Hugging Face's fast-tokenizer file; the first release wrote its own
# settings under the same name.
HF_TOKENIZER_FILE = "tokenizer.json"
SENTENCE_BERT_CONFIG_FILE = "sentence_bert_config.json"
MODULES_FILE = "modules.json"  # sentence-transformers' pipeline

_SPECIAL = {
    "unk_token": "[UNK]",
    "sep_token": "[SEP]",
    "pad_token": "[PAD]",
    "cls_token": "[CLS]",
    "mask_token": "[MASK]",
}
TOKENIZER_DEFAULTS = {
    "lower_case": True,
    "strip_accents": None,
    "max_word_length": 100,
    "suffix_indicator": "##",
}


# -- JSON ----------------------------------------------------------------------


def write_json(path, value) -> None:
    """Writes `value` as indented JSON, atomically (temp file + rename)."""
    path = os.fspath(path)
    folder = os.path.dirname(os.path.abspath(path))
    text = json.dumps(value, indent=2, sort_keys=True, ensure_ascii=False)
    tmp = None
    try:
        fd, tmp = tempfile.mkstemp(prefix=".tmp-", suffix=".json", dir=folder)
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text + "\n")
        os.chmod(tmp, 0o666 & ~_umask())
        os.replace(tmp, path)
    except OSError as e:
        # Name the user's path, not the temporary one beside it.
        raise type(e)(
            e.errno, f"Cannot write {path}: {e.strerror or e}"
        ) from None
    finally:
        if tmp is not None and os.path.exists(tmp):
            os.remove(tmp)


def read_json(path, what: str = "file"):
    """Reads a JSON file; a malformed one is a `ValueError` naming it."""
    path = os.fspath(path)
    with open(path, encoding="utf-8") as f:
        try:
            return json.load(f)
        except json.JSONDecodeError as e:
            raise ValueError(
                f"The {what} {path} is not valid JSON ({e.msg} at line "
                f"{e.lineno}): restore it or start a new run."
            ) from None


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


# -- what a folder is ----------------------------------------------------------


def is_pretraining_run(folder) -> bool:
    """True for a `pretrain` run folder (it holds its config)."""
    return os.path.isfile(os.path.join(folder, PRETRAINING_CONFIG_FILE))


def is_finetune_run(folder) -> bool:
    """True for a fine-tuning run folder (its config or its model)."""
    return os.path.isfile(
        os.path.join(folder, FINETUNE_CONFIG_FILE)
    ) or os.path.isfile(os.path.join(folder, MODEL_FILE))


# -- tokenizer settings --------------------------------------------------------


def write_tokenizer_settings(
    folder,
    lower_case: bool = True,
    strip_accents: bool | None = None,
    max_word_length: int = 100,
    suffix_indicator: str = "##",
    model_max_length: int | None = None,
) -> str:
    """Writes `tokenizer_config.json` as Hugging Face's `BertTokenizer` does.

    `transformers.AutoTokenizer` reads the folder (with its `vocab.txt`)
    as the same tokenizer. Settings Hugging Face's BERT tokenizer has no
    key for are written only when they differ from its fixed values
    (100-character words, `##` continuations).

    Returns:
        The path written.
    """
    settings = {
        "tokenizer_class": "BertTokenizer",
        "do_lower_case": bool(lower_case),
        "strip_accents": strip_accents,
        "tokenize_chinese_chars": True,
        "do_basic_tokenize": True,
        **_SPECIAL,
    }
    if model_max_length is not None:
        settings["model_max_length"] = int(model_max_length)
    if int(max_word_length) != 100:
        settings["max_word_length"] = int(max_word_length)
    if suffix_indicator != "##":
        settings["suffix_indicator"] = suffix_indicator
    path = os.path.join(folder, TOKENIZER_CONFIG_FILE)
    write_json(path, settings)
    return path


def read_tokenizer_settings(folder) -> dict:
    """The tokenizer settings stored beside a vocabulary, else the defaults.

    Looks, in order, at `tokenizer_config.json` (Hugging Face's and this
    package's), a Hugging Face `tokenizer.json` (normalizer and WordPiece
    model), the first release's own `tokenizer.json`, and a
    sentence-transformers `sentence_bert_config.json` (its `do_lower_case`
    lower-cases before the tokenizer).

    Returns:
        dict with `lower_case`, `strip_accents`, `max_word_length`,
        `suffix_indicator` (the `BertTokenizer` arguments), and `source`:
        the file the casing came from (`None` for the defaults).

    Raises:
        ValueError: a settings file is not valid JSON, or asks for
            something `BertTokenizer` cannot do (no splitting of Chinese
            characters, a basic tokenizer turned off).
    """
    folder = os.fspath(folder)
    settings = dict(TOKENIZER_DEFAULTS, source=None)
    config_path = os.path.join(folder, TOKENIZER_CONFIG_FILE)
    fast_path = os.path.join(folder, HF_TOKENIZER_FILE)
    sbert_path = os.path.join(folder, SENTENCE_BERT_CONFIG_FILE)
    if os.path.isfile(fast_path):
        fast = read_json(fast_path, "tokenizer file")
        if _is_legacy_settings(fast):
            settings.update(_legacy_settings(fast), source=fast_path)
        elif isinstance(fast, dict):
            settings.update(_fast_settings(fast, fast_path))
    if os.path.isfile(config_path):
        config = read_json(config_path, "tokenizer config")
        settings.update(_config_settings(config, config_path))
    if os.path.isfile(sbert_path):
        sbert = read_json(sbert_path, "sentence-transformers config")
        if isinstance(sbert, dict) and sbert.get("do_lower_case") is True:
            settings.update(lower_case=True, source=sbert_path)
    return settings


def read_fast_tokenizer_vocab(folder):
    """The WordPiece vocabulary inside a Hugging Face `tokenizer.json`.

    `transformers` 5 saves a BERT tokenizer as `tokenizer.json` (the
    vocabulary in `model.vocab`) and `tokenizer_config.json`, without a
    `vocab.txt`.

    Returns:
        list of str (index = id), or `None` if the folder has no such file.

    Raises:
        ValueError: the file's model is not WordPiece, or its ids are not
            `0..n-1`.
    """
    path = os.path.join(os.fspath(folder), HF_TOKENIZER_FILE)
    if not os.path.isfile(path):
        return None
    value = read_json(path, "tokenizer file")
    if not isinstance(value, dict) or _is_legacy_settings(value):
        return None
    model = value.get("model") or {}
    vocab = model.get("vocab")
    if model.get("type") != "WordPiece" or not isinstance(vocab, dict):
        raise ValueError(
            f"{path}: not a WordPiece tokenizer (model type "
            f"{model.get('type')!r}); BERT checkpoints need one."
        )
    tokens = sorted(vocab, key=vocab.get)
    if [vocab[t] for t in tokens] != list(range(len(tokens))):
        raise ValueError(f"{path}: the vocabulary ids are not 0..n-1.")
    return tokens


def _is_legacy_settings(value) -> bool:
    """The first release's `tokenizer.json`: our argument names, flat."""
    return (
        isinstance(value, dict)
        and "lower_case" in value
        and ("model" not in value)
    )


def _legacy_settings(value) -> dict:
    out = {k: value[k] for k in TOKENIZER_DEFAULTS if k in value}
    out["lower_case"] = bool(out.get("lower_case", True))
    return out


def _fast_settings(value, path) -> dict:
    """Settings of a Hugging Face fast `tokenizer.json`."""
    out = {}
    normalizer = value.get("normalizer") or {}
    for entry in normalizer.get("normalizers", [normalizer]):
        if isinstance(entry, dict) and entry.get("type") == "BertNormalizer":
            if entry.get("handle_chinese_chars") is False:
                raise ValueError(
                    f"{path}: handle_chinese_chars=false is not supported "
                    "(BertTokenizer always splits CJK characters)."
                )
            out["lower_case"] = bool(entry.get("lowercase", True))
            out["strip_accents"] = entry.get("strip_accents")
            out["source"] = path
    model = value.get("model") or {}
    if model.get("type") == "WordPiece":
        if "max_input_chars_per_word" in model:
            out["max_word_length"] = int(model["max_input_chars_per_word"])
        if "continuing_subword_prefix" in model:
            out["suffix_indicator"] = str(model["continuing_subword_prefix"])
    return out


def _config_settings(value, path) -> dict:
    """Settings of a `tokenizer_config.json`."""
    if not isinstance(value, dict):
        raise ValueError(f"{path}: expected a JSON object.")
    out = {}
    if value.get("tokenize_chinese_chars") is False:
        raise ValueError(
            f"{path}: tokenize_chinese_chars=false is not supported "
            "(BertTokenizer always splits CJK characters)."
        )
    if value.get("do_basic_tokenize") is False:
        raise ValueError(
            f"{path}: do_basic_tokenize=false is not supported (BertTokenizer "
            "always splits on whitespace and punctuation first)."
        )
    if "do_lower_case" in value:
        out["lower_case"] = bool(value["do_lower_case"])
        out["source"] = path
    if "strip_accents" in value:
        out["strip_accents"] = value["strip_accents"]
    for key in ("max_word_length", "suffix_indicator"):
        if key in value:
            out[key] = value[key]
    return out


# -- sentence-transformers folders ---------------------------------------------

_POOLING_FLAGS = (  # legacy 1_Pooling/config.json keys -> our pooling name
    ("pooling_mode_cls_token", "cls"),
    ("pooling_mode_max_tokens", "max"),
    ("pooling_mode_mean_sqrt_len_tokens", "mean_sqrt_len"),
    ("pooling_mode_mean_tokens", "mean"),
)


def read_sentence_transformers(folder):
    """The embedding recipe of a sentence-transformers folder, or `None`.

    Reads `modules.json` (a `Pooling` module and whether a `Normalize`
    follows), the pooling module's `config.json` (the legacy
    `pooling_mode_*_tokens` flags, or the newer `pooling_mode`), and
    `sentence_bert_config.json`'s `max_seq_length`.

    Returns:
        dict `{"pooling": "mean" | "cls" | "max" | "mean_sqrt_len",
        "normalize": bool, "max_seq_length": int or None}`, or `None` for a
        folder that is not a sentence-transformers model.

    Raises:
        ValueError: a pooling this package cannot compute (several modes
            at once, weighted mean, last token).
    """
    folder = os.fspath(folder)
    path = os.path.join(folder, MODULES_FILE)
    if not os.path.isfile(path):
        return None
    modules = read_json(path, "sentence-transformers modules file")
    if not isinstance(modules, list):
        raise ValueError(f"{path}: expected a JSON list of modules.")
    kinds = [str(m.get("type", "")).rsplit(".", 1)[-1] for m in modules]
    pooling = "mean"
    for module, kind in zip(modules, kinds, strict=True):
        if kind != "Pooling":
            continue
        config_path = os.path.join(
            folder, module.get("path", ""), "config.json"
        )
        config = {}
        if os.path.isfile(config_path):
            config = read_json(config_path, "pooling config")
        pooling = _pooling(config, config_path)
    max_length = None
    sbert = os.path.join(folder, SENTENCE_BERT_CONFIG_FILE)
    if os.path.isfile(sbert):
        max_length = (
            read_json(sbert, "sentence-transformers config") or {}
        ).get("max_seq_length")
    return {
        "pooling": pooling,
        "normalize": "Normalize" in kinds,
        "max_seq_length": max_length,
    }


def _pooling(config, path):
    mode = config.get("pooling_mode")
    if isinstance(mode, str):
        names = {"mean": "mean", "cls": "cls", "max": "max",
                 "mean_sqrt_len_tokens": "mean_sqrt_len"}  # fmt: skip
        if mode in names:
            return names[mode]
        raise ValueError(f"{path}: pooling_mode {mode!r} is not supported.")
    chosen = [name for key, name in _POOLING_FLAGS if config.get(key)]
    others = [
        key for key, value in config.items()
        if key.startswith("pooling_mode_") and value
        and key not in dict(_POOLING_FLAGS)
    ]  # fmt: skip
    if len(chosen) > 1 or others:
        raise ValueError(
            f"{path}: pools with {chosen + others}; only one of mean, cls, "
            "max and mean_sqrt_len at a time is supported."
        )
    return chosen[0] if chosen else "mean"
