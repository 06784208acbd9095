"""Decompression bombs of every format the worker reads, made in moments: a block
compressed once and repeated (gzip members, bzip2/xz streams and zstd frames may all be
concatenated), and headers that ask the decoder for gigabytes of window."""

from __future__ import annotations

import bz2
import gzip
import lzma
import struct
import zlib

import zstandard

#: What each bomb's bytes expand to at least (the test's worker has a lower input limit).
EXPANDS_TO = 64 << 20
_TEXT = b"ab " * (1 << 20)  # 3 MiB of one word


def _repeated(block: bytes) -> bytes:
    return block * (EXPANDS_TO // len(_TEXT) + 1)


def gzip_bomb() -> bytes:
    """One gzip member, one deflate stream."""
    packer = zlib.compressobj(1, zlib.DEFLATED, 31)  # 31: the gzip container
    body = b"".join(packer.compress(_TEXT) for _ in range(EXPANDS_TO // len(_TEXT) + 1))
    return body + packer.flush()


def gzip_members_bomb() -> bytes:
    return _repeated(gzip.compress(_TEXT, 1))


def bzip2_bomb() -> bytes:
    # One letter: bzip2's run-length stage makes this instant (`ab ab ...` takes seconds).
    return _repeated(bz2.compress(b"a" * len(_TEXT), 1))


def xz_bomb() -> bytes:
    return _repeated(lzma.compress(_TEXT, preset=0))


def zstd_bomb() -> bytes:
    return _repeated(zstandard.ZstdCompressor(level=1).compress(_TEXT))


def nested_bomb() -> bytes:
    """gzip inside gzip: the worker opens one layer and finds binary data."""
    return gzip.compress(gzip_bomb(), 1)


def xz_huge_dictionary() -> bytes:
    """An xz stream whose header asks for a 4 GiB dictionary: decoded, it filled
    1.2 GB of memory from 180 KB of input."""
    data = bytearray(
        lzma.compress(
            _TEXT,
            format=lzma.FORMAT_XZ,
            check=lzma.CHECK_CRC32,
            filters=[{"id": lzma.FILTER_LZMA2, "dict_size": 1 << 20}],
        )
    )
    header_size = (data[12] + 1) * 4  # the block header follows the 12-byte stream header
    header = data[12 : 12 + header_size]
    at = header.index(b"\x21\x01", 2)  # the LZMA2 filter: ID, size of its properties
    header[at + 2] = 40  # the dictionary size property: 4 GiB - 1
    header[-4:] = struct.pack("<I", zlib.crc32(bytes(header[:-4])))
    data[12 : 12 + header_size] = header
    return bytes(data)


def zstd_huge_window() -> bytes:
    """A zstd frame whose header asks for a 2 GiB window."""
    frame = bytearray(zstandard.ZstdCompressor(level=1, write_content_size=False).compress(_TEXT))
    assert frame[4] == 0  # no single segment: the window descriptor follows
    frame[5] = (31 - 10) << 3  # window log 31
    return bytes(frame)


BOMBS = {
    "gzip": gzip_bomb,
    "gzip members": gzip_members_bomb,
    "bzip2 streams": bzip2_bomb,
    "xz streams": xz_bomb,
    "zstd frames": zstd_bomb,
    "gzip in gzip": nested_bomb,
    "xz 4 GiB dictionary": xz_huge_dictionary,
    "zstd 2 GiB window": zstd_huge_window,
}
