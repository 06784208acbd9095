"""`make fuzz`: the native core under atheris (libFuzzer), every input checked against the
pure-Python reference by ``fuzz/cases.py``.

The core is a build of its own with LLVM's coverage instrumentation (``make fuzz`` builds
it into ``target/fuzz``); it is loaded as ``wordfreq_service._core`` before anything
imports the package, so the checks count with it. libFuzzer comes from atheris's
runtime library, preloaded (``LD_PRELOAD``) so that the core's coverage hooks resolve to
it: this script starts itself again with it when it is not.

    python fuzz/fuzz_core.py --core target/fuzz/release/libwordfreq_core.so \\
        --seconds 300 --work target/fuzz [libFuzzer flags...] [more corpus directories...]

The kept seed corpus is refreshed from a run's by libFuzzer's merge, which keeps the
fewest inputs that reach the same edges of the core (into an empty ``WORK/corpus``; hit
counts and comparisons left out, which keeps hundreds of inputs rather than thousands):

    python fuzz/fuzz_core.py --core ... --work /tmp/merged -merge=1 -use_counters=0 \\
        -use_cmp=0 target/fuzz/corpus
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import shlex
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
SEEDS = HERE / "corpus"
REGRESSIONS = HERE / "regressions"
# UBSan's runtime with libFuzzer linked in: no allocator of its own (ASan's would slow
# every Python allocation), the least the uninstrumented interpreter needs.
RUNTIME = "ubsan_with_fuzzer.so"


def _preloaded(runtime: str) -> bool:
    return runtime in os.environ.get("LD_PRELOAD", "")


def _restart_with_runtime() -> None:
    import atheris

    runtime = Path(atheris.path()) / RUNTIME
    if not runtime.is_file():
        sys.exit(f"fuzz: atheris has no {runtime.name} (no libFuzzer runtime to preload)")
    env = {**os.environ, "LD_PRELOAD": str(runtime)}
    os.execve(sys.executable, [sys.executable, *sys.argv], env)


def _load_core(path: Path) -> None:
    """Make the instrumented build the package's ``_core``, before the package loads one."""
    spec = importlib.util.spec_from_file_location("wordfreq_service._core", path)
    if spec is None or spec.loader is None:
        sys.exit(f"fuzz: cannot load {path}")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    sys.modules["wordfreq_service._core"] = module
    import wordfreq_service

    wordfreq_service._core = module


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--core", type=Path, required=True, help="the instrumented _core")
    parser.add_argument("--seconds", type=int, default=300, help="how long to fuzz")
    parser.add_argument("--work", type=Path, required=True, help="corpus and crashes go here")
    args, extra = parser.parse_known_args()
    if not _preloaded(RUNTIME):
        _restart_with_runtime()
    _load_core(args.core.resolve())
    corpus, artifacts, scratch = (args.work / d for d in ("corpus", "artifacts", "tmp"))
    for d in (corpus, artifacts, scratch):
        d.mkdir(parents=True, exist_ok=True)
    os.environ["WORDFREQ_FUZZ_TMP"] = str(scratch)
    sys.path.insert(0, str(HERE.parent))
    import atheris

    from fuzz import cases

    # libFuzzer runs argv[0] through the shell for its child processes (-merge=1, -fork):
    # this script again, with its own options.
    again = [sys.executable, str(Path(__file__).resolve()), "--core", str(args.core.resolve())]
    again += ["--work", str(args.work), "--seconds", str(args.seconds)]
    atheris.Setup(
        [
            shlex.join(again),
            f"-max_total_time={args.seconds}",
            f"-artifact_prefix={artifacts}/",
            "-max_len=4096",
            "-timeout=30",
            "-rss_limit_mb=4096",
            "-print_final_stats=1",
            f"-dict={HERE / 'core.dict'}",
            *(f for f in extra if f.startswith("-")),
            # New inputs go to the first directory; the kept ones are read from the others.
            str(corpus),
            str(SEEDS),
            str(REGRESSIONS),
            *(d for d in extra if not d.startswith("-")),
        ],
        cases.check,
    )
    atheris.Fuzz()


if __name__ == "__main__":
    main()
