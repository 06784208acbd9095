"""A mixed corpus for the aggregate tests, and what summing per-file counts gives.

The corpus: a Windows-1252 book excerpt from ``../shared/corpus`` (typographic quotes
as single bytes), a UTF-16 file with its BOM, a gzip-compressed file, plain UTF-8 in a
sub-directory, an empty file, and two files whose last and first words would join if
the files were read as one stream (``hel`` + ``lo``).
"""

from __future__ import annotations

import gzip
from collections import Counter as Tally
from pathlib import Path

from wordfreq_service.counting.engine import count_files
from wordfreq_service.formats.job_request import JobRequest

from tests.helpers import CORPUS

#: Bytes of the shared Windows-1252 book taken: enough for its quotes, quick to count.
BOOK_BYTES = 60_000


def make_mixed_corpus(root: Path) -> Path:
    """Write the mixed corpus under ``root`` (created); returns ``root``."""
    root.mkdir(parents=True, exist_ok=True)
    book = (CORPUS / "pg1342.txt").read_bytes()[:BOOK_BYTES]
    assert b"\x92" in book or b"\x93" in book, "the excerpt should hold Windows-1252 quotes"
    (root / "austen-cp1252.txt").write_bytes(book)
    (root / "whale-utf16.txt").write_bytes(
        "Der Wal! The whale’s WHALE, the whale.\n".encode("utf-16")
    )
    (root / "packed.txt.gz").write_bytes(
        gzip.compress(b"Packed words, packed tight: words.\n" * 50)
    )
    sub = root / "sub"
    sub.mkdir()
    (sub / "utf8.txt").write_text("Café, CAFÉ and naïve café-goers hel", encoding="utf-8")
    (sub / "zz-tail.txt").write_text("lo world", encoding="utf-8")
    (root / "empty.txt").write_bytes(b"")
    return root


def per_file_sum(paths: list[Path], request: JobRequest) -> Tally[str]:
    """The sum of each file's own count (every word the report keeps)."""
    total: Tally[str] = Tally()
    for path in paths:
        counter = count_files([str(path)], request)
        _, _, words = counter.report(None, request.report_min_length, request.stop_words())
        total.update(dict(words))
    return total


def ordered(tally: Tally[str], top: int | None = None) -> list[tuple[str, int]]:
    """The report's order: count descending, then word by code point."""
    words = sorted(tally.items(), key=lambda wc: (-wc[1], wc[0]))
    return words if top is None else words[:top]


def corpus_files(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*") if p.is_file())
