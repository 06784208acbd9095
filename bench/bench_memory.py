"""`make bench-memory`: peak memory of `wordfreq count`, and of the worker, on hostile and
large inputs.

Memory must grow with the vocabulary, never with the input or its longest run, so each
input here has a tiny vocabulary and a huge something else:

* the `a`-bomb: gzip of 2 GB of the letter `a` (one 2-billion-letter "word", ~2 MB);
* a 200 MB line that is a single token, and a 200 MB line of ordinary words (no newline);
* 1 GB of ordinary text (the corpus repeated).

Peak RSS is the child's VmHWM from /proc/PID/status, polled while it runs (ru_maxrss from
wait4 is not used: after fork/exec it can report the parent's larger footprint). The
worker rows submit the `a`-bomb and the one-token line to a fresh embedded stack
(`wordfreq up --workers 1`, whose one worker runs in the `up` process) and read the
VmHWM of `up` and any process under it once the result is in, while they still run.
Inputs are generated in bench/data/ (gitignored); medians of --runs runs are recorded.

A large vocabulary is the one thing memory may grow with: the last rows give the worker
texts of 0.3M and 3M distinct words, by the compatible path and by the job path (which
also stores every word's count), and fail when the job path takes over 10% more.
"""

from __future__ import annotations

import argparse
import json
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import zlib
from collections.abc import Callable
from pathlib import Path

from common import (
    DATA,
    PeakRun,
    build_input,
    corpus_files,
    descendants,
    record,
    run_child_peak,
    vm_hwm_kib,
)

LIMIT_MIB = 150
#: How much more than the compatible path the job path may peak at on a large vocabulary.
JOB_PATH_SLACK = 1.1
PIECE = 8 << 20


def _write_once(path: Path, size: int, fill: Callable[[Path], None]) -> Path:
    if not path.exists() or path.stat().st_size != size:
        tmp = path.with_suffix(path.suffix + ".tmp")
        fill(tmp)
        tmp.replace(path)
    return path


def a_bomb(total: int) -> Path:
    """gzip of ``total`` bytes of `a`, written streaming (never held in memory)."""
    DATA.mkdir(parents=True, exist_ok=True)
    path = DATA / f"a-bomb-{total / 1e9:g}gb.gz"
    if path.exists():
        return path
    tmp = path.with_suffix(".tmp")
    piece = b"a" * PIECE
    packer = zlib.compressobj(9, zlib.DEFLATED, 31)  # 31: gzip container
    with open(tmp, "wb") as out:
        left = total
        while left:
            n = min(left, PIECE)
            out.write(packer.compress(piece[:n]))
            left -= n
        out.write(packer.flush())
    tmp.replace(path)
    return path


def _repeated(unit: bytes, size: int) -> Callable[[Path], None]:
    """Writes ``unit`` over and over into a file until it holds ``size`` bytes."""

    def fill(tmp: Path) -> None:
        with open(tmp, "wb") as out:
            left = size
            while left:
                n = min(left, len(unit))
                out.write(unit[:n])
                left -= n

    return fill


def one_token_line(size: int) -> Path:
    """One line of ``size`` bytes that is a single token (letters only, no space)."""
    DATA.mkdir(parents=True, exist_ok=True)
    unit = b"abcdefghijklmnopqrstuvwxyz" * 4096
    return _write_once(DATA / f"token-line-{size // 1_000_000}mb.txt", size, _repeated(unit, size))


def words_line(size: int) -> Path:
    """``size`` bytes of ordinary words on one line (the corpus, newlines made spaces)."""
    DATA.mkdir(parents=True, exist_ok=True)
    blob = b" ".join(f.read_bytes() for f in corpus_files())
    blob = blob.replace(b"\r", b" ").replace(b"\n", b" ")
    return _write_once(DATA / f"words-line-{size // 1_000_000}mb.txt", size, _repeated(blob, size))


def distinct_words(count: int) -> Path:
    """``count`` distinct words of nine letters (words mode counts letters only), one
    space after each: 3M of them make a 30 MB text whose vocabulary is its size."""
    DATA.mkdir(parents=True, exist_ok=True)
    path = DATA / f"distinct-{count // 1000}k.txt"
    if path.exists() and path.stat().st_size == count * 10:
        return path
    letters = [chr(ord("a") + i) for i in range(26)]
    tmp = path.with_suffix(".tmp")
    with open(tmp, "w", encoding="ascii") as out:
        for start in range(0, count, 100_000):
            words = []
            for i in range(start, min(count, start + 100_000)):
                # A multiplier coprime with 26**9 scatters neighbours over the table.
                n = (i * 1_000_003) % 26**9
                word = []
                for _ in range(9):
                    n, d = divmod(n, 26)
                    word.append(letters[d])
                words.append("".join(word))
            out.write(" ".join(words) + " ")
    tmp.replace(path)
    return path


def _submit_compatible(data: str, path: Path) -> tuple[PeakRun, int | None]:
    """Upload ``path`` as the compatible path does (a random key, the result from the
    shared result queue) to the embedded stack in ``data``."""
    from wordfreq_service.adapters.embedded import open_embedded
    from wordfreq_service.formats.job_request import JobRequest
    from wordfreq_service.service.client import Client

    begin = time.perf_counter()
    client = Client(open_embedded(Path(data)), poll_seconds=1.0)
    submissions = client.upload(Client.open_inputs([str(path)]), JobRequest.make())
    pending = client.collect(submissions, 600, lambda _: None)
    result = submissions[0].result
    ok = not pending and result is not None and result.ok
    reason = "" if ok else f"no result in time: {result}"
    run = PeakRun(time.perf_counter() - begin, 0, 0 if ok else 1, reason)
    return run, result.skipped if result else None


def worker_peak(wordfreq: str, path: Path, job_path: bool = True) -> tuple[PeakRun, int | None]:
    """Submit ``path`` to a fresh `wordfreq up --workers 1` (by `wordfreq submit`, the
    job path, or else as the compatible path uploads): the peak RSS of its processes, the
    submit's time and exit status, and the result's ``skipped``."""
    with tempfile.TemporaryDirectory() as data:
        up = subprocess.Popen(
            [wordfreq, "up", "--workers", "1", "--port", "0", "--data-dir", data],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        started = threading.Event()

        def read_log() -> None:
            # Read to the end: a service whose log pipe fills up stalls.
            assert up.stderr is not None
            for line in up.stderr:
                if b'"workers started"' in line:
                    started.set()

        reader = threading.Thread(target=read_log, daemon=True)
        reader.start()
        try:
            if not started.wait(60):
                raise SystemExit("wordfreq up did not start within 60 s")
            if job_path:
                begin = time.perf_counter()
                argv = [wordfreq, "submit", "--data-dir", data, "--json", "--timeout", "600"]
                submit = subprocess.run([*argv, str(path)], capture_output=True, text=True)
                seconds, code, err = time.perf_counter() - begin, submit.returncode, submit.stderr
                out = submit.stdout
            else:
                run, compatible_skipped = _submit_compatible(data, path)
                seconds, code, err = run.seconds, run.returncode, run.stderr
                out = json.dumps({"skipped": compatible_skipped})
            # High-water marks of processes still running: nothing to poll.
            peak = max(vm_hwm_kib(pid) or 0 for pid in {up.pid, *descendants(up.pid)})
        finally:
            up.send_signal(signal.SIGTERM)
            up.wait(60)
            reader.join(10)
    skipped = json.loads(out).get("skipped") if code == 0 else None
    return PeakRun(seconds, peak, code, err), skipped


def vocabulary_rows(wordfreq: str, sizes: list[int], runs: int) -> list[str]:
    """The worker's peak on texts whose vocabulary is their size, by the compatible path
    (result message only) and by the job path (also every word's count stored as CSV).
    Memory grows with the vocabulary on both; the job path may add little to it: fails
    when it takes over ``JOB_PATH_SLACK`` more than the compatible path."""
    lines = [
        f"Worker peak RSS (VmHWM of `wordfreq up --workers 1`) on distinct nine-letter "
        f"words, median of {runs} runs; the compatible path uploads as the seed's "
        f"clients do, the job path by `wordfreq submit --data-dir` (it also stores every "
        f"word's count); seconds are the client's.",
        "",
        "| input | path | peak RSS MiB | seconds | exit |",
        "| --- | --- | --- | --- | --- |",
    ]
    for count in sizes:
        path = distinct_words(count)
        label = f"{count / 1e6:g}M distinct words ({path.stat().st_size / 1e6:.0f} MB)"
        peaks: dict[bool, float] = {}
        for job_path in (False, True):
            measured = [worker_peak(wordfreq, path, job_path)[0] for _ in range(runs)]
            rss = statistics.median(r.peak_kib for r in measured) / 1024
            secs = statistics.median(r.seconds for r in measured)
            codes = sorted({r.returncode for r in measured})
            name = "job" if job_path else "compatible"
            peaks[job_path] = rss
            lines.append(f"| {label} | {name} | {rss:.0f} | {secs:.2f} | {codes} |")
            print(f"vocabulary: {label:35s} {name:10s} {rss:8.0f} MiB {secs:7.2f} s {codes}")
            if codes != [0]:
                print("   stderr:", measured[0].stderr.strip().splitlines()[-1:], flush=True)
        if peaks[True] > peaks[False] * JOB_PATH_SLACK:
            raise SystemExit(
                f"{label}: the job path peaks at {peaks[True]:.0f} MiB, over "
                f"{JOB_PATH_SLACK:g} times the compatible path's {peaks[False]:.0f} MiB"
            )
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--bomb-gb", type=float, default=2.0)
    parser.add_argument("--line-mb", type=int, default=200)
    parser.add_argument("--big-gb", type=float, default=1.0)
    parser.add_argument(
        "--distinct",
        type=int,
        nargs="+",
        default=[300_000, 3_000_000],
        help="vocabulary sizes of the large-vocabulary rows (nine letters and a space each)",
    )
    parser.add_argument(
        "--vocabulary-only", action="store_true", help="only the large-vocabulary worker rows"
    )
    parser.add_argument("--no-record", action="store_true", help="print only")
    args = parser.parse_args()

    wordfreq = str(Path(sys.executable).with_name("wordfreq"))
    vocabulary_lines = vocabulary_rows(wordfreq, args.distinct, args.runs)
    if not args.no_record:
        record("wordfreq worker memory, large vocabulary", vocabulary_lines)
    if args.vocabulary_only:
        return
    bomb = a_bomb(int(args.bomb_gb * 1e9))
    token = one_token_line(args.line_mb * 1_000_000)
    words = words_line(args.line_mb * 1_000_000)
    blob_size = sum(f.stat().st_size for f in corpus_files())
    big = build_input("corpus-1g.txt", max(1, round(args.big_gb * 1e9 / blob_size)))

    bomb_mb = bomb.stat().st_size / 1e6
    cases = [
        (f"`a`-bomb: gzip of {args.bomb_gb:g} GB of `a` ({bomb_mb:.1f} MB)", [], bomb),
        (f"{args.line_mb} MB line, one token", [], token),
        (f"{args.line_mb} MB line, one token, `--mode seed`", ["--mode", "seed"], token),
        (f"{args.line_mb} MB line of words, no newline", [], words),
        (f"{args.line_mb} MB line of words, no newline, `--mode seed`", ["--mode", "seed"], words),
        (f"{big.stat().st_size / 1e9:.2f} GB of text (corpus repeated)", [], big),
    ]
    lines = [
        f"`wordfreq count --json` peak RSS (VmHWM, polled), median of {args.runs} runs; "
        f"limit {LIMIT_MIB} MiB.",
        "",
        "| input | peak RSS MiB | seconds | exit | under limit |",
        "| --- | --- | --- | --- | --- |",
    ]
    worst = 0.0
    for label, extra, path in cases:
        runs = [
            run_child_peak([wordfreq, "count", "--json", *extra, str(path)])
            for _ in range(args.runs)
        ]
        rss = statistics.median(r.peak_kib for r in runs) / 1024
        secs = statistics.median(r.seconds for r in runs)
        codes = sorted({r.returncode for r in runs})
        worst = max(worst, rss)
        ok = "yes" if rss < LIMIT_MIB and codes == [0] else "NO"
        lines.append(f"| {label} | {rss:.0f} | {secs:.2f} | {codes} | {ok} |")
        print(f"{label:55s} {rss:8.0f} MiB {secs:7.2f} s exit {codes}", flush=True)
        if codes != [0]:
            print("   stderr:", runs[0].stderr.strip().splitlines()[-1:], flush=True)
    worker_cases = [(cases[0][0], bomb), (cases[1][0], token)]
    worker_lines = [
        f"Worker peak RSS (VmHWM of `wordfreq up --workers 1`, whose worker runs in that "
        f"process) with the input submitted by `wordfreq submit --json`, median of "
        f"{args.runs} runs; seconds are the submit's; limit {LIMIT_MIB} MiB.",
        "",
        "| input | peak RSS MiB | seconds | exit | skipped | under limit |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    for label, path in worker_cases:
        measured = [worker_peak(wordfreq, path) for _ in range(args.runs)]
        runs = [run for run, _ in measured]
        rss = statistics.median(r.peak_kib for r in runs) / 1024
        secs = statistics.median(r.seconds for r in runs)
        codes = sorted({r.returncode for r in runs})
        skipped = sorted({str(s) for _, s in measured})
        worst = max(worst, rss)
        ok = "yes" if rss < LIMIT_MIB and codes == [0] else "NO"
        worker_lines.append(
            f"| {label} | {rss:.0f} | {secs:.2f} | {codes} | {', '.join(skipped)} | {ok} |"
        )
        print(f"worker: {label:47s} {rss:8.0f} MiB {secs:7.2f} s exit {codes}", flush=True)
        if codes != [0]:
            print("   stderr:", runs[0].stderr.strip().splitlines()[-1:], flush=True)
    if not args.no_record:
        record("wordfreq count memory", lines)
        record("wordfreq worker memory", worker_lines)
        print("recorded in bench/RESULTS.md")
    if worst >= LIMIT_MIB:
        raise SystemExit(f"peak RSS {worst:.0f} MiB is over the {LIMIT_MIB} MiB limit")


if __name__ == "__main__":
    main()
