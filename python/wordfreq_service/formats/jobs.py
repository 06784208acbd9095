"""The job path's formats: keys, the job ID in object metadata, the API's JSON bodies,
and the full-counts CSV.

* A job's upload goes to ``jobs/<job_id>``, a key the service chooses; its object carries
  the job ID as the user metadata ``job-id`` (bound into the pre-signed URL with the
  options), which is how a worker tells a job-path upload from a compatible-path one.
* Its full counts (every word the report would keep, with no ``top`` cut) are stored as
  gzip-compressed CSV at ``results/<job_id>.csv.gz``: a header ``word,count``, then one
  row per word, most frequent first (ties by word), lines ending ``\\n``; its user
  metadata ``csv-bytes`` holds the CSV's size uncompressed. Workers ignore
  events for keys under ``results/``: the bucket notifies of every created object.
  Counts whose CSV is at most ``INLINE_COUNTS_MAX_CSV_BYTES`` are held in the job record
  instead (``JobRecord.counts``, the same compressed bytes), written with ``done``.
* API bodies: ``job_view`` for ``GET /jobs/{id}``, ``new_job_view`` for ``POST /jobs``,
  ``error_view`` for every 4xx.
"""

from __future__ import annotations

import csv
import gzip
import io
import re
import uuid
import zlib
from collections.abc import Collection, Iterable, Iterator, Mapping
from contextlib import contextmanager
from itertools import islice
from typing import TYPE_CHECKING, Any, Final, Protocol

from wordfreq_service.formats.results import BadResult, JobResult
from wordfreq_service.ports import JobRecord, UploadTarget

if TYPE_CHECKING:
    from _typeshed import SupportsWrite

#: S3 user metadata naming the job an upload belongs to.
JOB_ID_METADATA: Final = "job-id"
JOB_KEY_PREFIX: Final = "jobs/"
RESULTS_PREFIX: Final = "results/"
COUNTS_HEADER: Final = ("word", "count")
COUNTS_MEDIA_TYPE: Final = "text/csv; charset=utf-8"
#: User metadata of a stored counts object: the CSV's size once decompressed, in bytes
#: (what an API sending it inline would send).
COUNTS_SIZE_METADATA: Final = "csv-bytes"

#: The largest CSV (uncompressed) whose compressed counts a job record holds itself,
#: written in the same transaction as ``done``, instead of a ``results/`` object. Small
#: jobs then cost no object store write (on the embedded stack two fsyncs and three file
#: system metadata operations, on AWS a PUT). Small enough that a DynamoDB item stays
#: under its 400 KB limit beside a result cut to fit a queue message (256 KiB), and that
#: an API answer built from it is far from a Lambda response's 6 MB.
INLINE_COUNTS_MAX_CSV_BYTES: Final = 64 * 1024

_JOB_ID: Final = re.compile(r"[0-9a-f]{32}")


def new_job_id() -> str:
    """A random job ID: 32 lower-case hex digits (a UUID4 without dashes)."""
    return uuid.uuid4().hex


def is_job_id(text: str) -> bool:
    return bool(_JOB_ID.fullmatch(text))


def job_key(job_id: str) -> str:
    return f"{JOB_KEY_PREFIX}{job_id}"


def counts_key(job_id: str) -> str:
    return f"{RESULTS_PREFIX}{job_id}.csv.gz"


def job_id_of_key(key: str) -> str | None:
    """The job ID a key names if it is a job's upload key (``jobs/<job_id>``), else None.
    Read where the object itself may be gone or unreadable."""
    job_id = key.removeprefix(JOB_KEY_PREFIX)
    return job_id if job_id != key and is_job_id(job_id) else None


def job_objects(job_id: str) -> tuple[str, str]:
    """Every key a job may own in the bucket: its upload (gone once a worker took it)
    and its stored counts; an expired job's go with it."""
    return job_key(job_id), counts_key(job_id)


def is_result_key(key: str) -> bool:
    """Whether ``key`` holds a job's stored counts (never a job's input)."""
    return key.startswith(RESULTS_PREFIX)


def job_id_of(metadata: Mapping[str, str]) -> str | None:
    """The job ID an uploaded object carries, or None (a compatible-path upload)."""
    value = {k.lower(): v for k, v in metadata.items()}.get(JOB_ID_METADATA)
    return value if value and is_job_id(value) else None


# -- API bodies ---------------------------------------------------------------------


def result_view(result: JobResult) -> dict[str, Any]:
    """A job's result in the API: the issue's fields, then what the command line also
    shows (``mode`` it was counted in, ``skipped`` over-long runs), and with
    ``--stopwords auto`` the ``language`` detected."""
    view = {
        "status": result.status,
        "status_message": result.status_message,
        "total": result.total,
        "unique": result.unique,
        "words": [{"word": w, "count": c} for w, c in result.words],
        "duration_ms": round(result.duration_ns / 1e6, 3),
        "mode": result.mode,
        "skipped": result.skipped,
    }
    if result.language is not None:
        view["language"] = result.language
    return view


def stored_result(record: JobRecord) -> JobResult | None:
    """The result a record holds, if it holds a readable one."""
    if record.result is None:
        return None
    try:
        return JobResult.from_json(record.result)
    except BadResult:
        return None


def job_view(record: JobRecord) -> dict[str, Any]:
    """``GET /jobs/{job_id}``: the state, and the result once the job has ended."""
    result = stored_result(record) if record.state.ended else None
    return {
        "job_id": record.job_id,
        "state": record.state.value,
        "result": result_view(result) if result is not None else None,
    }


def new_job_view(
    record: JobRecord, token: str, target: UploadTarget, expires_at: float
) -> dict[str, Any]:
    """``POST /jobs``'s 201 body; ``expires_at`` (when the upload URL stops working) is
    ISO 8601 UTC."""
    from datetime import UTC, datetime

    return {
        "job_id": record.job_id,
        "key": record.key,
        "upload_url": target.url,
        "upload_method": target.method,
        "upload_headers": dict(target.headers),
        "expires_at": datetime.fromtimestamp(expires_at, UTC).isoformat().replace("+00:00", "Z"),
        "token": token,
    }


def error_view(message: str) -> dict[str, Any]:
    """Every 4xx body: ``{"error": "one line saying what is wrong"}``."""
    return {"error": message}


# -- full counts ----------------------------------------------------------------------


class CountsSource(Protocol):
    """What writes a report's rows as CSV itself: the counting core's ``Counter``."""

    def write_csv(
        self,
        out: SupportsWrite[bytes],
        min_length: int,
        stopwords: Collection[str] | None = None,
        *,
        header: bytes | None = None,
        gzip_level: int | None = None,
    ) -> int: ...


COUNTS_GZIP_LEVEL: Final = 6
#: Rows formatted per write of ``write_counts``.
_ROWS_PER_WRITE: Final = 1024


def _csv_text(rows: Iterable[Iterable[object]]) -> bytes:
    text = io.StringIO()
    csv.writer(text, lineterminator="\n").writerows(rows)
    return text.getvalue().encode()


@contextmanager
def _packed(out: io.RawIOBase | Any) -> Iterator[gzip.GzipFile]:
    with gzip.GzipFile(fileobj=out, mode="wb", compresslevel=COUNTS_GZIP_LEVEL, mtime=0) as packed:
        yield packed


def write_counts(words: Iterable[tuple[str, int]], out: io.RawIOBase | Any) -> int:
    """Write the compressed counts CSV of ``words`` to the binary file ``out``; returns
    the size of the CSV uncompressed."""
    rows = iter(words)
    with _packed(out) as packed:
        written = packed.write(_csv_text([COUNTS_HEADER]))
        while batch := list(islice(rows, _ROWS_PER_WRITE)):
            written += packed.write(_csv_text(batch))
    return written


def write_counter_counts(
    counter: CountsSource,
    out: io.RawIOBase | Any,
    min_length: int,
    stopwords: Collection[str] | None = None,
) -> int:
    """As ``write_counts`` for every word a report of ``counter`` keeps, written and
    compressed by the counter itself (no Python object per word: the full list can be as
    large as the input); returns the size of the CSV uncompressed."""
    return counter.write_csv(
        out,
        min_length,
        stopwords,
        header=_csv_text([COUNTS_HEADER]),
        gzip_level=COUNTS_GZIP_LEVEL,
    )


def counts_metadata(csv_bytes: int) -> dict[str, str]:
    """The stored counts object's user metadata: the CSV's size uncompressed."""
    return {COUNTS_SIZE_METADATA: str(csv_bytes)}


def detected_stop_words(language: str | None) -> frozenset[str]:
    """The stop words a result's ``language`` (``--stopwords auto``) says its report
    dropped: none when auto was not asked or found no language."""
    from wordfreq_service.counting.stopwords import LANGUAGES, language_words

    if language is None or language not in LANGUAGES:
        return frozenset()
    return language_words(language)


def without_stop_words(csv_text: Iterable[bytes], stop: frozenset[str]) -> Iterator[bytes]:
    """The counts CSV ``csv_text`` without the rows ``stop`` drops from a report: a word
    in it, or an n-gram holding one (a stop word breaks a phrase). A row is one line
    (words never hold a line break), so memory stays a chunk and a line."""
    if not stop:
        yield from csv_text
        return

    def kept(line: bytes) -> bool:
        key = next(csv.reader([line.decode()]), [""])[0]
        return not any(word in stop for word in key.split(" "))

    pending = b""
    header = True
    for chunk in csv_text:
        lines = (pending + chunk).split(b"\n")
        pending = lines.pop()
        out = []
        for line in lines:
            if header or kept(line):
                out.append(line + b"\n")
            header = False
        if out:
            yield b"".join(out)
    if pending and (header or kept(pending)):
        yield pending


def counts_csv(compressed: Iterable[bytes]) -> Iterator[bytes]:
    """The CSV text of a stored counts object, decompressed as its chunks arrive."""
    inflate = zlib.decompressobj(wbits=16 + zlib.MAX_WBITS)
    for chunk in compressed:
        data = inflate.decompress(chunk, 1 << 20)
        while data:
            yield data
            data = inflate.decompress(inflate.unconsumed_tail, 1 << 20)
    tail = inflate.flush()
    if tail:
        yield tail
    if not inflate.eof:
        raise ValueError("the stored counts are truncated")
