"""The ObjectStore contract, for every backend."""

from __future__ import annotations

import errno
import hashlib
import io
import os
import random
import threading
from typing import BinaryIO, cast

import pytest
from wordfreq_service.errors import InputError, InvalidKey, NoSuchKey
from wordfreq_service.formats.job_request import JobRequest
from wordfreq_service.ports import Backend
from wordfreq_service.service.client import Client

MIB = 1 << 20


class RecordingBody(io.BytesIO):
    """A body that remembers how much each read asked for."""

    def __init__(self, data: bytes) -> None:
        super().__init__(data)
        self.reads: list[int] = []

    def read(self, size: int | None = -1) -> bytes:
        self.reads.append(-1 if size is None else size)
        return super().read(size)


def test_multi_megabyte_round_trip_is_streamed_in_chunks(backend: Backend) -> None:
    # Given a body above the AWS adapter's multipart threshold (8 MiB)
    data = random.Random(7).randbytes(9 * MIB + 12345)
    body = RecordingBody(data)
    sent: list[int] = []

    # When it is stored and read back
    info = backend.store.put("big/blob.bin", body, progress=sent.append)
    with backend.store.get("big/blob.bin") as reader:
        chunks = list(reader.iter_chunks(MIB))

    # Then it was read, reported and returned in pieces, and arrives whole
    assert all(0 < n < len(data) for n in body.reads), body.reads
    assert sum(sent) == len(data)
    assert len(chunks) > 1 and max(map(len, chunks)) <= MIB
    assert b"".join(chunks) == data
    assert reader.info.size == info.size == len(data)
    # and what put reported is what the store reports (a multipart ETag on S3)
    assert backend.store.head("big/blob.bin") == info


def test_metadata_round_trip_with_lower_case_keys(backend: Backend) -> None:
    info = backend.store.put(
        "meta.txt", io.BytesIO(b"x"), {"Origin": "cli", "job-id": "42", "content-md5x": "a"}
    )
    expected = {"origin": "cli", "job-id": "42", "content-md5x": "a"}
    assert info.metadata == expected
    assert backend.store.head("meta.txt").metadata == expected
    with backend.store.get("meta.txt") as reader:
        assert reader.info.metadata == expected


def test_head_reports_size_and_md5_etag(backend: Backend) -> None:
    data = b"the quick brown fox\n" * 100
    info = backend.store.put("fox.txt", io.BytesIO(data))
    head = backend.store.head("fox.txt")
    assert head.key == "fox.txt"
    assert head.size == len(data)
    assert head.etag == hashlib.md5(data).hexdigest() == info.etag
    assert head.metadata == {}


def test_empty_object(backend: Backend) -> None:
    info = backend.store.put("empty", io.BytesIO(b""))
    assert (info.size, info.etag) == (0, hashlib.md5(b"").hexdigest())
    with backend.store.get("empty") as reader:
        assert b"".join(reader.iter_chunks()) == b""


@pytest.mark.parametrize(
    "key",
    [
        "file with spaces.txt",
        "a/b/c.txt",
        "8c6f0b3e-2d7a-4f3e-9a51-0c2a8e1d3b47",
        "ünï/日本語 ☃.txt",
    ],
)
def test_ordinary_s3_keys_round_trip(backend: Backend, key: str) -> None:
    backend.store.put(key, io.BytesIO(key.encode()))
    with backend.store.get(key) as reader:
        assert b"".join(reader.iter_chunks()) == key.encode()
        assert reader.info.key == key


#: Keys S3 accepts that would mean something to a path; control characters left out
#: (moto's server mishandles them, and S3 cannot list them in XML).
PATH_LIKE_KEYS = [
    "k" * 1024,  # S3's limit, in UTF-8 bytes
    "é" * 512,  # the limit in two-byte characters
    "a" * 300 + "/" + "b" * 300,  # components over a file name's 255 bytes
    "%2e%2e/%2E%2E%2Fx",  # literal percent signs: not dots
    "\uff0e\uff0e/x",  # fullwidth full stops
    ".../a//b/",  # three dots, an empty segment, a trailing slash
    "file\u202etxt.exe",  # a right-to-left override
]


def test_keys_s3_accepts_that_look_like_paths_round_trip_as_opaque_names(
    backend: Backend,
) -> None:
    for key in PATH_LIKE_KEYS:  # one stack for all: each costs seconds on moto
        backend.store.put(key, io.BytesIO(key.encode()))
    for key in PATH_LIKE_KEYS:
        with backend.store.get(key) as reader:
            assert b"".join(reader.iter_chunks()) == key.encode(), key
            assert reader.info.key == key
        backend.store.delete(key)
        with pytest.raises(NoSuchKey):
            backend.store.head(key)


def test_keys_differing_by_normalization_or_case_are_different_objects(
    backend: Backend,
) -> None:
    # S3 compares keys byte for byte: NFC and NFD spellings, and cases, are distinct.
    keys = ["caf\u00e9", "cafe\u0301", "CAF\u00c9", "Caf\u00e9"]
    for i, key in enumerate(keys):
        backend.store.put(key, io.BytesIO(str(i).encode()))
    for i, key in enumerate(keys):
        with backend.store.get(key) as reader:
            assert b"".join(reader.iter_chunks()) == str(i).encode()


@pytest.mark.only_backend(
    "embedded", reason="S3 refuses it (KeyTooLongError) but moto's server accepts it"
)
def test_a_key_over_s3s_limit_is_refused(backend: Backend) -> None:
    with pytest.raises(InvalidKey, match="the limit is 1024"):
        backend.store.put("k" * 1025, io.BytesIO(b"x"))


def test_get_and_head_of_missing_key_raise_no_such_key(backend: Backend) -> None:
    with pytest.raises(NoSuchKey):
        backend.store.head("missing.txt")
    with pytest.raises(NoSuchKey):
        backend.store.get("missing.txt")


def test_delete_is_idempotent(backend: Backend) -> None:
    backend.store.put("doomed.txt", io.BytesIO(b"bye"))
    backend.store.delete("doomed.txt")
    backend.store.delete("doomed.txt")
    backend.store.delete("never-existed.txt")
    with pytest.raises(NoSuchKey):
        backend.store.head("doomed.txt")


def test_overwrite_replaces_the_object(backend: Backend) -> None:
    backend.store.put("v.txt", io.BytesIO(b"first version"), {"v": "1"})
    backend.store.put("v.txt", io.BytesIO(b"second"), {"v": "2"})
    with backend.store.get("v.txt") as reader:
        assert b"".join(reader.iter_chunks()) == b"second"
        assert reader.info.metadata == {"v": "2"}


def test_a_reader_never_sees_a_partial_or_mixed_object(backend: Backend) -> None:
    # Given versions of different sizes, each made of one repeated byte
    versions = [bytes([65 + i]) * (1000 * (i + 1) ** 3) for i in range(6)]
    backend.store.put("hot.bin", io.BytesIO(versions[0]))
    stop = threading.Event()

    def overwrite() -> None:
        i = 0
        while not stop.is_set():
            i += 1
            backend.store.put("hot.bin", io.BytesIO(versions[i % len(versions)]))

    writer = threading.Thread(target=overwrite)
    writer.start()
    try:
        # When readers race the writer, each read is one whole version
        for _ in range(30):
            with backend.store.get("hot.bin") as reader:
                data = b"".join(reader.iter_chunks(4096))
            assert data in versions
            assert len(data) == reader.info.size
    finally:
        stop.set()
        writer.join()


@pytest.mark.only_backend("embedded", reason="S3 accepts these keys; a file store must not")
@pytest.mark.parametrize(
    "key",
    ["", "../escape", "a/../../b", "a/./b", "..", "/etc/passwd", "a\\b", "nul\x00byte", "C:/x"],
)
def test_keys_that_could_escape_are_rejected(backend: Backend, key: str) -> None:
    with pytest.raises(InvalidKey):
        backend.store.put(key, io.BytesIO(b"x"))
    with pytest.raises(InvalidKey):
        backend.store.head(key)
    with pytest.raises(InvalidKey):
        backend.store.delete(key)


class FailingFile(io.RawIOBase):
    """``size`` bytes of a file, then a read error, as from a failing disk."""

    def __init__(self, size: int) -> None:
        self.left = size

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: bytearray | memoryview) -> int:  # type: ignore[override]
        if self.left <= 0:
            raise OSError(errno.EIO, os.strerror(errno.EIO))
        n = min(len(buffer), self.left)
        buffer[:n] = b"x" * n
        self.left -= n
        return n


@pytest.mark.parametrize("size", [MIB, 9 * MIB], ids=["single", "multipart"])
def test_a_body_that_fails_to_read_stores_nothing_and_says_so(backend: Backend, size: int) -> None:
    # What the body raises comes out unchanged: the client (which knows the file's name)
    # relies on that to name the file rather than a random key.
    class Unreadable(Exception):
        pass

    class Body(io.RawIOBase):
        def __init__(self) -> None:
            self.inner = FailingFile(size)

        def readable(self) -> bool:
            return True

        def readinto(self, buffer: bytearray | memoryview) -> int:  # type: ignore[override]
            try:
                return self.inner.readinto(buffer)
            except OSError as exc:
                raise Unreadable("book.txt: Input/output error") from exc

    with pytest.raises(Unreadable):
        backend.store.put("k", io.BufferedReader(Body()))
    with pytest.raises(NoSuchKey):
        backend.store.head("k")


def test_the_client_names_the_file_it_cannot_read(backend: Backend) -> None:
    client = Client(backend)
    source = cast(BinaryIO, io.BufferedReader(FailingFile(2 * MIB)))
    with pytest.raises(InputError) as raised:
        client.upload([("/home/me/book.txt", source)], JobRequest())
    assert str(raised.value) == "/home/me/book.txt: Input/output error"
    assert source.closed


# -- ranged reads (the split of big objects) -------------------------------------------

RANGED = b"0123456789" * 7 + b"tail"


@pytest.mark.parametrize(
    ("start", "end"),
    [
        (0, None),
        (0, 10),
        (5, 17),
        (73, None),
        (70, 74),
        (73, 200),
        (74, None),
        (100, None),
        (100, 120),
        (9, 9),
        (9, 3),
    ],
)
def test_a_range_reads_exactly_its_bytes_and_the_whole_objects_info(
    backend: Backend, start: int, end: int | None
) -> None:
    # Given an object with metadata
    put = backend.store.put("ranged.txt", io.BytesIO(RANGED), {"mode": "words"})

    # When a range of it is read
    with backend.store.get("ranged.txt", start=start, end=end) as reader:
        body = b"".join(reader.iter_chunks(4))

    # Then the body is the slice (empty past the end, never an error), and the info is the
    # whole object's, which a worker compares with what it split
    assert body == RANGED[start:end]
    assert reader.info == put
    assert reader.info.size == len(RANGED)


def test_a_range_of_an_empty_object_is_empty(backend: Backend) -> None:
    backend.store.put("empty", io.BytesIO(b""))
    with backend.store.get("empty", start=0, end=10) as reader:
        assert b"".join(reader.iter_chunks()) == b""
        assert reader.info.size == 0
    with pytest.raises(NoSuchKey):
        backend.store.get("missing", start=5)


def test_a_range_of_a_multipart_object_reads_across_parts(backend: Backend) -> None:
    # Over the AWS adapter's multipart threshold: the range spans its first two parts.
    data = random.Random(3).randbytes(9 * MIB)
    info = backend.store.put("big/ranged.bin", io.BytesIO(data))
    start, end = 8 * MIB - 1000, 8 * MIB + 5000
    with backend.store.get("big/ranged.bin", start=start, end=end) as reader:
        assert b"".join(reader.iter_chunks(MIB)) == data[start:end]
        assert reader.info == info
