"""The counting engine's Python API, over the native core.

``Counter`` is the native streaming counter (``wordfreq_service._core.Counter``); the
pure-Python twin with the same API is ``counting.reference.Counter``. This module adds
what every caller needs around it: options, counting whole files and streams, and a result type.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from wordfreq_service._core import Counter
from wordfreq_service.counting.inputs import iter_chunks, prefetched
from wordfreq_service.counting.reference import ENCODINGS, MODES

__all__ = ["ENCODINGS", "MODES", "CountOptions", "CountResult", "Counter", "count_files"]


@dataclass(frozen=True)
class CountOptions:
    mode: str = "words"
    top: int | None = 10
    #: Characters; ``words`` mode only (seed mode counts every token it keeps, even "").
    min_length: int = 1
    stopwords: frozenset[str] = field(default_factory=frozenset)
    encoding: str | None = None

    def __post_init__(self) -> None:
        if self.mode not in MODES:
            raise ValueError(f"unknown mode {self.mode!r}; expected one of {', '.join(MODES)}")
        if self.encoding is not None and self.encoding not in ENCODINGS:
            raise ValueError(f"unknown encoding {self.encoding!r}")
        if self.mode == "seed" and self.encoding is not None:
            raise ValueError("--encoding applies to words mode only")
        if self.top is not None and self.top < 0:
            raise ValueError("top must be zero or more")
        if self.min_length < 0:
            raise ValueError("min-length must be zero or more")

    def new_counter(self) -> Counter:
        return Counter(self.mode, self.encoding)


@dataclass(frozen=True)
class CountResult:
    total: int
    unique: int
    words: list[tuple[str, int]]
    #: Runs longer than the maximum word length, not counted as words.
    skipped: int = 0


def summarize(counter: Counter, options: CountOptions) -> CountResult:
    min_length = options.min_length if options.mode == "words" else 0
    total, unique, words = counter.report(options.top, min_length, options.stopwords)
    # TODO(merge of core-limits): the core's `skipped` property replaces this fallback.
    return CountResult(total, unique, words, getattr(counter, "skipped", 0))


def count_chunks(chunks: Iterable[bytes], options: CountOptions) -> Counter:
    counter = options.new_counter()
    for chunk in chunks:
        counter.feed(chunk)
    counter.finish()
    return counter


def count_files(paths: Iterable[str], options: CountOptions) -> Counter:
    """Count several files together. Each file is decoded and tokenised on its own (a
    word never runs from one file into the next; each may have its own BOM)."""
    total = options.new_counter()
    for path in paths:
        total.merge(count_chunks(prefetched(iter_chunks(path)), options))
    total.finish()
    return total
