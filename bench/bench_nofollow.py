"""What not following links inside the data directory costs the embedded store: head,
get, put and delete of small objects, and a doorbell ring, with this tree's code and
with a commit's (default: the one before the change), interleaved in one process.

    .venv/bin/python bench/bench_nofollow.py [COMMIT]
"""

from __future__ import annotations

import importlib.util
import io
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from types import ModuleType
from typing import Any

from wordfreq_service.adapters.embedded.doorbell import Doorbells
from wordfreq_service.adapters.embedded.objects import FileStore

BEFORE = "53ae34c"
OBJECTS = 50
ROUNDS = 20
RUNS = 7


def load_before(commit: str, name: str, folder: Path) -> ModuleType:
    source = subprocess.run(
        ["git", "show", f"{commit}:python/wordfreq_service/adapters/embedded/{name}.py"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    path = folder / f"before_{name}.py"
    path.write_text(source)
    spec = importlib.util.spec_from_file_location(f"before_{name}", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def per_op_us(action: Callable[[int], Any], count: int) -> float:
    started = time.perf_counter()
    for i in range(count):
        action(i)
    return (time.perf_counter() - started) / count * 1e6


def run(store: Any, bells: Any) -> dict[str, float]:
    def put(i: int) -> None:
        store.put(f"k{i}", io.BytesIO(b"x" * 2000))

    def read(i: int) -> None:
        with store.get(f"k{i % OBJECTS}") as reader:
            b"".join(reader.iter_chunks())

    with bells.listen("work"):  # one waiting receiver, as under `up`
        return {
            "put (fsyncs included)": per_op_us(put, OBJECTS),
            "head": per_op_us(lambda i: store.head(f"k{i % OBJECTS}"), OBJECTS * ROUNDS),
            "get": per_op_us(read, OBJECTS * ROUNDS),
            "ring": per_op_us(lambda i: bells.ring("work"), OBJECTS * ROUNDS),
            "delete": per_op_us(lambda i: store.delete(f"k{i}"), OBJECTS),
        }


def main() -> None:
    commit = sys.argv[1] if len(sys.argv) > 1 else BEFORE
    with tempfile.TemporaryDirectory() as temp:
        folder = Path(temp)
        old_objects = load_before(commit, "objects", folder)
        old_doorbell = load_before(commit, "doorbell", folder)
        results: dict[str, list[dict[str, float]]] = {"before": [], "after": []}
        for run_number in range(RUNS):
            for which in ("before", "after"):
                data = folder / f"{which}-{run_number}"
                if which == "before":
                    store = old_objects.FileStore(data / "buckets" / "uploads", "uploads")
                    bells = old_doorbell.Doorbells(data / "doorbells")
                else:
                    data.mkdir(parents=True, exist_ok=True)
                    store = FileStore(data / "buckets" / "uploads", "uploads", root=data)
                    bells = Doorbells(data / "doorbells", root=data)
                results[which].append(run(store, bells))
    print(f"median of {RUNS} interleaved runs, µs per operation (before: {commit})")
    for op in results["before"][0]:
        before = statistics.median(r[op] for r in results["before"])
        after = statistics.median(r[op] for r in results["after"])
        print(f"| {op} | {before:.1f} | {after:.1f} | {after - before:+.1f} |")


if __name__ == "__main__":
    main()
