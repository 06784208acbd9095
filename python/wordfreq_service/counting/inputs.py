"""Opening user input: files or standard input, decompressed while streaming.

Compression is recognised by magic bytes, never by file name, so ``data.txt`` that is
really gzip still counts, and a plain file named ``x.gz`` is read as it is.

A compressed stream that is corrupt or cut short is an error, never partial data; and
the bytes a stream yields (after decompression) may be capped, since a few megabytes of
gzip can hold terabytes.
"""

from __future__ import annotations

import io
import itertools
import os
import stat
import sys

from wordfreq_service.errors import InputError

TYPE_CHECKING = False  # not typing's: `wordfreq count` imports this module, typing costs ~10 ms
if TYPE_CHECKING:
    import lzma
    from collections.abc import Iterator
    from pathlib import Path
    from typing import BinaryIO

CHUNK_SIZE = 8 << 20
#: The input limit callers pass unless told otherwise: bytes after decompression.
DEFAULT_MAX_INPUT_BYTES = 16 * 2**30

#: The memory a decompressor may take for its window (xz's dictionary, zstd's window),
#: fixed by the stream's header: an xz header may ask for 4 GiB, and a bomb then fills it.
#: zstd's own default limit, above what every xz preset needs (65 MiB for -9).
DECOMPRESSOR_MEMORY_BYTES = 128 << 20

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
    from typing import cast

    if kind == "gzip":
        import gzip

        return cast("BinaryIO", gzip.GzipFile(fileobj=raw, mode="rb"))
    if kind == "bzip2":
        import bz2

        return cast("BinaryIO", bz2.BZ2File(raw, mode="rb"))
    if kind == "xz":
        # Not lzma.LZMAFile: it has no memory limit to give the decoder.
        return cast("BinaryIO", io.BufferedReader(_XzReader(raw), CHUNK_SIZE))
    import zstandard

    decompressor = zstandard.ZstdDecompressor(max_window_size=DECOMPRESSOR_MEMORY_BYTES)
    reader = decompressor.stream_reader(raw, read_across_frames=True)
    return cast("BinaryIO", reader)


class MemoryLimitError(ValueError):
    """A compressed stream's header asks for more decoder memory than allowed."""


class _XzReader(io.RawIOBase):
    """The streams of an .xz file one after another, read as ``lzma.LZMAFile`` reads
    them (bytes after a stream that begin no other are ignored), with the decoder's
    memory limited to ``DECOMPRESSOR_MEMORY_BYTES``."""

    def __init__(self, raw: BinaryIO) -> None:
        self._raw = raw
        self._decoder = _xz_decoder()
        self._done = False

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: bytearray | memoryview) -> int:  # type: ignore[override]
        import lzma

        view = memoryview(buffer).cast("B")
        while not self._done:
            following = self._decoder.eof
            if following:
                data = self._decoder.unused_data or self._raw.read(CHUNK_SIZE)
                if not data:
                    self._done = True
                    break
                self._decoder = _xz_decoder()
            elif self._decoder.needs_input:
                data = self._raw.read(CHUNK_SIZE)
                if not data:
                    raise EOFError("the stream ends before its end-of-stream marker")
            else:
                data = b""
            try:
                out = self._decoder.decompress(data, max_length=len(view))
            except lzma.LZMAError as exc:
                if "memory usage limit" in str(exc).lower():
                    raise MemoryLimitError(str(exc)) from exc
                if not following:
                    raise
                self._done = True  # trailing bytes that are no stream
                break
            if out:
                view[: len(out)] = out
                return len(out)
        return 0


def _xz_decoder() -> lzma.LZMADecompressor:
    import lzma

    # FORMAT_AUTO, as LZMAFile: it tells at once that bytes after a stream begin none.
    return lzma.LZMADecompressor(lzma.FORMAT_AUTO, memlimit=DECOMPRESSOR_MEMORY_BYTES)


_ZSTD_FRAME = 0xFD2FB528
_ZSTD_SKIPPABLE = 0x184D2A50  # the low four bits are free


class ZstdFrames:
    """Follows the frame and block headers of a zstd stream as it goes by, to tell at the
    end whether the stream stopped between frames. zstandard's stream reader reports a
    stream cut inside a frame as a plain end of data; its decompressobj would report it,
    but returns all the output of each input at once, unbounded (one compressed byte can
    stand for 32 KiB of output), so it is no answer for hostile input. Only headers are
    read; the blocks themselves are decoded (and checked) by zstandard."""

    def __init__(self) -> None:
        self._header = bytearray()
        self._need = 4  # header bytes wanted in the current state
        self._state = "magic"
        self._skip = 0  # payload bytes to pass over before the next header
        self._checksum = False
        self.unknown = False  # not a zstd frame: zstandard raises its own error

    @property
    def complete(self) -> bool:
        """The bytes so far end exactly between two frames (or before any)."""
        return not self.unknown and self._state == "magic" and not self._header and not self._skip

    def feed(self, data: bytes) -> None:
        view = memoryview(data)
        i, n = 0, len(view)
        while i < n and not self.unknown:
            if self._skip:
                step = min(self._skip, n - i)
                self._skip -= step
                i += step
                continue
            step = min(self._need - len(self._header), n - i)
            self._header += view[i : i + step]
            i += step
            if len(self._header) == self._need:
                header = bytes(self._header)
                self._header.clear()
                self._parse(header)

    def _expect(self, state: str, need: int, skip: int = 0) -> None:
        self._state, self._need, self._skip = state, need, skip

    def _parse(self, header: bytes) -> None:
        value = int.from_bytes(header, "little")
        if self._state == "magic":
            if value == _ZSTD_FRAME:
                self._expect("descriptor", 1)
            elif value & ~0xF == _ZSTD_SKIPPABLE:
                self._expect("skippable size", 4)
            else:
                self.unknown = True
        elif self._state == "skippable size":
            self._expect("magic", 4, skip=value)
        elif self._state == "descriptor":
            single_segment = bool(value & 0x20)
            self._checksum = bool(value & 0x04)
            window = 0 if single_segment else 1
            dict_id = (0, 1, 2, 4)[value & 3]
            content_size = (1 if single_segment else 0, 2, 4, 8)[value >> 6]
            self._expect("block", 3, skip=window + dict_id + content_size)
        elif self._state == "block":
            last, kind, size = value & 1, (value >> 1) & 3, value >> 3
            if kind == 3:
                self.unknown = True
                return
            payload = 1 if kind == 1 else size  # an RLE block holds one byte
            if not last:
                self._expect("block", 3, skip=payload)
            else:
                self._expect("magic", 4, skip=payload + (4 if self._checksum else 0))


def _tap(chunks: Iterator[bytes], frames: ZstdFrames) -> Iterator[bytes]:
    for chunk in chunks:
        frames.feed(chunk)
        yield chunk


def human_size(n: int) -> str:
    """``16 GiB``, ``1.5 MiB``, ``1000 bytes``."""
    for unit, shift in (("PiB", 50), ("TiB", 40), ("GiB", 30), ("MiB", 20), ("KiB", 10)):
        if n >= 1 << shift:
            return f"{n / (1 << shift):.4g} {unit}"
    return f"{n} bytes"


def _over_limit(name: str, max_bytes: int, compressed: bool) -> InputError:
    after = " after decompression" if compressed else ""
    return InputError(f"{name}: more than {human_size(max_bytes)}{after} (the input limit)")


def _over_memory(name: str, kind: str) -> InputError:
    limit = human_size(DECOMPRESSOR_MEMORY_BYTES)
    return InputError(
        f"{name}: the {kind} stream needs more than {limit} to decompress (the limit)"
    )


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


def open_plain_file(path: str, max_bytes: int | None) -> tuple[BinaryIO, int] | None:
    """Open ``path`` when it is a regular, uncompressed file, with its size (which may not
    be its length: ``/proc`` files say 0, sysfs files 4096), for the core to read in
    ranges (``Counter.feed_file``) or to stream with ``plain_chunks``. None for standard
    input, pipes, devices and compressed files, which stream by path (a pipe is never
    opened here: opening and closing a FIFO would lose its writer). ``InputError`` naming
    the file when it cannot be opened, or when it is longer than ``max_bytes`` (checked
    before a byte is read).

    What is opened is checked again on the open descriptor: a FIFO put in the file's place
    after the first look neither blocks the open (``O_NONBLOCK``) nor reaches the core: it
    comes back with a size of 0, to stream from that descriptor."""
    if path == "-":
        return None
    try:
        if not stat.S_ISREG(os.stat(path).st_mode):
            return None
    except OSError:
        return None  # streaming reports it, as ever
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    except OSError as exc:
        raise InputError(f"{path}: {describe_os_error(exc)}") from exc
    raw = os.fdopen(fd, "rb")
    try:
        st = os.fstat(fd)
        os.set_blocking(fd, True)
        if stat.S_ISDIR(st.st_mode):
            raise InputError(f"{path}: is a directory")
        if not stat.S_ISREG(st.st_mode):
            return raw, 0
        head = os.pread(fd, _MAGIC_LEN, 0)
    except OSError as exc:
        raw.close()
        raise InputError(f"{path}: {describe_os_error(exc)}") from exc
    except InputError:
        raw.close()
        raise
    if sniff_compression(head) is not None:
        raw.close()
        return None
    size = st.st_size
    if max_bytes is not None and size > max_bytes:
        raw.close()
        raise _over_limit(path, max_bytes, compressed=False)
    return raw, size


def plain_chunks(raw: BinaryIO, name: str, max_bytes: int | None) -> Iterator[bytes]:
    """The chunks of a file ``open_plain_file`` opened (decompressed if it turns out to
    be compressed after all), at most ``max_bytes`` of them; the caller closes ``raw``."""
    return decompress_chunks(_read_file(raw, name, CHUNK_SIZE), name, CHUNK_SIZE, max_bytes)


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
    chunks: Iterator[bytes],
    name: str,
    chunk_size: int = CHUNK_SIZE,
    max_bytes: int | None = None,
) -> Iterator[bytes]:
    """The bytes of a stream given as chunks, decompressed when its first bytes are a
    known magic number; plain data passes through untouched. Failures name ``name``:
    a corrupt or truncated compressed stream, and more than ``max_bytes`` (after
    decompression; None: no limit), which fails before the excess is yielded."""
    head = b""
    while len(head) < _MAGIC_LEN:
        nxt = next(chunks, None)
        if nxt is None:
            break
        head += nxt
    kind = sniff_compression(head)
    if kind is None:
        stream: Iterator[bytes] = itertools.chain((head,) if head else (), chunks)
        yield from _capped(stream, name, max_bytes, compressed=False)
        return
    yield from _capped(_decompressed(kind, head, chunks, name, chunk_size), name, max_bytes, True)


def _capped(
    chunks: Iterator[bytes], name: str, max_bytes: int | None, compressed: bool
) -> Iterator[bytes]:
    if max_bytes is None:
        yield from chunks
        return
    total = 0
    for chunk in chunks:
        total += len(chunk)
        if total > max_bytes:
            raise _over_limit(name, max_bytes, compressed)
        yield chunk


def _decompressed(
    kind: str, head: bytes, chunks: Iterator[bytes], name: str, chunk_size: int
) -> Iterator[bytes]:
    source: Iterator[bytes] = itertools.chain((head,), chunks)
    frames = ZstdFrames() if kind == "zstd" else None
    if frames is not None:
        source = _tap(source, frames)
    raw = io.BufferedReader(_IterRaw(source), chunk_size)
    stream = _open_decompressor(kind, raw)
    errors = _corrupt_errors()
    while True:
        try:
            # Each read is bounded by chunk_size, whatever the compression ratio.
            chunk = stream.read(chunk_size)
        except MemoryLimitError as exc:
            raise _over_memory(name, kind) from exc
        except errors as exc:
            if kind == "zstd" and "too much memory" in str(exc):
                raise _over_memory(name, kind) from exc
            raise InputError(f"{name}: corrupt or truncated {kind} stream: {exc}") from exc
        if not chunk:
            break
        yield chunk
    if frames is not None and not frames.complete:
        # gzip, bzip2 and xz raise EOFError for this; zstandard's reader does not.
        raise InputError(f"{name}: corrupt or truncated zstd stream: it ends inside a frame")


def _read_file(raw: BinaryIO, name: str, chunk_size: int) -> Iterator[bytes]:
    while True:
        try:
            chunk = raw.read(chunk_size)
        except OSError as exc:
            raise InputError(f"{name}: {describe_os_error(exc)}") from exc
        if not chunk:
            return
        yield chunk


def iter_chunks(
    path: str | Path, chunk_size: int = CHUNK_SIZE, max_bytes: int | None = None
) -> Iterator[bytes]:
    """Decompressed chunks of a file; every failure becomes an InputError naming it,
    including more than ``max_bytes`` after decompression (None: no limit)."""
    name = str(path)
    raw = open_path(name)
    try:
        chunks = _read_file(raw, name, chunk_size)
        yield from decompress_chunks(chunks, name, chunk_size, max_bytes)
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
