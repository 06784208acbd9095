"""Running `wordfreq up` / `wordfreq api` as a process for a test, on a free port."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from tests.helpers import WORDFREQ

SERVING = "serving the job API and page"
START_TIMEOUT_S = 30
STOP_TIMEOUT_S = 30


@contextmanager
def serving(args: list[str], tmp_path: Path, env: dict[str, str] | None = None) -> Iterator[Any]:
    """Start `wordfreq <args> --port 0`; yield (process, base URL, log path); kill it if
    the test left it running."""
    log_path = tmp_path / "service.log"
    with open(log_path, "wb") as log:
        proc = subprocess.Popen(
            [WORDFREQ, *args, "--port", "0", "--data-dir", str(tmp_path / "data")],
            stdout=subprocess.DEVNULL,
            stderr=log,  # a file, not a pipe nobody reads
            env={**os.environ, **(env or {})},
        )
    try:
        deadline = time.monotonic() + START_TIMEOUT_S
        url = None
        while url is None:
            assert proc.poll() is None, log_path.read_text()
            assert time.monotonic() < deadline, log_path.read_text()
            for line in log_path.read_text().splitlines(keepends=True):
                entry = json.loads(line) if line.endswith("\n") else {}  # whole lines only
                if entry.get("event") == SERVING:
                    url = str(entry["url"])
            time.sleep(0.05)
        yield proc, url.rstrip("/"), log_path
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def stop(proc: subprocess.Popen[bytes], signum: int = signal.SIGTERM) -> int:
    proc.send_signal(signum)
    return proc.wait(STOP_TIMEOUT_S)


def assert_json_lines(log_path: Path) -> None:
    for line in log_path.read_text().splitlines():
        assert isinstance(json.loads(line), dict), line
