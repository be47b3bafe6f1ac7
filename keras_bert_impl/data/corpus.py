"""Reading pretraining corpora: files → documents → sentences.

Three formats, one per call (`corpus_format`, or detected from the file
names):

- `"sentences"`: the original BERT format, one sentence per line and a
  blank line between documents;
- `"documents"`: one document per line; sentences are found with a
  punctuation rule (`split_sentences`);
- `"jsonl"`: JSON Lines with a `"text"` field per document (sentences as
  for `"documents"`; blank lines inside the text also split).

Files ending in `.gz` are read through gzip. Bytes are decoded as UTF-8;
a line that is not valid UTF-8 raises a `ValueError` naming the file and
line, unless `errors="replace"` (then the bad bytes become U+FFFD, which
the tokenizer drops; counted and logged). Files without text are skipped,
counted and logged.
"""

import dataclasses
import gzip
import json
import logging
import os
import re

from keras_bert_impl.paths import resolve_files

FORMATS = ("auto", "sentences", "documents", "jsonl")
logger = logging.getLogger(__name__)

# A sentence ends at ., ! or ? (optionally followed by closing quotes or
# brackets) before whitespace and an upper-case letter, digit or quote; or
# at the CJK full stops 。！？. Deliberately simple: BERT only needs
# sentence-like segments for NSP, and a missed boundary only merges two.
_SENTENCE_END = re.compile(
    r"([.!?][\"'”’)\]]*)\s+(?=[\"'“‘(\[]?[A-Z0-9\u4e00-\u9fff])|([。！？])"
)


def split_sentences(text: str) -> list[str]:
    """Splits a paragraph into sentences with a punctuation rule.

    Example:
    >>> split_sentences("It rained. We stayed in! Did you? 好的。再见")
    ['It rained.', 'We stayed in!', 'Did you?', '好的。', '再见']
    """
    marked = _SENTENCE_END.sub(lambda m: (m[1] or m[2]) + "\n", text.strip())
    return [p.strip() for p in marked.split("\n") if p.strip()]


def _detect_format(path: str) -> str:
    name = path[:-3] if path.endswith(".gz") else path
    if name.endswith((".jsonl", ".json")):
        return "jsonl"
    return "sentences"


def resolve_format(files, corpus_format: str = "auto") -> str:
    """The one format of `files`: `corpus_format`, or detected from names.

    `"auto"` reads `.jsonl`/`.json` (optionally `.gz`) files as JSON Lines
    and anything else as `"sentences"`; a mix of both raises.

    Example:
    >>> resolve_format(["a.jsonl.gz", "b.jsonl"])
    'jsonl'
    """
    if corpus_format not in FORMATS:
        raise ValueError(
            f"`corpus_format` must be one of {FORMATS}. Received: "
            f"corpus_format={corpus_format!r}"
        )
    if corpus_format != "auto":
        return corpus_format
    found = sorted({_detect_format(os.fspath(p)) for p in files})
    if len(found) > 1:
        raise ValueError(
            "The corpus mixes JSON Lines and text files; pass "
            "corpus_format= explicitly (one format per call)."
        )
    return found[0] if found else "sentences"


def _not_utf8(path, number, error) -> str:
    return (
        f"{path}:{number}: not valid UTF-8 ({error.reason} at byte "
        f"{error.start} of the line). Re-encode the file as UTF-8, or drop "
        "such bytes with errors='replace' (keras-bert-impl pretrain "
        "--encoding-errors replace)."
    )


def validate_corpus(
    files,
    corpus_format: str = "auto",
    errors: str = "strict",
    text_field: str = "text",
) -> int:
    """Reads a whole corpus once, before training, for what would stop it.

    A non-UTF-8 byte (with `errors="strict"`), a line of JSON Lines that
    is not a JSON object with `text_field`: found here, naming the file and
    the line, instead of minutes or hours into training, deep inside
    `tf.data`.

    Args:
        files: paths, folders or globs.
        corpus_format, errors, text_field: as for `read_documents`.

    Returns:
        int: the number of lines read.

    Raises:
        ValueError: the first problem, as `file:line: what`.

    Example:
    >>> import os, tempfile
    >>> path = os.path.join(tempfile.mkdtemp(), "c.txt")
    >>> with open(path, "wb") as f:
    ...     _ = f.write(b"fine\\nbad \\xff byte\\n")
    >>> validate_corpus([path])
    Traceback (most recent call last):
    ...
    ValueError: ...c.txt:2: not valid UTF-8 (invalid start byte at byte 4 of the line)...
    """  # noqa: E501
    if errors not in ("strict", "replace"):
        raise ValueError(
            f"`errors` must be 'strict' or 'replace'. Received: "
            f"errors={errors!r}"
        )
    files = resolve_files(files)
    corpus_format = resolve_format(files, corpus_format)
    lines = 0
    for path in files:
        for number, raw in enumerate(_open_lines(path), start=1):
            lines += 1
            try:
                line = raw.decode("utf-8", errors=errors)
            except UnicodeDecodeError as e:
                raise ValueError(_not_utf8(path, number, e)) from None
            if corpus_format != "jsonl" or not line.strip():
                continue
            try:
                record = json.loads(line)
            except json.JSONDecodeError as e:
                raise ValueError(
                    f"{path}:{number}: invalid JSON ({e.msg}). Fix the line "
                    "or pass files of another format."
                ) from None
            if not isinstance(record, dict) or text_field not in record:
                raise ValueError(
                    f"{path}:{number}: the record has no {text_field!r} "
                    "field. Pass text_field= to name the text field."
                )
    return lines


def _open_lines(path: str):
    opener = gzip.open if path.endswith(".gz") else open
    with opener(path, "rb") as f:
        yield from f


@dataclasses.dataclass
class CorpusStats:
    """Counts of what reading skipped or repaired (also logged)."""

    files: int = 0
    empty_files: int = 0
    documents: int = 0
    empty_documents: int = 0
    replaced_lines: int = 0


class DocumentAssembler:
    """Turns the lines of corpus files into documents (lists of sentences).

    The one place where a line becomes text: UTF-8 decoding (strict or
    replacing), JSON parsing, sentence splitting and document boundaries.
    `read_documents` drives it from Python; `pretraining_dataset` drives it
    from `tf.data` (lines read by `TextLineDataset`). Holds at most one
    partial document per file.

    Args:
        corpus_format: `"sentences"`, `"documents"` or `"jsonl"`.
        errors: `"strict"` or `"replace"`.
        text_field: the JSON Lines field holding the text.
        stats: optional `CorpusStats` updated while reading.

    Example:
    >>> assembler = DocumentAssembler("sentences")
    >>> assembler.line("f.txt", 1, b"One. Two")
    []
    >>> assembler.line("f.txt", 2, b"")
    [['One. Two']]
    >>> assembler.end_file("f.txt")
    []
    """

    def __init__(
        self, corpus_format, errors="strict", text_field="text", stats=None
    ):
        if corpus_format not in FORMATS[1:]:
            raise ValueError(
                f"`corpus_format` must be one of {FORMATS[1:]}. Received: "
                f"corpus_format={corpus_format!r}"
            )
        if errors not in ("strict", "replace"):
            raise ValueError(
                "`errors` must be 'strict' or 'replace'. Received: "
                f"errors={errors!r}"
            )
        self.corpus_format = corpus_format
        self.errors = errors
        self.text_field = text_field
        self.stats = stats if stats is not None else CorpusStats()
        self._partial = {}  # path -> sentences of the open document
        self._count = {}  # path -> documents so far

    def line(self, path, number, raw):
        """Feeds line `number` (1-based) of `path`; returns finished docs."""
        if number == 1:  # a new pass over this file: forget the old one
            self._partial.pop(path, None)
            self._count[path] = 0
        try:
            line = raw.decode("utf-8")
        except UnicodeDecodeError as e:
            if self.errors == "strict":
                raise ValueError(_not_utf8(path, number, e)) from None
            line = raw.decode("utf-8", errors="replace")
            self.stats.replaced_lines += 1
            logger.warning("%s:%d: replaced non-UTF-8 bytes", path, number)
        line = line.strip()
        if self.corpus_format == "sentences":
            if line:
                self._partial.setdefault(path, []).append(line)
                return []
            return self._finish(path, self._partial.pop(path, []))
        if not line:
            return []
        if self.corpus_format == "jsonl":
            try:
                record = json.loads(line)
            except json.JSONDecodeError as e:
                raise ValueError(
                    f"{path}:{number}: invalid JSON ({e.msg})."
                ) from None
            if not isinstance(record, dict) or self.text_field not in record:
                raise ValueError(
                    f"{path}:{number}: the record has no {self.text_field!r} "
                    "field. Pass text_field= to name the text field."
                )
            line = str(record[self.text_field])
        sentences = [
            s
            for paragraph in line.split("\n")
            for s in split_sentences(paragraph)
        ]
        if not sentences:
            self.stats.empty_documents += 1
            return []
        return self._finish(path, sentences)

    def end_file(self, path):
        """Closes `path`: returns its last document, counts an empty file."""
        docs = self._finish(path, self._partial.pop(path, []))
        self.stats.files += 1
        if not self._count.pop(path, 0):
            self.stats.empty_files += 1
            logger.warning("%s: no text, skipped (counted as empty)", path)
        return docs

    def _finish(self, path, sentences):
        if not sentences:
            return []
        self.stats.documents += 1
        self._count[path] = self._count.get(path, 0) + 1
        return [sentences]


def read_documents(
    files,
    corpus_format: str = "auto",
    errors: str = "strict",
    text_field: str = "text",
    stats: CorpusStats | None = None,
):
    """Yields documents, each a list of sentence strings (streaming).

    Args:
        files: paths, folders or glob patterns (see `resolve_files`).
        corpus_format: `"auto"` (`.jsonl`/`.json` → jsonl, else
            sentences), `"sentences"`, `"documents"` or `"jsonl"`.
        errors: `"strict"` raises on a non-UTF-8 line (naming file and
            line); `"replace"` decodes it with U+FFFD, counts and logs it.
        text_field: the JSON Lines field holding the text.
        stats: optional `CorpusStats` updated while reading.

    Raises:
        ValueError: bad arguments, invalid UTF-8 (strict), invalid JSON
            or a JSON record without `text_field`.

    Example:
    >>> import tempfile, os
    >>> path = os.path.join(tempfile.mkdtemp(), "c.txt")
    >>> with open(path, "w") as f:
    ...     _ = f.write("A b.\\nC d.\\n\\nE f.\\n")
    >>> list(read_documents([path]))
    [['A b.', 'C d.'], ['E f.']]
    """
    files = resolve_files(files)
    fmt = resolve_format(files, corpus_format)
    assembler = DocumentAssembler(fmt, errors, text_field, stats)
    for path in files:
        number = 0
        for number, raw in enumerate(_open_lines(path), start=1):
            yield from assembler.line(path, number, raw.rstrip(b"\r\n"))
        yield from assembler.end_file(path)
