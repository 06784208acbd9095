"""Type stub for the native counting core (Rust, built by maturin).

The pure-Python twin with the same API and semantics is ``wordfreq_service.counting.reference``.
"""

from collections.abc import Collection
from typing import final

__all__ = ["Counter", "__version__"]

__version__: str

@final
class Counter:
    """A streaming word counter.

    ``mode`` is ``"words"`` (the default) or ``"seed"``; ``encoding`` is ``None`` (detect:
    BOM, else UTF-8 with per-byte Windows-1252 fallback) or one of ``"utf-8"``,
    ``"cp1252"``, ``"latin-1"``, ``"utf-16"`` (``words`` mode only; ``seed`` mode reads
    raw bytes as the Go worker did). Unknown values raise ``ValueError``.

    Feed byte chunks of any size: a word may straddle chunks. The first query (or
    ``finish()``) ends the input; feeding after that raises ``ValueError``.
    """

    def __new__(cls, mode: str = "words", encoding: str | None = None) -> Counter: ...
    @property
    def mode(self) -> str: ...
    @property
    def finished(self) -> bool: ...
    def feed(self, data: bytes | bytearray | memoryview) -> None:
        """Count a chunk (any bytes-like object; ``bytes`` is not copied).

        Releases the GIL; large chunks are split across all cores."""
    def finish(self) -> None:
        """End of input: count whatever is still pending. Idempotent."""
    def merge(self, other: Counter) -> None:
        """Add ``other``'s counts into this counter (both are finished first; same mode)."""
    def report(
        self,
        top: int | None = 10,
        min_length: int = 1,
        stopwords: Collection[str] | None = None,
    ) -> tuple[int, int, list[tuple[str, int]]]:
        """``(total, unique, words)`` over the words that pass the filters.

        ``words`` holds the ``top`` most frequent (all of them when ``top`` is None),
        ordered by count descending, then word ascending by code point.
        ``min_length`` counts characters (code points) of the normalised word.
        """
    def counts(self) -> dict[str, int]:
        """Every word with its count, unfiltered."""
