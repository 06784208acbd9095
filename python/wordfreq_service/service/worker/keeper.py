"""The visibility keeper: while jobs run, it extends the visibility of every message the
worker holds, so a long job is not handed to a second worker. Whatever else must last
exactly as long as a message is held (the lease of a job on its last attempt) is renewed
with it: both stop together when the worker dies."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable

import structlog

from wordfreq_service.errors import WordfreqError
from wordfreq_service.ports import Backend

log = structlog.get_logger("wordfreq.worker")


class VisibilityKeeper:
    """Extends the visibility of held messages until they are released."""

    def __init__(self, backend: Backend, timeout: int) -> None:
        self._queue = backend.work_queue
        self._timeout = timeout
        self._held: dict[str, float] = {}
        self._renewals: dict[str, Callable[[], None]] = {}
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._closed = False
        self._thread = threading.Thread(target=self._run, name="visibility", daemon=True)
        self._thread.start()

    def hold(self, handles: Iterable[str]) -> None:
        now = time.monotonic()
        with self._lock:
            for h in handles:
                self._held[h] = now

    @property
    def timeout(self) -> int:
        """How long each extension hides a message for, in seconds."""
        return self._timeout

    def renew_with(self, handle: str, renew: Callable[[], None]) -> None:
        """Call ``renew`` after each extension of held ``handle``, until it is released.
        ``renew`` handles its own errors."""
        with self._lock:
            if handle in self._held:
                self._renewals[handle] = renew

    def release(self, handle: str) -> None:
        """Stop extending ``handle``. Once this returns, no extension of it is under way
        or to come, so the caller may hand the message back or delete it."""
        with self._lock:
            self._held.pop(handle, None)
            self._renewals.pop(handle, None)

    def close(self) -> None:
        self._closed = True
        self._wake.set()
        self._thread.join(timeout=5)

    def _run(self) -> None:
        # Extend at a third of the timeout: two chances before a message would reappear.
        period = max(self._timeout / 3, 0.2)
        while not self._closed:
            self._wake.wait(period / 2)
            now = time.monotonic()
            with self._lock:
                due = [h for h, t in self._held.items() if now - t >= period]
            for h in due:
                # The lock is held across the call, and the handle checked again under
                # it: a release that came meanwhile (the message handed back or deleted)
                # must not be undone by an extension landing after it.
                with self._lock:
                    if h not in self._held:
                        continue
                    self._held[h] = time.monotonic()
                    self._extend(h)
                    renew = self._renewals.get(h)
                # Outside the lock: a renewal may call a slow store, and one landing
                # after the release does nothing (it is conditional on its own).
                if renew is not None:
                    renew()

    def _extend(self, handle: str) -> None:
        try:
            self._queue.change_visibility(handle, self._timeout)
            log.debug("visibility extended", seconds=self._timeout)
        except WordfreqError as exc:
            log.warning("could not extend visibility", error=str(exc))
