"""``--threads N`` on ``count``, ``worker``, ``up`` and ``submit``: 1 to the core's
``MAX_THREADS`` or a one-line usage error; the counts never depend on it; workers count
with the threads they are given, by default the cores divided among them."""

from __future__ import annotations

import io
import json
import subprocess
import sys
from pathlib import Path

import pytest
from wordfreq_service._core import FILE_MIN_RANGE, MAX_THREADS, cores
from wordfreq_service.adapters.embedded import open_embedded
from wordfreq_service.cli import options
from wordfreq_service.formats.job_request import JobRequest
from wordfreq_service.service.worker import WorkerSettings
from wordfreq_service.service.worker.job import count_object

from tests.helpers import ROOT, run_wordfreq

SAMPLE = ROOT / "samples" / "snelling-photography.txt"


@pytest.mark.parametrize("command", ["count", "worker", "up", "submit"])
@pytest.mark.parametrize("value", ["0", str(MAX_THREADS + 1), "-2", "many"])
def test_out_of_range_is_a_one_line_usage_error(command: str, value: str, tmp_path: Path) -> None:
    proc = run_wordfreq(
        [command, "--threads", value, *([str(SAMPLE)] if command in ("count", "submit") else [])],
        env={"WORDFREQ_DATA_DIR": str(tmp_path)},
    )
    assert proc.returncode == 2, proc.stderr
    assert "--threads" in proc.stderr and "Traceback" not in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1


def test_count_gives_the_same_counts_on_any_number_of_threads(tmp_path: Path) -> None:
    # Several MiB, so that the core reads it in one range per thread (ranges are at
    # least FILE_MIN_RANGE), as many as there are cores; standard input streams.
    big = tmp_path / "big.txt"
    big.write_bytes(SAMPLE.read_bytes() * 20)
    assert big.stat().st_size > 3 * FILE_MIN_RANGE
    streamed = run_wordfreq(["count", "--json", "--top", "50", "-"], input=big.read_bytes())
    outputs = {
        run_wordfreq(["count", "--json", "--top", "50", *threads, str(big)]).stdout
        for threads in ([], ["--threads", "1"], ["--threads", "2"], ["--threads", "7"])
    }
    assert outputs == {streamed.stdout}
    single = run_wordfreq(["count", "--json", "--top", "50", str(SAMPLE)]).stdout
    assert json.loads(streamed.stdout)["total"] == 20 * json.loads(single)["total"] > 200_000


def test_the_cli_counts_the_cores_as_the_core_does() -> None:
    # One fact: the core's count (affinity and cgroup quota), not a second one of our own.
    assert options.cores() == min(cores(), options.MAX_WORKERS)
    pinned = (
        "import os; os.sched_setaffinity(0, {0})\n"
        "from wordfreq_service.cli import options; print(options.cores())"
    )
    out = subprocess.run([sys.executable, "-c", pinned], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "1"


def test_workers_share_the_cores_unless_told(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(options, "cores", lambda: 8)
    assert options.threads_per_worker(None, 1) == 8
    assert options.threads_per_worker(None, 3) == 2
    assert options.threads_per_worker(None, 16) == 1
    assert options.threads_per_worker(5, 3) == 5


def test_a_worker_counts_with_its_threads(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    made: list[int] = []
    original = JobRequest.new_counter

    def recording(self: JobRequest, **kwargs: object) -> object:
        counter = original(self, **kwargs)  # type: ignore[arg-type]
        made.append(counter.threads)
        return counter

    monkeypatch.setattr(JobRequest, "new_counter", recording)
    backend = open_embedded(tmp_path)
    backend.store.put("uploads/book.txt", io.BytesIO(b"some words here, some"))
    counted = count_object(
        backend.store, "uploads/book.txt", "job-1", WorkerSettings(threads=3), lambda: None
    )
    assert counted.result.words[0] == ("some", 2)
    assert made == [3]
