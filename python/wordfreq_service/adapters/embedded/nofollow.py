"""Files and directories inside the data directory, opened without following links.

The data directory itself may be a symbolic link: where it lives is its owner's choice.
Nothing inside it is followed. A path below it is opened one component at a time, each
relative to its parent's descriptor with ``O_NOFOLLOW`` (``openat``), so a link planted
in place of the bucket directory, a fan-out directory, an object, the lock, the signing
key or a doorbell directory is refused with :class:`UnsafePath` rather than followed out
of the data directory, and no component can be swapped for a link between two checks.

Directories are opened with ``O_PATH`` where the system has it (Linux): a descriptor only
to open things relative to, which costs a third of a readable one.
"""

from __future__ import annotations

import errno
import os
import stat
import threading
import weakref
from collections.abc import Iterator, Sequence
from contextlib import contextmanager, suppress
from pathlib import Path

from wordfreq_service.errors import UnsafePath

#: A directory to open things relative to, and one to list.
_WALK = getattr(os, "O_PATH", os.O_RDONLY) | os.O_DIRECTORY | os.O_CLOEXEC
_LIST = os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC
#: What ``open`` answers for a link where ``O_NOFOLLOW`` forbids one (ENOTDIR when
#: ``O_DIRECTORY`` meets it).
_LINK_ERRNOS = {errno.ELOOP, errno.ENOTDIR, errno.EMLINK}


def refusal(path: Path) -> UnsafePath:
    return UnsafePath(
        f"{path} is a symbolic link, and wordfreq follows none inside its data directory: remove it"
    )


def open_dir(
    root: Path, parts: Sequence[str], *, create: bool = False, listable: bool = False
) -> int:
    """A descriptor of the directory ``root/parts[0]/parts[1]/...``; the caller closes
    it. ``root`` is followed, each part is not (:class:`UnsafePath`). A missing part is
    made when ``create`` (mode 0777 less the umask, as ``mkdir`` does), else
    ``FileNotFoundError``; a missing ``root`` is never made (``FileNotFoundError``):
    whoever makes the data directory gives it its private mode. Other failures are
    ``OSError``. Only a ``listable`` descriptor can be read (``os.scandir``) or synced."""
    last = _LIST if listable else _WALK
    fd = os.open(root, last if not parts else _WALK)
    try:
        for depth, part in enumerate(parts, 1):
            flags = last if depth == len(parts) else _WALK
            child = _open_child_dir(fd, part, create, root.joinpath(*parts[:depth]), flags)
            os.close(fd)
            fd = child
    except BaseException:
        os.close(fd)
        raise
    return fd


@contextmanager
def directory(
    root: Path, parts: Sequence[str], *, create: bool = False, listable: bool = False
) -> Iterator[int]:
    """:func:`open_dir` for the duration of a block."""
    fd = open_dir(root, parts, create=create, listable=listable)
    try:
        yield fd
    finally:
        os.close(fd)


class HeldDirectory:
    """The directory ``root/parts...``, opened (as :func:`open_dir` does) on first use
    and held open for the life of this object, so that each file below it costs one
    ``openat`` per level below it rather than one per level from the root. Thread-safe;
    a forked child uses the descriptor it inherited (the same directory). Removed while
    held, the directory is opened again (made again if needed) by the next
    :meth:`open_child` that creates, and by the next that does not once another process
    has made it again; until then a read finds it empty."""

    def __init__(self, root: Path, parts: Sequence[str]) -> None:
        self.root = root
        self.parts = tuple(parts)
        self._fd: int | None = None
        self._lock = threading.Lock()

    @property
    def path(self) -> Path:
        return self.root.joinpath(*self.parts)

    def fd(self, *, create: bool = False) -> int:
        """The held descriptor (not to be closed); ``FileNotFoundError`` when the
        directory is missing and not ``create``."""
        fd = self._fd
        if fd is not None:
            return fd
        with self._lock:
            if self._fd is None:
                self._fd = open_dir(self.root, self.parts, create=create)
                weakref.finalize(self, os.close, self._fd)
            return self._fd

    def open_child(self, name: str, *, create: bool = False, listable: bool = False) -> int:
        """A descriptor of the subdirectory ``name``, not through a link; the caller
        closes it."""
        flags = _LIST if listable else _WALK
        held = self.fd(create=create)
        try:
            return _open_child_dir(held, name, create, self.path / name, flags)
        except FileNotFoundError:
            if not create and not self._replaced(held):
                raise
        # The held directory was removed (nothing can be made in it), or removed and
        # made again (what is in the new one is not in it): open it again. The old
        # descriptor stays open for whoever still uses it, until this object goes.
        with self._lock:
            if self._fd == held:
                self._fd = None
        return _open_child_dir(self.fd(create=create), name, create, self.path / name, flags)

    def _replaced(self, held: int) -> bool:
        """Whether the directory at our path is another than the one ``held``."""
        try:
            now = os.stat(self.path, follow_symlinks=False)
        except OSError:
            return False  # none there: nothing better to open
        was = os.fstat(held)
        return (was.st_dev, was.st_ino) != (now.st_dev, now.st_ino)

    @contextmanager
    def child(self, name: str, *, create: bool = False, listable: bool = False) -> Iterator[int]:
        """:meth:`open_child` for the duration of a block."""
        fd = self.open_child(name, create=create, listable=listable)
        try:
            yield fd
        finally:
            os.close(fd)


def open_file(
    path: Path,
    flags: int,
    mode: int = 0o600,
    *,
    dir_fd: int | None = None,
    shown: Path | None = None,
    fifo: bool = False,
) -> int:
    """``os.open`` that refuses a link as the last component (:class:`UnsafePath`,
    naming ``shown`` or else ``path``), and anything but a regular file (a named pipe
    when ``fifo``); ``path`` is relative to ``dir_fd`` when given. Opened without
    blocking, then checked: a named pipe planted in place of a file would otherwise
    block the open until someone writes to it, forever."""
    try:
        fd = os.open(
            path, flags | os.O_NOFOLLOW | os.O_CLOEXEC | os.O_NONBLOCK, mode, dir_fd=dir_fd
        )
    except OSError as exc:
        if exc.errno in _LINK_ERRNOS and _is_link(path, dir_fd):
            raise refusal(shown or path) from None
        raise
    try:
        kind = stat.S_IFMT(os.fstat(fd).st_mode)
        if kind != (stat.S_IFIFO if fifo else stat.S_IFREG):
            raise UnsafePath(
                f"{shown or path} is not a {'named pipe' if fifo else 'regular file'}, "
                "and wordfreq opens no other kind inside its data directory: remove it"
            )
        if not flags & os.O_NONBLOCK:
            os.set_blocking(fd, True)
    except BaseException:
        os.close(fd)
        raise
    return fd


def sync_dir(dir_fd: int) -> None:
    """Make renames in the directory ``dir_fd`` durable, where the file system can."""
    try:
        fd = os.open(".", _LIST, dir_fd=dir_fd)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def refuse_link(path: Path) -> None:
    """:class:`UnsafePath` if ``path`` is a symbolic link (for files opened by others,
    SQLite's database: checked just before they open it)."""
    if _is_link(path, None):
        raise refusal(path)


def _open_child_dir(parent: int, name: str, create: bool, shown: Path, flags: int) -> int:
    try:
        return os.open(name, flags | os.O_NOFOLLOW, dir_fd=parent)
    except FileNotFoundError:
        if not create:
            raise
    except OSError as exc:
        if exc.errno in _LINK_ERRNOS and _is_link(Path(name), parent):
            raise refusal(shown) from None
        raise
    # Made meanwhile by another process: opened (and checked) below all the same.
    with suppress(FileExistsError):
        os.mkdir(name, dir_fd=parent)
    return _open_child_dir(parent, name, False, shown, flags)


def _is_link(path: Path, dir_fd: int | None) -> bool:
    try:
        return stat.S_ISLNK(os.lstat(path, dir_fd=dir_fd).st_mode)
    except OSError:
        return False
