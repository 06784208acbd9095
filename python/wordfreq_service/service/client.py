"""The client: upload files, then collect exactly our own results.

Each file goes up under a fresh random UUID key with the counting options as object
metadata. Results for other clients' keys are made visible again at once so their
owners get them without waiting for a visibility timeout; a second result for one of our
keys (a duplicate delivery downstream) is deleted and ignored.
"""

from __future__ import annotations

import io
import time
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

import structlog

from wordfreq_service.counting.inputs import describe_os_error, open_path
from wordfreq_service.errors import BackendError, InputError, TransientError, WordfreqError
from wordfreq_service.formats.job_request import JobRequest
from wordfreq_service.formats.results import BadResult, JobResult
from wordfreq_service.ports import MAX_BATCH, Backend

log = structlog.get_logger("wordfreq.client")

PROGRESS_MIN_BYTES = 8 << 20
#: How long a result the client takes stays hidden from other clients. It deletes its own
#: and hands others' back at once, so this only matters if the client dies holding some:
#: their owners then wait this long, whatever the result queue's own figure.
RESULT_HOLD_S = 30


@dataclass
class Submission:
    path: str
    key: str
    submitted_at: float = field(default_factory=time.monotonic)
    result: JobResult | None = None
    #: The upload's ETag, on the compatible path: a result naming another is for another
    #: upload to the same key.
    etag: str | None = None

    def answered_by(self, result: JobResult) -> bool:
        """Whether ``result`` is this upload's (a Go worker's names no ETag)."""
        return result.file_key == self.key and (
            result.etag is None or self.etag is None or result.etag == self.etag
        )


ProgressFactory = Callable[[str, int | None], Callable[[int], None] | None]


class Client:
    def __init__(self, backend: Backend, *, poll_seconds: float = 20.0) -> None:
        self.backend = backend
        self.poll_seconds = poll_seconds
        #: The last error of a result queue that did not answer (None: it did).
        self.unavailable: str | None = None

    @staticmethod
    def open_inputs(paths: Iterable[str]) -> list[tuple[str, BinaryIO]]:
        """Open every file before uploading any: a typo in the last name must not leave
        the first files uploaded with nobody waiting for them."""
        handles: list[tuple[str, BinaryIO]] = []
        try:
            for p in paths:
                handles.append((p, open_path(p)))
        except InputError:
            for p, fh in handles:
                if p != "-":
                    fh.close()
            raise
        return handles

    def upload(
        self,
        handles: list[tuple[str, BinaryIO]],
        request: JobRequest,
        progress: ProgressFactory | None = None,
    ) -> list[Submission]:
        """Upload each opened file under a fresh UUID key with ``request`` as its
        metadata; closes the files. A request that cannot travel (``RequestError``) is
        refused before anything is uploaded.

        Errors name the file, never the random key: reading it fails with an
        :class:`InputError` saying ``FILE: reason``, and a store failure keeps its type
        with ``FILE:`` in front."""
        submissions = []
        try:
            metadata = request.to_metadata()
            for path, fh in handles:
                key = str(uuid.uuid4())
                size = _size_of(path)
                callback = progress(path, size) if progress else None
                source = io.BufferedReader(NamedSource(path, fh))
                try:
                    info = self.backend.store.put(key, source, metadata, progress=callback)
                except BackendError as exc:
                    raise type(exc)(f"{path}: {exc}") from exc
                log.debug("uploaded", file=path, key=key, bytes=size)
                submissions.append(Submission(path, key, etag=info.etag))
        finally:
            for path, fh in handles:
                if path != "-":
                    fh.close()
        return submissions

    def collect(
        self,
        submissions: list[Submission],
        timeout: float,
        on_result: Callable[[Submission], None],
    ) -> list[Submission]:
        """Wait for each submission's result; returns those still pending at timeout."""
        pending = {s.key: s for s in submissions}
        done: dict[str, Submission] = {}
        deadline = time.monotonic() + timeout
        queue = self.backend.result_queue
        while pending:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                break
            try:
                messages = queue.receive(
                    MAX_BATCH,
                    wait_seconds=min(self.poll_seconds, remaining),
                    visibility_timeout=RESULT_HOLD_S,
                )
            except TransientError as exc:
                if self.unavailable is None:  # once: the timeout's line repeats it
                    log.warning("result queue unavailable; retrying", error=str(exc))
                self.unavailable = str(exc)
                time.sleep(min(1.0, max(remaining, 0)))
                continue
            for message in messages:
                try:
                    result = JobResult.from_json(message.body)
                except BadResult:
                    result = None
                key = result.file_key if result is not None else None
                if result is not None and key in pending and pending[key].answered_by(result):
                    sub = done[result.file_key] = pending.pop(result.file_key)
                    sub.result = result
                    self._delete(message.receipt_handle)
                    on_result(sub)
                elif result is not None and key in done and done[key].answered_by(result):
                    self._delete(message.receipt_handle)
                else:
                    # Someone else's: hand it back now rather than after our timeout.
                    try:
                        queue.change_visibility(message.receipt_handle, 0)
                    except WordfreqError as exc:
                        log.debug("could not release a foreign result", error=str(exc))
        return list(pending.values())

    def _delete(self, handle: str) -> None:
        try:
            self.backend.result_queue.delete(handle)
        except WordfreqError as exc:
            log.warning("could not delete our result", error=str(exc))


class NamedSource(io.RawIOBase):
    """The user's file as a store reads it. Stores cannot tell a failing read of the
    body from a failing write of their own, so a read error is turned into an
    :class:`InputError` naming the file here, which stores let through unchanged."""

    def __init__(self, path: str, file: BinaryIO) -> None:
        self._path = path
        self._file = file

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: bytearray | memoryview) -> int:  # type: ignore[override]
        try:
            data = self._file.read(len(buffer))
        except OSError as exc:
            raise InputError(f"{self._path}: {describe_os_error(exc)}") from exc
        buffer[: len(data)] = data
        return len(data)


def _size_of(path: str) -> int | None:
    if path == "-":
        return None
    try:
        return Path(path).stat().st_size
    except OSError:
        return None
