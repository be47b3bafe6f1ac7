"""Reading labelled examples from CSV, TSV and JSON Lines files.

One record per row (CSV/TSV, with a header row naming the columns) or per
line (JSON Lines, one object each). `.gz` / `.bz2` files are decompressed;
files may be given as paths, folders or glob patterns. The format comes
from the file name (`.csv`, `.tsv`/`.tab`, `.jsonl`/`.json`, optionally
followed by `.gz` or `.bz2`) unless `file_format` says otherwise. TSV is read
without quote processing (as GLUE's TSV files must be: their sentences
hold bare `"` characters).

Every record keeps its file and line, so a bad value further on can be
reported as `dev.tsv:12`.
"""

import bz2
import csv
import dataclasses
import gzip
import io
import json
import os
import re

from keras_bert_impl.paths import resolve_files

FILE_FORMATS = ("auto", "csv", "tsv", "jsonl")


@dataclasses.dataclass(frozen=True)
class Record:
    """One example: its fields and where it came from (1-based line)."""

    fields: dict
    path: str
    line: int

    @property
    def where(self) -> str:
        return f"{self.path}:{self.line}"


def detect_format(path: str) -> str:
    """`"csv"`, `"tsv"` or `"jsonl"` from a file name.

    Example:
    >>> detect_format("train.tsv.gz"), detect_format("dev.jsonl")
    ('tsv', 'jsonl')
    """
    name = os.fspath(path).lower()
    name = re.sub(r"\.(gz|bz2)$", "", name)
    if name.endswith(".csv"):
        return "csv"
    if name.endswith((".tsv", ".tab")):
        return "tsv"
    if name.endswith((".jsonl", ".json", ".ndjson")):
        return "jsonl"
    raise ValueError(
        f"Cannot tell the format of {path!r} from its name: use .csv, .tsv, "
        ".jsonl (optionally .gz) or pass file_format='csv'|'tsv'|'jsonl'."
    )


_FIELD_LIMIT = 2**31 - 1  # the largest value csv accepts on every platform


def _open_text(path):
    if path.endswith((".gz", ".bz2")):
        opener = gzip.open if path.endswith(".gz") else bz2.open
        return io.TextIOWrapper(
            opener(path, "rb"), encoding="utf-8-sig", newline=""
        )
    return open(path, encoding="utf-8-sig", newline="")


def _read_file(path, file_format):
    try:
        with _open_text(path) as f:
            if file_format == "jsonl":
                for number, line in enumerate(f, 1):
                    if not line.strip():
                        continue
                    try:
                        value = json.loads(line)
                    except json.JSONDecodeError as e:
                        raise ValueError(
                            f"{path}:{number}: not valid JSON ({e.msg}). "
                            "JSON Lines files hold one object per line."
                        ) from None
                    if not isinstance(value, dict):
                        raise ValueError(
                            f"{path}:{number}: expected a JSON object per "
                            f"line, got {type(value).__name__}."
                        )
                    yield Record(value, path, number)
                return
            # Python's csv stops at 128 KB per field by default; a long
            # document in one cell is valid input.
            csv.field_size_limit(_FIELD_LIMIT)
            if file_format == "tsv":
                reader = csv.reader(f, delimiter="\t", quoting=csv.QUOTE_NONE)
            else:
                reader = csv.reader(f)
            header = None
            for row in reader:
                if header is None:
                    header = [h.strip() for h in row]
                    continue
                if not row or not any(cell.strip() for cell in row):
                    continue
                if len(row) != len(header):
                    raise ValueError(
                        f"{path}:{reader.line_num}: {len(row)} columns, the "
                        f"header has {len(header)} ({header}). Check the "
                        "delimiter and quoting of this row."
                    )
                yield Record(
                    dict(zip(header, row, strict=True)), path, reader.line_num
                )
    except UnicodeDecodeError as e:
        raise ValueError(
            f"{path}: not valid UTF-8 ({e.reason} at byte {e.start}). "
            "Re-encode the file as UTF-8."
        ) from None


def read_records(files, file_format: str = "auto"):
    """Yields a `Record` per example of `files`, file after file.

    Args:
        files: paths, folders or glob patterns (`.gz` read through gzip).
        file_format: `"auto"` (from each name), `"csv"`, `"tsv"` or
            `"jsonl"`.

    Raises:
        ValueError: nothing matches, an unknown format, a row with the
            wrong number of columns, invalid JSON or UTF-8 (naming the
            file and line).
    """
    if file_format not in FILE_FORMATS:
        raise ValueError(
            f"`file_format` must be one of {FILE_FORMATS}. Received: "
            f"file_format={file_format!r}"
        )
    for path in resolve_files(files):
        fmt = detect_format(path) if file_format == "auto" else file_format
        yield from _read_file(path, fmt)


def pick_column(record, requested, defaults, argument, required=True):
    """The column of `record` to read: `requested`, else the first default.

    Returns `None` when nothing is found and `required` is false.

    Raises:
        ValueError: the column is missing (naming it, the argument, the
            columns found and the file).
    """
    candidates = [requested] if requested is not None else list(defaults)
    for name in candidates:
        if name in record.fields:
            return name
    if not required and requested is None:
        return None
    wanted = repr(requested) if requested is not None else (
        " or ".join(repr(d) for d in defaults)
    )  # fmt: skip
    flag = "--" + argument.replace("_", "-")
    raise ValueError(
        f"Column {wanted} not found in {record.where}; the columns are "
        f"{sorted(record.fields)}. Name the right column with {flag} (the "
        f"`{argument}=` argument in Python)."
    )
