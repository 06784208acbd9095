"""Doorbells: wake long-polling receivers in any process the moment a queue has work.

A receiver about to wait creates a named pipe (FIFO) in ``<dir>/<queue>/`` and polls
it; a sender that has just committed a message writes one byte into every pipe of that
queue. Waking takes a few system calls instead of a polling loop, so an idle receiver
costs nothing and a busy one hears about a message within tens of microseconds.

Ringing is best effort: a sender that crashes between its commit and its ring leaves
receivers asleep, so they also re-check the queue at a modest interval. A pipe whose
receiver died has no reader; the next ring notices (ENXIO) and removes it.

Where named pipes are unavailable (no ``os.mkfifo``, or a file system refusing them),
``listen`` falls back to short sleeps. Where a symbolic link stands in place of a
queue's directory (``nofollow``) no pipe is made or rung outside the data directory, and
a receiver hears of messages only when it re-checks the queue: sleeping a few
milliseconds would turn every idle receiver into a busy poller for as long as the link
stays.
"""

from __future__ import annotations

import errno
import math
import os
import secrets
import select
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Protocol

from wordfreq_service.adapters.embedded.nofollow import HeldDirectory, open_file
from wordfreq_service.errors import UnsafePath

#: Sleep between checks when named pipes are unavailable.
FALLBACK_POLL_S = 0.005
_SUFFIX = ".bell"
#: mkfifo errors meaning "this file system has no named pipes" rather than "not now".
_NO_FIFOS = {errno.EPERM, errno.EACCES, errno.EINVAL, errno.ENOSYS, errno.EOPNOTSUPP}


class Listener(Protocol):
    def wait(self, timeout: float) -> bool:
        """Block until rung or ``timeout`` seconds pass; True if rung. May wake early."""
        ...


class Doorbells:
    """The doorbells of every queue in one data directory."""

    def __init__(self, directory: Path, *, root: Path | None = None) -> None:
        """``root``: the part of ``directory`` that may be a symbolic link (the data
        directory; ``directory`` itself when None)."""
        self.directory = directory
        root = directory if root is None else root
        self._held = HeldDirectory(root, directory.relative_to(root).parts)
        self._fifo_supported = hasattr(os, "mkfifo")

    def ring(self, queue: str) -> None:
        """Wake every receiver waiting on ``queue``. Never raises."""
        try:
            with self._held.child(queue, listable=True) as dir_fd:
                with os.scandir(dir_fd) as entries:
                    names = [
                        entry.name
                        for entry in entries
                        # d_type tells a FIFO apart without a stat call: it is none of these.
                        if entry.name.endswith(_SUFFIX)
                        and not entry.is_file(follow_symlinks=False)
                        and not entry.is_dir(follow_symlinks=False)
                        and not entry.is_symlink()
                    ]
                for name in names:
                    _ring_one(name, dir_fd)
        except (OSError, UnsafePath):
            return

    @contextmanager
    def listen(self, queue: str) -> Iterator[Listener]:
        """Register a waiter on ``queue`` for the duration of the block.

        Register before checking the queue: a message committed after the check then
        rings this listener, and one committed before it is found by the check."""
        listener = self._fifo_listener(queue) if self._fifo_supported else None
        if not isinstance(listener, _FifoListener):
            yield listener or _SleepingListener(FALLBACK_POLL_S)
            return
        try:
            yield listener
        finally:
            listener.close()

    def _fifo_listener(self, queue: str) -> _FifoListener | _SleepingListener | None:
        name = f"{os.getpid()}-{threading.get_ident()}-{secrets.token_hex(4)}{_SUFFIX}"
        try:
            dir_fd = self._held.open_child(queue, create=True)
        except (OSError, UnsafePath) as exc:
            return self._no_fifo(exc)
        try:
            return _FifoListener(dir_fd, name)
        except (OSError, UnsafePath) as exc:
            os.close(dir_fd)
            return self._no_fifo(exc)

    def _no_fifo(self, exc: OSError | UnsafePath) -> _SleepingListener | None:
        if isinstance(exc, UnsafePath):
            return _SleepingListener(math.inf)  # each wait lasts until the re-check
        if exc.errno in _NO_FIFOS:
            self._fifo_supported = False  # remember, so we do not retry each time
        return None


class _FifoListener:
    """A named pipe ``name`` in the directory ``dir_fd``, which it holds (and closes)."""

    def __init__(self, dir_fd: int, name: str) -> None:
        self._dir_fd = dir_fd
        self._name = name
        # Made under a name ringers ignore, and named a bell only once it has a reader:
        # a ringer finding a bell without one takes it for a dead receiver's.
        pending = name.removesuffix(_SUFFIX) + ".new"
        os.mkfifo(pending, 0o600, dir_fd=dir_fd)
        fds: list[int] = []
        try:
            fds.append(
                open_file(Path(pending), os.O_RDONLY | os.O_NONBLOCK, dir_fd=dir_fd, fifo=True)
            )
            # Our own write end keeps poll() from reporting hang-up forever once a
            # ringer has opened and closed the pipe.
            fds.append(
                open_file(Path(pending), os.O_WRONLY | os.O_NONBLOCK, dir_fd=dir_fd, fifo=True)
            )
            os.rename(pending, name, src_dir_fd=dir_fd, dst_dir_fd=dir_fd)
        except (OSError, UnsafePath):
            for fd in fds:
                os.close(fd)
            with suppress(OSError):
                os.unlink(pending, dir_fd=dir_fd)
            raise
        self._read_fd, self._hold_fd = fds
        self._poller = select.poll()
        self._poller.register(self._read_fd, select.POLLIN)

    def wait(self, timeout: float) -> bool:
        ready = self._poller.poll(max(0, math.ceil(timeout * 1000)))
        if not ready:
            return False
        with suppress(BlockingIOError):
            while os.read(self._read_fd, 4096):
                pass
        return True

    def close(self) -> None:
        with suppress(OSError):
            os.unlink(self._name, dir_fd=self._dir_fd)
        for fd in (self._read_fd, self._hold_fd, self._dir_fd):
            with suppress(OSError):
                os.close(fd)


class _SleepingListener:
    """Hears nothing: sleeps ``timeout``, or ``most_s`` if that is shorter."""

    def __init__(self, most_s: float) -> None:
        self._most = most_s

    def wait(self, timeout: float) -> bool:
        time.sleep(max(0.0, min(timeout, self._most)))
        return False


def _ring_one(name: str, dir_fd: int) -> None:
    try:
        fd = open_file(Path(name), os.O_WRONLY | os.O_NONBLOCK, dir_fd=dir_fd, fifo=True)
    except UnsafePath:
        return
    except OSError as exc:
        if exc.errno == errno.ENXIO:  # no reader: its receiver died without cleaning up
            with suppress(OSError):
                os.unlink(name, dir_fd=dir_fd)
        return
    try:
        os.write(fd, b"\x01")
    except OSError:
        pass  # a full pipe has been rung already
    finally:
        os.close(fd)
