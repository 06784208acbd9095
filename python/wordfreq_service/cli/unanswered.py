"""``submit``'s bound on a service that stops answering (a server paused, a link cut
off): without it, a request that hangs is retried for minutes (read timeouts of 30 s,
five attempts) whatever ``--timeout`` says.

A :class:`Watchdog` raises :class:`Unanswered` in the main thread when it is not re-armed
in time (SIGALRM, as ``submit`` turns SIGTERM into ``Terminated``), so the client unwinds
through its usual cleanup and prints one line. If that unwinding is itself stuck behind
the silent service (a transfer waiting for its threads), the line is written and the
process ends ``GRACE_S`` later without waiting any longer."""

from __future__ import annotations

import os
import signal
import threading
from types import FrameType, TracebackType

#: How long the unwinding after a deadline may take before the process just ends.
GRACE_S = 2.0
EXIT_FAILURE = 1


class Unanswered(KeyboardInterrupt):
    """No answer from the service in time: raised in the main thread by the watchdog.
    A KeyboardInterrupt, as ``Terminated`` is: no ``except Exception`` on the way (in
    a library's retry loop) swallows it."""


class Watchdog:
    """Raises :class:`Unanswered` once ``rearm``'s seconds pass without another
    ``rearm``. Main thread only (signal handlers run there); ``rearm`` from any."""

    def __init__(self) -> None:
        self._doing = ""
        self._fired = False
        self._active = False
        self._previous: object = None
        # Between rearm's check and its setitimer, __exit__ must not disarm: a timer
        # armed after it would find SIGALRM's default action, which kills the process.
        self._lock = threading.Lock()

    def __enter__(self) -> Watchdog:
        self._previous = signal.signal(signal.SIGALRM, self._alarm)
        self._active = True
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        with self._lock:
            self._active = False
            if self._fired:
                # The grace stays armed through the interpreter's exit: that can wait on
                # the same stuck transfer threads (joined at exit) as the unwinding did.
                return
            signal.setitimer(signal.ITIMER_REAL, 0)
            signal.signal(signal.SIGALRM, self._previous)  # type: ignore[arg-type]

    def rearm(self, seconds: float, doing: str) -> None:
        """Allow ``seconds`` more for ``doing`` (what the message will say was stuck).
        Nothing once the deadline has passed (transfer threads still report progress
        while the command unwinds: the grace must not grow back to ``seconds``) or
        outside the ``with`` block (no handler: the alarm would kill the process)."""
        with self._lock:
            if self._fired or not self._active:
                return
            self._doing = f"no answer for {seconds:g}s {doing}"
            signal.setitimer(signal.ITIMER_REAL, max(seconds, 0.001))

    def _alarm(self, _signum: int, _frame: FrameType | None) -> None:
        message = f"wordfreq: error: {self._doing}: the service is unavailable"
        if self._fired:
            # The unwinding is stuck too: say it and go (no logging in a handler).
            os.write(2, (message + "\n").encode())
            os._exit(EXIT_FAILURE)
        self._fired = True
        signal.setitimer(signal.ITIMER_REAL, GRACE_S)
        raise Unanswered(message)
