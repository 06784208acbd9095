"""An S3-like object store on the local file system.

Each object is one file: the body, then a JSON trailer (key, size, ETag, metadata), then
a fixed footer giving the trailer's length. One file means one atomic ``os.replace``
publishes body and metadata together; a reader holding the file open keeps reading the
version it opened even while a newer one replaces it. Files are named by the SHA-256 of
the key, so no key can ever name a path outside the bucket directory, and keys like
``a`` and ``a/b`` cannot collide the way a file and a directory would. Every file and
directory is opened relative to its parent without following links (``nofollow``): a
link planted inside the data directory is refused, never followed out of it.
"""

from __future__ import annotations

import errno
import fnmatch
import hashlib
import io
import json
import os
import secrets
import stat
import struct
import time
from collections.abc import Callable, Collection, Iterator, Mapping
from contextlib import AbstractContextManager, suppress
from pathlib import Path
from types import TracebackType
from typing import BinaryIO

from wordfreq_service.adapters.embedded.keys import validate_bucket, validate_key
from wordfreq_service.adapters.embedded.nofollow import (
    HeldDirectory,
    directory,
    open_file,
    sync_dir,
)
from wordfreq_service.errors import BackendError, NoSuchKey, TransientError
from wordfreq_service.formats.s3event import object_created_event
from wordfreq_service.ports import ObjectInfo, UploadTarget

CHUNK_SIZE = 1 << 20
#: The region written into events from this store: it is not in AWS.
EMBEDDED_REGION = "local"

_FOOTER = struct.Struct(">8sQ")
_MAGIC = b"WFOBJ\x001\n"
#: A put's temporary file, in the directory of the object it becomes.
_TEMP_PREFIX, _TEMP_SUFFIX = ".put-", ".tmp"
#: OS errors worth retrying: space, quota, I/O, a read-only remount, descriptors.
_TRANSIENT_ERRNOS = {
    errno.ENOSPC,
    errno.EDQUOT,
    errno.EIO,
    errno.EROFS,
    errno.EAGAIN,
    errno.EBUSY,
    errno.EMFILE,
    errno.ENFILE,
    errno.ENOMEM,
}


class FileObjectReader(AbstractContextManager["FileObjectReader"]):
    """An open object; implements ``ports.ObjectReader``. Close it (``with``)."""

    def __init__(
        self, file: io.FileIO, info: ObjectInfo, start: int = 0, end: int | None = None
    ) -> None:
        self._file = file
        self._info = info
        # The body's bytes [start, stop): a seek, not a read of what comes before.
        self._start = min(max(start, 0), info.size)
        self._stop = max(self._start, min(info.size if end is None else end, info.size))

    @property
    def info(self) -> ObjectInfo:
        return self._info

    def iter_chunks(self, chunk_size: int = CHUNK_SIZE) -> Iterator[bytes]:
        fd = self._file.fileno()
        offset = self._start
        while offset < self._stop:
            try:
                chunk = os.pread(fd, min(chunk_size, self._stop - offset), offset)
            except OSError as exc:
                raise translate_os_error(exc, f"reading {self._info.key!r}") from exc
            if not chunk:
                raise BackendError(f"object {self._info.key!r} is shorter than its trailer says")
            offset += len(chunk)
            yield chunk

    def close(self) -> None:
        self._file.close()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


class FileStore:
    """One bucket as a directory; implements ``ports.ObjectStore``."""

    def __init__(
        self,
        directory: Path,
        bucket: str,
        *,
        notify: Callable[[str], object] | None = None,
        unannounced: str | None = None,
        root: Path | None = None,
    ) -> None:
        """``notify`` publishes the ObjectCreated event body of each put (the bucket's
        notification target); None when no notification is configured. A put whose
        event cannot be published removes its object again and raises: a stored object
        is always announced. (An object replaced under an existing key is then gone
        too; clients upload under fresh keys.) Keys starting with ``unannounced`` are
        not announced, as an S3 notification filter would leave them out. ``root`` is
        the part of ``directory`` that may be a symbolic link (the data directory;
        ``directory`` itself when None); no link below it is followed."""
        self._directory = directory
        self._root = directory if root is None else root
        self._parts = directory.relative_to(self._root).parts
        # Objects live in fan-out directories below this one (``_location``).
        self._objects = HeldDirectory(self._root, (*self._parts, "objects"))
        self._bucket = validate_bucket(bucket)
        self._notify = notify
        self._unannounced = unannounced

    @property
    def bucket(self) -> str:
        return self._bucket

    def sweep_abandoned_puts(self, older_than_s: float = 3600.0) -> int:
        """Remove temporary files of puts killed mid-write (a live put keeps touching
        its file, so an hour without a write means nobody will finish it)."""
        cutoff = time.time() - older_than_s
        removed = 0
        try:
            with directory(self._root, self._parts) as bucket_fd:
                # Links are neither followed nor removed: only the store's own files.
                walk = os.fwalk(".", dir_fd=bucket_fd, follow_symlinks=False)
                for _path, _dirs, names, dir_fd in walk:
                    for name in fnmatch.filter(names, f"{_TEMP_PREFIX}*{_TEMP_SUFFIX}"):
                        with suppress(FileNotFoundError):
                            found = os.stat(name, dir_fd=dir_fd, follow_symlinks=False)
                            if stat.S_ISREG(found.st_mode) and found.st_mtime < cutoff:
                                os.unlink(name, dir_fd=dir_fd)
                                removed += 1
        except FileNotFoundError:
            pass  # nothing stored yet
        except OSError as exc:
            raise translate_os_error(exc, f"sweeping {self._directory}") from exc
        return removed

    def sweep_unannounced(
        self, announced: Callable[[], Collection[str]], older_than_s: float = 3600.0
    ) -> int:
        """Remove uploads left behind: objects older than ``older_than_s`` whose key no
        waiting event or task names (``announced()``, the keys the queues still name)
        and which the store does not write for itself (``unannounced`` keys: stored
        counts). A worker deletes an upload only after its result is out and before its
        message; one killed in between, or a put killed between storing an object and
        committing its event, leaves an upload no message names, which nothing else
        would ever remove. The listing comes before ``announced()``, so an upload stored
        meanwhile is never taken for a leftover; a file replaced since it was listed
        (a new upload to the key) is kept."""
        cutoff = time.time() - older_than_s
        old: list[tuple[str, str, int]] = []  # fan-out directory, file name, inode
        try:
            with directory(self._root, (*self._parts, "objects")) as objects_fd:
                walk = os.fwalk(".", dir_fd=objects_fd, follow_symlinks=False)
                for path, _dirs, names, dir_fd in walk:
                    for name in names if path != "." else ():
                        if len(name) != 64 or name.startswith(_TEMP_PREFIX):
                            continue
                        with suppress(FileNotFoundError):
                            found = os.stat(name, dir_fd=dir_fd, follow_symlinks=False)
                            if stat.S_ISREG(found.st_mode) and found.st_mtime < cutoff:
                                old.append((os.path.basename(path), name, found.st_ino))
            if not old:
                return 0
            named = {_location(key)[1] for key in announced()}
            removed = 0
            for fan_out, name, inode in old:
                if name in named:
                    continue
                with suppress(FileNotFoundError), self._objects.child(fan_out) as dir_fd:
                    fd = open_file(Path(name), os.O_RDONLY, dir_fd=dir_fd)
                    with io.FileIO(fd, "rb") as file:
                        key = _trailer_key(file)
                        same = os.fstat(file.fileno()).st_ino == inode
                    if key is None or self._quiet(key) or not same:
                        continue
                    if os.stat(name, dir_fd=dir_fd, follow_symlinks=False).st_ino == inode:
                        os.unlink(name, dir_fd=dir_fd)
                        removed += 1
        except FileNotFoundError:
            return 0  # nothing stored yet
        except OSError as exc:
            raise translate_os_error(exc, f"sweeping {self._directory}") from exc
        return removed

    def put(
        self,
        key: str,
        body: BinaryIO,
        metadata: Mapping[str, str] | None = None,
        *,
        progress: Callable[[int], None] | None = None,
        announce: Callable[[str], object] | None = None,
    ) -> ObjectInfo:
        """``announce``: publishes this put's event in place of the bucket's notification
        target (the job service's, which writes the job's record in the same
        transaction); the object is removed again if it fails, as for ``notify``."""
        fan_out, file_name = _location(validate_key(key))
        wanted = {name.lower(): value for name, value in (metadata or {}).items()}
        try:
            with self._objects.child(fan_out, create=True) as dir_fd:
                return self._put_in(dir_fd, file_name, key, body, wanted, progress, announce)
        except OSError as exc:
            raise translate_os_error(exc, f"storing {key!r}") from exc

    def _put_in(
        self,
        dir_fd: int,
        name: str,
        key: str,
        body: BinaryIO,
        wanted: dict[str, str],
        progress: Callable[[int], None] | None,
        announce: Callable[[str], object] | None = None,
    ) -> ObjectInfo:
        notify = announce or self._notify
        temp = f"{_TEMP_PREFIX}{secrets.token_hex(8)}{_TEMP_SUFFIX}"
        fd = open_file(Path(temp), os.O_WRONLY | os.O_CREAT | os.O_EXCL, dir_fd=dir_fd)
        placed = False
        try:
            with os.fdopen(fd, "wb") as out:
                info = _write_object(out, key, body, wanted, progress)
                out.flush()
                os.fsync(out.fileno())
            os.replace(temp, name, src_dir_fd=dir_fd, dst_dir_fd=dir_fd)
            placed = True
            sync_dir(dir_fd)
            if notify is not None and not self._quiet(key):
                notify(
                    object_created_event(
                        self._bucket, key, info.size, info.etag, region=EMBEDDED_REGION
                    )
                )
        except BaseException as exc:
            # Stored and announced, or neither: an object whose event was never
            # published would wait unprocessed until someone noticed. An interrupt
            # (Ctrl-C, or SIGTERM turned into one by `submit`) unwinds through here too.
            with suppress(OSError):
                os.unlink(name if placed else temp, dir_fd=dir_fd)
            if isinstance(exc, OSError):
                raise translate_os_error(exc, f"storing {key!r} in {self._directory}") from exc
            if isinstance(exc, BackendError) and placed:
                raise type(exc)(
                    f"storing {key!r}: its ObjectCreated event could not be published, so "
                    f"the object was removed again: {exc}"
                ) from exc
            raise
        return info

    def _quiet(self, key: str) -> bool:
        return self._unannounced is not None and key.startswith(self._unannounced)

    def get(self, key: str, *, start: int = 0, end: int | None = None) -> FileObjectReader:
        file = self._open(key)
        try:
            return FileObjectReader(file, _read_info(file, key), start, end)
        except BaseException:
            file.close()
            raise

    def head(self, key: str) -> ObjectInfo:
        with self._open(key) as file:
            return _read_info(file, key)

    def delete(self, key: str) -> None:
        fan_out, name = _location(validate_key(key))
        try:
            with self._objects.child(fan_out) as dir_fd:
                os.unlink(name, dir_fd=dir_fd)
        except FileNotFoundError:
            pass
        except OSError as exc:
            raise translate_os_error(exc, f"deleting {key!r}") from exc

    def upload_url(
        self, key: str, size: int, metadata: Mapping[str, str], expires_in: int
    ) -> UploadTarget | None:
        """None: a file store has no URL of its own; the job service takes uploads."""
        return None

    def _open(self, key: str) -> io.FileIO:
        fan_out, name = _location(validate_key(key))
        try:
            with self._objects.child(fan_out) as dir_fd:
                shown = self._objects.path / fan_out / name
                fd = open_file(Path(name), os.O_RDONLY, dir_fd=dir_fd, shown=shown)
                return io.FileIO(fd, "rb")
        except FileNotFoundError:
            raise NoSuchKey(f"no object {key!r} in bucket {self._bucket!r}") from None
        except OSError as exc:
            raise translate_os_error(exc, f"opening {key!r}") from exc


def _location(key: str) -> tuple[str, str]:
    """The object's fan-out directory (below ``objects``) and file name."""
    digest = hashlib.sha256(key.encode("utf-8")).hexdigest()
    return digest[:2], digest


def _write_object(
    out: BinaryIO,
    key: str,
    body: BinaryIO,
    metadata: dict[str, str],
    progress: Callable[[int], None] | None,
) -> ObjectInfo:
    # S3's ETag for a single-part upload is the MD5 of the body.
    md5 = hashlib.md5(usedforsecurity=False)
    size = 0
    while chunk := body.read(CHUNK_SIZE):
        out.write(chunk)
        md5.update(chunk)
        size += len(chunk)
        if progress is not None:
            progress(len(chunk))
    info = ObjectInfo(key=key, size=size, etag=md5.hexdigest(), metadata=metadata)
    trailer = json.dumps(
        {"key": key, "size": size, "etag": info.etag, "metadata": metadata},
        ensure_ascii=False,
    ).encode("utf-8")
    out.write(trailer)
    out.write(_FOOTER.pack(_MAGIC, len(trailer)))
    return info


def _read_info(file: io.FileIO, key: str) -> ObjectInfo:
    fd = file.fileno()
    try:
        total = os.fstat(fd).st_size
        footer = os.pread(fd, _FOOTER.size, max(0, total - _FOOTER.size))
        if len(footer) != _FOOTER.size:
            raise _corrupt(key, "no footer")
        magic, length = _FOOTER.unpack(footer)
        body_size = total - _FOOTER.size - length
        if magic != _MAGIC or body_size < 0:
            raise _corrupt(key, "bad footer")
        trailer = json.loads(os.pread(fd, length, body_size))
    except OSError as exc:
        raise translate_os_error(exc, f"reading {key!r}") from exc
    except ValueError as exc:
        raise _corrupt(key, f"bad trailer: {exc}") from exc
    if not isinstance(trailer, dict) or trailer.get("key") != key:
        raise _corrupt(key, "trailer names another key")
    if trailer.get("size") != body_size:
        raise _corrupt(key, "size mismatch")
    return ObjectInfo(
        key=key, size=body_size, etag=str(trailer["etag"]), metadata=dict(trailer["metadata"])
    )


def _trailer_key(file: io.FileIO) -> str | None:
    """The key an object file's trailer names; None for a damaged file (left alone)."""
    fd = file.fileno()
    try:
        total = os.fstat(fd).st_size
        magic, length = _FOOTER.unpack(os.pread(fd, _FOOTER.size, max(0, total - _FOOTER.size)))
        if magic != _MAGIC or total - _FOOTER.size - length < 0:
            return None
        trailer = json.loads(os.pread(fd, length, total - _FOOTER.size - length))
    except (ValueError, struct.error):
        return None
    key = trailer.get("key") if isinstance(trailer, dict) else None
    return key if isinstance(key, str) else None


def _corrupt(key: str, why: str) -> BackendError:
    return BackendError(f"object {key!r} is damaged ({why})")


def translate_os_error(exc: OSError, doing: str) -> BackendError:
    if exc.errno in _TRANSIENT_ERRNOS:
        return TransientError(f"{doing}: {exc.strerror or exc}")
    return BackendError(f"{doing}: {exc.strerror or exc}")
