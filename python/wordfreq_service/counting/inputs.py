"""Opening user input: files or standard input, decompressed while streaming.

Compression is recognised by magic bytes, never by file name, so ``data.txt`` that is
really gzip still counts, and a plain file named ``x.gz`` is read as it is.
"""

from __future__ import annotations

import io
import itertools
import os
import stat
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO, cast

from wordfreq_service.errors import InputError

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


def _open_decompressor(kind: str, raw: BinaryIO) -> BinaryIO:
    # Imported here: plain text, the common case, never pays for these modules.
    if kind == "gzip":
        import gzip

        return cast(BinaryIO, gzip.GzipFile(fileobj=raw, mode="rb"))
    if kind == "bzip2":
        import bz2

        return cast(BinaryIO, bz2.BZ2File(raw, mode="rb"))
    if kind == "xz":
        import lzma

        return cast(BinaryIO, lzma.LZMAFile(raw, mode="rb"))
    import zstandard

    reader = zstandard.ZstdDecompressor().stream_reader(raw, read_across_frames=True)
    return cast(BinaryIO, reader)


def _corrupt_errors() -> tuple[type[BaseException], ...]:
    import lzma
    import zlib

    import zstandard

    return (OSError, EOFError, ValueError, lzma.LZMAError, zlib.error, zstandard.ZstdError)


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
    """A raw stream over an iterator of byte chunks, for the decompressors."""

    def __init__(self, chunks: Iterator[bytes]) -> None:
        self._chunks = chunks
        self._pending = memoryview(b"")

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: bytearray | memoryview) -> int:  # type: ignore[override]
        view = memoryview(buffer).cast("B")
        while not self._pending:
            nxt = next(self._chunks, None)
            if nxt is None:
                return 0
            self._pending = memoryview(nxt)
        n = min(len(view), len(self._pending))
        view[:n] = self._pending[:n]
        self._pending = self._pending[n:]
        return n


def decompress_chunks(
    chunks: Iterator[bytes], name: str, chunk_size: int = CHUNK_SIZE
) -> Iterator[bytes]:
    """The bytes of a stream given as chunks, decompressed when its first bytes are a
    known magic number; plain data passes through untouched. Failures name ``name``."""
    head = b""
    while len(head) < _MAGIC_LEN:
        nxt = next(chunks, None)
        if nxt is None:
            break
        head += nxt
    kind = sniff_compression(head)
    if kind is None:
        if head:
            yield head
        yield from chunks
        return
    raw = io.BufferedReader(_IterRaw(itertools.chain((head,), chunks)), chunk_size)
    stream = _open_decompressor(kind, cast(BinaryIO, raw))
    errors = _corrupt_errors()
    while True:
        try:
            chunk = stream.read(chunk_size)
        except errors as exc:
            raise InputError(f"{name}: corrupt {kind} stream: {exc}") from exc
        if not chunk:
            return
        yield chunk


def _read_file(raw: BinaryIO, name: str, chunk_size: int) -> Iterator[bytes]:
    while True:
        try:
            chunk = raw.read(chunk_size)
        except OSError as exc:
            raise InputError(f"{name}: {describe_os_error(exc)}") from exc
        if not chunk:
            return
        yield chunk


def iter_chunks(path: str | Path, chunk_size: int = CHUNK_SIZE) -> Iterator[bytes]:
    """Decompressed chunks of a file; every failure becomes an InputError naming it."""
    name = str(path)
    raw = open_path(name)
    try:
        yield from decompress_chunks(_read_file(raw, name, chunk_size), name, chunk_size)
    finally:
        if raw is not sys.stdin.buffer:
            raw.close()


def prefetched(chunks: Iterator[bytes], depth: int = 2) -> Iterator[bytes]:
    """Read ahead on a thread, so the next chunk is read (or decompressed) while the
    counting core, which releases the GIL, counts this one."""
    import queue
    import threading

    box: queue.Queue[tuple[bytes | None, BaseException | None]] = queue.Queue(depth)
    stop = threading.Event()

    def pump() -> None:
        try:
            for chunk in chunks:
                if stop.is_set():
                    return
                box.put((chunk, None))
            box.put((None, None))
        except BaseException as exc:  # handed to the consumer, raised there
            box.put((None, exc))

    thread = threading.Thread(target=pump, name="read-ahead", daemon=True)
    thread.start()
    try:
        while True:
            chunk, error = box.get()
            if error is not None:
                raise error
            if chunk is None:
                return
            yield chunk
    finally:
        stop.set()
        while thread.is_alive():
            try:
                box.get_nowait()
            except queue.Empty:
                thread.join(0.01)
