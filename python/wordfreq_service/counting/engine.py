"""The counting engine's Python API, over the native core.

``Counter`` is the native streaming counter (``wordfreq_service._core.Counter``); the
pure-Python twin with the same API is ``counting.reference.Counter``. This module adds
what every caller needs around it: counting whole files and streams with a set of options
(a job request, ``formats/job_request.py``, is one), and a result type.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Protocol

from wordfreq_service._core import Counter
from wordfreq_service.counting.inputs import DEFAULT_MAX_INPUT_BYTES, iter_chunks, prefetched

__all__ = ["CountResult", "Counter", "Options", "count_chunks", "count_files", "summarize"]


class Options(Protocol):
    """What counting asks of its options; the job request provides it."""

    @property
    def top(self) -> int: ...

    @property
    def report_min_length(self) -> int: ...

    def new_counter(self, *, at_start: bool = True, threads: int | None = None) -> Counter: ...

    def stop_words(self) -> frozenset[str]: ...


@dataclass(frozen=True)
class CountResult:
    total: int
    unique: int
    words: list[tuple[str, int]]
    #: Runs longer than the maximum word length, not counted as words.
    skipped: int = 0


def summarize(counter: Counter, request: Options, *, every_word: bool = False) -> CountResult:
    """The report a request asks for: its ``top`` words, or with ``every_word`` all."""
    limit = None if every_word else request.top
    total, unique, words = counter.report(limit, request.report_min_length, request.stop_words())
    return CountResult(total, unique, words, counter.skipped)


def count_chunks(chunks: Iterable[bytes], request: Options) -> Counter:
    counter = request.new_counter()
    for chunk in chunks:
        counter.feed(chunk)
    counter.finish()
    return counter


def count_files(
    paths: Iterable[str], request: Options, *, max_input_bytes: int = DEFAULT_MAX_INPUT_BYTES
) -> Counter:
    """Count several files together. Each file is decoded and tokenised on its own (a
    word never runs from one file into the next; each may have its own BOM), and each
    may be at most ``max_input_bytes`` long after decompression."""
    total = request.new_counter()
    for path in paths:
        total.merge(count_chunks(prefetched(iter_chunks(path, max_bytes=max_input_bytes)), request))
    total.finish()
    return total
