"""Shared helpers for the benchmarks: inputs, timing child processes, the results file."""

from __future__ import annotations

import datetime as dt
import os
import platform
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CORPUS = ROOT.parent / "shared" / "corpus"
DATA = ROOT / "bench" / "data"
RESULTS = ROOT / "bench" / "RESULTS.md"


def corpus_files() -> list[Path]:
    files = sorted(CORPUS.glob("*.txt"))
    if not files:
        raise SystemExit(f"benchmark corpus not found in {CORPUS}")
    return files


def build_input(name: str, repeat: int) -> Path:
    """The corpus concatenated ``repeat`` times (generated, never committed)."""
    DATA.mkdir(parents=True, exist_ok=True)
    path = DATA / name
    blob = b"".join(f.read_bytes() for f in corpus_files())
    if not path.exists() or path.stat().st_size != len(blob) * repeat:
        with open(path, "wb") as out:
            for _ in range(repeat):
                out.write(blob)
    return path


def run_child(argv: Sequence[str], env: dict[str, str] | None = None) -> tuple[float, int]:
    """Wall seconds and peak RSS (KiB) of one child process; its output is discarded."""
    start = time.perf_counter()
    proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env)
    _, status, usage = os.wait4(proc.pid, 0)
    elapsed = time.perf_counter() - start
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        err = proc.stderr.read().decode() if proc.stderr else ""
        raise SystemExit(f"{argv[0]} failed ({proc.returncode}): {err}")
    return elapsed, usage.ru_maxrss


@dataclass(frozen=True)
class PeakRun:
    seconds: float
    peak_kib: int
    returncode: int
    stderr: str


def vm_hwm_kib(pid: int) -> int | None:
    """The process's peak resident set so far (VmHWM), or None once it has exited."""
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
    except (OSError, ValueError):
        return None
    return None  # a zombie has no memory lines


def run_child_peak(argv: Sequence[str], poll: float = 0.005) -> PeakRun:
    """Run a child and poll its VmHWM until it exits. (ru_maxrss from wait4 is inflated:
    it can carry the footprint of the forked parent.) VmHWM only grows, so polling
    misses at most the growth of the last few milliseconds of a run."""
    with tempfile.TemporaryFile() as err:
        start = time.perf_counter()
        proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=err)
        peak = 0
        while proc.poll() is None:
            peak = max(peak, vm_hwm_kib(proc.pid) or 0)
            time.sleep(poll)
        elapsed = time.perf_counter() - start
        err.seek(0)
        text = err.read().decode("utf-8", "replace")
    return PeakRun(elapsed, peak, proc.returncode, text)


def descendants(root: int) -> set[int]:
    """The PIDs of every process below ``root`` (its children, theirs, ...)."""
    parents: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue  # gone meanwhile
        # The command name is in parentheses and may itself hold spaces or parentheses.
        parents[int(entry.name)] = int(stat.rsplit(")", 1)[1].split()[1])
    found: set[int] = set()
    frontier = {root}
    while frontier:
        frontier = {pid for pid, parent in parents.items() if parent in frontier} - found
        found |= frontier
    return found


def median_time(argv: Sequence[str], runs: int) -> float:
    return statistics.median(run_child(argv)[0] for _ in range(runs))


def machine() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem = ""
    try:
        kib = int(Path("/proc/meminfo").read_text().split()[1])
        mem = f", {kib / 1024 / 1024:.0f} GiB"
    except (OSError, ValueError, IndexError):
        pass
    return (
        f"{platform.node()}: {os.cpu_count()} cores{mem}, {cpu}, Python {platform.python_version()}"
    )


def record(section: str, lines: Sequence[str]) -> None:
    """Append one run's figures to bench/RESULTS.md, dated and with the machine."""
    stamp = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
    if not RESULTS.exists():
        RESULTS.write_text("# Benchmark results\n\nEach run appends its figures below.\n")
    with open(RESULTS, "a") as out:
        out.write(f"\n## {section}: {stamp}\n\nMachine: {machine()}\n\n")
        out.writelines(f"{line}\n" for line in lines)


@contextmanager
def running_stack(data_dir: Path, workers: int = 2) -> Iterator[subprocess.Popen[bytes]]:
    """`wordfreq up --workers N` on ``data_dir`` (any free port), started and ready; stopped
    with SIGTERM on the way out. Its log goes to a file beside the data directory: an
    unread pipe would fill up and stall it."""
    wordfreq = str(Path(sys.executable).with_name("wordfreq"))
    env = {**os.environ, "WORDFREQ_DATA_DIR": str(data_dir)}
    log_path = data_dir.parent / f"{data_dir.name}-stack.log"
    with open(log_path, "wb") as log:
        stack = subprocess.Popen(
            [wordfreq, "up", "--workers", str(workers), "--port", "0"], env=env, stderr=log
        )
    try:
        while b'"workers started"' not in log_path.read_bytes():
            if stack.poll() is not None:
                raise SystemExit(f"wordfreq up exited: {log_path.read_text()}")
            time.sleep(0.05)
        yield stack
    finally:
        stack.send_signal(signal.SIGTERM)
        stack.wait(60)
