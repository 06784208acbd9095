"""`submit --api` against a job API that accepts connections and never answers (a
server paused, a proxy gone quiet): the command ends within its ``--timeout`` (plus the
watchdog's grace) with one line, for the job path and for ``--aggregate`` alike; the
HTTP client's own read timeouts (30 s, retried) would hold it for about a minute."""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from wordfreq_service.cli.unanswered import GRACE_S

from tests.faults.test_outage_aws import STARTUP_ALLOWANCE_S
from tests.helpers import run_wordfreq

TIMEOUT_S = 1.0


@pytest.fixture
def silent_api() -> Iterator[str]:
    """The URL of a server whose kernel completes every connection (the listen
    backlog) and which never reads or answers a byte."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen(64)
        yield f"http://127.0.0.1:{sock.getsockname()[1]}"


@pytest.mark.parametrize(
    ("flags", "doing"),
    [([], "creating jobs"), (["--aggregate"], "counting the corpus")],
    ids=["jobs", "aggregate"],
)
def test_submit_gives_up_on_a_silent_api_within_its_timeout(
    silent_api: str, tmp_path: Path, flags: list[str], doing: str
) -> None:
    sample = tmp_path / "sample.txt"
    sample.write_text("the cat and the hat\n")
    started = time.monotonic()
    done = run_wordfreq(
        ["submit", *flags, "--api", silent_api, "--timeout", f"{TIMEOUT_S:g}", str(sample)],
        timeout=120,
    )
    elapsed = time.monotonic() - started
    assert done.returncode == 1, done.stderr
    [line, *_] = done.stderr.splitlines()
    assert line.startswith("wordfreq: error: no answer for ") and doing in line, done.stderr
    assert "Traceback" not in done.stderr
    limit = TIMEOUT_S + 2 * GRACE_S + STARTUP_ALLOWANCE_S
    assert elapsed < limit, f"{elapsed:.1f} s for a {TIMEOUT_S:g} s timeout"
