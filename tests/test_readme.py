"""README.md's examples are true: each `$ wordfreq ...` block and the Python example are
run and must print what the README shows (a job's timing and ID aside)."""

from __future__ import annotations

import contextlib
import io
import os
import re
import shlex
from pathlib import Path

import pytest

from tests.helpers import ROOT, run_wordfreq

README = (ROOT / "README.md").read_text(encoding="utf-8")
BLOCKS = re.findall(r"^```(\w*)\n(.*?)^```", README, flags=re.MULTILINE | re.DOTALL)
SHELL_EXAMPLES = [body for _, body in BLOCKS if body.startswith("$ wordfreq ")]
PYTHON_EXAMPLES = [body for lang, body in BLOCKS if lang == "python"]
JOB_HEADER = re.compile(r"Job Results completed in [0-9.hmsµn]+ for [0-9a-z]+")


def test_the_readme_has_examples() -> None:
    assert len(SHELL_EXAMPLES) >= 2 and len(PYTHON_EXAMPLES) == 1


@pytest.mark.parametrize("example", SHELL_EXAMPLES, ids=lambda b: b.splitlines()[0])
def test_shell_example(example: str, tmp_path: Path) -> None:
    command, *shown = example.splitlines()
    args = shlex.split(command)[2:]  # after "$ wordfreq"
    proc = run_wordfreq(args, cwd=ROOT, env={"WORDFREQ_DATA_DIR": str(tmp_path)})
    assert proc.returncode == 0, proc.stderr
    printed = proc.stdout.splitlines()
    if args[0] == "submit":  # the worker's timing and the job ID differ from run to run
        assert JOB_HEADER.fullmatch(printed[0]) and JOB_HEADER.fullmatch(shown[0])
        printed, shown = printed[1:], shown[1:]
    assert printed == shown


def test_python_example(monkeypatch: pytest.MonkeyPatch) -> None:
    [example] = PYTHON_EXAMPLES
    shown = [line[2:] for line in example.splitlines() if line.startswith("# ")]
    monkeypatch.chdir(ROOT)
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        exec(compile(example, "README.md", "exec"), {})
    assert out.getvalue().splitlines() == shown
    assert os.getcwd() == str(ROOT)
