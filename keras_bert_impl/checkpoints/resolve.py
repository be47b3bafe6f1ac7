"""Where a checkpoint is, which vocabulary goes with it, and loading both.

A path the user names as starting weights may be a Hugging Face folder, a
TF1 checkpoint (folder or prefix) or a `pretrain` run folder of this
package (its `encoder/` export is used). `resolve_checkpoint` finds the
weights and the `vocab.txt`; `load_encoder` loads the weights checking the
vocabulary's size; `load_tokenizer` builds the tokenizer that goes with
them, its casing read from the files beside the vocabulary
(`keras_bert_impl.run_files.read_tokenizer_settings`).
"""

import os

from keras_bert_impl import run_files
from keras_bert_impl.checkpoints.io import load_checkpoint
from keras_bert_impl.checkpoints.io import open_checkpoint
from keras_bert_impl.tokenization.bert_tokenizer import BertTokenizer
from keras_bert_impl.tokenization.vocab import read_vocab


def resolve_checkpoint(path):
    """The checkpoint inside `path`, and the `vocab.txt` that goes with it.

    A pretraining run folder of this package (it holds
    `pretraining_config.json`) resolves to its `encoder/` export; any other
    path (a Hugging Face folder or a TF1 checkpoint folder or prefix) is
    returned as is.

    Returns:
        `(checkpoint_path, vocab_path or None)`: the vocabulary found beside
        the weights (or in the run folder), if any.
    """
    path = os.fspath(path)
    if os.path.isfile(os.path.join(path, run_files.PRETRAINING_CONFIG_FILE)):
        encoder_dir = os.path.join(path, run_files.ENCODER_DIR)
        if not os.path.isdir(encoder_dir):
            raise ValueError(
                f"{path} is a pretraining run folder without an exported "
                f"encoder ({encoder_dir} is missing: no epoch has ended "
                "yet). Pass a run that has saved at least one epoch."
            )
        for folder in (encoder_dir, path):
            vocab = os.path.join(folder, run_files.VOCAB_FILE)
            if os.path.isfile(vocab):
                return encoder_dir, vocab
        return encoder_dir, None
    folder = path if os.path.isdir(path) else os.path.dirname(path)
    vocab = os.path.join(folder, run_files.VOCAB_FILE)
    return path, vocab if os.path.isfile(vocab) else None


def vocabulary_size_of(vocab):
    """Number of tokens of a tokenizer, a token list or a `vocab.txt` path."""
    size = getattr(vocab, "vocabulary_size", None)
    if size is not None:
        return int(size() if callable(size) else size)
    if isinstance(vocab, str | os.PathLike):
        return len(read_vocab(vocab))
    return len(vocab)


def check_vocabulary_size(model_vocabulary_size, vocab, source="the model"):
    """Raises `ValueError` if `vocab`'s size differs from the model's.

    A tokenizer larger than the embedding table would emit ids the model
    has no row for; a smaller one means the vocabulary is not the one the
    weights were trained with. Either way the pair is wrong.

    Args:
        model_vocabulary_size: int. The encoder's `vocabulary_size`.
        vocab: a `BertTokenizer`, a list of tokens or a `vocab.txt` path.
        source: str. What the model came from, for the message.

    Example:
    >>> check_vocabulary_size(5, ["[PAD]", "[UNK]", "[CLS]", "[SEP]"], "x")
    Traceback (most recent call last):
    ...
    ValueError: The tokenizer's vocabulary has 4 tokens but x has vocabulary_size=5 (its token-embedding rows). Use the vocab.txt the checkpoint was trained with (usually the one beside its weights).
    """  # noqa: E501
    size = vocabulary_size_of(vocab)
    if size != int(model_vocabulary_size):
        raise ValueError(
            f"The tokenizer's vocabulary has {size} tokens but {source} has "
            f"vocabulary_size={model_vocabulary_size} (its token-embedding "
            "rows). Use the vocab.txt the checkpoint was trained with "
            "(usually the one beside its weights)."
        )


def load_encoder(path, vocab=None, dtype=None, dropout=None):
    """Loads the encoder of any checkpoint, checking its vocabulary.

    Args:
        path: str. A Hugging Face folder (`config.json` +
            `model.safetensors`), a TF1 checkpoint (`bert_config.json` +
            `bert_model.ckpt.*`, folder or prefix), or a pretraining run
            folder of this package (its `encoder/` export is used).
        vocab: optional `BertTokenizer`, token list or `vocab.txt` path the
            task will be fed with; defaults to the `vocab.txt` beside the
            checkpoint, if any. Its size must equal the checkpoint's
            `vocabulary_size`.
        dtype: optional dtype policy, e.g. `"mixed_bfloat16"`.
        dropout: optional float. Replaces the checkpoint's dropout rates
            (see `load_checkpoint`).

    Returns:
        The `BertEncoder` with the checkpoint's weights.

    Raises:
        ValueError: the vocabulary size differs from the checkpoint's, or
            the checkpoint is invalid (see `load_checkpoint`).
        FileNotFoundError: no checkpoint at `path`.
    """
    checkpoint_path, found_vocab = resolve_checkpoint(path)
    if vocab is None:
        vocab = found_vocab
    if vocab is not None:
        config = open_checkpoint(checkpoint_path).config
        check_vocabulary_size(
            config.vocabulary_size, vocab, f"the checkpoint {path}"
        )
    encoder, _ = load_checkpoint(checkpoint_path, dtype=dtype, dropout=dropout)
    return encoder


def load_tokenizer(path, vocab=None, lower_case=None) -> BertTokenizer:
    """The `BertTokenizer` of a checkpoint, a run folder or a vocabulary.

    Args:
        path: str. A checkpoint folder or prefix, a `pretrain` or
            `finetune` run folder, a folder holding `vocab.txt`, or a
            `vocab.txt` file.
        vocab: optional str. A `vocab.txt` to use instead of the one found.
        lower_case: optional bool. Overrides the stored casing.

    Returns:
        A `BertTokenizer` with the settings stored beside the vocabulary
        (`tokenizer_config.json`, a Hugging Face `tokenizer.json`, ...);
        for a run folder of the first release, which stored none, the
        casing of its `pretraining_config.json` / `finetune_config.json`.

    Raises:
        FileNotFoundError: no `vocab.txt` found.
    """
    path = os.fspath(path)
    if vocab is None:
        if os.path.isfile(path) and path.endswith(".txt"):
            vocab = path
        elif run_files.is_finetune_run(path):
            vocab = os.path.join(path, run_files.VOCAB_FILE)
        else:
            _, vocab = resolve_checkpoint(path)
    tokens = vocab
    if vocab is None:
        folder, _ = resolve_checkpoint(path)
        folder = folder if os.path.isdir(folder) else os.path.dirname(folder)
        tokens = run_files.read_fast_tokenizer_vocab(folder)
        vocab = os.path.join(folder, run_files.VOCAB_FILE)
    elif not os.path.isfile(vocab):
        tokens = None
    if tokens is None:
        raise FileNotFoundError(
            f"No vocab.txt found for {path!r}: pass the vocabulary the "
            "weights were trained with (--vocab)."
        )
    settings = run_files.read_tokenizer_settings(os.path.dirname(vocab))
    if settings.pop("source") is None:
        # Runs of the first release kept the casing in their config only.
        for name, what in (
            (run_files.PRETRAINING_CONFIG_FILE, "pretraining config"),
            (run_files.FINETUNE_CONFIG_FILE, "fine-tuning config"),
        ):
            config_path = os.path.join(path, name)
            if os.path.isdir(path) and os.path.isfile(config_path):
                config = run_files.read_json(config_path, what)
                if isinstance(config, dict) and isinstance(
                    config.get("lower_case"), bool
                ):
                    settings["lower_case"] = config["lower_case"]
    if lower_case is not None:
        settings["lower_case"] = bool(lower_case)
    return BertTokenizer(tokens, **settings)
