"""WordPiece vocabularies: read, validate and write `vocab.txt`.

A `vocab.txt` holds one token per line; the line number (from 0) is the
token id. Lines are split on `"\\n"` only: the real bert-base-chinese
vocabulary has a token that is a lone U+2028 LINE SEPARATOR, which
`str.splitlines()` would break in two.
"""

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

    Raises:
        ValueError: a token is empty, repeated or holds a newline, or a
            special token is missing.

    Example:
    >>> import os, tempfile
    >>> path = os.path.join(tempfile.mkdtemp(), "sub", "vocab.txt")
    >>> write_vocab(["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "hi"], path)
    >>> with open(path, "rb") as f:
    ...     f.read().splitlines()
    [b'[PAD]', b'[UNK]', b'[CLS]', b'[SEP]', b'[MASK]', b'hi']
    >>> write_vocab(["[PAD]", "hi"], path)
    Traceback (most recent call last):
    ...
    ValueError: The vocabulary lacks the special token '[UNK]' ...
    """
    tokens = list(tokens)
    validate_vocab(tokens, source="tokens")
    for i, token in enumerate(tokens):
        if "\n" in token:
            raise ValueError(
                f"Token {i} contains a newline. Received: token={token!r}"
            )
    path = os.fspath(path)
    parent = os.path.dirname(os.path.abspath(path))
    os.makedirs(parent, exist_ok=True)
    # Written aside and renamed: a reader never sees half a vocabulary.
    tmp = os.path.join(parent, f".{os.path.basename(path)}.tmp-{os.getpid()}")
    try:
        with open(tmp, "w", encoding="utf-8", newline="\n") as f:
            f.write("".join(t + "\n" for t in tokens))
        os.replace(tmp, path)
    except OSError as e:
        # Name the user's path, not the temporary one beside it.
        raise type(e)(
            e.errno, f"Cannot write {path}: {e.strerror or e}"
        ) from None
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)
