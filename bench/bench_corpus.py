"""`make bench-corpus`: a corpus of 10,000 small files end to end through the embedded
stack, `wordfreq submit --aggregate`.

Two set-ups, each on a fresh data directory:
* `wordfreq up --workers 2` running, `submit --aggregate` its client (the stack's worker
  processes count; the client uploads, waits and merges);
* no stack: `submit --aggregate --workers 2` brings in-process workers (threads).
For each: files/s from the command's start to its exit (CLI start-up included), the CPU
seconds of the submit process and of the stack's processes (the trustworthy figure on a
shared machine), and the peak memory (VmHWM) of the submit process and of each worker
process. The summed counts
are checked against `count --aggregate` of the same corpus. Medians of the rounds.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from common import CORPUS, DATA, descendants, record, running_stack, vm_hwm_kib

WORDFREQ = str(Path(sys.executable).with_name("wordfreq"))


def build_corpus(files: int) -> Path:
    """``files`` files of 1 to 4 KB cut from the shared books (generated, never
    committed), 100 to a directory; reused while the count matches."""
    root = DATA / f"corpus-{files}"
    marker = root / f".complete-{files}"
    if marker.exists():
        return root
    blob = b"".join(p.read_bytes() for p in sorted(CORPUS.glob("*.txt")))
    for i in range(files):
        size = 1024 + (i * 7919) % 3072
        start = (i * 104_729) % (len(blob) - size)
        path = root / f"d{i // 100:03}" / f"f{i:05}.txt"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(blob[start : start + size])
    marker.touch()
    return root


def cpu_seconds(pids: set[int]) -> float:
    """The CPU time (user + system) the processes ``pids`` have used so far."""
    tick = os.sysconf("SC_CLK_TCK")
    total = 0
    for pid in pids:
        try:
            # Fields 14 and 15 (utime, stime) after the parenthesised command name.
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue  # gone meanwhile
        total += int(fields[11]) + int(fields[12])
    return total / tick


def run_watched(argv: list[str], env: dict[str, str], stack_pid: int | None) -> dict[str, float]:
    """Run ``argv``; its wall seconds, its peak memory, the largest peak among the worker
    processes (the stack's, else the command's own children: none for threads), and the
    CPU seconds of the command and of the stack's processes while it ran. The stack's
    processes are listed once, before: scanning /proc at every poll cost the machine
    more CPU than it measured."""
    stack = {stack_pid} | descendants(stack_pid) if stack_pid is not None else set()
    workers_pids = stack - {stack_pid}
    stack_before = cpu_seconds(stack)
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        start = time.perf_counter()
        proc = subprocess.Popen(argv, stdout=out, stderr=err, env=env)
        peak, workers = 0, 0
        while True:
            pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
            if pid:
                break
            peak = max(peak, vm_hwm_kib(proc.pid) or 0)
            for worker in workers_pids:
                workers = max(workers, vm_hwm_kib(worker) or 0)
            time.sleep(0.02)
        elapsed = time.perf_counter() - start
        returncode = os.waitstatus_to_exitcode(status)
        proc.returncode = returncode
        stack_cpu = cpu_seconds(stack) - stack_before
        out.seek(0)
        err.seek(0)
        if returncode != 0:
            raise SystemExit(f"{argv} failed ({returncode}): {err.read().decode()}")
        body = json.loads(out.read())
    return {
        "seconds": elapsed,
        "peak_kib": peak,
        "worker_kib": workers,
        "total": body["total"],
        "submit_cpu": usage.ru_utime + usage.ru_stime,
        "stack_cpu": stack_cpu,
        "load": os.getloadavg()[0],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--files", type=int, default=10_000)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    corpus = build_corpus(args.files)
    expected = json.loads(
        subprocess.run(
            [WORDFREQ, "count", "--aggregate", "--json", str(corpus)],
            capture_output=True,
            check=True,
        ).stdout
    )["total"]

    runs: dict[str, list[dict[str, float]]] = {"stack": [], "in-process": []}
    for r in range(args.rounds):
        with tempfile.TemporaryDirectory() as tmp:
            data = Path(tmp) / "data"
            env = {**os.environ, "WORDFREQ_DATA_DIR": str(data)}
            with running_stack(data, workers=2) as stack:
                argv = [WORDFREQ, "submit", "--aggregate", "--json", str(corpus)]
                runs["stack"].append(run_watched(argv, env, stack.pid))
        with tempfile.TemporaryDirectory() as tmp:
            env = {**os.environ, "WORDFREQ_DATA_DIR": str(Path(tmp) / "data")}
            argv = [WORDFREQ, "submit", "--aggregate", "--workers", "2", "--json", str(corpus)]
            runs["in-process"].append(run_watched(argv, env, None))
        for name, done in runs.items():
            last = done[-1]
            if last["total"] != expected:
                raise SystemExit(f"{name}: total {last['total']} != count's {expected}")
            per = 10_000 / args.files
            print(
                f"round {r + 1} {name}: {args.files / last['seconds']:.0f} files/s, "
                f"CPU s per 10,000 files: submit {last['submit_cpu'] * per:.1f}, "
                f"stack {last['stack_cpu'] * per:.1f}; "
                f"submit peak {last['peak_kib'] / 1024:.0f} MiB, "
                f"worker peak {last['worker_kib'] / 1024:.0f} MiB; load {last['load']:.1f}"
            )

    med = statistics.median
    lines = [
        f"{args.files} files of 1-4 KB (100 a directory), `wordfreq submit --aggregate "
        f"--json DIR`, whole command timed; medians of {args.rounds} rounds; totals checked "
        "against `count --aggregate`. CPU: user + system seconds of `submit` and of the "
        "stack's processes (`up` and its workers) while it ran; load average (1 min) "
        f"{', '.join(format(d['load'], '.1f') for d in runs['stack'])} after the stack's rounds.",
        "",
        "| set-up | files/s | CPU s per 10,000 files: submit + stack | peak memory, submit "
        "| peak memory, each worker process | target |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    for name, label in (
        ("stack", "`up --workers 2` running"),
        ("in-process", "no stack: `--workers 2` threads"),
    ):
        done = runs[name]
        worker = (
            f"{med(d['worker_kib'] for d in done) / 1024:.0f} MiB"
            if name == "stack"
            else "(in submit)"
        )
        per = 10_000 / args.files
        cpu = (
            f"{med(d['submit_cpu'] for d in done) * per:.1f} + "
            f"{med(d['stack_cpu'] for d in done) * per:.1f}"
        )
        lines.append(
            f"| {label} | {med(args.files / d['seconds'] for d in done):.0f} | {cpu} | "
            f"{med(d['peak_kib'] for d in done) / 1024:.0f} MiB | {worker} | >= 500 files/s |"
        )
    print("\n".join(lines))
    record("corpus aggregate", lines)


if __name__ == "__main__":
    main()
