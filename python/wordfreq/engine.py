"""The counting engine's Python API, over the native core.

``Counter`` is the native streaming counter (``wordfreq._core.Counter``); the pure-Python
twin with the same API is ``wordfreq.reference.Counter``. This module adds what every
caller needs around it: options, counting whole files and streams, and a result type.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from wordfreq._core import (
    DEFAULT_MAX_WORD_LENGTH,
    ENCODINGS,
    MAX_WORD_LENGTH_LIMIT,
    MODES,
    Counter,
)
from wordfreq.inputs import DEFAULT_MAX_INPUT_BYTES, iter_chunks, prefetched

__all__ = ["ENCODINGS", "MODES", "CountOptions", "CountResult", "Counter", "count_files"]


@dataclass(frozen=True)
class CountOptions:
    mode: str = "words"
    top: int | None = 10
    #: Characters; ``words`` mode only (seed mode counts every token it keeps, even "").
    min_length: int = 1
    stopwords: frozenset[str] = field(default_factory=frozenset)
    encoding: str | None = None
    #: Longer words are skipped (code points in ``words`` mode, raw bytes in ``seed``).
    max_word_length: int = DEFAULT_MAX_WORD_LENGTH

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
        if not 1 <= self.max_word_length <= MAX_WORD_LENGTH_LIMIT:
            raise ValueError(f"max-word-length must be between 1 and {MAX_WORD_LENGTH_LIMIT}")

    def new_counter(self) -> Counter:
        return Counter(self.mode, self.encoding, self.max_word_length)


@dataclass(frozen=True)
class CountResult:
    total: int
    unique: int
    words: list[tuple[str, int]]


def summarize(counter: Counter, options: CountOptions) -> CountResult:
    min_length = options.min_length if options.mode == "words" else 0
    total, unique, words = counter.report(options.top, min_length, options.stopwords)
    return CountResult(total, unique, words)


def count_chunks(chunks: Iterable[bytes], options: CountOptions) -> Counter:
    counter = options.new_counter()
    for chunk in chunks:
        counter.feed(chunk)
    counter.finish()
    return counter


def count_files(
    paths: Iterable[str],
    options: CountOptions,
    max_input_bytes: int | None = DEFAULT_MAX_INPUT_BYTES,
) -> Counter:
    """Count several files together. Each file is decoded and tokenised on its own (a
    word never runs from one file into the next; each may have its own BOM), and each is
    held to ``max_input_bytes`` after decompression (None: no limit)."""
    total = options.new_counter()
    for path in paths:
        chunks = iter_chunks(path, max_bytes=max_input_bytes)
        total.merge(count_chunks(prefetched(chunks), options))
    total.finish()
    return total
