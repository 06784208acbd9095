"""What a `make fuzz` run did, from libFuzzer's log: the instrumented code it saw, the
coverage at the start and the end, executions per second, the corpus it grew.

    python fuzz/summary.py target/fuzz/fuzz.log target/fuzz/corpus
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

_PATTERNS = {
    # One line per instrumented library: the Rust core's counters are its own line.
    "modules": r"INFO: Loaded \d+ modules? +\((\d+) inline 8-bit counters\)",
    "start": r"#\d+\s+INITED cov: (\d+) ft: (\d+) corp: (\d+)",
    "end": r"#\d+\s+DONE\s+cov: (\d+) ft: (\d+) corp: (\d+)",
    "runs": r"stat::number_of_executed_units: (\d+)",
    "per_second": r"stat::average_exec_per_sec: +(\d+)",
    "new": r"stat::new_units_added: +(\d+)",
    "seconds": r"Done \d+ runs in (\d+) second",
}


def summarize(log: str, corpus: Path) -> list[str]:
    found = {k: re.findall(p, log) for k, p in _PATTERNS.items()}
    lines = []
    if found["modules"]:
        counters = ", ".join(found["modules"])
        lines.append(f"instrumented: {counters} inline 8-bit counters (the Rust core)")
    for when in ("start", "end"):
        if found[when]:
            cov, ft, corp = found[when][-1]
            lines.append(f"{when}: cov {cov}, features {ft}, corpus {corp} inputs")
    for key in ("seconds", "runs", "per_second", "new"):
        if found[key]:
            lines.append(f"{key.replace('_', ' ')}: {found[key][-1]}")
    if corpus.is_dir():
        lines.append(f"corpus directory: {sum(1 for _ in corpus.iterdir())} files")
    return lines


def main() -> None:
    log, corpus = Path(sys.argv[1]), Path(sys.argv[2])
    print("\n".join(summarize(log.read_text(errors="replace"), corpus)))


if __name__ == "__main__":
    main()
