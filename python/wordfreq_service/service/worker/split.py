"""Big objects split into byte ranges, counted by any worker, merged by the last.

An object larger than the split threshold (``WorkerSettings.split_threshold``) is split
by the first worker that receives its event, if a job store is there to keep the parts'
progress, and the object can be cut (``counting.ranges.unsplittable``: not compressed,
not UTF-16, not a document whose text is extracted). That worker sends one range task
(``formats/ranges.py``) per range of ``counting.ranges.plan_ranges`` to the work queue,
marks a job-path upload's job ``running``, and is done with the event; the object stays.
Otherwise the object is counted in one piece, as any other (and a compressed, UTF-16 or
document one, or one counted for phrases (``ngrams`` above 1), says why in the log).

A range task: the range read from the store (a ranged GET, a seek) from
``read_offset(start)``, its piece cut by ``range_chunks`` (so a word across a cut is
counted once, in the range where it starts), counted by a fresh counter (``at_start``
only for the first range), its full counts stored as ``results/parts/<split_id>/<part>
.csv.gz``, then the part recorded in the job store (``JobStore.add_part``). An object
that changed since the split (another ETag), or any failure that is the object's own,
is recorded as that part's failure.

The worker whose part completes the set merges: every part's counts added up
(``Counter.merge_csv``), the result delivered as for an object counted whole (job
path: the job's counts and record; compatible path: one result message for the
original key; a failed part fails the whole object with its reason), the split marked
merged, then the parts and the original object deleted. Its range task is deleted
last, so if it dies on the way the task comes back and whoever receives it finds the
split complete: not merged, it merges again; merged, it deletes what is left. Two
merges deliver the same result: the job store keeps the first, the compatible client
the first per key, and a compatible-path result's job ID is derived from the split ID
(so a repeat carries the same one).

An object over the threshold that is counted in one piece because it cannot be cut
(compressed, UTF-16, a document, phrases) says so in its successful result's
``status_message`` (``ONE_PIECE_NOTE`` and the reason, handed to the worker in
``SplitDecision.note``).
"""

from __future__ import annotations

import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass

import structlog

from wordfreq_service.counting.engine import summarize
from wordfreq_service.counting.ranges import (
    plan_ranges,
    range_chunks,
    read_offset,
    unsplittable,
)
from wordfreq_service.errors import (
    BackendError,
    InputError,
    NoSuchKey,
    TransientError,
    WordfreqError,
)
from wordfreq_service.formats.job_request import JobRequest, RequestError
from wordfreq_service.formats.jobs import (
    counts_csv,
    counts_metadata,
    job_id_of,
    write_counter_counts,
)
from wordfreq_service.formats.ranges import (
    SKIPPED_METADATA,
    RangeTask,
    parse_range_task,
    part_key,
    split_id_of,
)
from wordfreq_service.formats.results import FAILURE, JobResult
from wordfreq_service.formats.s3event import S3Record
from wordfreq_service.ports import (
    Backend,
    JobRecord,
    JobState,
    JobStore,
    Message,
    ObjectInfo,
    ObjectStore,
    SplitProgress,
)
from wordfreq_service.service.jobs import JOB_RETENTION_S
from wordfreq_service.service.snowflake import base36, derived_id
from wordfreq_service.service.worker.job import (
    TEXT_SNIFF_BYTES,
    Counted,
    FullCounts,
    Unprocessable,
    binary_at,
    guarded,
    since,
)
from wordfreq_service.service.worker.jobpath import JobPath
from wordfreq_service.service.worker.keeper import VisibilityKeeper
from wordfreq_service.service.worker.settings import WorkerSettings

log = structlog.get_logger("wordfreq.worker")

#: Bytes read from an object's start to tell whether it can be split (the longest magic
#: number or byte-order mark ``unsplittable`` looks for is well inside) and whether it is
#: text at all (``binary_at``).
HEAD_BYTES = TEXT_SNIFF_BYTES


#: How a successful result of an object over the threshold that could not be cut begins
#: (its ``status_message``, instead of "Success"); the reason follows.
ONE_PIECE_NOTE = "counted in one piece: "


@dataclass(frozen=True)
class SplitDecision:
    """What ``Splitter.split`` did with an object."""

    #: Its range tasks were sent: the event is done.
    sent: bool
    #: Not sent because the object cannot be cut: what its result says instead of
    #: "Success" ("" when there is nothing to say: small, gone, over the input limit).
    note: str = ""


class Splitter:
    """The worker's side of big objects: splits them, counts ranges, merges parts."""

    def __init__(
        self,
        backend: Backend,
        jobs: JobStore,
        settings: WorkerSettings,
        deadline: Callable[[], float | None],
    ) -> None:
        self.backend = backend
        self.jobs = jobs
        self.settings = settings
        self._deadline = deadline
        self._job_path = JobPath(jobs)

    # -- splitting --------------------------------------------------------------------

    def wants(self, record: S3Record) -> bool:
        """Whether the event announces an object big enough to consider splitting (the
        object itself decides, ``split``)."""
        return record.size > self.settings.split_threshold

    def split(self, store: ObjectStore, record: S3Record, job: JobRecord | None) -> SplitDecision:
        """Split the object ``record`` announces if it can be: its range tasks sent (the
        event is then done), or not, to count it in one piece (saying why when it is over
        the threshold but cannot be cut)."""
        key = record.key
        bound = log.bind(key=key, bucket=record.bucket)
        try:
            with store.get(key, start=0, end=HEAD_BYTES) as obj:
                info = obj.info
                head = b"".join(obj.iter_chunks(HEAD_BYTES))
        except NoSuchKey:
            return SplitDecision(False)  # counting it whole says so
        if job is None and record.etag and info.etag != record.etag:
            # Another upload replaced the event's (the compatible path's keys are the
            # client's): counting it whole fails the event as replaced, as for a small one.
            return SplitDecision(False)
        threshold = self.settings.split_threshold
        if info.size <= threshold or info.size > self.settings.max_input_bytes:
            # Small after all, or over the input limit: a failure as ever.
            return SplitDecision(False)
        try:
            request = JobRequest.from_metadata(
                info.metadata, default_mode=self.settings.default_mode
            )
        except RequestError:
            return SplitDecision(False)  # counting it whole reports the bad options
        # A document (sniffed before the text check: a PDF or a ZIP holds NUL bytes) is
        # never split: its text is extracted from the whole, on one thread.
        why = unsplittable(head, request)
        if why is None and binary_at(head, request) is not None:
            return SplitDecision(False)  # counted whole, it fails at its first chunk
        if why is not None:
            bound.info("big object not split; counted in one piece", reason=why, size=info.size)
            return SplitDecision(False, f"{ONE_PIECE_NOTE}{why}")
        job_id = self._job_of(job, info)
        ranges = plan_ranges(info.size, threshold)
        # The event's identity: a redelivery keeps it, an upload of the same bytes again
        # does not (that one must not read as a duplicate of a split merged before).
        split_id = split_id_of(
            record.bucket, key, info.etag, info.size, record.event_id, len(ranges)
        )
        for part, (start, end) in enumerate(ranges):
            task = RangeTask(
                bucket=record.bucket,
                key=key,
                etag=info.etag,
                size=info.size,
                split_id=split_id,
                part=part,
                parts=len(ranges),
                start=start,
                end=end,
                event_time=record.event_time,
                options=request.to_json(),
                job_id=job_id,
            )
            self.backend.work_queue.send(task.to_json())
        bound.info(
            "object split",
            split_id=split_id,
            size=info.size,
            parts=len(ranges),
            threshold=threshold,
            job_id=job_id,
        )
        return SplitDecision(True)

    def _job_of(self, job: JobRecord | None, info: ObjectInfo) -> str | None:
        """The job whose upload the object is (marked ``running``), or None: the
        compatible path, as ``JobPath.opened`` decides for an object counted whole."""
        if job is None or job_id_of(info.metadata) != job.job_id:
            return None
        self.jobs.advance(job.job_id, JobState.RUNNING)
        return job.job_id

    def spread(self, messages: list[Message], keeper: VisibilityKeeper) -> list[Message]:
        """The messages of a received batch this worker keeps: all but its range tasks
        after the first, which it hands on (sent again, then deleted) so that idle workers
        count them meanwhile instead of waiting behind it; a batch receive would otherwise
        hoard up to 10 ranges. Sent again rather than made visible, so the hand-off does
        not count as a receive towards the dead-letter queue; only on a task's first
        receive, so one that keeps failing still gets there."""
        kept: list[Message] = []
        counting = False
        for message in messages:
            try:
                task = parse_range_task(message.body)
            except WordfreqError:
                task = None  # damaged: handled, and dead-lettered, like any bad message
            if task is None or not counting or message.receive_count > 1:
                counting = counting or task is not None
                kept.append(message)
                continue
            try:
                self.backend.work_queue.send(message.body)
            except WordfreqError as exc:
                log.warning("could not hand a range task on; counting it", error=str(exc))
                kept.append(message)
                continue
            keeper.release(message.receipt_handle)
            try:
                self.backend.work_queue.delete(message.receipt_handle)
            except WordfreqError as exc:
                # Its copy is out: a second delivery, which the progress takes as one.
                log.warning("could not delete a range task handed on", error=str(exc))
        if len(kept) < len(messages):
            log.debug("range tasks handed on", count=len(messages) - len(kept))
        return kept

    # -- a range ----------------------------------------------------------------------

    def run(self, task: RangeTask) -> None:
        """Count ``task``'s range (unless the split is further on), record it, and merge
        if the set is complete. Raises ``TransientError`` (the task comes back) and
        ``Abandoned`` (drain deadline); every other failure is the part's."""
        store = self.backend.store_for(task.bucket)
        if store is None:
            raise Unprocessable(
                f"range task for bucket {task.bucket!r}, which this worker cannot read"
            )
        bound = log.bind(key=task.key, split_id=task.split_id, part=task.part, parts=task.parts)
        progress = self.jobs.split_progress(task.split_id)
        if progress is None or task.part not in progress.done:
            started = time.monotonic()
            failure = self._count_part(store, task)
            progress = self._record(task, failure)
            bound.info(
                "range counted" if failure is None else "range failed",
                count_ms=round((time.monotonic() - started) * 1000, 3),
                reason=failure,
            )
        else:
            bound.info("duplicate range task", merged=progress.merged)
        self._finish_if_complete(store, task, progress)

    def give_up(self, task: RangeTask, reason: str) -> None:
        """On a range task's last receive before the dead-letter queue: its part fails
        (so the object gets its failure result once the others are in)."""
        store = self.backend.store_for(task.bucket)
        progress = self._record(task, reason)
        if store is not None:
            self._finish_if_complete(store, task, progress)

    def _record(self, task: RangeTask, failure: str | None) -> SplitProgress:
        return self.jobs.add_part(
            task.split_id,
            task.part,
            task.parts,
            failure=failure,
            # As long as a job and the counts under ``results/`` are kept, far past the
            # work queue's retention of the tasks.
            expires_at=float(int(time.time()) + JOB_RETENTION_S),
        )

    def _count_part(self, store: ObjectStore, task: RangeTask) -> str | None:
        """Count the range and store its full counts; the failure, or None."""
        request: JobRequest | None = None
        try:
            request = JobRequest.from_json(task.options)
            with store.get(task.key, start=read_offset(task.start)) as obj:
                if obj.info.etag != task.etag:
                    return f"cannot count: {task.key} changed while it was counted in parts"
                counter = request.new_counter(
                    at_start=task.part == 0, threads=self.settings.threads
                )
                chunks = guarded(obj.iter_chunks(self.settings.chunk_size), self._deadline)
                for chunk in range_chunks(chunks, task.start, task.end, request.mode):
                    counter.feed(chunk)
                counter.finish()
            # Every word, unfiltered: the report's filters apply once, to the merged counts.
            with tempfile.TemporaryFile() as spool:
                csv_bytes = write_counter_counts(counter, spool, 0)
                spool.seek(0)
                metadata = {**counts_metadata(csv_bytes), SKIPPED_METADATA: str(counter.skipped)}
                store.put(task.part_key, spool, metadata)
        except NoSuchKey:
            return f"object not found: {task.key}"
        except RequestError as exc:
            return f"bad options: {exc}"
        except (InputError, ValueError, MemoryError, RuntimeError) as exc:
            # From the core, as for an object counted whole (``job.count_object``).
            return f"cannot count: {str(exc) or type(exc).__name__}"
        except TransientError:
            raise
        except BackendError as exc:
            return f"cannot count: {exc}"
        return None

    # -- the merge ----------------------------------------------------------------------

    def _finish_if_complete(
        self, store: ObjectStore, task: RangeTask, progress: SplitProgress
    ) -> None:
        if not progress.complete:
            return
        if not progress.merged:
            if not self._merge(store, task, progress):
                return  # another worker merged it meanwhile and cleans up
            self.jobs.mark_merged(task.split_id)
        # Merged: what is left goes (again, after a merger that died on the way).
        for part in range(task.parts):
            _delete(store, part_key(task.split_id, part))
        self._delete_original(store, task)

    def _merge(self, store: ObjectStore, task: RangeTask, progress: SplitProgress) -> bool:
        """Deliver the object's result; False when a part's counts are gone because
        another worker merged and deleted them first."""
        bound = log.bind(key=task.key, split_id=task.split_id, parts=task.parts)
        job_id = task.job_id or merged_job_id(task)
        request: JobRequest | None = None
        counter = None
        failure = progress.failure
        if failure is None:
            try:
                request = JobRequest.from_json(task.options)
                counter = request.new_counter(threads=self.settings.threads)
                for part in range(task.parts):
                    with store.get(part_key(task.split_id, part)) as obj:
                        skipped = int(obj.info.metadata.get(SKIPPED_METADATA, "0"))
                        counter.merge_csv(counts_csv(obj.iter_chunks()), skipped=skipped)
            except NoSuchKey:
                again = self.jobs.split_progress(task.split_id)
                if again is not None and again.merged:
                    bound.info("split merged by another worker")
                    return False
                failure = "cannot count: the counts of a part are missing"
            except (RequestError, ValueError, MemoryError, RuntimeError) as exc:
                failure = f"cannot count: merging the parts: {str(exc) or type(exc).__name__}"
        mode = request.mode if request is not None else None
        if failure is None:
            assert request is not None and counter is not None
            summary = summarize(counter, request)
            result = JobResult.success(
                task.key,
                job_id,
                words=summary.words,
                total=summary.total,
                unique=summary.unique,
                mode=request.mode,
                skipped=summary.skipped,
                language=summary.language,
            )
            full = FullCounts(counter, request.report_min_length, request.stop_words())
        else:
            result = JobResult(task.key, job_id, FAILURE, failure, mode=mode)
            full = None
        result.duration_ns = since(task.event_time)
        self._deliver(store, task, Counted(result, True, full))
        bound.info(
            "split merged",
            job_id=job_id,
            status=result.status,
            total=result.total,
            unique=result.unique,
            duration_ms=round(result.duration_ns / 1e6, 3),
            reason=None if result.ok else result.status_message,
            path="job" if task.job_id else "compatible",
        )
        return True  # merged

    def _deliver(self, store: ObjectStore, task: RangeTask, counted: Counted) -> None:
        if task.job_id is None:
            # Which upload it answers: another client may have used the same key.
            counted.result.etag = task.etag
            self.backend.result_queue.send(counted.result.to_json())
            return
        job = self.jobs.get(task.job_id)
        if job is None:
            log.warning("split object's job is gone (expired)", job_id=task.job_id)
            return
        if not self._job_path.finish(store, job, counted):
            log.info("job had ended already: a duplicate merge", job_id=task.job_id)

    def _delete_original(self, store: ObjectStore, task: RangeTask) -> None:
        """Delete the object that was split, unless another has replaced it since (its
        own event counts that one)."""
        try:
            if store.head(task.key).etag != task.etag:
                return
        except NoSuchKey:
            return
        _delete(store, task.key)


def merged_job_id(task: RangeTask) -> str:
    """The job ID of a compatible-path split's result: the same from every merge of it."""
    unix_ms = int(task.event_time.timestamp() * 1000)
    return base36(derived_id(unix_ms, task.split_id))


def purge_expired_splits(backend: Backend) -> int:
    """Delete expired splits and their parts' counts where the backend does not expire
    them itself (the embedded stack); how many splits went."""
    if backend.jobs is None:
        return 0
    gone = backend.jobs.purge_expired_splits()
    for progress in gone:
        for part in range(progress.parts):
            _delete(backend.store, part_key(progress.split_id, part))
    return len(gone)


def _delete(store: ObjectStore, key: str) -> None:
    try:
        store.delete(key)
    except WordfreqError as exc:
        # A leftover is only storage: results/ expires with the bucket's lifecycle rule.
        log.warning("could not delete object", key=key, error=str(exc))
