"""The service commands' timings and worker counts: a finite number of seconds, and at
most `MAX_WORKERS` workers, or a one-line usage error (exit 2) however the value is
written."""

from __future__ import annotations

import math
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import click
import pytest
from hypothesis import given
from hypothesis import strategies as st
from wordfreq_service.api.settings import WORKER_JOB_TABLE_ENV
from wordfreq_service.cli.options import MAX_WORKERS, WORKER_COUNT, Seconds

from tests.helpers import run_wordfreq

HUGE = "99999999999999999999"


@pytest.mark.parametrize(
    ("command", "option", "value"),
    [
        ("submit", "--timeout", "nan"),
        ("submit", "--timeout", "inf"),
        ("submit", "--timeout", "-1"),
        ("worker", "--drain-seconds", "nan"),
        ("worker", "--drain-seconds", "inf"),
        ("worker", "--poll-seconds", "nan"),
        ("worker", "--poll-seconds", "21"),
        ("submit", "--workers", HUGE),
        ("submit", "--workers", str(MAX_WORKERS + 1)),
        ("submit", "--workers", "0"),
        ("up", "--workers", HUGE),
        ("up", "--workers", str(MAX_WORKERS + 1)),
        ("worker", "--concurrency", HUGE),
        ("worker", "--concurrency", str(MAX_WORKERS + 1)),
        ("worker", "--split-threshold", "0"),
        ("up", "--split-threshold", "2097151"),  # ranges under MIN_PART_BYTES
        ("up", "--split-threshold", "lots"),
        ("submit", "--split-threshold", "12XB"),
    ],
)
def test_bad_timings_and_worker_counts_are_one_line_usage_errors(
    command: str, option: str, value: str, tmp_path: Path
) -> None:
    book = tmp_path / "book.txt"
    book.write_text("some words\n")
    data = tmp_path / "data"
    args = [command, "--data-dir", str(data), option, value]
    proc = run_wordfreq([*args, str(book)] if command == "submit" else args, timeout=60)
    assert proc.returncode == 2, proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1, proc.stderr
    assert option in proc.stderr
    assert "Traceback" not in proc.stderr and "internal error" not in proc.stderr
    if command == "submit":  # refused before anything was uploaded
        assert not (data / "buckets").exists() or not any(
            p.is_file() for p in (data / "buckets").rglob("*")
        )


def test_the_worker_maximum_is_documented(tmp_path: Path) -> None:
    for command in ("submit", "up", "worker"):
        proc = run_wordfreq([command, "--help"])
        assert f"1<=x<={MAX_WORKERS}" in proc.stdout, proc.stdout


@given(st.one_of(st.floats(), st.integers().map(float)).map(repr) | st.text(max_size=20))
def test_seconds_are_finite_and_in_range_or_refused(text: str) -> None:
    kind = Seconds(min=0, max=20)
    try:
        seconds = kind.convert(text, None, None)
    except click.BadParameter:
        return
    assert math.isfinite(seconds) and 0 <= seconds <= 20


@given(st.integers().map(str) | st.text(max_size=30))
def test_worker_counts_are_within_the_maximum_or_refused(text: str) -> None:
    kind: Any = WORKER_COUNT  # click's annotations do not admit the text it converts
    try:
        count = kind.convert(text, None, None)
    except click.BadParameter:
        return
    assert 1 <= count <= MAX_WORKERS


_SHOW_WORKER_SPEC = (
    "import sys, wordfreq_service.service.pool as pool\n"
    "pool.run_processes = lambda spec, *a, **k: print(spec.kind, spec.job_table)\n"
    "from wordfreq_service.cli import main\n"
    "sys.argv[0] = 'wordfreq'\n"
    "main()\n"
)


@pytest.mark.parametrize(
    ("flag", "env", "expected"),
    [
        (["--job-table", "from-flag"], {}, "from-flag"),
        ([], {WORKER_JOB_TABLE_ENV: "from-env"}, "from-env"),
        (["--job-table", "from-flag"], {WORKER_JOB_TABLE_ENV: "from-env"}, "from-flag"),
        ([], {WORKER_JOB_TABLE_ENV: ""}, "None"),
    ],
)
def test_the_aws_worker_takes_its_job_table_from_flag_or_environment(
    flag: list[str], env: dict[str, str], expected: str
) -> None:
    """The worker's pool is replaced by a print of the backend it would open."""
    args = ["worker", "--backend", "aws", "--queue-url", "q", "--result-queue-url", "r", *flag]
    proc = subprocess.run(
        [sys.executable, "-c", _SHOW_WORKER_SPEC, *args],
        capture_output=True,
        text=True,
        env={**os.environ, WORKER_JOB_TABLE_ENV: "", **env},
        timeout=60,
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.split() == ["aws", expected]
