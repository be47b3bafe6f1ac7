"""Input files and output locations, the same rules everywhere.

`resolve_files` is the one file globber of the package (corpora,
fine-tuning files, vocabulary learning); `prepare_output` is how every
command treats a path the user names for writing: missing parent folders
are created, and a file standing where a folder is needed is a clear
error, not `[Errno 17] File exists`. No TensorFlow import.
"""

import glob
import os
import re
import shutil
import tempfile


def resolve_files(files) -> list[str]:
    """Expands paths, folders and globs into a sorted list of files.

    A folder stands for every file below it (recursively); a pattern
    (`*`, `?`, `[...]`, `**`) for the files it matches; each group is
    sorted, and a file named twice is kept once.

    Args:
        files: a path or a list of paths, folders or glob patterns.

    Returns:
        list of str.

    Raises:
        FileNotFoundError: a path or pattern matches no file (the message
            names it).

    Example:
    >>> import os, tempfile
    >>> root = tempfile.mkdtemp()
    >>> for name in ("b.txt", "a.txt"):
    ...     with open(os.path.join(root, name), "w") as f:
    ...         _ = f.write("x\\n")
    >>> [os.path.basename(p) for p in resolve_files(root + "/*.txt")]
    ['a.txt', 'b.txt']
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
        elif glob.has_magic(pattern):
            matches = sorted(
                p for p in glob.glob(pattern, recursive=True)
                if os.path.isfile(p)
            )  # fmt: skip
        else:
            matches = [pattern] if os.path.isfile(pattern) else []
        if not matches:
            raise FileNotFoundError(
                f"No file matches {pattern!r}. Pass existing files, folders "
                "or glob patterns such as 'corpus/*.txt' (quote globs so "
                "the shell does not expand them)."
            )
        found.extend(matches)
    return list(dict.fromkeys(found))


def prepare_output(path, what: str = "output", folder: bool = False) -> str:
    """Creates the missing parent folders of an output path; returns it.

    With `folder=True` the path itself is a folder to write into (it is
    not created here, only its parents): a file standing there is an
    error. With `folder=False` it is a file: a folder standing there is an
    error.

    Args:
        path: str or path-like.
        what: str. How the message names the path (e.g. `"--output"`).
        folder: bool. Whether `path` names a folder.

    Raises:
        NotADirectoryError: a parent (or, with `folder`, the path) is a
            file.
        IsADirectoryError: `folder=False` and the path is a folder.
        PermissionError: the parent folder is not writable.

    Example:
    >>> import os, tempfile
    >>> root = tempfile.mkdtemp()
    >>> out = prepare_output(os.path.join(root, "runs", "a", "model"),
    ...                      folder=True)
    >>> os.path.isdir(os.path.dirname(out)), os.path.exists(out)
    (True, False)
    """
    path = os.fspath(path)
    if folder and os.path.exists(path) and not os.path.isdir(path):
        raise NotADirectoryError(
            f"{what} {path!r} is a file, not a folder: pass a folder path "
            "(it is created if missing)."
        )
    if not folder and os.path.isdir(path):
        raise IsADirectoryError(
            f"{what} {path!r} is a folder: pass a file path."
        )
    parent = os.path.dirname(os.path.abspath(path))
    blocker = parent
    while blocker and not os.path.exists(blocker):
        blocker = os.path.dirname(blocker)
    if blocker and not os.path.isdir(blocker):
        raise NotADirectoryError(
            f"{what} {path!r} cannot be created: {blocker} is a file, not a "
            "folder. Remove it or choose another path."
        )
    try:
        os.makedirs(parent, exist_ok=True)
        # Probe: some folders (/proc, read-only mounts) refuse files even
        # to root; find out now, not after minutes of work.
        with tempfile.NamedTemporaryFile(dir=parent, prefix=".probe-"):
            pass
    except OSError as e:
        raise PermissionError(
            f"{what} {path!r} cannot be written: {e.strerror or e} in {parent}."
        ) from None
    return path


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # alive, another user's
        return True
    return True


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


_STAGING = re.compile(r"^\.(?P<name>.+)\.(?P<kind>partial|old)-(?P<pid>\d+)$")


def remove_stale_staging(parent) -> list[str]:
    """Cleans staging folders of dead processes in `parent` (see
    `StagedFolder.clean_stale`); returns the names removed or restored."""
    if not os.path.isdir(parent):
        return []
    done = []
    for entry in sorted(os.listdir(parent)):
        match = _STAGING.match(entry)
        if match is None:
            continue
        pid = int(match["pid"])
        if pid == os.getpid() or _pid_alive(pid):
            continue
        path = os.path.join(parent, entry)
        target = os.path.join(parent, match["name"])
        if match["kind"] == "old" and not os.path.exists(target):
            os.rename(path, target)
        else:
            shutil.rmtree(path, ignore_errors=True)
        done.append(entry)
    return done


def _share(folder) -> None:
    """Gives what is in `folder` the modes of files a user creates
    (`0666` / `0777` minus the umask): some writers (safetensors, temporary
    files) create files only their owner can read, and a server running
    as another user must read a checkpoint or an export."""
    mask = _umask()
    for base, dirs, files in os.walk(folder):
        for name in dirs:
            os.chmod(os.path.join(base, name), 0o777 & ~mask)
        for name in files:
            path = os.path.join(base, name)
            if not os.path.islink(path):
                os.chmod(path, 0o666 & ~mask)


class StagedFolder:
    """Builds a folder aside and swaps it in whole at the end.

    `with StagedFolder(target) as staging:` gives a fresh folder beside
    `target` (`.<name>.partial-<pid>`, readable like any folder the user
    creates: mode `0777 & ~umask`); `commit()` renames it to `target`
    (an existing `target` is moved aside first and deleted after). Leaving
    the block without `commit()` deletes the staging folder, so an
    interruption at any moment leaves either the old complete `target` or
    the new one, never a mix. Staging and moved-aside folders left by a
    killed process are cleaned by the next `StagedFolder` of the same
    target (a moved-aside folder whose target is missing is put back).

    Args:
        target: str. The folder to create or replace.
        overwrite: bool. Replace an existing non-empty `target`.
        what: str. How messages name the folder (e.g. `"--output"`).

    Raises:
        FileExistsError: `target` is a non-empty folder and `overwrite` is
            not set (on entry, and again at `commit` if one appeared).
        NotADirectoryError: `target` (or a parent) is a file.

    Example:
    >>> import os, tempfile
    >>> target = os.path.join(tempfile.mkdtemp(), "run")
    >>> folder = StagedFolder(target)
    >>> with folder as staging:
    ...     with open(os.path.join(staging, "model.txt"), "w") as f:
    ...         _ = f.write("v1")
    ...     print(os.path.exists(target))
    ...     _ = folder.commit()
    False
    >>> sorted(os.listdir(target))
    ['model.txt']
    """

    def __init__(self, target, overwrite: bool = False, what: str = "output"):
        self.target = os.path.abspath(os.fspath(target))
        self.overwrite = overwrite
        self.what = what
        self.staging = None
        self._committed = False

    @property
    def _prefix(self):
        return f".{os.path.basename(self.target)}."

    def _check_target(self):
        if os.path.isdir(self.target) and os.listdir(self.target):
            if not self.overwrite:
                raise FileExistsError(
                    f"{self.what} {self.target} exists and is not empty: "
                    "pass another folder, or overwrite=True (--overwrite) "
                    "to replace it (it is kept until the new one is "
                    "complete)."
                )

    def clean_stale(self):
        """Removes what killed processes left in `target`'s parent folder.

        Any `.<name>.partial-<pid>` of a process that is gone is deleted
        (whatever `<name>`: a killed export of version 3 is cleaned by the
        export of version 4); a `.<name>.old-<pid>` whose `<name>` is
        missing was moved aside by a process killed mid-swap and is put
        back, else deleted.
        """
        remove_stale_staging(os.path.dirname(self.target))

    def __enter__(self) -> str:
        prepare_output(self.target, self.what, folder=True)
        self.clean_stale()
        self._check_target()
        self.staging = os.path.join(
            os.path.dirname(self.target),
            f"{self._prefix}partial-{os.getpid()}",
        )
        shutil.rmtree(self.staging, ignore_errors=True)
        os.makedirs(self.staging)
        os.chmod(self.staging, 0o777 & ~_umask())
        return self.staging

    def commit(self) -> str:
        """Swaps the staging folder in as `target`; returns `target`."""
        try:
            self._check_target()  # again: it may have appeared meanwhile
        except FileExistsError:
            raise FileExistsError(
                f"{self.what} {self.target} was written by another process "
                "while this one was preparing it: nothing of this run was "
                "written there. Choose another name or version and run "
                "again, or pass overwrite=True (--overwrite) to replace it."
            ) from None
        _share(self.staging)
        if os.path.isdir(self.target) and not os.listdir(self.target):
            os.rmdir(self.target)
        if not os.path.exists(self.target):
            os.rename(self.staging, self.target)
        else:
            old = os.path.join(
                os.path.dirname(self.target),
                f"{self._prefix}old-{os.getpid()}",
            )
            shutil.rmtree(old, ignore_errors=True)
            os.rename(self.target, old)
            try:
                os.rename(self.staging, self.target)
            except OSError:
                os.rename(old, self.target)  # put the old one back
                raise
            shutil.rmtree(old, ignore_errors=True)
        self._committed = True
        return self.target

    def __exit__(self, exc_type, exc, tb):
        if not self._committed and self.staging is not None:
            shutil.rmtree(self.staging, ignore_errors=True)
        return False
