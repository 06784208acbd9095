"""The embedded stack's presence on a data directory, told by a lock file.

``wordfreq up`` holds an exclusive ``flock`` on ``<data dir>/stack.lock`` while it runs;
the kernel drops it when the process dies, so a crashed stack never looks alive.
``wordfreq submit`` probes it to decide whether it must bring its own workers.
"""

from __future__ import annotations

import fcntl
import json
import os
import time
from pathlib import Path
from types import TracebackType

from wordfreq_service.adapters.embedded.nofollow import open_file
from wordfreq_service.errors import ConfigError, UnsafePath

LOCK_NAME = "stack.lock"


class StackLock:
    def __init__(self, data_dir: Path) -> None:
        self.path = data_dir / LOCK_NAME
        self._fd: int | None = None

    def acquire(self, workers: int) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        # Not through a link: the lock file is truncated and written below.
        fd = _open_lock(self.path, os.O_RDWR | os.O_CREAT)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            raise ConfigError(
                f"a stack is already running on {self.path.parent} ({describe(self.path)})"
            ) from None
        os.ftruncate(fd, 0)
        info = {"pid": os.getpid(), "workers": workers, "started": time.time()}
        os.write(fd, json.dumps(info).encode())
        self._fd = fd

    def release(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None

    def __enter__(self) -> StackLock:
        return self

    def __exit__(
        self, t: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.release()


def describe(path: Path) -> str:
    try:
        info = json.loads(path.read_text() or "{}")
        return f"pid {info.get('pid')}, {info.get('workers')} workers"
    except (OSError, ValueError):
        return "unknown process"


def is_running(data_dir: Path) -> bool:
    """True when a ``wordfreq up`` holds the lock on ``data_dir``."""
    path = data_dir / LOCK_NAME
    try:
        fd = _open_lock(path, os.O_RDONLY)
    except FileNotFoundError:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    finally:
        os.close(fd)
    return False


def _open_lock(path: Path, flags: int) -> int:
    try:
        return open_file(path, flags, 0o644)
    except UnsafePath as exc:
        raise ConfigError(str(exc)) from None
