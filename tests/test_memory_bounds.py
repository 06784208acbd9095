"""Memory grows with the vocabulary, never with the input or its longest run: a small
gzip bomb (300 MB of the letter `a`, one 300-million-letter "word") through the whole
command and through the worker, watched from outside. (`make bench-memory` measures the
2 GB version.)"""

from __future__ import annotations

import json
import subprocess
import time
import zlib
from collections.abc import Sequence
from pathlib import Path

import pytest

from tests.helpers import WORDFREQ

LIMIT_MIB = 150
BOMB_BYTES = 300_000_000


def vm_hwm_kib(pid: int) -> int:
    """Peak resident set so far (0 once the process has exited)."""
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def run_watched(argv: Sequence[str]) -> tuple[subprocess.CompletedProcess[str], int]:
    """Run a command, polling its peak RSS (VmHWM; ru_maxrss after fork is inflated)."""
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    peak = 0
    deadline = time.monotonic() + 120
    while proc.poll() is None and time.monotonic() < deadline:
        peak = max(peak, vm_hwm_kib(proc.pid))
        time.sleep(0.005)
    out, err = proc.communicate(timeout=max(1.0, deadline - time.monotonic()))
    return subprocess.CompletedProcess(argv, proc.returncode, out, err), peak // 1024


@pytest.fixture(scope="module")
def bomb(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("bomb") / "a.gz"
    packer = zlib.compressobj(9, zlib.DEFLATED, 31)  # 31: the gzip container
    piece = b"a" * (4 << 20)
    with open(path, "wb") as out:
        left = BOMB_BYTES
        while left:
            n = min(left, len(piece))
            out.write(packer.compress(piece[:n]))
            left -= n
        out.write(packer.flush())
    return path


@pytest.mark.parametrize("mode", ["words", "seed"])
def test_wordfreq_count_on_a_gzip_bomb_stays_small(bomb: Path, mode: str) -> None:
    proc, peak_mib = run_watched([WORDFREQ, "count", "--json", "--mode", mode, str(bomb)])
    assert proc.returncode == 0, proc.stderr
    assert peak_mib < LIMIT_MIB, f"peak RSS {peak_mib} MiB"
    assert json.loads(proc.stdout) == {"total": 0, "unique": 0, "words": [], "skipped": 1}


def test_a_worker_on_a_gzip_bomb_stays_small(bomb: Path, tmp_path: Path) -> None:
    """The worker too (issue 8 §2: it grew to 6.3 GB on the 2 GB bomb): `up` with one
    worker, which runs in the `up` process itself, counts the bomb submitted to it."""
    from tests.e2e.test_embedded_stack import Service
    from tests.e2e.test_processes import descendants

    data = tmp_path / "data"
    up = Service(["up", "--workers", "1", "--port", "0"], data)
    try:
        up.wait_for("workers started")
        submitted = subprocess.run(
            [WORDFREQ, "submit", "--data-dir", str(data), "--json", "--timeout", "120", str(bomb)],
            capture_output=True,
            text=True,
            timeout=150,
        )
        # VmHWM is the high-water mark of a process still running: read once, at the end.
        peak_mib = max(map(vm_hwm_kib, {up.proc.pid, *descendants(up.proc.pid)})) // 1024
    finally:
        assert up.stop() == 0
    assert submitted.returncode == 0, submitted.stderr
    assert "in-process workers" not in submitted.stderr  # `up`'s worker did the job
    result = json.loads(submitted.stdout)
    assert (result["status"], result["total"], result["skipped"]) == ("success", 0, 1)
    assert peak_mib < LIMIT_MIB, f"worker peak RSS {peak_mib} MiB"
