"""The worker's back-off while its store or queues are unavailable: a pause that doubles
after each failure in a row, up to a ceiling, and starts over after a success. Each
pause is one ``wait`` on the worker's stop event, so SIGTERM ends it at once."""

from __future__ import annotations

import threading

import structlog

from wordfreq_service.errors import NoSuchQueue, TransientError

log = structlog.get_logger("wordfreq.worker")

#: What a worker waits out: a store or queue unavailable, or a queue gone (deleted and
#: made again). Any other error (access denied, no credentials, a link planted in the
#: data directory) stays until someone mends it: the worker stops, saying why.
OUTAGES = (TransientError, NoSuchQueue)


class Backoff:
    def __init__(self, first_s: float, most_s: float, stop: threading.Event) -> None:
        self._first = first_s
        self._most = max(first_s, most_s)
        self._next = first_s
        self._stop = stop
        #: Failures in a row since the last success.
        self.failures = 0

    def failed(self, what: str, error: str) -> None:
        """Log the failure and pause before the next try (less if stopped meanwhile)."""
        self.failures += 1
        log.warning(
            f"{what}; backing off",
            error=error,
            retry_in_s=round(self._next, 3),
            failures=self.failures,
        )
        self._stop.wait(self._next)
        self._next = min(self._next * 2, self._most)

    def succeeded(self) -> None:
        if self.failures:
            log.info("available again; resuming", failures=self.failures)
        self.failures = 0
        self._next = self._first
