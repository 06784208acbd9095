"""Open (creating what is missing) the embedded backend in one data directory.

Layout::

    <data_dir>/queues.sqlite3      queues, messages, bucket notifications, jobs (WAL mode)
    <data_dir>/doorbells/<queue>/  named pipes of receivers in a long poll
    <data_dir>/buckets/<bucket>/   the bucket's objects

No symbolic link inside the data directory is followed (``nofollow``); the directory
itself may be one.

Like the AWS stack, the bucket notifies the work queue of every created object, and
the work queue dead-letters a message after 5 receives.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import BinaryIO

from wordfreq_service.adapters.embedded.database import DEFAULT_LOCK_WAIT_S, SqliteDatabase
from wordfreq_service.adapters.embedded.jobs import SqliteJobStore
from wordfreq_service.adapters.embedded.keys import validate_bucket
from wordfreq_service.adapters.embedded.objects import FileStore, translate_os_error
from wordfreq_service.adapters.embedded.queue import SqliteQueue
from wordfreq_service.errors import WordfreqError
from wordfreq_service.formats.corpus import corpus_objects
from wordfreq_service.formats.jobs import RESULTS_PREFIX, job_objects
from wordfreq_service.formats.ranges import parse_range_task
from wordfreq_service.formats.s3event import parse_message, test_event
from wordfreq_service.ports import (
    DEAD_LETTER_RETENTION_S,
    DEFAULT_MAX_RECEIVE_COUNT,
    RESULT_QUEUE_RETENTION_S,
    WORK_QUEUE_RETENTION_S,
    Backend,
    JobRecord,
    ObjectInfo,
)

DEFAULT_BUCKET = "uploads"
WORK_QUEUE = "work"
RESULT_QUEUE = "results"
DEAD_LETTER_QUEUE = "dead-letter"
DATABASE_NAME = "queues.sqlite3"
#: A new data directory's mode: its owner's alone.
DATA_DIR_MODE = 0o700


def open_embedded(
    data_dir: Path, *, bucket: str = DEFAULT_BUCKET, lock_wait_s: float = DEFAULT_LOCK_WAIT_S
) -> Backend:
    """The embedded backend in ``data_dir``: bucket, work, result and dead-letter
    queues, and the bucket → work queue notification. Safe to call from many processes
    at once; creation happens once. ``lock_wait_s``: how long a write waits for a
    database another process holds locked before it fails as unavailable."""
    data_dir = Path(data_dir)
    validate_bucket(bucket)
    try:
        # Made private: it holds what users upload and their results. One that exists
        # keeps the mode its owner gave it.
        data_dir.mkdir(mode=DATA_DIR_MODE, parents=True, exist_ok=True)
    except OSError as exc:
        raise translate_os_error(exc, f"creating data directory {data_dir}") from exc
    db = SqliteDatabase(data_dir / DATABASE_NAME, busy_timeout_s=lock_wait_s)
    db.initialize()
    dead_letter = SqliteQueue.create(db, DEAD_LETTER_QUEUE, retention_s=DEAD_LETTER_RETENTION_S)
    work = SqliteQueue.create(
        db,
        WORK_QUEUE,
        retention_s=WORK_QUEUE_RETENTION_S,
        dead_letter_queue=DEAD_LETTER_QUEUE,
        max_receive_count=DEFAULT_MAX_RECEIVE_COUNT,
    )
    results = SqliteQueue.create(db, RESULT_QUEUE, retention_s=RESULT_QUEUE_RETENTION_S)
    # Receives drop their own queue's expired messages; a dead-letter queue nobody reads
    # would otherwise keep them forever.
    for queue in (dead_letter, work, results):
        queue.purge_expired()
    target = configure_notification(db, bucket, work)
    # Stored counts are not announced: a worker would only receive, ignore and delete
    # each event, three queue writes a job. (S3 cannot leave a prefix out of a
    # notification, so on AWS workers do ignore them.)
    store = FileStore(
        data_dir / "buckets" / bucket,
        bucket,
        notify=target.send,
        unannounced=RESULTS_PREFIX,
        root=data_dir,
    )
    store.sweep_abandoned_puts()
    jobs = SqliteJobStore(db)
    # Expired jobs go with their stored counts: every process that opens the stack
    # (submit, up, each worker, the API) sweeps, and a long-running `up` also sweeps
    # periodically (WorkerSettings.job_sweep_seconds).
    for job_id in jobs.purge_expired():
        for key in job_objects(job_id):
            store.delete(key)
    for corpus_id in jobs.purge_expired_corpora():
        for key in corpus_objects(corpus_id):
            store.delete(key)

    def store_job_upload(
        record: JobRecord, body: BinaryIO, metadata: Mapping[str, str]
    ) -> ObjectInfo:
        return store.put(
            record.key,
            body,
            metadata,
            announce=lambda event: jobs.create_announced(record, target, event),
        )

    def sweep_leftover_uploads() -> int:
        return store.sweep_unannounced(lambda: announced_keys(db))

    return Backend(
        store=store,
        work_queue=work,
        result_queue=results,
        dead_letter_queue=dead_letter,
        name="embedded",
        jobs=jobs,
        # FileStore.upload_url gives no URL: uploads come through JobService.accept_upload.
        service_marks_queued=True,
        store_job_upload=store_job_upload,
        sweep_leftover_uploads=sweep_leftover_uploads,
    )


def announced_keys(db: SqliteDatabase) -> set[str]:
    """Every key an event or a range task waiting on a queue (or dead-lettered) names:
    the uploads still to be counted, or kept beside their dead letter."""
    keys: set[str] = set()
    rows = db.query("SELECT body FROM messages WHERE queue != ?", (RESULT_QUEUE,))
    for (body,) in rows:
        try:
            task = parse_range_task(body)
            parsed = parse_message(body) if task is None else []
        except WordfreqError:
            continue  # a body no worker can read names nothing it could count
        if task is not None:
            keys.add(task.key)
        elif isinstance(parsed, list):
            keys.update(record.key for record in parsed)
    return keys


def configure_notification(db: SqliteDatabase, bucket: str, queue: SqliteQueue) -> SqliteQueue:
    """Make ``bucket`` notify ``queue`` of created objects, unless it notifies a queue
    already; returns the queue it notifies. A new notification first sends S3's
    ``s3:TestEvent``, in the same transaction, so it is sent exactly once."""
    with db.write() as conn:
        row = conn.execute(
            "SELECT queue FROM bucket_notifications WHERE bucket = ?", (bucket,)
        ).fetchone()
        if row is None:
            conn.execute(
                "INSERT INTO bucket_notifications (bucket, queue) VALUES (?, ?)",
                (bucket, queue.name),
            )
            queue.send_in(conn, test_event(bucket))
    if row is None:
        db.doorbells.ring(queue.name)
        return queue
    return queue if row[0] == queue.name else SqliteQueue(db, row[0])
