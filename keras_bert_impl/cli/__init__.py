"""`keras-bert-impl`: the command line.

Each subcommand lives in its own module of this package and exposes
`register(subparsers)`, which adds its parser and sets `func(args) -> int`.
Modules are imported here but import TensorFlow only inside `func`, so
`keras-bert-impl --help` stays fast.

User errors (`USER_ERRORS`: `ValueError`, `FileNotFoundError`, ...) print
one line on stderr and exit with status 2. Any other exception (a missing
package, a diverged training run, a TensorFlow runtime error) prints one
line naming its type and exits with status 1. `--debug` shows the Python
traceback instead. Every command's `--help` uses `HelpFormatter`.
"""

import argparse
import importlib
import os
import re
import sys

# Subcommand modules, in the order `--help` lists them.
COMMANDS = (
    "quickstart",
    "embed",
    "vocab",
    "convert",
    "pretrain",
    "finetune",
    "evaluate",
    "predict",
    "export",
)


class UsageError(Exception):
    """A user-facing error from a command: printed as one line, exit 2."""


# Mistakes in what the user passed: the message says what and how to fix it,
# so it is printed alone (exit 2). Anything else is unexpected (exit 1).
USER_ERRORS = (
    UsageError,
    ValueError,
    FileNotFoundError,
    FileExistsError,
    NotADirectoryError,
    IsADirectoryError,
    PermissionError,
    UnicodeDecodeError,
)


class HelpFormatter(argparse.ArgumentDefaultsHelpFormatter):
    """Shows "(default: X)" only where it tells the user something.

    `ArgumentDefaultsHelpFormatter` appends the default to every option's
    help. This one leaves it out when the help already names its default
    ("(default: the model's)"), for required options, for flags
    (`store_true` / `store_false`: "(default: True)" on `--no-jit` reads as
    the opposite of what it means) and for empty defaults (`None`, `""`,
    `[]`).
    """

    def _get_help_string(self, action):
        help_text = action.help or ""
        if _mentions_default(help_text) or not _shows_default(action):
            return help_text
        return super()._get_help_string(action)


def add_jit_options(add, what="the train step"):
    """`--no-jit` / `--jit` into `dest="jit_compile"` (default `"auto"`).

    `add` is a parser's (or group's) `add_argument`.
    """
    add(
        "--no-jit",
        dest="jit_compile",
        action="store_const",
        const=False,
        default="auto",
        help=f"do not XLA-compile {what} (default: XLA on a GPU/TPU; on a "
        "CPU only for a float32 tiny pretraining step, the one case "
        "measured faster there)",
    )
    add(
        "--jit",
        dest="jit_compile",
        action="store_const",
        const=True,
        help=f"XLA-compile {what} whatever the precision and device",
    )


def _mentions_default(help_text):
    return re.search(r"\bdefault\b", help_text, re.IGNORECASE) is not None


def _shows_default(action):
    default = action.default
    if action.required or action.nargs == 0:  # required options, flags
        return False
    if default is None or default is argparse.SUPPRESS:
        return False
    return not (isinstance(default, str | list | tuple) and not default)


class _Parser(argparse.ArgumentParser):
    """An `ArgumentParser` whose usage errors are one line on stderr.

    argparse prints the whole usage block before its error; here the line
    names the command, the problem and where to look instead. Subcommand
    parsers inherit this class (`add_subparsers` uses the parent's class).
    """

    def error(self, message):
        self.exit(
            2,
            f"{self.prog}: error: {message} (see `{self.prog} --help`)\n",
        )


class _TopLevelFormatter(HelpFormatter):
    """Keeps each command's one-line help beside its name in `--help`."""

    def __init__(self, prog):
        super().__init__(prog, max_help_position=24, width=100)

    def add_argument(self, action):
        super().add_argument(action)
        if isinstance(action, argparse._SubParsersAction) and action.choices:
            # argparse measures command names without their extra indent,
            # which pushes the help of the longest name onto its own line.
            longest = max(map(len, action.choices)) + self._current_indent + 2
            self._action_max_length = max(self._action_max_length, longest)


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="keras-bert-impl",
        description="BERT on Keras 3: pretrain, fine-tune, convert, export.",
        formatter_class=_TopLevelFormatter,
    )
    parser.add_argument(
        "--debug",
        action="store_true",
        help="show Python tracebacks and TensorFlow logs on errors",
    )
    parser.add_argument("--version", action="version", version=_version())
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True
    for name in COMMANDS:
        command = importlib.import_module(f"keras_bert_impl.cli.{name}")
        command_parser = command.register(sub)
        # A command still on argparse's plain formatter gets the shared one,
        # so every `--help` shows defaults the same way.
        if command_parser is not None and (
            command_parser.formatter_class
            is argparse.ArgumentDefaultsHelpFormatter
        ):
            command_parser.formatter_class = HelpFormatter
    return parser


def _version() -> str:
    from keras_bert_impl.version import __version__

    return f"keras-bert-impl {__version__}"


def _import_tensorflow_quietly():
    """Imports TensorFlow with stderr muted at the file-descriptor level.

    absl prints "Could not find cuda drivers" and similar lines from C++
    before `TF_CPP_MIN_LOG_LEVEL` applies; they would bury the one line a
    failing command prints. `--debug` keeps them.
    """
    import contextlib

    sys.stderr.flush()
    saved = os.dup(2)
    try:
        with open(os.devnull, "w") as devnull:
            os.dup2(devnull.fileno(), 2)
            with contextlib.suppress(ImportError):
                import tensorflow  # noqa: F401
                import tensorflow_text  # noqa: F401
    finally:
        os.dup2(saved, 2)
        os.close(saved)


def main(argv: list[str] | None = None) -> int:
    """Entry point of the `keras-bert-impl` console script."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if not args.debug:
        # Quiet TensorFlow's C++ logs unless the user asked for them.
        os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
        _import_tensorflow_quietly()
    try:
        return int(args.func(args) or 0)
    except KeyboardInterrupt:
        print("keras-bert-impl: interrupted", file=sys.stderr)
        return 130
    except USER_ERRORS as e:
        if args.debug:
            raise
        message = " ".join(str(e).split()) or type(e).__name__
        print(
            f"keras-bert-impl {args.command}: error: {message}", file=sys.stderr
        )
        return 2
    except Exception as e:  # ImportError, RuntimeError, tf.errors.OpError...
        if args.debug:
            raise
        print(
            f"keras-bert-impl {args.command}: error: {type(e).__name__}: "
            f"{_summary(e)} (run again with --debug for the traceback)",
            file=sys.stderr,
        )
        return 1


def console_main() -> None:
    """The `keras-bert-impl` console script: `main()`, then exit.

    After a failed command the process ends with `os._exit`, once its
    output is flushed: the error line is printed and every file the
    package writes is already complete (atomic writes), while letting the
    interpreter tear down a half-consumed `tf.data` pipeline can deadlock
    (a `py_function` stage waiting on the iterator being destroyed), which
    would leave a batch job waiting forever for the exit code.
    """
    code = main()
    sys.stdout.flush()
    sys.stderr.flush()
    if code:
        os._exit(code)
    sys.exit(0)


_MAX_SUMMARY = 300


def _summary(error) -> str:
    """The message of an unexpected error on one line.

    TensorFlow's errors carry the Python stack of the failing node
    ("Detected at node ... defined at (most recent call last):" and
    indented `File ...` lines) and `{{function_node ...}}` / `[[{{node
    ...}}]]` markers around the sentence that matters; those are dropped.
    """
    lines = [
        line.strip()
        for line in str(error).splitlines()
        if line.strip()
        and not line[0].isspace()
        and line.strip() != "Graph execution error:"
        and not line.startswith("Detected at node")
    ]
    text = re.sub(r"\{\{function_node [^}]*\}\}", "", " ".join(lines))
    text = " ".join(text.split())
    if len(text) > _MAX_SUMMARY:
        text = text[: _MAX_SUMMARY - 3] + "..."
    return text or "(no message)"


if __name__ == "__main__":
    console_main()
