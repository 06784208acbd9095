"""``python -m tools.soak``: run a soak, print its report, append it to
``bench/RESULTS.md`` with ``--record``; exit 1 when a must failed."""

from __future__ import annotations

import argparse
import datetime as dt
import os
import platform
import sys
import tempfile
from pathlib import Path

from wordfreq_service import logs
from wordfreq_service.cli.options import ByteSize

from tools.soak.report import render
from tools.soak.run import Config, run_soak

RESULTS = Path(__file__).resolve().parents[2] / "bench" / "RESULTS.md"


def machine() -> str:
    cpu = platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"{platform.node()}: {os.cpu_count()} cores, {cpu}, Python {platform.python_version()}"


def record(section: str, lines: list[str]) -> None:
    """Append to bench/RESULTS.md as the benchmarks do: a dated section with the machine."""
    stamp = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
    with open(RESULTS, "a") as out:
        out.write(f"\n## {section}: {stamp}\n\nMachine: {machine()}\n\n")
        out.writelines(f"{line}\n" for line in lines)


def size(text: str) -> int:
    return int(ByteSize().convert(text, None, None))


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.soak", description=__doc__)
    parser.add_argument("--backend", choices=("embedded", "aws"), default="embedded")
    parser.add_argument("--jobs", type=int, default=10_000)
    parser.add_argument("--clients", type=int, default=10)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--min-size", type=size, default=1 << 10, help="e.g. 1K")
    parser.add_argument("--max-size", type=size, default=5 << 20, help="e.g. 5M")
    parser.add_argument("--batch-size", type=int, default=4, help="files per submit")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--kill-at", type=float, default=0.4)
    parser.add_argument("--check", type=float, default=1.0, help="fraction of results checked")
    parser.add_argument("--timeout", type=float, default=600.0, help="each submit's --timeout")
    parser.add_argument(
        "--visibility-timeout", type=int, default=None, help="the work queue's (default: 30 s)"
    )
    parser.add_argument("--record", action="store_true", help="append to bench/RESULTS.md")
    args = parser.parse_args()
    logs.configure(service=False, debug=False, quiet=True)
    config = Config(
        backend=args.backend,
        jobs=args.jobs,
        clients=args.clients,
        workers=args.workers,
        min_size=args.min_size,
        max_size=args.max_size,
        batch_size=args.batch_size,
        seed=args.seed,
        kill_at=args.kill_at,
        timeout=args.timeout,
        check=args.check,
        visibility_timeout=args.visibility_timeout,
    )
    print(f"soak: {config}", file=sys.stderr, flush=True)
    with tempfile.TemporaryDirectory(prefix="wordfreq-soak-") as tmp:
        report = run_soak(config, Path(tmp))
    where = (
        "the embedded stack, `wordfreq up --workers 2`"
        if config.backend == "embedded"
        else "moto's server (S3, SQS, DynamoDB), `wordfreq worker --backend aws "
        "--concurrency 2` and `wordfreq api --backend aws`"
    )
    description = (
        f"Soak on {where}: job path through `wordfreq submit` processes"
        + (" (`--api`)" if config.backend == "aws" else " (in-process job service)")
        + ", compatible path through "
        + (
            "`wordfreq submit -bucket -queueUrl` processes"
            if config.backend == "aws"
            else "the compatible client class (`service.client.Client`) in threads"
        )
        + "."
    )
    lines = render(report, description=description)
    print("\n".join(lines))
    if args.record:
        record(f"soak ({config.backend})", lines)
    return 1 if report.failures() else 0


if __name__ == "__main__":
    sys.exit(main())
