"""Helpers shared by the test modules: running the installed CLI, finding shared data."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

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
    """The seed uploader's `- word<TAB><TAB>count` lines."""
    out = []
    for line in text.splitlines():
        if line.startswith("- "):
            word, count = line[2:].rsplit("\t\t", 1)
            out.append((word, int(count)))
    return out
