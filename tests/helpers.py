"""Helpers shared by the test modules: running the installed CLI, finding shared data."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Protocol

import pytest

ROOT = Path(__file__).resolve().parent.parent
SHARED = ROOT.parent / "shared"
CORPUS = SHARED / "corpus"
SEED_SAMPLE = SHARED / "seed-sample" / "gutenberg2.txt"
WORDFREQ = str(Path(sys.executable).with_name("wordfreq"))

SEED_TOP_TEN = [
    ("which", 324), ("paper", 234), ("light", 212), ("plate", 147), ("silver", 117),
    ("picture", 114), ("solution", 113), ("should", 105), ("water", 98), ("project", 91),
]  # fmt: skip


def run_wordfreq(
    args: Sequence[str],
    *,
    input: bytes | None = None,
    env: dict[str, str] | None = None,
    timeout: float = 120,
    cwd: Path | None = None,
) -> subprocess.CompletedProcess[str]:
    full_env = {**os.environ, **(env or {})}
    proc = subprocess.run(
        [WORDFREQ, *args],
        input=input,
        capture_output=True,
        env=full_env,
        timeout=timeout,
        cwd=cwd,
    )
    return subprocess.CompletedProcess(
        proc.args,
        proc.returncode,
        proc.stdout.decode("utf-8", "replace"),
        proc.stderr.decode("utf-8", "replace"),
    )


def parse_top_words(text: str) -> list[tuple[str, int]]:
    """The Go uploader's `- word<TAB>count` lines (two tabs for words of 5 bytes or less)."""
    out = []
    for line in text.splitlines():
        if line.startswith("- "):
            word, count = line[2:].rsplit("\t", 1)
            out.append((word.rstrip("\t"), int(count)))
    return out


def build_go_program(source: Path, tmp: pytest.TempPathFactory, what: str) -> Path:
    """Build a one-file Go program with the local toolchain (stdlib only, offline); skip
    the calling tests, saying why, when `go` is not installed."""
    go = shutil.which("go")
    if go is None:
        pytest.skip(f"Go toolchain (go) not installed: cannot build {what}")
    out = tmp.mktemp(source.parent.name) / source.parent.name
    env = {**os.environ, "GOTOOLCHAIN": "local", "GOPROXY": "off"}
    env.pop("GOFLAGS", None)
    if not any(env.get(v) for v in ("GOCACHE", "XDG_CACHE_HOME", "HOME")):
        env["GOCACHE"] = str(tmp.mktemp("gocache"))
    proc = subprocess.run(
        [go, "build", "-o", str(out), str(source)],
        capture_output=True,
        text=True,
        env=env,
        cwd=out.parent,
        timeout=600,
    )
    assert proc.returncode == 0, proc.stderr
    return out


class Feedable(Protocol):
    def feed(self, data: bytes, /) -> None: ...


def feed_at_cuts(counter: Feedable, data: bytes, cut_at: Iterable[int]) -> None:
    """Feed ``data`` to ``counter`` in chunks cut at ``cut_at`` (any order, past the end
    allowed), then the rest: how the property tests vary the chunking."""
    start = 0
    for cut in sorted(cut_at):
        cut = min(cut, len(data))
        counter.feed(data[start:cut])
        start = max(start, cut)
    counter.feed(data[start:])
