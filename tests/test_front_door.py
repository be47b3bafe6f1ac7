"""The README's first command, verbatim, in a fresh clone.

A new user clones the repository and types the first command of the
README's bash block. This test does exactly that in a temporary folder:
`git clone` of this repository (its committed HEAD), then the command read
from the README with `--fast` appended and nothing else changed (default
workdir, default savedmodels root, the clone's own fresh virtualenv). It
must exit 0, print the export path and every stage, and leave what
`check_fast_quickstart` checks (run folder, `results.json` with both
held-out accuracies, TensorBoard events, the export, the predictions).
"""

import os
import re
import shutil
import subprocess

import pytest

from tests.test_examples import check_fast_quickstart

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def readme_commands():
    """The commands of the README's first ```bash block, comments out."""
    with open(os.path.join(REPO, "README.md"), encoding="utf-8") as f:
        text = f.read()
    block = re.search(r"```bash\n(.*?)```", text, re.S)
    assert block, "the README has no ```bash block"
    return [
        line.strip()
        for line in block.group(1).splitlines()
        if line.strip() and not line.strip().startswith("#")
    ]


def test_readme_names_two_commands():
    commands = readme_commands()
    assert len(commands) == 2, commands
    assert "quickstart" in commands[0]
    assert commands[1] == "bash .ci/run"  # the test command CI runs
    with open(os.path.join(REPO, ".ci", "run"), encoding="utf-8") as f:
        ci = f.read()
    assert "pytest tests" in ci


@pytest.mark.large
def test_first_command_in_a_fresh_clone(tmp_path):
    if not os.path.isdir(os.path.join(REPO, ".git")):
        pytest.skip("not a git checkout")
    clone = tmp_path / "clone"
    subprocess.run(
        ["git", "clone", "--quiet", REPO, str(clone)],
        check=True,
        capture_output=True,
    )
    command = readme_commands()[0] + " --fast"
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("VIRTUAL_ENV", "PYTHON"))
    }
    env["PATH"] = os.pathsep.join(
        p for p in env.get("PATH", "").split(os.pathsep) if ".venv" not in p
    )
    try:
        result = subprocess.run(
            ["bash", "-c", command],
            cwd=clone,
            env=env,
            capture_output=True,
            text=True,
            timeout=1500,
        )
        assert result.returncode == 0, (
            f"`{command}` failed in a fresh clone:\n{result.stdout[-3000:]}\n"
            f"{result.stderr[-3000:]}"
        )
        out = result.stdout
        assert "savedmodels/quickstart/1" in out, out[-3000:]
        check_fast_quickstart(
            out,
            clone / "runs" / "quickstart",
            clone / "savedmodels" / "quickstart" / "1",
        )
    finally:
        shutil.rmtree(clone / ".venv", ignore_errors=True)
