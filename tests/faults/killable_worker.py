"""A worker process that SIGKILLs itself at one chosen point of a job.

Built from the product's own classes (``Worker`` on the embedded backend); only the
backend is wrapped, to notice where the worker stands, so the kill lands exactly at the
point a test names rather than wherever a timer happens to fall:

* ``download``: a job's ``get`` was called, nothing read yet;
* ``counting``: some chunks of the object were fed to the counter, not all;
* ``delivered``: the result (and on the job path the job record) was written, the
  object deleted, the message not yet deleted;
* ``unremoved``: the result was written, the object not yet deleted.

``nth`` picks which occurrence of the point (1: the first). Run as
``python -m tests.faults.killable_worker DATA_DIR POINT NTH VISIBILITY_S``; it prints
nothing and runs until it kills itself (or is killed).
"""

from __future__ import annotations

import dataclasses
import os
import signal
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, cast

from wordfreq_service.adapters.embedded import open_embedded
from wordfreq_service.ports import (
    Backend,
    JobState,
    JobStore,
    MessageQueue,
    ObjectInfo,
    ObjectReader,
    ObjectStore,
)
from wordfreq_service.service.worker import Worker, WorkerSettings

POINTS = ("download", "counting", "delivered", "unremoved")
#: Small chunks, so that an object of a few hundred KiB is fed in several.
CHUNK_SIZE = 16 << 10


class Trigger:
    def __init__(self, point: str, nth: int) -> None:
        self.point = point
        self.left = nth
        #: A result was written since the last message deletion.
        self.delivered = False

    def reached(self, point: str) -> None:
        if point != self.point:
            return
        self.left -= 1
        if self.left <= 0:
            os.kill(os.getpid(), signal.SIGKILL)


class _Reader:
    def __init__(self, reader: ObjectReader, trigger: Trigger) -> None:
        self._reader = reader
        self._trigger = trigger

    @property
    def info(self) -> ObjectInfo:
        return self._reader.info

    def iter_chunks(self, chunk_size: int = 1 << 20) -> Iterator[bytes]:
        for index, chunk in enumerate(self._reader.iter_chunks(chunk_size)):
            if index == 2:  # two chunks counted, the object not done
                self._trigger.reached("counting")
            yield chunk


class _Store:
    def __init__(self, store: ObjectStore, trigger: Trigger) -> None:
        self._store = store
        self._trigger = trigger

    def __getattr__(self, name: str) -> Any:
        return getattr(self._store, name)

    @contextmanager
    def get(self, key: str, **kwargs: Any) -> Iterator[ObjectReader]:
        self._trigger.reached("download")
        with self._store.get(key, **kwargs) as reader:
            yield _Reader(reader, self._trigger)

    def delete(self, key: str) -> None:
        if self._trigger.delivered:
            self._trigger.reached("unremoved")
        self._store.delete(key)


class _WorkQueue:
    def __init__(self, queue: MessageQueue, trigger: Trigger) -> None:
        self._queue = queue
        self._trigger = trigger

    def __getattr__(self, name: str) -> Any:
        return getattr(self._queue, name)

    def delete(self, receipt_handle: str) -> None:
        if self._trigger.delivered:
            self._trigger.delivered = False
            self._trigger.reached("delivered")
        self._queue.delete(receipt_handle)


class _ResultQueue:
    def __init__(self, queue: MessageQueue, trigger: Trigger) -> None:
        self._queue = queue
        self._trigger = trigger

    def __getattr__(self, name: str) -> Any:
        return getattr(self._queue, name)

    def send(self, body: str, delay_seconds: int = 0) -> str:
        sent = self._queue.send(body, delay_seconds)
        self._trigger.delivered = True
        return sent


class _Jobs:
    def __init__(self, jobs: JobStore, trigger: Trigger) -> None:
        self._jobs = jobs
        self._trigger = trigger

    def __getattr__(self, name: str) -> Any:
        return getattr(self._jobs, name)

    def advance(self, job_id: str, state: JobState, **kwargs: Any) -> Any:
        record = self._jobs.advance(job_id, state, **kwargs)
        if state.ended and record is not None:
            self._trigger.delivered = True
        return record


def wrapped(backend: Backend, trigger: Trigger) -> Backend:
    assert backend.jobs is not None
    return dataclasses.replace(
        backend,
        store=cast(ObjectStore, _Store(backend.store, trigger)),
        work_queue=cast(MessageQueue, _WorkQueue(backend.work_queue, trigger)),
        result_queue=cast(MessageQueue, _ResultQueue(backend.result_queue, trigger)),
        jobs=cast(JobStore, _Jobs(backend.jobs, trigger)),
    )


def main(argv: list[str]) -> None:
    data_dir, point, nth, visibility = Path(argv[0]), argv[1], int(argv[2]), int(argv[3])
    if point not in POINTS:
        raise SystemExit(f"unknown point {point!r}: one of {', '.join(POINTS)}")
    backend = wrapped(open_embedded(data_dir), Trigger(point, nth))
    settings = WorkerSettings(
        visibility_timeout=visibility, wait_seconds=0.2, chunk_size=CHUNK_SIZE, threads=1
    )
    Worker(backend, settings).run()


if __name__ == "__main__":
    main(sys.argv[1:])
