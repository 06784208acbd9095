"""``submit --aggregate``: every file of a corpus a job of the job service, their full
counts summed.

The files go up on a few threads at once (each a job of its own: created, then
uploaded); a file that cannot be read or is refused is a failure of its own and the
rest go on. Then each job is waited for in order. Where the merge happens depends on
the route:

* in-process (the embedded stack): each job's stored counts (``results/<job_id>.csv.gz``)
  are merged into one counter with ``Counter.merge_csv`` as soon as the job is done;
* through a job API: the jobs are grouped into corpus jobs (``POST /corpora``, at most
  ``MAX_CORPUS_JOBS`` each), which merge on the service; one corpus's result is the
  answer, several corpora's merged counts are summed here.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, Final, Protocol

import structlog

from wordfreq_service.counting.corpus import Corpus
from wordfreq_service.counting.inputs import open_path
from wordfreq_service.counting.language import UNDETERMINED
from wordfreq_service.errors import BackendError, TransientError, WordfreqError
from wordfreq_service.formats.corpus import MAX_CORPUS_JOBS, FileStatus
from wordfreq_service.formats.job_request import JobRequest
from wordfreq_service.formats.results import SUCCESS, JobResult
from wordfreq_service.service.corpora import UNMERGEABLE, unmergeable
from wordfreq_service.service.job_client import JobTicket, JobTransport, sized
from wordfreq_service.service.jobs import MAX_WAIT_S, JobNotFound

log = structlog.get_logger("wordfreq.client")

#: Files uploaded at once: a corpus of small files is a wait on round trips far more
#: than on bandwidth.
UPLOAD_THREADS: Final = 8


@dataclass
class Sum:
    """The summed counts: a counter (in-process) or a corpus job's result (API)."""

    total: int
    unique: int
    words: list[tuple[str, int]]
    skipped: int = 0
    #: Jobs the merge could not count after all (their counts gone), by job ID: reasons.
    lost: dict[str, str] = field(default_factory=dict)
    #: With ``--stopwords auto``: the language detected in the sum, or ``und``.
    language: str | None = None


@dataclass
class Entry:
    path: str
    ticket: JobTicket | None = None
    status: FileStatus | None = None
    result: JobResult | None = None
    done: threading.Event = field(default_factory=threading.Event)


class Merger(Protocol):
    """Sums the counts of the jobs that succeeded."""

    def add(self, ticket: JobTicket, result: JobResult) -> str | None:
        """Add a done job's counts; a reason when they cannot be had (the file then
        counts as failed)."""
        ...

    def finish(self, tickets: Sequence[JobTicket], timeout: float) -> Sum: ...


def upload_corpus(
    transport: JobTransport,
    corpus: Corpus,
    request: JobRequest,
    *,
    threads: int = UPLOAD_THREADS,
    on_uploaded: Callable[[Entry], None] | None = None,
) -> tuple[list[Entry], ThreadPoolExecutor]:
    """Start uploading every file (a job each) on ``threads`` threads; returns the
    entries at once (each ``done`` once its upload has ended) and the pool, to be shut
    down by the caller."""
    request.to_metadata()  # RequestError before any job is created
    entries = [
        Entry(path, status=FileStatus.failure(path, error) if error else None)
        for path, error in corpus.entries
    ]
    for entry in entries:
        if entry.status is not None:
            entry.done.set()

    def upload(entry: Entry) -> None:
        try:
            fh = open_path(entry.path)
            try:
                with sized(entry.path, fh) as (body, size):
                    ticket = transport.create(request, size)
                    transport.upload(ticket, body, None)
            finally:
                if entry.path != "-":  # standard input stays open
                    fh.close()
            entry.ticket = ticket
        except (WordfreqError, OSError) as exc:
            entry.status = FileStatus.failure(entry.path, exc)
        finally:
            entry.done.set()
            if on_uploaded is not None:
                on_uploaded(entry)

    pool = ThreadPoolExecutor(max(1, threads), thread_name_prefix="corpus-upload")
    for entry in entries:
        if entry.status is None:
            pool.submit(upload, entry)
    return entries, pool


def collect(
    transport: JobTransport,
    entries: list[Entry],
    merger: Merger,
    timeout: float,
    *,
    on_counted: Callable[[Entry], None] | None = None,
) -> tuple[Sum, list[FileStatus]]:
    """Wait for every uploaded job in order, merging each done one; a job not ended by
    ``timeout`` is a failure saying so."""
    deadline = time.monotonic() + timeout
    for entry in entries:
        entry.done.wait(max(0.0, deadline - time.monotonic()))
        if entry.ticket is not None and entry.status is None:
            entry.result = _wait(transport, entry.ticket, deadline)
            entry.status = _settle(entry, merger)
        if entry.status is None:
            entry.status = FileStatus.failure(
                entry.path, f"timed out after {timeout:g}s waiting for its result"
            )
        if on_counted is not None:
            on_counted(entry)
    ok = [
        e.ticket for e in entries if e.ticket is not None and e.status is not None and e.status.ok
    ]
    summed = merger.finish(ok, max(0.0, deadline - time.monotonic()))
    for entry in entries:
        ticket = entry.ticket
        if ticket is not None and ticket.job_id in summed.lost:
            entry.status = FileStatus.failure(
                entry.path, summed.lost[ticket.job_id], ticket.key, ticket.job_id
            )
    return summed, [e.status for e in entries if e.status is not None]


def _wait(transport: JobTransport, ticket: JobTicket, deadline: float) -> JobResult | None:
    while (left := deadline - time.monotonic()) > 0:
        try:
            result = transport.wait(ticket, min(left, MAX_WAIT_S))
        except TransientError as exc:
            log.warning("job store unavailable; retrying", error=str(exc))
            time.sleep(min(1.0, max(0.0, deadline - time.monotonic())))
            continue
        if result is not None:
            return result
    return None


def _settle(entry: Entry, merger: Merger) -> FileStatus | None:
    result, ticket = entry.result, entry.ticket
    if result is None or ticket is None:
        return None
    failed = None if result.ok else result.status_message or "failed"
    reason = merger.add(ticket, result) if failed is None else failed
    if reason is not None:
        # The worker's message names the job's object (jobs/<id>), not the file.
        return FileStatus.failure(entry.path, reason, ticket.key, ticket.job_id)
    return FileStatus.success(entry.path)


# -- merging ----------------------------------------------------------------------------


class LocalMerger:
    """In-process (the embedded stack): each done job's stored counts merged at once
    into one counter with ``Counter.merge_csv``."""

    def __init__(self, request: JobRequest, counts: Callable[[JobTicket], Any]) -> None:
        """``counts(ticket)``: the job's full counts as CSV chunks (``JobService.counts``)."""
        self.request = request
        self._counts = counts
        self.counter = request.new_counter(threads=1)

    def add(self, ticket: JobTicket, result: JobResult) -> str | None:
        try:
            self.counter.merge_csv(self._counts(ticket), skipped=result.skipped or 0)
        except JobNotFound as exc:
            return str(exc)
        except UNMERGEABLE as exc:
            return unmergeable(exc)
        return None

    def finish(self, tickets: Sequence[JobTicket], timeout: float) -> Sum:
        del tickets, timeout
        self.counter.finish()
        stop, language = self.request.stop_words_for(self.counter)
        total, unique, words = self.counter.report(
            self.request.top, self.request.report_min_length, stop
        )
        return Sum(total, unique, words, self.counter.skipped, language=language)


class ApiMerger:
    """Through a job API: the done jobs grouped into corpus jobs, which merge on the
    service; several corpora's merged counts are summed here."""

    def __init__(self, api: Any, request: JobRequest, *, per_corpus: int = MAX_CORPUS_JOBS) -> None:
        """``api``: a ``service.api_client.ApiClient``; ``per_corpus``: the most jobs a
        corpus job is given (the API refuses more than ``MAX_CORPUS_JOBS``)."""
        self.api = api
        self.request = request
        self.per_corpus = per_corpus

    def add(self, ticket: JobTicket, result: JobResult) -> str | None:
        del ticket, result
        return None  # merged by the service

    def finish(self, tickets: Sequence[JobTicket], timeout: float) -> Sum:
        if not tickets:
            # As the in-process merge and `count --aggregate` say when nothing was counted.
            return Sum(0, 0, [], language=UNDETERMINED if self.request.stopwords.auto else None)
        deadline = time.monotonic() + timeout
        corpora = [
            self.api.create_corpus(tickets[i : i + self.per_corpus])
            for i in range(0, len(tickets), self.per_corpus)
        ]
        results = [self._result(c, deadline) for c in corpora]
        lost = {
            str(f["job_id"]): str(f["status_message"])
            for result in results
            for f in result["files"]
            if f["status"] != SUCCESS
        }
        if len(corpora) == 1:
            only = results[0]
            words = [(str(w["word"]), int(w["count"])) for w in only["words"]]
            language = only.get("language")
            return Sum(int(only["total"]), int(only["unique"]), words, lost=lost, language=language)
        counter = self.request.new_counter(threads=1)
        for corpus in corpora:
            try:
                counter.merge_csv(self.api.corpus_counts(corpus))
            except UNMERGEABLE as exc:
                raise BackendError(
                    f"corpus {corpus.corpus_id}'s counts could not be merged: {exc}"
                ) from exc
        counter.finish()
        stop, language = self.request.stop_words_for(counter)
        min_length = self.request.report_min_length
        total, unique, words = counter.report(self.request.top, min_length, stop)
        return Sum(total, unique, words, counter.skipped, lost, language)

    def _result(self, corpus: Any, deadline: float) -> dict[str, Any]:
        while True:
            left = deadline - time.monotonic()
            result = self.api.corpus_result(corpus, wait=max(0.0, min(left, MAX_WAIT_S)))
            if result is not None:
                return dict(result)
            if left <= 0:
                raise TransientError(f"corpus {corpus.corpus_id} was not merged in time")


__all__ = [
    "UPLOAD_THREADS",
    "ApiMerger",
    "Entry",
    "LocalMerger",
    "Merger",
    "Sum",
    "collect",
    "upload_corpus",
]
