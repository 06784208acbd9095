"""The counting engine's Python API, over the native core.

``Counter`` is the native streaming counter (``wordfreq_service._core.Counter``); the
pure-Python twin with the same API is ``counting.reference.Counter``. This module adds
what every caller needs around it: counting whole files and streams with a set of options
(a job request, ``formats/job_request.py``, is one), and a result type.
"""

from __future__ import annotations

from wordfreq_service._core import FILE_MIN_RANGE, Counter
from wordfreq_service.counting.inputs import (
    DEFAULT_MAX_INPUT_BYTES,
    describe_os_error,
    iter_chunks,
    open_plain_file,
    plain_chunks,
    prefetched,
)
from wordfreq_service.documents.sniff import SNIFF_BYTES, is_document
from wordfreq_service.errors import InputError
from wordfreq_service.frozen import Frozen

TYPE_CHECKING = False  # not typing's: `wordfreq count` imports this module, typing costs ~10 ms
if TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Iterator
    from typing import BinaryIO, Protocol

    class Options(Protocol):
        """What counting asks of its options; the job request provides it."""

        @property
        def top(self) -> int: ...

        @property
        def report_min_length(self) -> int: ...

        @property
        def encoding(self) -> str | None: ...

        @property
        def document_format(self) -> str: ...

        @property
        def extracts(self) -> bool: ...

        def new_counter(
            self, *, at_start: bool = True, threads: int | None = None, utf8: bool = False
        ) -> Counter: ...

        def stop_words_for(self, counter: Counter) -> tuple[frozenset[str], str | None]: ...


#: Regular files of at least this many bytes are counted by the core in pieces spread over
#: the threads (``Counter.feed_file``); shorter ones stream. Below two of the core's minimum
#: ranges ``feed_file`` reads one range, which gains nothing, and its set-up costs more
#: than the whole count of a small file (146 against 41 us on 2 KB files), so a corpus of
#: small files streams. A size that is not the file's length falls below it too: ``/proc``
#: files say 0, sysfs files 4096.
RANGED_MIN_BYTES = 2 * FILE_MIN_RANGE

__all__ = [
    "RANGED_MIN_BYTES",
    "CountResult",
    "Counter",
    "count_chunks",
    "count_document",
    "count_file",
    "count_files",
    "summarize",
]


class CountResult(Frozen):
    __slots__ = ("total", "unique", "words", "skipped", "language")  # noqa: RUF023 (constructor order)
    total: int
    unique: int
    words: list[tuple[str, int]]
    #: Runs longer than the maximum word length, not counted as words.
    skipped: int
    #: With ``--stopwords auto``: the language detected (ISO 639-1), or ``und``; else None.
    language: str | None

    def __init__(
        self,
        total: int,
        unique: int,
        words: list[tuple[str, int]],
        skipped: int = 0,
        language: str | None = None,
    ):
        self._set(total=total, unique=unique, words=words, skipped=skipped, language=language)


def summarize(counter: Counter, request: Options, *, every_word: bool = False) -> CountResult:
    """The report a request asks for: its ``top`` words, or with ``every_word`` all."""
    limit = None if every_word else request.top
    stop, language = request.stop_words_for(counter)
    total, unique, words = counter.report(limit, request.report_min_length, stop)
    return CountResult(total, unique, words, counter.skipped, language)


def count_chunks(
    chunks: Iterable[bytes], request: Options, *, threads: int | None = None
) -> Counter:
    """Count a stream of byte chunks (``threads``: as ``Counter``'s)."""
    counter = request.new_counter(threads=threads)
    for chunk in chunks:
        counter.feed(chunk)
    counter.finish()
    return counter


def count_file(
    path: str,
    request: Options,
    *,
    max_input_bytes: int = DEFAULT_MAX_INPUT_BYTES,
    threads: int | None = None,
) -> Counter:
    """Count one file (``-``: standard input). A regular, uncompressed file of at least
    ``RANGED_MIN_BYTES`` is read by the core itself, in pieces spread over the threads
    (``Counter.feed_file``); a smaller one streams from the same descriptor; standard
    input, pipes and compressed files stream, read ahead on a thread.

    Unless the request's format is ``text`` (or its mode ``seed``), the input's first
    bytes (after decompression) are sniffed first: a document has its text extracted and
    counted (``count_document``); a stream that is one is spooled to a temporary file."""
    plain = open_plain_file(path, max_input_bytes)
    if plain is None:
        chunks = prefetched(iter_chunks(path, max_bytes=max_input_bytes))
        if request.extracts:
            return count_stream(chunks, path, request, threads=threads)
        return count_chunks(chunks, request, threads=threads)
    raw, size = plain
    with raw:
        if request.extracts and size and is_document(_head(raw, path), request.document_format):
            return count_document(raw, path, request)
        if size < RANGED_MIN_BYTES:
            # No read-ahead thread: a small file is one chunk, or a few.
            chunks = plain_chunks(raw, path, max_input_bytes)
            if request.extracts and not size:  # a FIFO or /proc file: sniffed as it streams
                return count_stream(chunks, path, request, threads=threads)
            return count_chunks(chunks, request, threads=threads)
        counter = request.new_counter(threads=threads)
        try:
            counter.feed_file(raw.fileno(), size)
        except OSError as exc:
            raise InputError(f"{path}: {describe_os_error(exc)}") from exc
    return counter


def _head(raw: BinaryIO, path: str) -> bytes:
    import os

    try:
        return os.pread(raw.fileno(), SNIFF_BYTES, 0)
    except OSError as exc:
        raise InputError(f"{path}: {describe_os_error(exc)}") from exc


def count_stream(
    chunks: Iterator[bytes], name: str, request: Options, *, threads: int | None = None
) -> Counter:
    """Count a stream that may be a document (the request extracts): its first bytes
    sniffed, then counted as text, or spooled to a temporary file (the stream is already
    bounded by its reader) and extracted."""
    head, replay = peek(chunks)
    if not is_document(head, request.document_format):
        return count_chunks(replay, request, threads=threads)
    from wordfreq_service.documents.extract import spool

    with spool(replay) as file:
        return count_document(file, name, request)


def peek(chunks: Iterator[bytes]) -> tuple[bytes, Iterator[bytes]]:
    """The first ``SNIFF_BYTES`` of ``chunks`` (fewer if it is shorter), and the whole
    stream again."""
    import itertools

    taken: list[bytes] = []
    size = 0
    while size < SNIFF_BYTES:
        chunk = next(chunks, None)
        if chunk is None:
            break
        taken.append(chunk)
        size += len(chunk)
    return b"".join(taken)[:SNIFF_BYTES], itertools.chain(taken, chunks)


def count_document(
    raw: BinaryIO,
    name: str,
    request: Options,
    *,
    guard: Callable[[Iterator[bytes]], Iterator[bytes]] | None = None,
) -> Counter:
    """Count the text of the document in ``raw`` (seekable), read as the request's
    format says; ``guard`` wraps the text's chunks (the worker's drain deadline). On one
    thread: extraction, not counting, takes the time, and a document is never cut into
    ranges."""
    from wordfreq_service.documents.extract import blocks, text_chunks

    counter = request.new_counter(threads=1, utf8=True)
    chunks = text_chunks(blocks(raw, name, request.document_format, request.encoding))
    for chunk in guard(chunks) if guard is not None else chunks:
        counter.feed(chunk)
    counter.finish()
    return counter


def count_files(
    paths: Iterable[str],
    request: Options,
    *,
    max_input_bytes: int = DEFAULT_MAX_INPUT_BYTES,
    threads: int | None = None,
) -> Counter:
    """Count several files together. Each file is decoded and tokenised on its own (a
    word never runs from one file into the next; each may have its own BOM), and each
    may be at most ``max_input_bytes`` long after decompression. ``threads``: how many
    threads count each file (None: one per core)."""
    total: Counter | None = None
    for path in paths:
        counter = count_file(path, request, max_input_bytes=max_input_bytes, threads=threads)
        # The first file's counter is the total: merging it into an empty one would copy
        # its whole table (a few ms on a book-sized vocabulary) for nothing.
        if total is None:
            total = counter
        else:
            total.merge(counter)
    if total is None:
        total = request.new_counter(threads=threads)
    total.finish()
    return total
