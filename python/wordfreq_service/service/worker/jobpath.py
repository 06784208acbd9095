"""The job path in the worker: uploads made for a job of the job service
(``service/jobs.py``), whose results go to the job store instead of the shared result
queue.

An upload is a job's when its key is the job's key (``jobs/<job_id>``), the job store
holds a live record for that ID naming that key, and the object's metadata carries the
same ID (``job-id``, bound into the pre-signed URL). Where the object cannot be read
(gone, damaged, dead-lettered) the key and the record decide alone. Anything else (a
``job-id`` the store does not know, has let expire, or holds under another key) is
counted on the compatible path, with a result message as for any upload, and logged.

What someone asking for the job (``GET /jobs/{id}``, ``wordfreq submit``) sees:

* ``waiting_for_upload`` from its creation until its upload is stored and noticed;
* ``queued`` once the upload is stored and waits for a worker. On the embedded stack
  the service stores the upload itself and marks the job at once (so workers do not:
  ``Backend.service_marks_queued``). On AWS the bytes go
  straight to S3 and nothing sees them arrive, so a worker marks every job in a batch
  it receives (they wait there behind the one it is running); until a worker receives
  its event, such a job still reads ``waiting_for_upload``. The mark is best effort: a
  failed one only skips ``queued``.
* ``running`` while a worker counts it, and still ``running`` when the worker died
  mid-job and the event waits to be received again;
* ``done``, with the result; its full counts are written with the state change in the
  same transaction (small ones, held in the record) or stored before it
  (``results/<job_id>.csv.gz``), so a ``done`` job always has them;
* ``failed``, with the reason and no counts: an upload that cannot be counted, an
  event given up on its last receive before the dead-letter queue, or a worker that
  stopped (killed, out of memory) during every attempt, the last included.

That last case raises nothing a worker could report, so the job holds a lease for its
last attempt: a worker receiving an event on its last receive before the dead-letter
queue sets ``lease_until`` on each unended job the event names, to as long as it holds
the message, and renews it with the message's visibility (``VisibilityKeeper``). Once
the worker is gone the renewals stop, the message goes to the dead-letter queue, and the
lease lapses; whoever reads the job then (``JobService.find``) sees, and stores, it as
``failed``.

A duplicate delivery of a job that has ended is not counted again; the upload is
deleted if it is still there. A job store that does not answer is a ``TransientError``,
as a queue's is: the message reappears and the job is tried again.
"""

from __future__ import annotations

import tempfile
import time
from collections.abc import Iterable, Sequence
from typing import BinaryIO, cast

import structlog

from wordfreq_service.errors import WordfreqError
from wordfreq_service.formats.jobs import (
    INLINE_COUNTS_MAX_CSV_BYTES,
    counts_key,
    counts_metadata,
    job_id_of,
    job_id_of_key,
)
from wordfreq_service.formats.results import JobResult
from wordfreq_service.formats.s3event import S3Record
from wordfreq_service.ports import JobRecord, JobState, JobStore, ObjectInfo, ObjectStore
from wordfreq_service.service.worker.job import Counted, OpenedHook

log = structlog.get_logger("wordfreq.worker")


class JobPath:
    """The worker's side of the job store."""

    def __init__(self, jobs: JobStore) -> None:
        self.jobs = jobs

    def find(self, key: str) -> JobRecord | None:
        """The live job whose upload key is ``key``, or None (the compatible path)."""
        job_id = job_id_of_key(key)
        if job_id is None:
            return None
        record = self.jobs.get(job_id)
        if record is None or record.key != key:
            log.info("upload under a job key with no live job; compatible path", key=key)
            return None
        return record

    def mark_queued(self, records: Iterable[S3Record]) -> None:
        """Mark the jobs whose uploads a received batch announces ``queued``. Best
        effort: an unknown key changes nothing, and a failure is only logged."""
        for record in records:
            job_id = job_id_of_key(record.key) if record.is_object_created else None
            if job_id is None:
                continue
            try:
                self.jobs.advance(job_id, JobState.QUEUED)
            except WordfreqError as exc:
                log.debug("could not mark a job queued", job_id=job_id, error=str(exc))

    def lease(self, job_ids: Sequence[str], seconds: float) -> None:
        """Lease the unended jobs ``job_ids`` for their last attempt: ``seconds`` from
        now. A failure is logged: the next renewal may land, and a lapsed lease only
        fails a job no worker finishes."""
        for job_id in job_ids:
            try:
                self.jobs.lease(job_id, time.time() + seconds)
            except WordfreqError as exc:
                log.warning("could not renew a job's lease", job_id=job_id, error=str(exc))

    def opened(self, job: JobRecord | None, key: str) -> OpenedHook:
        """Told the opened upload: whether it is ``job``'s (then the job is marked
        ``running`` and every word is kept)."""

        def hook(info: ObjectInfo) -> bool:
            carried = job_id_of(info.metadata)
            if job is not None and carried == job.job_id:
                # None: the job is running already (a redelivery after a worker died)
                # or has just ended (a duplicate counted in parallel, which finish sees).
                self.jobs.advance(job.job_id, JobState.RUNNING)
                return True
            if carried is not None:
                log.info("upload names a job it does not belong to; compatible path", key=key)
            return False

        return hook

    def finish(self, store: ObjectStore, job: JobRecord, counted: Counted) -> bool:
        """Store the job's full counts (when it counted), then its result; False when the
        job had ended already (a duplicate that ran in parallel: its counts were the
        same)."""
        result = counted.result
        inline: bytes | None = None
        if result.ok and counted.counts is not None:
            # In memory while small, spooled to disk past that: a large compressed CSV
            # never sits in memory whole.
            with cast(
                BinaryIO, tempfile.SpooledTemporaryFile(INLINE_COUNTS_MAX_CSV_BYTES)
            ) as spool:
                csv_bytes = counted.counts.write(spool)
                spool.seek(0)
                if csv_bytes <= INLINE_COUNTS_MAX_CSV_BYTES:
                    # Held in the record, written with ``done`` in one transaction.
                    inline = spool.read()
                else:
                    store.put(counts_key(job.job_id), spool, counts_metadata(csv_bytes))
        state = JobState.DONE if result.ok else JobState.FAILED
        advanced = self.jobs.advance(job.job_id, state, result=result.to_json(), counts=inline)
        return advanced is not None

    def give_up(self, key: str, result: JobResult) -> bool:
        """On an event's last receive before the dead-letter queue: mark the job whose
        upload ``key`` is ``failed`` with ``result``. False when ``key`` is no live job's
        upload (its client reads the result queue)."""
        job_id = job_id_of_key(key)
        if job_id is None:
            return False
        record = self.jobs.get(job_id)
        if record is None or record.key != key:
            return False
        self.jobs.advance(job_id, JobState.FAILED, result=result.to_json())
        return True
