"""Opening user input: files or standard input, decompressed while streaming.

Compression is recognised by magic bytes, never by file name, so ``data.txt`` that is
really gzip still counts, and a plain file named ``x.gz`` is read as it is.
"""

from __future__ import annotations

import bz2
import gzip
import io
import lzma
import os
import stat
import sys
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO, cast

from wordfreq.errors import InputError

CHUNK_SIZE = 8 << 20

_MAGIC: tuple[tuple[bytes, str], ...] = (
    (b"\x1f\x8b", "gzip"),
    (b"BZh", "bzip2"),
    (b"\xfd7zXZ\x00", "xz"),
    (b"\x28\xb5\x2f\xfd", "zstd"),
)
_MAGIC_LEN = max(len(m) for m, _ in _MAGIC)


def sniff_compression(head: bytes) -> str | None:
    for magic, name in _MAGIC:
        if head.startswith(magic):
            return name
    return None


class _Prefixed(io.RawIOBase):
    """A raw stream that yields ``prefix`` before the rest of ``inner``."""

    def __init__(self, prefix: bytes, inner: BinaryIO) -> None:
        self._prefix = prefix
        self._inner = inner

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: bytearray | memoryview) -> int:  # type: ignore[override]
        view = memoryview(buffer).cast("B")
        if self._prefix:
            n = min(len(view), len(self._prefix))
            view[:n] = self._prefix[:n]
            self._prefix = self._prefix[n:]
            return n
        data = self._inner.read(len(view))
        view[: len(data)] = data
        return len(data)


def _read_head(raw: BinaryIO) -> bytes:
    head = b""
    while len(head) < _MAGIC_LEN:
        more = raw.read(_MAGIC_LEN - len(head))
        if not more:
            break
        head += more
    return head


def decompressing(raw: BinaryIO) -> tuple[BinaryIO, str | None]:
    """Wrap ``raw`` so that reading it yields the decompressed bytes."""
    head = _read_head(raw)
    stream: BinaryIO = io.BufferedReader(_Prefixed(head, raw), CHUNK_SIZE)
    kind = sniff_compression(head)
    if kind == "gzip":
        return cast(BinaryIO, gzip.GzipFile(fileobj=stream, mode="rb")), kind
    if kind == "bzip2":
        return cast(BinaryIO, bz2.BZ2File(stream, mode="rb")), kind
    if kind == "xz":
        return cast(BinaryIO, lzma.LZMAFile(stream, mode="rb")), kind
    if kind == "zstd":
        import zstandard

        reader = zstandard.ZstdDecompressor().stream_reader(stream, read_across_frames=True)
        return cast(BinaryIO, reader), kind
    return stream, None


def _corrupt_errors() -> tuple[type[BaseException], ...]:
    errors: list[type[BaseException]] = [OSError, EOFError, lzma.LZMAError, zlib.error, ValueError]
    try:
        import zstandard

        errors.append(zstandard.ZstdError)
    except ImportError:  # pragma: no cover - zstandard is a dependency
        pass
    return tuple(errors)


def describe_os_error(exc: OSError) -> str:
    return exc.strerror or str(exc)


def open_path(path: str) -> BinaryIO:
    """Open a file for reading (``-`` is standard input), with one-line errors."""
    if path == "-":
        return sys.stdin.buffer
    try:
        st = os.stat(path)
    except OSError as exc:
        raise InputError(f"{path}: {describe_os_error(exc)}") from exc
    if stat.S_ISDIR(st.st_mode):
        raise InputError(f"{path}: is a directory")
    try:
        return open(path, "rb")  # closed by the caller
    except OSError as exc:
        raise InputError(f"{path}: {describe_os_error(exc)}") from exc


class _IterRaw(io.RawIOBase):
    """A raw stream over an iterator of byte chunks (an object body, for instance)."""

    def __init__(self, chunks: Iterator[bytes]) -> None:
        self._chunks = chunks
        self._pending = b""

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: bytearray | memoryview) -> int:  # type: ignore[override]
        view = memoryview(buffer).cast("B")
        while not self._pending:
            nxt = next(self._chunks, None)
            if nxt is None:
                return 0
            self._pending = nxt
        n = min(len(view), len(self._pending))
        view[:n] = self._pending[:n]
        self._pending = self._pending[n:]
        return n


def _read_all(stream: BinaryIO, kind: str | None, name: str, chunk_size: int) -> Iterator[bytes]:
    while True:
        try:
            chunk = stream.read(chunk_size)
        except _corrupt_errors() as exc:
            what = f"corrupt {kind} stream" if kind else "read failed"
            raise InputError(f"{name}: {what}: {exc}") from exc
        if not chunk:
            return
        yield chunk


def decompress_chunks(
    chunks: Iterator[bytes], name: str, chunk_size: int = CHUNK_SIZE
) -> Iterator[bytes]:
    """Decompressed chunks of a stream given as chunks; failures name ``name``."""
    raw = io.BufferedReader(_IterRaw(chunks), chunk_size)
    try:
        stream, kind = decompressing(raw)
    except _corrupt_errors() as exc:
        raise InputError(f"{name}: read failed: {exc}") from exc
    yield from _read_all(stream, kind, name, chunk_size)


def iter_chunks(path: str | Path, chunk_size: int = CHUNK_SIZE) -> Iterator[bytes]:
    """Decompressed chunks of a file; every failure becomes an InputError naming it."""
    name = str(path)
    raw = open_path(name)
    try:
        try:
            stream, kind = decompressing(raw)
        except OSError as exc:
            raise InputError(f"{name}: {describe_os_error(exc)}") from exc
        yield from _read_all(stream, kind, name, chunk_size)
    finally:
        if raw is not sys.stdin.buffer:
            raw.close()
