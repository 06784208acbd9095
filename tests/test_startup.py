"""`wordfreq count` starts fast: what it imports, and the click-free plain path.

Start-up time is measured by `make bench` (bench/bench_count.py), never asserted here;
these tests pin what makes it fast, the modules a count does not import.
"""

from __future__ import annotations

import os
import pickle
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from wordfreq_service.counting.engine import CountResult
from wordfreq_service.formats.job_request import JobRequest, StopWords

from tests.helpers import WORDFREQ, run_wordfreq

#: What the service commands need and a count does not (and click, typing and inspect:
#: ~35 ms of imports between them here, more than a count's whole start-up budget).
NEVER_IN_PLAIN_COUNT = (
    "boto3",
    "botocore",
    "structlog",
    "rich",
    "fastapi",
    "starlette",
    "pydantic",
    "httpx",
    "uvicorn",
    "hypothesis",
    "zstandard",
    "sqlite3",
    "click",
    "typing",
    "dataclasses",
    "inspect",
    "wordfreq_service.service",
    "wordfreq_service.adapters",
    "wordfreq_service.api",
)
#: With an option, click parses the command line; the service modules still stay out.
NEVER_IN_COUNT = NEVER_IN_PLAIN_COUNT[: NEVER_IN_PLAIN_COUNT.index("click")]


def imported_modules(argv: list[str]) -> set[str]:
    """The modules a Python process imports (``-X importtime`` lists each one)."""
    proc = subprocess.run(
        [sys.executable, "-X", "importtime", *argv],
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, "PYTHONWARNINGS": ""},
    )
    names = set()
    for line in proc.stderr.splitlines():
        if line.startswith("import time:") and "|" in line:
            name = line.rsplit("|", 1)[1].strip()
            if name != "imported package":  # the header
                names.add(name)
    assert names, proc.stderr
    return names


@pytest.fixture(scope="module")
def at_start_up() -> set[str]:
    """What the interpreter imports before any of our code (site, .pth files): not ours
    to keep out."""
    return imported_modules(["-c", "pass"])


def loaded(modules: set[str], wanted: tuple[str, ...]) -> list[str]:
    return sorted(m for m in modules if any(m == w or m.startswith(w + ".") for w in wanted))


def test_plain_count_imports_nothing_heavy(tmp_path: Path, at_start_up: set[str]) -> None:
    empty = tmp_path / "empty.txt"
    empty.write_bytes(b"")
    modules = imported_modules([WORDFREQ, "count", str(empty)]) - at_start_up
    assert "wordfreq_service._core" in modules  # it did count
    assert loaded(modules, NEVER_IN_PLAIN_COUNT) == []


def test_count_with_options_imports_no_service_module(
    tmp_path: Path, at_start_up: set[str]
) -> None:
    empty = tmp_path / "empty.txt"
    empty.write_bytes(b"")
    modules = imported_modules([WORDFREQ, "count", "--json", str(empty)]) - at_start_up
    assert "click" in modules  # an option: click parsed it
    assert loaded(modules, NEVER_IN_COUNT) == []


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    texts=st.lists(st.binary(max_size=300), min_size=1, max_size=3),
    missing=st.booleans(),
)
def test_plain_path_prints_what_click_prints(
    tmp_path_factory: pytest.TempPathFactory,
    capsys: pytest.CaptureFixture[str],
    texts: list[bytes],
    missing: bool,
) -> None:
    # `count FILE...` skips click; `count --top 10 FILE...` (the default, given) goes
    # through it: output, errors and exit status must not tell them apart.
    from wordfreq_service.cli import main

    folder = tmp_path_factory.mktemp("plain")
    files = []
    for i, text in enumerate(texts):
        path = folder / f"f{i}.txt"
        path.write_bytes(text)
        files.append(str(path))
    if missing:
        files.append(str(folder / "no such file"))
    seen = []
    for args in (["count", *files], ["count", "--top", "10", *files]):
        with pytest.raises(SystemExit) as exit_info:
            main(args)
        out, err = capsys.readouterr()
        seen.append((exit_info.value.code, out, err))
    assert seen[0] == seen[1]
    if missing:  # (random bytes may also open like a corrupt compressed stream, first)
        assert seen[0][0] == 1 and seen[0][2].startswith("wordfreq: error: ")


@pytest.mark.parametrize("names", [[""], ["."], ["no such file"], ["book.txt", "."]])
def test_plain_path_fails_as_click_does(names: list[str], tmp_path: Path) -> None:
    (tmp_path / "book.txt").write_text("a b a")
    seen = []
    for args in (["count", *names], ["count", "--top", "10", *names]):
        proc = run_wordfreq(args, cwd=tmp_path)
        seen.append((proc.returncode, proc.stdout, proc.stderr))
    assert seen[0] == seen[1]
    assert seen[0][0] == 1 and seen[0][2].startswith("wordfreq: error: ")


@pytest.mark.parametrize(
    "args",
    [
        ["count"],  # click's usage error: a file is required
        ["count", "--", "-x"],
        ["count", "-t", "3", "x"],
        ["count", "x", "--json"],
        ["count", "--help"],
    ],
)
def test_anything_but_plain_files_goes_to_click(args: list[str]) -> None:
    from wordfreq_service.cli import plain

    assert plain.count_files(args) is None


def test_plain_path_takes_standard_input() -> None:
    proc = run_wordfreq(["count", "-"], input=b"b a b")
    assert (proc.returncode, proc.stdout) == (0, "Top Words:\n- b\t\t2\n- a\t\t1\n")


def test_help_lists_every_command_with_its_short_help() -> None:
    proc = run_wordfreq(["--help"])
    assert proc.returncode == 0, proc.stderr
    commands = proc.stdout.split("Commands:", 1)[1].splitlines()
    listed = {line.split()[0]: line.split(None, 1)[1] for line in commands if line.strip()}
    assert sorted(listed) == ["api", "count", "submit", "up", "worker"]
    assert listed["count"].startswith("Count the words of FILE...")
    assert all(help_text.strip() for help_text in listed.values())


def test_value_classes_behave_as_frozen_dataclasses() -> None:
    # JobRequest, StopWords and CountResult dropped `dataclasses` (its import costs half
    # the start-up budget); what callers relied on must hold.
    a = JobRequest.make(top=3, stopwords=["the"])
    b = JobRequest.make(top=3, stopwords=["the"])
    assert a == b and hash(a) == hash(b) and a is not b
    assert a != JobRequest.make(top=4, stopwords=["the"])
    assert JobRequest() == JobRequest.make()
    assert repr(StopWords(builtin="english")) == "StopWords(builtin='english', words=frozenset())"
    assert pickle.loads(pickle.dumps(a)) == a
    with pytest.raises(AttributeError, match="frozen"):
        a.top = 5
    with pytest.raises(AttributeError, match="frozen"):
        del a.mode
    result = CountResult(2, 1, [("a", 2)])
    assert result == CountResult(2, 1, [("a", 2)], 0) and result.skipped == 0
    assert result != CountResult(2, 1, [("a", 2)], 1)
