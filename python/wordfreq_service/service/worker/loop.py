"""The worker's receive loop.

One ``Worker`` runs one receive loop. For each record of each message it streams the
object into the counting engine with the options the client put in the object's
metadata, posts the result, deletes the object (on a thread of its own, done by the end
of the batch), and deletes the message once every record in it is done. What happens
when something goes wrong:

* test event (``s3:TestEvent``): dropped (message deleted);
* a record of another event than ``ObjectCreated:*`` (``ObjectRemoved:*`` when a bucket
  notifies those too): ignored, logged at info;
* missing object, undecodable stream, bad options: a ``failure`` result naming the
  reason, message deleted;
* store or queue unavailable (``TransientError``): no result, the message stays
  invisible until its timeout and comes back (dead-lettered after 5 receives);
* a message that can never be processed (not JSON, not an S3 event, unsupported event
  version, another bucket, access denied, a bug): made visible again at once, so the
  queue's redrive policy moves it to the dead-letter queue after 5 receives instead of
  holding up a worker. The worker itself never stops on a bad message.

On a message's last receive before the dead-letter queue (its receive count has reached
the queue's maxReceiveCount), a failure leaves a ``failure`` result for each key it
still names, saying it was given up and why: a client then hears at once instead of
waiting out its timeout. A message that names no key (not JSON, not an S3 event) can
tell nobody; that is logged. A worker killed on that receive raises nothing: the jobs
such a message names hold a lease while the worker holds the message, and a job whose
lease lapses reads ``failed`` (``jobpath``).

While jobs run, a keeper thread extends the visibility of every message the worker holds,
so a long job is not handed to a second worker. Standard queues deliver duplicates: a
key this worker finished recently is not counted again. A key whose object is gone yields
a failure result. On a later receive of the event that failure is sent delayed by
``GONE_ON_REDELIVERY_DELAY_S``: the object may have been deleted by an attempt that had
delivered the result (a worker deletes it only then) and died before deleting the
message, and the delay lets that success reach the client first, which then ignores the
failure; an object that was really never there still gets its answer.

Uploads for a job of the job service take the job path (``jobpath``): the result goes to
the job store, with the full counts beside it under ``results/``, and nothing to the
result queue; events for those stored counts (the bucket notifies of every object) are
ignored. Given ``job_sweep_seconds`` (the embedded stack), the worker also deletes
expired jobs and their counts that often, and expired splits with their parts' counts.

An object larger than the split threshold is split into range tasks (``split``), which
arrive on the same work queue; a range task that fails, or is handed back by a stopping
worker, on its last receive fails its part. A job whose event is split on its last receive
has its lease handed to the split (``_LastAttemptLease``).
"""

from __future__ import annotations

import queue
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from typing import Any, Protocol

import structlog

from wordfreq_service.errors import (
    NoSuchQueue,
    ReceiptHandleInvalid,
    TransientError,
    WordfreqError,
)
from wordfreq_service.formats.jobs import is_result_key, job_id_of_key
from wordfreq_service.formats.ranges import RangeTask, parse_range_task
from wordfreq_service.formats.results import FAILURE, JobResult
from wordfreq_service.formats.s3event import S3Record, parse_message
from wordfreq_service.ports import DEFAULT_VISIBILITY_TIMEOUT_S, Backend, Message, ObjectStore
from wordfreq_service.service.jobs import JOB_RETENTION_S
from wordfreq_service.service.snowflake import Snowflake
from wordfreq_service.service.worker.backoff import OUTAGES, Backoff
from wordfreq_service.service.worker.job import Abandoned, Unprocessable, count_object, since
from wordfreq_service.service.worker.jobpath import JobPath
from wordfreq_service.service.worker.keeper import VisibilityKeeper
from wordfreq_service.service.worker.probe import probe_store
from wordfreq_service.service.worker.settings import WorkerSettings
from wordfreq_service.service.worker.split import Splitter, purge_expired_splits

log = structlog.get_logger("wordfreq.worker")

#: How long a redelivered event's "object not found" failure waits on the result queue,
#: so that a success sent before the object was deleted is received first: a client
#: polls the queue continuously, and 30 s is far beyond one receive's round trip.
GONE_ON_REDELIVERY_DELAY_S = 30


class BusyHook(Protocol):
    """Told when the worker goes from idle to busy and back (ECS task protection)."""

    def busy(self) -> None: ...

    def idle(self) -> None: ...


class Worker:
    def __init__(
        self,
        backend: Backend,
        settings: WorkerSettings | None = None,
        *,
        stop: threading.Event | None = None,
        busy_hook: BusyHook | None = None,
        ids: Snowflake | None = None,
    ) -> None:
        self.backend = backend
        self.settings = settings or WorkerSettings()
        self.stop = stop or threading.Event()
        self._busy_hook = busy_hook
        self._busy = False
        self._ids = ids or Snowflake()
        #: The uploads (key, ETag, event_id) finished lately: a duplicate delivery is not
        #: counted again.
        self._recent: OrderedDict[tuple[str, str, str], None] = OrderedDict()
        self._deadline: float | None = None
        self._job_path = JobPath(backend.jobs) if backend.jobs is not None else None
        # Splitting needs somewhere to keep the parts' progress: without a job store
        # (a compatible-path stack with no table) big objects are counted whole.
        self._splitter = (
            Splitter(backend, backend.jobs, self.settings, lambda: self._deadline)
            if backend.jobs is not None
            else None
        )
        self._next_sweep = time.monotonic() + (self.settings.job_sweep_seconds or 0)
        self.jobs_done = 0
        #: The last-attempt leases of the messages held, by receipt handle, and that of
        #: the message being handled (a split hands its job's lease on).
        self._leases: dict[str, _LastAttemptLease] = {}
        self._lease: _LastAttemptLease | None = None
        #: Why the store failed during the batch being handled (None: it did not).
        self._unavailable: str | None = None
        #: Deletes the uploads of the batch being processed (``_discard``).
        self._deletes = _Background("upload-delete")
        self._running = False

    # -- the loop -------------------------------------------------------------------

    def run(self) -> None:
        backoff = Backoff(
            self.settings.backoff_seconds, self.settings.max_backoff_seconds, self.stop
        )
        hold_seconds = self._visibility_timeout(backoff)
        if hold_seconds is None:
            return  # stopped before the queue answered
        keeper = VisibilityKeeper(self.backend, hold_seconds)
        if self.settings.job_sweep_seconds is not None:
            self._sweep_leftover_uploads()  # those of a worker killed before this one
        self._running = True
        try:
            while not self.stop.is_set():
                try:
                    # The figure read once, not the queue's current one: the keeper extends
                    # to it, so a queue reconfigured under a running worker cannot hand
                    # its messages out mid-job.
                    messages = self.backend.work_queue.receive(
                        self.settings.batch_size,
                        wait_seconds=self.settings.wait_seconds,
                        visibility_timeout=hold_seconds,
                    )
                except OUTAGES as exc:
                    # Unavailable, or gone (a queue deleted and made again): the worker
                    # waits it out rather than exit; only SIGTERM/SIGINT stop it.
                    backoff.failed("work queue unavailable", _described(exc))
                    continue
                self._sweep_if_due()
                if not messages:
                    backoff.succeeded()
                    self._set_busy(False)
                    continue
                self._set_busy(True)
                self._unavailable = None
                self.process_batch(messages, keeper)
                if self._unavailable is not None:
                    # The store failed mid-job: the message comes back after its
                    # visibility timeout.
                    self._wait_for_store(backoff, self._unavailable)
                else:
                    backoff.succeeded()
        finally:
            self._running = False
            self._deletes.close()
            keeper.close()
            self._set_busy(False)

    def _wait_for_store(self, backoff: Backoff, error: str) -> None:
        """Back off until the store takes a write again (or the worker is stopped).
        Probed, not received: each receive would spend a message's receive count (5,
        then the dead-letter queue), so a long outage would dead-letter every job."""
        backoff.failed("store unavailable during a job", error)
        while not self.stop.is_set():
            try:
                probe_store(self.backend.store)
            except TransientError as exc:
                backoff.failed("store still unavailable", str(exc))
                continue
            except Exception as exc:  # a probe must never take the worker down
                # Refused rather than unavailable (a role without the grant): the
                # probe cannot tell; receiving again does, as it did before probes.
                log.warning("cannot probe the store; receiving again", error=str(exc))
            return

    def _visibility_timeout(self, backoff: Backoff) -> int | None:
        """How long a received message stays hidden: the setting, else the work queue's
        own, read once (retried while the queue is unavailable); None if stopped first."""
        if self.settings.visibility_timeout is not None:
            return self.settings.visibility_timeout
        while not self.stop.is_set():
            try:
                seconds = self.backend.work_queue.visibility_timeout()
            except OUTAGES as exc:
                backoff.failed("work queue unavailable", _described(exc))
                continue
            backoff.succeeded()
            if seconds < 1:
                # SQS allows 0, which would hand every message to every worker at once.
                log.warning(
                    "the work queue hides messages for 0 s; holding them longer",
                    seconds=DEFAULT_VISIBILITY_TIMEOUT_S,
                )
                return DEFAULT_VISIBILITY_TIMEOUT_S
            log.info("visibility timeout read from the work queue", seconds=seconds)
            return seconds
        return None

    def request_stop(self, drain_seconds: float | None = None) -> None:
        drain = self.settings.drain_seconds if drain_seconds is None else drain_seconds
        self._deadline = time.monotonic() + drain
        self.stop.set()

    def _sweep_if_due(self) -> None:
        """Delete expired jobs and their stored counts, every ``job_sweep_seconds``."""
        every = self.settings.job_sweep_seconds
        if every is None or self._job_path is None or time.monotonic() < self._next_sweep:
            return
        self._next_sweep = time.monotonic() + every
        from wordfreq_service.service.jobs import JobService

        try:
            expired = JobService(self.backend).expire()
        except WordfreqError as exc:
            log.warning("could not delete expired jobs", error=str(exc))
            return
        if expired:
            log.info("expired jobs deleted", count=len(expired))
        try:
            splits = purge_expired_splits(self.backend)
        except WordfreqError as exc:
            log.warning("could not delete expired splits", error=str(exc))
            return
        if splits:
            log.info("expired splits deleted", count=splits)
        self._sweep_leftover_uploads()

    def _sweep_leftover_uploads(self) -> None:
        """Remove uploads whose results are out but which a killed worker had yet to
        delete (``Backend.sweep_leftover_uploads``): at the start of a stack's worker
        and with each sweep of expired jobs."""
        sweep = self.backend.sweep_leftover_uploads
        if sweep is None:
            return
        try:
            removed = sweep()
        except WordfreqError as exc:
            log.warning("could not sweep leftover uploads", error=str(exc))
            return
        if removed:
            log.info("leftover uploads deleted", count=removed)

    def process_batch(self, messages: list[Message], keeper: VisibilityKeeper) -> None:
        try:
            self._process_batch(messages, keeper)
        finally:
            # The batch's uploads are all deleted by the time it returns (``_discard``);
            # outside ``run`` nothing else would stop the thread deleting them.
            if self._running:
                self._deletes.wait()
            else:
                self._deletes.close()

    def _process_batch(self, messages: list[Message], keeper: VisibilityKeeper) -> None:
        keeper.hold(m.receipt_handle for m in messages)
        if self._splitter is not None:
            messages = self._splitter.spread(messages, keeper)
        self._leases.clear()  # the last batch's: its messages are all done with
        if self._job_path is not None:
            if not self.backend.service_marks_queued:
                self._job_path.mark_queued(r for m in messages for r in _records_of(m) or [])
            self._lease_last_attempts(messages, keeper)
        for index, message in enumerate(messages):
            if self.stop.is_set():
                self._release(messages[index:], keeper, "worker stopping")
                return
            try:
                self.handle(message, keeper)
            except Abandoned:
                self._release(messages[index:], keeper, "drain deadline passed")
                return
            finally:
                keeper.release(message.receipt_handle)

    def _lease_last_attempts(self, messages: list[Message], keeper: VisibilityKeeper) -> None:
        """Lease the jobs named by messages on their last receive for as long as the
        keeper holds them (``jobpath``). At receipt, not when a job starts: a worker
        killed while an earlier message of the batch runs never starts the others."""
        assert self._job_path is not None
        job_path, seconds = self._job_path, keeper.timeout
        for message in messages:
            bound = log.bind(message_id=message.message_id, receive_count=message.receive_count)
            # The receive count first: most messages are on an earlier receive, and
            # parsing them here would be a second parse of every message (``handle``'s).
            if not self._is_last_receive(message, bound):
                continue
            # Not for a range task: its part ending does not end the job, so a lease
            # renewed only while it runs would lapse under the parts still counting.
            job_ids = [
                job_id
                for r in _records_of(message) or []
                if r.is_object_created and (job_id := job_id_of_key(r.key)) is not None
            ]
            if not job_ids:
                continue

            lease = _LastAttemptLease(job_path, job_ids, seconds)
            lease.renew()
            self._leases[message.receipt_handle] = lease
            keeper.renew_with(message.receipt_handle, lease.renew)

    def _release(self, messages: list[Message], keeper: VisibilityKeeper, why: str) -> None:
        for message in messages:
            # Handed back on its last receive, it is dead-lettered on the next one.
            bound = log.bind(message_id=message.message_id, receive_count=message.receive_count)
            # A range task fails its part, as ``handle`` has it do on any last-receive failure.
            task = _range_task_of(message)
            records = _records_of(message) if task is None else None
            self._tell_before_dead_letter(message, records, why, bound, task)
            self._hand_back(message, keeper)
        if messages:
            log.info("messages released", count=len(messages), reason=why)

    def _hand_back(self, message: Message, keeper: VisibilityKeeper | None) -> None:
        """Make the message visible again at once. The keeper lets go of it first:
        an extension landing after this would hide it again for a whole timeout."""
        if keeper is not None:
            keeper.release(message.receipt_handle)
        try:
            self.backend.work_queue.change_visibility(message.receipt_handle, 0)
        except WordfreqError as exc:
            log.warning("could not change visibility", error=str(exc))

    def _set_busy(self, busy: bool) -> None:
        if busy == self._busy:
            return
        self._busy = busy
        if self._busy_hook is not None:
            try:
                (self._busy_hook.busy if busy else self._busy_hook.idle)()
            except Exception as exc:  # a hook must never take the worker down
                log.warning("busy hook failed", error=str(exc))

    # -- one message ------------------------------------------------------------------

    def handle(self, message: Message, keeper: VisibilityKeeper | None = None) -> None:
        """Process one message; ``keeper`` holds it, and lets go of it before it is
        handed back or deleted."""
        bound = log.bind(message_id=message.message_id, receive_count=message.receive_count)
        # The records not yet done when something fails: their clients are told if
        # this is the message's last receive. None: the body is not a record list.
        undone: list[S3Record] | None = None
        # A range task (a part of a big object) rather than an S3 event.
        task: RangeTask | None = None
        self._lease = self._leases.pop(message.receipt_handle, None)
        try:
            task = parse_range_task(message.body)
            if task is not None:
                self._run_range_task(task)
                self._delete(message, keeper)
                return
            parsed = parse_message(message.body)
            if not isinstance(parsed, list):
                bound.info("test event dropped")
                self._delete(message, keeper)
                return
            undone = list(parsed)
            while undone:
                self.handle_record(undone[0], redelivered=message.receive_count > 1)
                undone.pop(0)
            self._delete(message, keeper)
        except TransientError as exc:
            bound.warning("transient failure; message will reappear", error=str(exc))
            self._unavailable = str(exc)
            self._tell_before_dead_letter(message, undone, str(exc), bound, task)
        except Abandoned:
            raise
        except Unprocessable as exc:
            bound.error("unprocessable message; left for the dead-letter queue", error=str(exc))
            self._tell_before_dead_letter(message, undone, str(exc), bound, task)
            self._hand_back(message, keeper)
        except WordfreqError as exc:
            bound.error("cannot process message; left for the dead-letter queue", error=str(exc))
            self._tell_before_dead_letter(message, undone, str(exc), bound, task)
            self._hand_back(message, keeper)
        except Exception as exc:
            bound.exception("unexpected error; left for the dead-letter queue")
            reason = f"internal error: {type(exc).__name__}: {exc}"
            self._tell_before_dead_letter(message, undone, reason, bound, task)
            self._hand_back(message, keeper)

    def _run_range_task(self, task: RangeTask) -> None:
        if self._splitter is None:
            raise Unprocessable("a range task, but this worker has no job store for its progress")
        self._splitter.run(task)
        self.jobs_done += 1

    def _tell_before_dead_letter(
        self,
        message: Message,
        undone: list[S3Record] | None,
        reason: str,
        bound: Any,
        task: RangeTask | None = None,
    ) -> None:
        """On a message's last receive before the redrive policy moves it to the
        dead-letter queue, post a ``failure`` result for each key it still names, so
        their clients hear now rather than wait out their timeout (a range task fails
        its part, and so its object once the other parts are in). The object stays,
        beside the dead letter, for whoever looks into it."""
        if not self._is_last_receive(message, bound):
            return
        if task is not None and self._splitter is not None:
            status = (
                f"given up after {message.receive_count} attempts at part {task.part} of "
                f"{task.parts}; the range task goes to the dead-letter queue. Last error: {reason}"
            )
            try:
                self._splitter.give_up(task, status)
            except Exception as exc:  # a message must never take the worker down
                bound.error("could not record the part as failed", key=task.key, error=str(exc))
                return
            bound.warning("part recorded as failed before dead-lettering", key=task.key)
            return
        if undone is None:
            bound.error("message goes to the dead-letter queue naming no key; nobody told")
            return
        # Ignored events have no client; records already done have had their result.
        records = [r for r in undone if r.is_object_created]
        status = (
            f"given up after {message.receive_count} attempts; the event goes to the "
            f"dead-letter queue. Last error: {reason}"
        )
        for record in records:
            if is_result_key(record.key):
                continue  # nobody waits for the counts' own events
            if self._give_up_job(record, status, bound):
                continue
            result = JobResult(record.key, self._ids.next_base36(), FAILURE, status)
            result.duration_ns = since(record.event_time)
            result.etag = record.etag or None  # whose upload: the key may be shared
            try:
                self.backend.result_queue.send(result.to_json())
            except WordfreqError as exc:
                bound.error("could not post the failure result", key=record.key, error=str(exc))
                continue
            bound.warning("failure result posted before dead-lettering", key=record.key)

    def _is_last_receive(self, message: Message, bound: Any) -> bool:
        """Whether the redrive policy moves ``message`` to the dead-letter queue rather
        than hand it out again; False when the policy cannot be read."""
        try:
            limit = self.backend.work_queue.max_receive_count()
        except WordfreqError as exc:
            bound.warning("cannot read the redrive policy", error=str(exc))
            return False
        return limit is not None and message.receive_count >= limit

    def _give_up_job(self, record: S3Record, status: str, bound: Any) -> bool:
        """Mark the job whose upload ``record`` announces failed, if it is a job's;
        whether it was (its client reads the job store, never the result queue)."""
        if self._job_path is None:
            return False
        job_id = job_id_of_key(record.key)
        if job_id is None:
            return False
        result = JobResult(record.key, job_id, FAILURE, status)
        result.duration_ns = since(record.event_time)
        try:
            marked = self._job_path.give_up(record.key, result)
        except WordfreqError as exc:
            # The job store may be what failed: its client waits out its own timeout.
            bound.error("could not mark the job failed", key=record.key, error=str(exc))
            return True
        if marked:
            bound.warning("job marked failed before dead-lettering", key=record.key)
        return marked

    def _delete(self, message: Message, keeper: VisibilityKeeper | None) -> None:
        if keeper is not None:
            keeper.release(message.receipt_handle)  # nothing left to extend
        try:
            self.backend.work_queue.delete(message.receipt_handle)
        except ReceiptHandleInvalid:
            # Our hold lapsed and someone else received it; they will finish the job.
            log.warning("message already taken back by the queue", message_id=message.message_id)

    def handle_record(self, record: S3Record, *, redelivered: bool = False) -> None:
        """Count the object ``record`` announces and deliver its result; ``redelivered``:
        its message was received before (by a worker that may have died mid-job)."""
        key, bucket, event_time = record.key, record.bucket, record.event_time
        if not record.is_object_created:
            # A bucket may notify the queue of deletions and the like too: nothing to
            # count, and no client waits for them.
            log.info("event ignored", event_name=record.event_name, key=key, bucket=bucket)
            return
        if is_result_key(key):
            # A job's stored counts, written by a worker: the bucket notifies of them too.
            log.debug("event for stored counts ignored", key=key, bucket=bucket)
            return
        store = self.backend.store_for(bucket)
        if store is None:
            raise Unprocessable(f"event for bucket {bucket!r}, which this worker cannot read")
        # One upload: its key, ETag and event (an upload of the same bytes to the same
        # key again has another); a duplicate delivery carries all three.
        upload = (key, record.etag, record.event_id)
        if upload in self._recent:
            log.info("duplicate delivery ignored", key=key)
            return
        job = self._job_path.find(key) if self._job_path is not None else None
        if job is not None and job.state.ended:
            log.info("duplicate delivery of an ended job ignored", key=key, job_id=job.job_id)
            self._delete_object(store, key, log)
            self._remember(upload)
            return
        # Why a big object is counted in one piece, for its result ("": nothing to say).
        note = ""
        if self._splitter is not None and self._splitter.wants(record):
            decision = self._splitter.split(store, record, job)
            if decision.sent:
                # Its range tasks are on the work queue; the object stays for them.
                if job is not None and job.lease_until is not None:
                    self._lease_to_split(job.job_id)
                self._remember(upload)
                return
            note = decision.note
        job_id = job.job_id if job is not None else self._ids.next_base36()
        bound = log.bind(job_id=job_id, key=key)
        bound.info("job started", bucket=bucket, size=record.size)
        started = time.monotonic()
        opened = self._job_path.opened(job, key) if self._job_path is not None else None
        # The compatible path's uploads choose their keys, so two may share one; a job's
        # key is its own.
        expected_etag = record.etag or None if job is None else None
        counted = count_object(
            store, key, job_id, self.settings, lambda: self._deadline, opened, expected_etag
        )
        result = counted.result
        replaced = expected_etag is not None and counted.etag not in (None, expected_etag)
        result.duration_ns = since(event_time)
        if note and result.ok and not result.truncated:
            result.status_message = note
        # The job path, unless the object said otherwise (then it was not the job's).
        on_job_path = job is not None and counted.every_word is not False
        # Gone on a later receive, the object may have been deleted by an attempt that
        # delivered its result and died before deleting the message (a worker deletes
        # an object only once its result is out); or it was never there. The failure
        # goes late, so a success sent before comes first and the client drops it.
        delay = GONE_ON_REDELIVERY_DELAY_S if counted.missing and redelivered else 0
        if on_job_path:
            assert self._job_path is not None and job is not None
            if not self._job_path.finish(store, job, counted):
                bound.info("job had ended already: a duplicate delivery")
        else:
            if job is not None:
                result.job_id = self._ids.next_base36()
            result.etag = record.etag or None
            if delay:
                bound.info("object gone on a redelivery: its failure sent late", delay_s=delay)
            self.backend.result_queue.send(result.to_json(), delay_seconds=delay)
        if replaced:
            # The object is the later upload's: its own event counts it.
            bound.info("upload replaced before it was counted", etag=record.etag)
            return
        self._discard(store, key, bound)
        self._remember(upload)
        self.jobs_done += 1
        bound.info(
            "job done",
            status=result.status,
            total=result.total,
            unique=result.unique,
            count_ms=round((time.monotonic() - started) * 1000, 3),
            duration_ms=round(result.duration_ns / 1e6, 3),
            reason=result.status_message or None,
            path="job" if on_job_path else "compatible",
        )

    def _lease_to_split(self, job_id: str) -> None:
        """The job's event, split on its last receive, goes now; its lease (renewed only
        while the event is held) would lapse under the ranges still counting, and fail
        the job. The split holds it instead, for as long as a job is kept: its ranges
        fail it if they are given up."""
        if self._lease is not None:
            self._lease.hand_on(job_id)

    def _delete_object(self, store: ObjectStore, key: str, bound: Any) -> None:
        try:
            store.delete(key)
        except TransientError as exc:
            # The result is out; a leftover object is only storage (the bucket expires it).
            bound.warning("could not delete object", key=key, error=str(exc))

    def _discard(self, store: ObjectStore, key: str, bound: Any) -> None:
        """Delete a counted upload off the job's path: its result is out, so nothing
        waits for the delete, which is a wait on the file system's journal (an unlink
        took 14 % of a small job, 60 % on a busy disk) or on S3. A worker killed before
        it lands leaves the upload behind, as one killed just after the result would;
        a job's upload goes with the job when it expires."""

        def delete() -> None:
            try:
                self._delete_object(store, key, bound)
            except Exception as exc:  # a delete must never take the worker down
                bound.warning("could not delete object", key=key, error=str(exc))

        self._deletes.submit(delete)

    def _remember(self, upload: tuple[str, str, str]) -> None:
        self._recent[upload] = None
        while len(self._recent) > 4096:
            self._recent.popitem(last=False)


class _Background:
    """One thread running what it is given, in order, started at the first task; ``wait``
    returns once every task given so far has run, ``close`` also ends the thread."""

    def __init__(self, name: str) -> None:
        self._name = name
        self._tasks: queue.SimpleQueue[Callable[[], object] | None] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None

    def submit(self, task: Callable[[], object]) -> None:
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name=self._name, daemon=True)
            self._thread.start()
        self._tasks.put(task)

    def wait(self) -> None:
        if self._thread is not None:
            done = threading.Event()
            self._tasks.put(done.set)
            done.wait()

    def close(self) -> None:
        if self._thread is not None:
            self._tasks.put(None)
            self._thread.join()
            self._thread = None

    def _run(self) -> None:
        while (task := self._tasks.get()) is not None:
            try:
                task()
            except Exception as exc:  # the thread must outlive a task, or ``wait`` hangs
                log.error("background task failed", thread=self._name, error=str(exc))


class _LastAttemptLease:
    """The lease of the jobs a message on its last receive names, renewed with the
    message's visibility (``VisibilityKeeper.renew_with``) until a split takes a job over.
    One lock around each write: the keeper's thread renews outside its own lock, and a
    renewal landing after the hand-over would shorten the split's lease again."""

    def __init__(self, job_path: JobPath, job_ids: list[str], seconds: float) -> None:
        self._job_path = job_path
        self._job_ids = job_ids
        self._seconds = seconds
        self._lock = threading.Lock()

    def renew(self) -> None:
        with self._lock:
            self._job_path.lease(self._job_ids, self._seconds)

    def hand_on(self, job_id: str) -> None:
        with self._lock:
            self._job_ids = [j for j in self._job_ids if j != job_id]
            self._job_path.lease([job_id], JOB_RETENTION_S)


def _described(exc: TransientError | NoSuchQueue) -> str:
    """The error as logged: its kind too when it is not merely unavailable."""
    return str(exc) if isinstance(exc, TransientError) else f"{type(exc).__name__}: {exc}"


def _range_task_of(message: Message) -> RangeTask | None:
    """The range task the message holds; None for anything else, a damaged one included."""
    try:
        return parse_range_task(message.body)
    except WordfreqError:
        return None


def _records_of(message: Message) -> list[S3Record] | None:
    """The message's records: none for S3's test event, None for a body that is not
    an S3 event at all."""
    try:
        parsed = parse_message(message.body)
    except WordfreqError:
        return None
    return parsed if isinstance(parsed, list) else []


def run_until_stopped(worker: Worker) -> None:
    """Run ``worker`` in this thread until SIGTERM/SIGINT, then drain."""
    import signal

    received: list[int] = []

    def _stop(signum: int, _frame: object) -> None:
        # Only flags here: logging from a signal handler can deadlock on the logger's
        # lock if the signal lands while this thread is writing a log line.
        received.append(signum)
        worker.request_stop()

    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    worker.run()
    signame = signal.Signals(received[0]).name if received else None
    log.info("worker stopped", jobs=worker.jobs_done, signal=signame)
