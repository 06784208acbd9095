"""A soak's report as Markdown lines: the figures, then every must and whether it held."""

from __future__ import annotations

import os
import statistics

from wordfreq_service.adapters.embedded.database import WAL_BOUND_BYTES

from tools.soak.memory import GROWTH_ALLOWED, GROWTH_SLACK_KIB
from tools.soak.plan import COMPATIBLE_PATH, JOB_PATH
from tools.soak.run import Report, percentile


def mib(kib_or_bytes: float, *, is_bytes: bool = False) -> str:
    value = kib_or_bytes / (1 << 20 if is_bytes else 1 << 10)
    return f"{value:.1f} MiB"


def render(report: Report, *, description: str) -> list[str]:
    c = report.config
    jobs = c.jobs
    volume = sum(o.job.size for o in report.outcomes)
    lines = [
        description,
        "",
        f"{jobs:,} jobs ({volume / (1 << 20):,.0f} MiB), sizes log-uniform "
        f"{c.min_size / 1024:g} KiB to {c.max_size / (1 << 20):g} MiB, both modes; "
        f"{c.clients} clients, each sending the next batch of up to {c.batch_size} files "
        "once its last is answered (batches alternate between the job path and the "
        f"compatible path); {c.workers} worker processes, one SIGKILLed "
        f"once {c.kill_at:.0%} of the jobs were answered. Seed {c.seed}. Load average "
        f"(1 min) {report.load[0]:.1f} before, {report.load[1]:.1f} after, "
        f"{statistics.median(report.loads or [0]):.1f} median during the run "
        f"(max {max(report.loads or [0]):.1f}) on {os.cpu_count()} cores.",
        "",
        "| figure | value |",
        "| --- | --- |",
        f"| jobs/s (first batch started to last result) | {jobs / report.seconds:.1f} "
        f"({report.seconds:.1f} s) |",
    ]
    for label, path in (
        ("all", None),
        ("job path", JOB_PATH),
        ("compatible path", COMPATIBLE_PATH),
    ):
        lat = report.latencies(path)
        lines.append(
            f"| latency, {label}: p50 / p99 / max | {percentile(lat, 0.5):.2f} s / "
            f"{percentile(lat, 0.99):.2f} s / {max(lat, default=float('nan')):.2f} s |"
        )
    kill = report.kill
    if kill.pid is not None:
        restart = f"{kill.restart_s:.1f} s" if kill.restart_s is not None else "never"
        lines.append(f"| worker killed (pid {kill.pid}); replaced after | {restart} |")
        lines.append(
            f"| jobs started again (held by the killed worker) | {kill.jobs_started_again} |"
        )
    lines += [
        f"| results lost (must be 0) | {len(report.lost)} |",
        f"| failed results (must be 0) | {len(report.failed)} |",
        f"| duplicate results printed (must be 0) | {report.duplicates} |",
        f"| results checked against a local count / differing (must be 0) | "
        f"{report.checked:,} / {len(report.mismatches)} |",
    ]
    state = report.data_dir
    if state is not None:
        lines += [
            f"| `queues.sqlite3` at the end / largest seen (bound "
            f"{mib(state.bounds['database'], is_bytes=True)}) | "
            f"{mib(state.database, is_bytes=True)} / {mib(state.peak_db, is_bytes=True)} |",
            f"| write-ahead log at the end / largest seen (bound "
            f"{mib(WAL_BOUND_BYTES, is_bytes=True)}) | {mib(state.wal, is_bytes=True)} / "
            f"{mib(state.peak_wal, is_bytes=True)} |",
            f"| stored counts (`results/`, the job path's, kept 7 days) | "
            f"{state.result_objects:,} objects, {mib(state.result_bytes, is_bytes=True)} "
            f"(bound {mib(state.bounds['results'], is_bytes=True)}) |",
            f"| data directory at the end (bound "
            f"{mib(state.bounds['data directory'], is_bytes=True)}) | "
            f"{mib(state.total, is_bytes=True)} |",
            f"| uploads / temporary files / unaccounted objects left in the bucket (bound "
            f"{state.bounds['uploads']} / {state.bounds['temporary files']} / 0) | "
            f"{len(state.other_objects)} / {state.temporary_files} / {state.unaccounted} |",
            f"| job records kept | {state.jobs:,} |",
            "| messages left: work / dead-letter / result queue | "
            f"{state.messages.get('work', 0)} / {state.messages.get('dead-letter', 0)} / "
            f"{state.messages.get('results', 0)} |",
        ]
    if report.aws is not None:
        a = report.aws
        lines += [
            f"| stored counts on S3 (`results/`) | {a['result objects']:,} objects, "
            f"{mib(a['result bytes'], is_bytes=True)} |",
            f"| uploads left in the bucket | {a['other objects']} |",
            "| messages left: work / dead-letter / result queue | "
            f"{a['work queue messages']} / {a['dead-letter queue messages']} / "
            f"{a['result queue messages']} |",
        ]
    lines += [
        "",
        "Resident memory (VmRSS sampled each second; a process's quarters are those of its "
        f"own samples; bound: the last quarter's peak at most the first's plus "
        f"{GROWTH_ALLOWED:.0%} and {GROWTH_SLACK_KIB >> 10} MiB):",
        "",
        "| process | samples | first quarter peak | last quarter peak | max | flat |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    for series in sorted(report.memory, key=lambda s: s.label):
        q = series.quarters()
        first, last = (mib(q[0]), mib(q[1])) if q else ("-", "-")
        judged = (
            "not judged"
            if series.label in report.unjudged
            else ("yes" if series.flat() else "**no**")
        )
        lines.append(
            f"| {series.label} | {len(series.samples)} | {first} | {last} | "
            f"{mib(series.peak)} | {judged} |"
        )
    failures = report.failures()
    lines += ["", "Musts: " + ("all held." if not failures else "FAILED: " + "; ".join(failures))]
    if report.notes:
        lines += ["", "Client notes (first 5):", ""]
        lines += [f"- {note}" for note in report.notes[:5]]
    if report.mismatches:
        lines += ["", "First differing results:", ""]
        lines += [f"- {m}" for m in report.mismatches[:5]]
    return lines
