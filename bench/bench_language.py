"""`make bench-language`: what `--stopwords auto` costs (language detection on the final
counts) and what a language's list costs at start-up (read from its file when asked).

Each corpus book is counted by `wordfreq count --json` as a whole process with no stop
words, with `--stopwords en` and with `--stopwords auto`, the three interleaved round
after round so that load from elsewhere hits them alike; medians are reported. The
detection alone (`counting.language.language_of` on the book's finished counter) is timed
in-process. Then start-up: `count` of a one-line file with `--stopwords english` (the
list in the code) and with `--stopwords fr` (a list read from its file).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

from common import corpus_files, record, run_child

WORDFREQ = str(Path(sys.executable).with_name("wordfreq"))


def interleaved(configs: dict[str, list[str]], runs: int) -> dict[str, float]:
    times: dict[str, list[float]] = {name: [] for name in configs}
    for _ in range(runs):
        for name, argv in configs.items():
            times[name].append(run_child(argv)[0])
    return {name: statistics.median(t) for name, t in times.items()}


def detection_ms(book: Path, runs: int) -> tuple[str, float]:
    from wordfreq_service.counting.engine import count_file
    from wordfreq_service.counting.language import language_of
    from wordfreq_service.formats.job_request import JobRequest

    counter = count_file(str(book), JobRequest.make(), threads=1)
    found = language_of(counter)
    took = []
    for _ in range(runs):
        start = time.perf_counter()
        language_of(counter)
        took.append(time.perf_counter() - start)
    return found, statistics.median(took) * 1000


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args()
    lines = [
        f"`wordfreq count --json BOOK` as whole processes, medians of {args.runs} interleaved "
        f"rounds; load average at start {os.getloadavg()[0]:.2f}.",
        "",
        "| book | no stop words, s | `--stopwords en`, s | `--stopwords auto`, s | "
        "detected | detection alone, ms |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    for book in corpus_files():
        base = [WORDFREQ, "count", "--json", "--threads", "1"]
        medians = interleaved(
            {
                "none": [*base, str(book)],
                "en": [*base, "--stopwords", "en", str(book)],
                "auto": [*base, "--stopwords", "auto", str(book)],
            },
            args.runs,
        )
        found, ms = detection_ms(book, args.runs)
        lines.append(
            f"| {book.name} | {medians['none']:.3f} | {medians['en']:.3f} | "
            f"{medians['auto']:.3f} | {found} | {ms:.2f} |"
        )
    with tempfile.TemporaryDirectory() as tmp:
        tiny = Path(tmp) / "tiny.txt"
        tiny.write_text("le chat\n", encoding="utf-8")
        start = interleaved(
            {
                "english": [WORDFREQ, "count", "--stopwords", "english", str(tiny)],
                "fr": [WORDFREQ, "count", "--stopwords", "fr", str(tiny)],
            },
            args.runs * 3,
        )
    lines += [
        "",
        f"Start-up, `count` of a one-line file (medians of {args.runs * 3}): "
        f"`--stopwords english` {start['english'] * 1000:.1f} ms, `--stopwords fr` "
        f"{start['fr'] * 1000:.1f} ms.",
    ]
    print("\n".join(lines))
    record("stop words per language", lines)


if __name__ == "__main__":
    main()
