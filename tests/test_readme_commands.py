"""Every command in the README parses: its script exists and takes its flags.

The README cites a command for every number it reports and shows the
command line for every task. A renamed script or flag would leave a
number no command reproduces and a how-to that fails on its first line.
Each `python <script>.py ...`, `python -m <module> ...` and
`keras-bert-impl ...` command of the README (inline code and code blocks;
backslash continuations joined, `&&` chains split, pipes and redirections
cut; environment assignments and `nice`/`nohup` in front dropped) goes
through its own argument parser, stopped right after parsing: nothing
runs. Placeholders are values (`DIR` a path, `N` and `K` the number 2,
`COMMAND` a subcommand). Code in prose without an option
(``keras-bert-impl export`` named in a sentence) and a program's output
lines are not commands. Scripts whose top level imports torch,
transformers or keras_hub (the peers' scripts, outside the test extra)
are only checked to exist, as in test_benchmark_scripts.py. `pytest`
commands: their test files exist.
"""

import argparse
import os
import pathlib
import re
import runpy
import shlex
import sys

import pytest

from tests.helpers import imports_peers

REPO = pathlib.Path(__file__).parents[1]
README = REPO / "README.md"
CUT = ("|", "2>&1", ">", ">>", "2>", ";")
ENV = re.compile(r"^[A-Z_][A-Z0-9_]*=")
WRAPPERS = ("nice", "nohup", "time", "exec")
# Placeholders the README writes for numbers ("--seed N").
PLACEHOLDERS = {"N": "2", "K": "2", "COMMAND": "quickstart"}


def readme_commands(text):
    """The README's command lines, as token lists."""
    pieces = re.findall(r"```[^\n]*\n(.*?)```", text, flags=re.S)
    blocks = [
        line
        for piece in pieces
        for line in piece.replace("\\\n", " ").splitlines()
    ]
    inline = re.findall(
        r"`([^`]+)`", re.sub(r"```.*?```", "", text, flags=re.S)
    )
    commands = []
    lines = [(line, True) for line in blocks]
    lines += [(" ".join(span.split()), False) for span in inline]
    for line, in_block in lines:
        try:
            tokens = shlex.split(line, comments=True)
        except ValueError:  # an unbalanced quote: prose, not a command
            continue
        for part in _split(tokens, "&&"):
            while part and (ENV.match(part[0]) or part[0] in WRAPPERS):
                if part[0] == "nice" and part[1:2] == ["-n"]:
                    part = part[2:]  # nice -n 5 ...
                part = part[1:]
            for i, token in enumerate(part):
                if token in CUT or token.startswith((">", "2>")):
                    part = part[:i]
                    break
            part = [PLACEHOLDERS.get(t, t) for t in part if t != "..."]
            if not part or _program(part[0]) not in (
                "python", "keras-bert-impl", "pytest",
            ):  # fmt: skip
                continue
            if any(t.endswith(":") for t in part[:2]):
                continue  # output, e.g. "keras-bert-impl pretrain: error: ..."
            if not in_block and (
                len(part) == 1
                or (
                    _program(part[0]) != "python"
                    and not any(t.startswith("-") for t in part)
                )
            ):
                continue  # a name in prose ("`keras-bert-impl export` writes")
            commands.append([_program(part[0])] + part[1:])
    return commands


def _split(tokens, separator):
    part = []
    for token in tokens:
        if token == separator:
            yield part
            part = []
        else:
            part.append(token)
    yield part


def _program(token):
    name = os.path.basename(token)
    return "python" if re.fullmatch(r"python3?(\.\d+)?", name) else name


class _Parsed(Exception):
    pass


@pytest.fixture
def stop_after_parsing(monkeypatch):
    """Every argparse parser raises `_Parsed` once it has parsed (after
    `parse_args` has refused unknown arguments)."""
    parse_args = argparse.ArgumentParser.parse_args
    parse_known = argparse.ArgumentParser.parse_known_args
    depth = [0]

    def patched_parse_args(self, args=None, namespace=None):
        depth[0] += 1
        try:
            result = parse_args(self, args, namespace)
        finally:
            depth[0] -= 1
        raise _Parsed(result)

    def patched_parse_known_args(self, args=None, namespace=None):
        result = parse_known(self, args, namespace)
        if depth[0] == 0:  # called by the script itself
            raise _Parsed(result)
        return result

    monkeypatch.setattr(
        argparse.ArgumentParser, "parse_args", patched_parse_args
    )
    monkeypatch.setattr(
        argparse.ArgumentParser, "parse_known_args", patched_parse_known_args
    )


COMMANDS = readme_commands(README.read_text(encoding="utf-8"))


def test_the_readme_has_commands():
    programs = {c[0] for c in COMMANDS}
    scripts = {c[1] for c in COMMANDS if c[0] == "python" and len(c) > 1}
    assert programs == {"python", "keras-bert-impl", "pytest"}
    assert len(COMMANDS) >= 60 and len(scripts) >= 25


def _run_until_parsed(argv, target, monkeypatch):
    monkeypatch.setattr(sys, "argv", argv)
    saved = dict(os.environ)
    try:
        target()
    except _Parsed:
        return
    except SystemExit as e:  # argparse's error(): 2; --help: 0
        if e.code == 0 and "--help" in argv:
            return
        pytest.fail(f"README command does not parse (exit {e.code}): {argv}")
    finally:
        os.environ.clear()
        os.environ.update(saved)
    pytest.fail(f"README command ran without parsing arguments: {argv}")


@pytest.mark.parametrize(
    "command",
    [c for c in COMMANDS if c[0] == "python"],
    ids=lambda c: " ".join(c)[:80],
)
def test_python_command_parses(command, stop_after_parsing, monkeypatch):
    check_python(command, monkeypatch)


def check_python(command, monkeypatch):
    args = command[1:]
    if args[:1] == ["-m"]:
        module = args[1]
        _run_until_parsed(
            [module] + args[2:],
            lambda: runpy.run_module(module, run_name="__main__"),
            monkeypatch,
        )
        return
    if args and args[0] == "-c":
        return  # an inline program, not a command line
    script = REPO / args[0]
    assert script.is_file(), f"the README names {args[0]}, which is missing"
    if imports_peers(script):
        return
    monkeypatch.syspath_prepend(str(script.parent))
    monkeypatch.chdir(REPO)
    _run_until_parsed(
        [str(script)] + args[1:],
        lambda: runpy.run_path(str(script), run_name="__main__"),
        monkeypatch,
    )


@pytest.mark.parametrize(
    "command",
    [c for c in COMMANDS if c[0] == "keras-bert-impl"],
    ids=lambda c: " ".join(c)[:80],
)
def test_cli_command_parses(command, stop_after_parsing, monkeypatch):
    check_cli(command, monkeypatch)


def check_cli(command, monkeypatch):
    from keras_bert_impl import cli

    _run_until_parsed(command, lambda: cli.main(command[1:]), monkeypatch)


def test_a_wrong_flag_or_script_fails(stop_after_parsing, monkeypatch):
    # The checks above can fail: a misspelt flag, a missing script.
    text = (
        "run `python benchmarks/bench_small_gemm.py --rows 1 --bogus 2`,\n"
        "`python benchmarks/no_such_bench.py --rounds 1` and\n"
        "```\nkeras-bert-impl export --model m \\\n    --nme x\n```\n"
    )
    cli_command, gemm, missing = readme_commands(text)
    assert cli_command == [
        "keras-bert-impl",
        "export",
        "--model",
        "m",
        "--nme",
        "x",
    ]
    with pytest.raises(pytest.fail.Exception, match="does not parse"):
        check_python(gemm, monkeypatch)
    with pytest.raises(AssertionError, match="no_such_bench.py"):
        check_python(missing, monkeypatch)
    with pytest.raises(pytest.fail.Exception, match="does not parse"):
        check_cli(cli_command, monkeypatch)


@pytest.mark.parametrize(
    "command",
    [c for c in COMMANDS if c[0] == "pytest"],
    ids=lambda c: " ".join(c)[:80],
)
def test_pytest_command_names_real_tests(command):
    paths = [a for a in command[1:] if not a.startswith("-")]
    paths = [p.split("::")[0] for p in paths if p.startswith("tests")]
    assert paths, f"no test path in {command}"
    for path in paths:
        assert (REPO / path).exists(), f"the README runs {path}: missing"
