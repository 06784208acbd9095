"""One job: an object's metadata turned into counting options, the object streamed into
the counting engine, and the outcome as a result message (and, on the job path, every
word the report keeps)."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import BinaryIO

from wordfreq_service.counting.engine import Counter, count_document, peek, summarize
from wordfreq_service.counting.inputs import decompress_chunks
from wordfreq_service.counting.ranges import is_utf16
from wordfreq_service.documents.sniff import is_document
from wordfreq_service.errors import (
    BackendError,
    InputError,
    NoSuchKey,
    TransientError,
    WordfreqError,
)
from wordfreq_service.formats.job_request import JobRequest, RequestError
from wordfreq_service.formats.jobs import write_counter_counts
from wordfreq_service.formats.results import FAILURE, JobResult
from wordfreq_service.ports import ObjectInfo, ObjectStore
from wordfreq_service.service.worker.settings import WorkerSettings


class Unprocessable(WordfreqError):
    """This message can never succeed; let the redrive policy dead-letter it."""


class Abandoned(WordfreqError):
    """The drain deadline passed mid-job; the message goes back to the queue."""


@dataclass
class Counted:
    result: JobResult
    #: What ``opened`` answered: True when every word was asked for; None when the
    #: object could not be opened (``opened`` was never called).
    every_word: bool | None = None
    #: Every word the report keeps, when asked for and counted.
    counts: FullCounts | None = None
    #: The object was not there to count.
    missing: bool = False
    #: The ETag of the object read (None: not opened).
    etag: str | None = None


@dataclass(frozen=True)
class FullCounts:
    """A finished counter and the filters of its report: writes every word the report
    keeps as the counts CSV straight from the core, never as a Python list."""

    counter: Counter
    min_length: int
    stopwords: frozenset[str]

    def write(self, out: BinaryIO) -> int:
        """Write the compressed counts to ``out``; returns the CSV's size uncompressed."""
        return write_counter_counts(self.counter, out, self.min_length, self.stopwords)


#: The failure of an upload replaced by another to the same key before a worker read it.
REPLACED = "replaced by a later upload to {key} before it was counted"

#: The failure of a 0-byte object on the compatible path: an upload with nothing in it
#: is poison (a client that sent nothing by mistake hears so). A job of the job path
#: declared its size, so its 0 bytes are an empty text (0 words), as `count` says.
EMPTY = "empty object (0 bytes): nothing to count"

#: Told the opened object's info before counting starts; answers whether to keep every
#: word (the job path's full counts) rather than the request's top N.
OpenedHook = Callable[[ObjectInfo], bool]


def count_object(
    store: ObjectStore,
    key: str,
    job_id: str,
    settings: WorkerSettings,
    deadline: Callable[[], float | None],
    opened: OpenedHook | None = None,
    expected_etag: str | None = None,
) -> Counted:
    """Count one stored object with the options in its metadata; every failure that is
    the object's own becomes a ``failure`` result. Given ``expected_etag`` (the event's),
    an object with another ETag is a later upload to the key: not counted, it fails the
    event's upload (``REPLACED``) and is left for its own event."""
    options: JobRequest | None = None
    every_word: bool | None = None
    etag: str | None = None
    try:
        with store.get(key) as obj:
            etag = obj.info.etag
            if expected_etag is not None and etag != expected_etag:
                return Counted(JobResult(key, job_id, FAILURE, REPLACED.format(key=key)), etag=etag)
            every_word = opened(obj.info) if opened is not None else False
            if obj.info.size == 0 and not every_word:
                # A job declared its size, 0 included: an empty text, as `count` says.
                return Counted(JobResult(key, job_id, FAILURE, EMPTY), every_word, etag=etag)
            options = JobRequest.from_metadata(
                obj.info.metadata, default_mode=settings.default_mode
            )
            content = decompress_chunks(
                guarded(obj.iter_chunks(settings.chunk_size), deadline),
                key,
                settings.chunk_size,
                max_bytes=settings.max_input_bytes,
            )
            document = False
            if options.extracts:
                head, content = peek(content)
                document = is_document(head, options.document_format)
            if document:
                counter = count_spooled_document(content, key, options, deadline)
            else:
                counter = options.new_counter(threads=settings.threads)
                for chunk in text_only(content, key, options):
                    counter.feed(chunk)
            summary = summarize(counter, options)
    except NoSuchKey:
        return Counted(
            JobResult(
                key,
                job_id,
                FAILURE,
                f"object not found: {key}",
                mode=options.mode if options else None,
            ),
            every_word,
            missing=True,
        )
    except RequestError as exc:
        return Counted(JobResult(key, job_id, FAILURE, f"bad options: {exc}"), every_word)
    except (InputError, ValueError, MemoryError, RuntimeError) as exc:
        # ValueError, MemoryError and RuntimeError come from the core: a bad stream, an
        # allocation it could not make, or its own bug; each fails this job, not the worker.
        reason = str(exc) or type(exc).__name__
        mode = options.mode if options else None
        return Counted(
            JobResult(key, job_id, FAILURE, f"cannot count: {reason}", mode=mode), every_word
        )
    except TransientError:
        raise
    except BackendError as exc:
        raise Unprocessable(str(exc)) from exc
    result = JobResult.success(
        key,
        job_id,
        words=summary.words,
        total=summary.total,
        unique=summary.unique,
        mode=options.mode,
        skipped=summary.skipped,
        language=summary.language,
    )
    if not every_word:
        return Counted(result, every_word, etag=etag)
    full = FullCounts(counter, options.report_min_length, options.stop_words())
    return Counted(result, every_word, full, etag=etag)


def count_spooled_document(
    chunks: Iterator[bytes],
    key: str,
    options: JobRequest,
    deadline: Callable[[], float | None],
) -> Counter:
    """A document read in a stream, counted: it needs random access (a PDF's
    cross-reference table and a ZIP's directory are at its end), so it is spooled to an
    anonymous temporary file in the worker's temporary directory first, as large as the
    object after decompression, which ``--max-input-size`` bounds. The drain deadline
    holds while its text is extracted too."""
    from wordfreq_service.documents.extract import spool

    with spool(chunks) as file:
        return count_document(file, key, options, guard=lambda text: guarded(text, deadline))


#: How far into an input (after decompression) a NUL byte marks it as binary data, not
#: text, as git and diff tell: random bytes hold one within a few hundred bytes, text
#: none (but UTF-16's, which is exempt). Counted, random bytes cost far more time and
#: memory than text (README, "Poison on the work queue"); refused, a moment.
TEXT_SNIFF_BYTES = 64 << 10
#: How much of an input's start tells whether its NULs alternate with other bytes.
UTF16_SNIFF_BYTES = 4 << 10


def binary_at(head: bytes, request: JobRequest) -> int | None:
    """Where in ``head`` (an input's first bytes) a NUL byte marks it as binary data;
    None when it reads as text under ``request``. Seed mode counts every byte as the
    Go worker does (its memory is bounded by the word-length limit), NULs included."""
    if request.mode == "seed":
        return None
    offset = head.find(b"\0", 0, TEXT_SNIFF_BYTES)
    if offset < 0 or is_utf16(head, request):
        return None
    return offset


def alternating_nuls(head: bytes) -> bool:
    """Whether the NULs of ``head`` fill every other byte, as in UTF-16 text without a
    byte order mark (mostly ASCII); random bytes have a few NULs anywhere."""
    sample = head[: UTF16_SNIFF_BYTES & ~1]
    pairs = len(sample) // 2
    if pairs < 2:
        return False
    even, odd = sample[0::2].count(0), sample[1::2].count(0)
    return min(even, odd) == 0 and max(even, odd) * 2 >= pairs


def text_only(chunks: Iterator[bytes], name: str, request: JobRequest) -> Iterator[bytes]:
    """``chunks``, unless their first ``TEXT_SNIFF_BYTES`` are binary data (then an
    ``InputError`` naming ``name``, before anything is counted)."""
    head = b""
    for chunk in chunks:
        if len(head) < TEXT_SNIFF_BYTES:
            head += chunk[: TEXT_SNIFF_BYTES - len(head)]
            offset = binary_at(head, request)
            if offset is not None:
                hint = (
                    "; UTF-16 without a byte order mark? count it with --encoding utf-16"
                    if alternating_nuls(head)
                    else ""
                )
                raise InputError(
                    f"{name}: binary data, not text (a NUL byte at offset {offset}); "
                    f"only text is counted{hint}"
                )
        yield chunk


def guarded(chunks: Iterable[bytes], deadline: Callable[[], float | None]) -> Iterator[bytes]:
    """``chunks``, until the drain deadline passes (then ``Abandoned``)."""
    for chunk in chunks:
        due = deadline()
        if due is not None and time.monotonic() > due:
            raise Abandoned("drain deadline passed")
        yield chunk


def since(moment: datetime) -> int:
    """Nanoseconds from ``moment`` until now; a result's Duration."""
    return max(0, int((datetime.now(UTC) - moment).total_seconds() * 1e9))
