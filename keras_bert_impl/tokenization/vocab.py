"""WordPiece vocabularies: read, write and learn `vocab.txt`.

A `vocab.txt` holds one token per line; the line number (from 0) is the
token id. Lines are split on `"\\n"` only: the real bert-base-chinese
vocabulary has a token that is a lone U+2028 LINE SEPARATOR, which
`str.splitlines()` would break in two.
"""

import glob
import os

SPECIAL_TOKENS = ("[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]")
"""Tokens every vocabulary must hold; `build_vocab` puts them first."""


def read_vocab(path):
    """Reads a `vocab.txt` into a list of tokens (index = token id).

    Args:
        path: str or path-like. A UTF-8 file, one token per line.

    Returns:
        list of str.

    Raises:
        ValueError: the file is empty, not UTF-8, holds a duplicate token or
            an empty line, or lacks one of `SPECIAL_TOKENS`; the message
            names the token and its line (1-based).

    Example:
    >>> import tempfile, os
    >>> path = os.path.join(tempfile.mkdtemp(), "vocab.txt")
    >>> write_vocab(["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "hi"],
    ...             path)
    >>> read_vocab(path)[-1]
    'hi'
    """
    with open(path, "rb") as f:
        raw = f.read()
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as e:
        line = raw[: e.start].count(b"\n") + 1
        raise ValueError(
            f"Vocabulary file is not UTF-8 at line {line}. Received: "
            f"path={str(path)!r}"
        ) from None
    tokens = text.split("\n")
    if tokens and tokens[-1] == "":
        tokens.pop()  # the newline that ends the last line
    tokens = [t[:-1] if t.endswith("\r") else t for t in tokens]
    validate_vocab(tokens, source=str(path))
    return tokens


def validate_vocab(tokens, source="vocabulary"):
    """Raises `ValueError` on duplicate, empty or missing special tokens."""
    if not tokens:
        raise ValueError(f"The vocabulary is empty. Received: {source}")
    seen = {}
    for i, token in enumerate(tokens):
        if token == "":
            raise ValueError(
                f"Empty token at line {i + 1} of {source}. Received: "
                f"token={token!r}"
            )
        if token in seen:
            raise ValueError(
                f"Duplicate token {token!r} at line {i + 1} of {source} "
                f"(first at line {seen[token] + 1}). Received: "
                f"token={token!r}"
            )
        seen[token] = i
    for special in SPECIAL_TOKENS:
        if special not in seen:
            raise ValueError(
                f"The vocabulary lacks the special token {special!r} "
                f"(required: {', '.join(SPECIAL_TOKENS)}). Received: "
                f"{source} with {len(tokens)} tokens"
            )


def write_vocab(tokens, path):
    """Writes `tokens` to `path`, one per line, UTF-8, `"\\n"` line ends.

    Args:
        tokens: list of str. Validated like `read_vocab` does.
        path: str or path-like. Parent folders are created.
    """
    tokens = list(tokens)
    validate_vocab(tokens, source="tokens")
    for i, token in enumerate(tokens):
        if "\n" in token:
            raise ValueError(
                f"Token {i} contains a newline. Received: token={token!r}"
            )
    parent = os.path.dirname(os.fspath(path))
    if parent:
        os.makedirs(parent, exist_ok=True)
    with open(path, "w", encoding="utf-8", newline="\n") as f:
        f.write("".join(t + "\n" for t in tokens))


def expand_files(files):
    """Expands a path, a glob or a list of them into sorted file paths."""
    if isinstance(files, (str, os.PathLike)):
        files = [files]
    paths = []
    for pattern in files:
        pattern = os.fspath(pattern)
        matches = sorted(glob.glob(pattern)) if glob.has_magic(pattern) else []
        if not matches and os.path.isfile(pattern):
            matches = [pattern]
        if not matches:
            raise FileNotFoundError(
                f"No input file matches {pattern!r}. Received: "
                f"files={files!r}. Pass existing text files or a glob "
                "that matches some (quote globs so the shell does not "
                "expand them)."
            )
        paths.extend(matches)
    return paths


def read_lines(path, errors="strict"):
    """Yields the lines of a text file decoded as UTF-8.

    Args:
        path: str. The file.
        errors: `"strict"` raises `ValueError` naming the file and the
            1-based line of the first invalid byte; `"replace"` decodes
            invalid bytes as U+FFFD, which the BERT cleanup then drops.
    """
    if errors not in ("strict", "replace"):
        raise ValueError(
            f"`errors` must be 'strict' or 'replace'. Received: "
            f"errors={errors!r}"
        )
    with open(path, "rb") as f:
        for number, raw in enumerate(f, start=1):
            try:
                yield raw.decode("utf-8", errors=errors).rstrip("\r\n")
            except UnicodeDecodeError as e:
                raise ValueError(
                    f"{path}:{number}: not valid UTF-8 (byte "
                    f"{raw[e.start : e.start + 1]!r} at column {e.start + 1}); "
                    f"pass errors='replace' to drop such bytes. Received: "
                    f"path={path!r}"
                ) from None


def build_vocab(
    files,
    vocab_size=30000,
    lower_case=True,
    output=None,
    strip_accents=None,
    errors="strict",
    batch_size=1024,
    verbose=True,
    learn_params=None,
):
    """Learns a WordPiece vocabulary from text files.

    The text is normalized and split exactly as `BertTokenizer` does
    (cleanup, CJK spacing, optional lower-casing and accent stripping,
    whitespace and punctuation split); then tensorflow-text's
    WordPiece learner (the one behind `bert_vocab_from_dataset`)
    picks the pieces from the word counts. The special tokens
    come first, `[PAD]` at id 0.

    Args:
        files: str, path or list of them; each may be a glob. UTF-8 text,
            one example per line; blank lines are skipped.
        vocab_size: int. Target size, special tokens included. The learner
            may return somewhat fewer tokens on a small corpus.
        lower_case: bool. Lower-case (and by default strip accents).
        output: optional path. Where to write `vocab.txt`.
        strip_accents: optional bool. Defaults to `lower_case`.
        errors: `"strict"` (a non-UTF-8 byte raises `ValueError` naming the
            file and line) or `"replace"` (such bytes are dropped).
        batch_size: int. Lines per batch fed to the learner.
        verbose: bool. Show a `keras.utils.Progbar` over the input bytes.
        learn_params: optional dict forwarded to tensorflow-text's
            `wordpiece_tokenizer_learner_lib.learn` (`lower_thresh`
            defaults to 1 here so that small corpora fill the vocabulary).

    Returns:
        list of str, the vocabulary (index = token id).

    Raises:
        ValueError: no non-blank line in `files`, a bad argument, or a
            non-UTF-8 byte with `errors="strict"`.
        FileNotFoundError: a pattern matches no file.
    """
    import keras
    import tensorflow as tf
    from tensorflow_text.tools.wordpiece_vocab import (
        wordpiece_tokenizer_learner_lib as learner,
    )

    from keras_bert_impl.tokenization.bert_tokenizer import BertTokenizer

    if int(vocab_size) <= len(SPECIAL_TOKENS):
        raise ValueError(
            f"`vocab_size` must exceed the {len(SPECIAL_TOKENS)} special "
            f"tokens. Received: vocab_size={vocab_size}"
        )
    paths = expand_files(files)
    total = sum(os.path.getsize(p) for p in paths)
    # Normalize and pre-split with the tokenizer's own graph, so the learner
    # sees exactly the words the tokenizer will later look up.
    # (`split_words` uses no vocabulary; WordPiece needs one real token.)
    splitter = BertTokenizer(
        [*SPECIAL_TOKENS, "a"],
        lower_case=lower_case,
        strip_accents=strip_accents,
    )
    progbar = keras.utils.Progbar(total, unit_name="byte") if verbose else None
    done = 0
    words = {}
    found_line = False
    for path in paths:
        batch = []
        for line in read_lines(path, errors=errors):
            done += len(line.encode("utf-8")) + 1
            if not line.strip():
                continue
            found_line = True
            batch.append(line)
            if len(batch) == batch_size:
                _count_words(splitter, batch, words, tf)
                batch = []
                if progbar is not None:
                    progbar.update(min(done, total))
        if batch:
            _count_words(splitter, batch, words, tf)
        if progbar is not None:
            progbar.update(min(done, total))
    if not found_line:
        raise ValueError(
            f"The corpus is empty: no non-blank line in {len(paths)} "
            f"file(s). Received: files={paths!r}"
        )
    params = {"lower_thresh": 1, **(learn_params or {})}
    vocab = learner.learn(
        words, int(vocab_size), list(SPECIAL_TOKENS), **params
    )
    vocab = list(dict.fromkeys(vocab))  # the learner may repeat a token
    if output is not None:
        write_vocab(vocab, output)
    return vocab


def _count_words(splitter, lines, words, tf):
    """Adds the normalized, pre-split words of `lines` to `words`."""
    for word in splitter.split_words(tf.constant(lines)).flat_values.numpy():
        word = word.decode("utf-8")
        words[word] = words.get(word, 0) + 1
