"""Reading pretraining corpora: files → documents → sentences.

Three formats, chosen per call (`corpus_format`) or detected per file:

- `"sentences"`: the original BERT format, one sentence per line and a
  blank line between documents;
- `"documents"`: one document per line; sentences are found with a
  punctuation rule (`split_sentences`);
- `"jsonl"`: JSON Lines with a `"text"` field per document (sentences as
  for `"documents"`; blank lines inside the text also split).

Files ending in `.gz` are read through gzip. Bytes are decoded as UTF-8;
a line that is not valid UTF-8 raises a `ValueError` naming the file and
line, unless `errors="replace"` (then the bad bytes become U+FFFD, which
the tokenizer drops). Empty files are skipped and counted.
"""

import dataclasses
import glob
import gzip
import json
import os
import re

FORMATS = ("auto", "sentences", "documents", "jsonl")

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


def resolve_files(files) -> list[str]:
    """Expands globs and folders into a sorted list of existing files.

    Raises:
        ValueError: nothing matched (the message names each pattern).
    """
    if isinstance(files, str | os.PathLike):
        files = [files]
    found = []
    for pattern in files:
        pattern = os.fspath(pattern)
        if os.path.isdir(pattern):
            matches = sorted(
                p
                for p in glob.glob(
                    os.path.join(pattern, "**", "*"), recursive=True
                )
                if os.path.isfile(p)
            )
        else:
            matches = sorted(glob.glob(pattern, recursive=True))
        if not matches:
            raise ValueError(
                f"No corpus file matches {pattern!r}. Pass existing files, "
                "folders or glob patterns such as 'corpus/*.txt'."
            )
        found.extend(matches)
    return list(dict.fromkeys(found))


def _detect_format(path: str) -> str:
    name = path[:-3] if path.endswith(".gz") else path
    if name.endswith((".jsonl", ".json")):
        return "jsonl"
    return "sentences"


def _open_lines(path: str):
    opener = gzip.open if path.endswith(".gz") else open
    with opener(path, "rb") as f:
        yield from f


@dataclasses.dataclass
class CorpusStats:
    """Counts of what reading skipped, reported by the pretraining CLI."""

    files: int = 0
    empty_files: int = 0
    documents: int = 0
    empty_documents: int = 0
    replaced_lines: int = 0


def read_documents(
    files,
    corpus_format: str = "auto",
    errors: str = "strict",
    text_field: str = "text",
    stats: CorpusStats | None = None,
):
    """Yields documents, each a list of sentence strings.

    Args:
        files: paths, folders or glob patterns (see `resolve_files`).
        corpus_format: `"auto"` (`.jsonl`/`.json` → jsonl, else
            sentences), `"sentences"`, `"documents"` or `"jsonl"`.
        errors: `"strict"` raises on a non-UTF-8 line (naming file and
            line); `"replace"` decodes it with U+FFFD and counts it.
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
    if corpus_format not in FORMATS:
        raise ValueError(
            f"`corpus_format` must be one of {FORMATS}. Received: "
            f"corpus_format={corpus_format!r}"
        )
    if errors not in ("strict", "replace"):
        raise ValueError(
            "`errors` must be 'strict' or 'replace'. Received: "
            f"errors={errors!r}"
        )
    stats = stats if stats is not None else CorpusStats()
    for path in resolve_files(files):
        fmt = _detect_format(path) if corpus_format == "auto" else corpus_format
        stats.files += 1
        before = stats.documents
        document = []
        for number, raw in enumerate(_open_lines(path), start=1):
            try:
                line = raw.decode("utf-8")
            except UnicodeDecodeError as e:
                if errors == "strict":
                    raise ValueError(
                        f"{path}:{number}: not valid UTF-8 ({e.reason} at "
                        f"byte {e.start}). Re-encode the file as UTF-8 or "
                        "pass errors='replace'."
                    ) from None
                line = raw.decode("utf-8", errors="replace")
                stats.replaced_lines += 1
            line = line.strip()
            if fmt == "sentences":
                if line:
                    document.append(line)
                    continue
                if document:
                    stats.documents += 1
                    yield document
                document = []
                continue
            if not line:
                continue
            if fmt == "jsonl":
                try:
                    record = json.loads(line)
                except json.JSONDecodeError as e:
                    raise ValueError(
                        f"{path}:{number}: invalid JSON ({e.msg})."
                    ) from None
                if not isinstance(record, dict) or text_field not in record:
                    raise ValueError(
                        f"{path}:{number}: the record has no {text_field!r} "
                        "field. Pass text_field= to name the text field."
                    )
                line = str(record[text_field])
            sentences = [
                s
                for paragraph in line.split("\n")
                for s in split_sentences(paragraph)
            ]
            if sentences:
                stats.documents += 1
                yield sentences
            else:
                stats.empty_documents += 1
        if document:
            stats.documents += 1
            yield document
        if stats.documents == before:
            stats.empty_files += 1
