"""``Counter.feed_file``: a regular file counted by the core in one range per thread with
positional reads gives exactly the streamed count, for any thread count, in both modes;
its range boundaries are ``counting/ranges.py``'s; ``count`` uses it for regular,
uncompressed files and streams everything else."""

from __future__ import annotations

import gzip
import itertools
import os
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from wordfreq_service._core import Counter, _file_pieces_for_tests
from wordfreq_service.counting.engine import count_file
from wordfreq_service.counting.ranges import range_chunks, read_offset
from wordfreq_service.errors import InputError
from wordfreq_service.formats.job_request import JobRequest

from tests.test_ranges import SAMPLE, SETTINGS, _data

SETTINGS_AND_UTF16 = [*SETTINGS, ("words", "utf-16")]


def _file(data: bytes) -> Iterator[int]:
    with tempfile.TemporaryFile() as f:
        f.write(data)
        f.flush()
        yield f.fileno()


def _streamed(
    data: bytes, mode: str, encoding: str | None, longest: int
) -> tuple[dict[str, int], int]:
    counter = Counter(mode, encoding, longest, threads=1)
    counter.feed(data)
    return counter.counts(), counter.skipped


def _from_file(
    fd: int, size: int, mode: str, encoding: str | None, longest: int, threads: int, buffer: int
) -> tuple[dict[str, int], int]:
    counter = Counter(mode, encoding, longest, threads=threads)
    counter._set_file_ranges_for_tests(1, buffer)
    counter.feed_file(fd, size)
    assert counter.finished
    return counter.counts(), counter.skipped


@settings(max_examples=150, deadline=None)
@given(
    data=_data | st.sampled_from([b"\xff\xfe" + "a b’c".encode("utf-16-le"), SAMPLE]),
    setting=st.sampled_from(SETTINGS_AND_UTF16),
    longest=st.integers(1, 12),
    threads=st.integers(1, 8),
    buffer=st.integers(1, 64),
)
def test_a_file_counted_in_ranges_equals_the_stream(
    data: bytes, setting: tuple[str, str | None], longest: int, threads: int, buffer: int
) -> None:
    mode, encoding = setting
    for fd in _file(data):
        got = _from_file(fd, len(data), mode, encoding, longest, threads, buffer)
    assert got == _streamed(data, mode, encoding, longest)


@pytest.mark.parametrize("threads", range(2, 9))
def test_only_the_first_range_looks_for_a_bom(threads: int) -> None:
    # After every safe byte a UTF-16 BOM: read as one at the start of a range, it
    # would turn the rest of that range into UTF-16.
    data = b"a " + b"\xff\xfew \xfe\xffx \xef\xbb\xbf " * 300
    for fd in _file(data):
        got = _from_file(fd, len(data), "words", None, 1000, threads, 50)
    assert got == _streamed(data, "words", None, 1000)
    assert got[0] == {"a": 1, "ÿþw": 300, "þÿx": 300}


@settings(max_examples=150, deadline=None)
@given(
    data=_data,
    mode=st.sampled_from(["words", "seed"]),
    parts=st.integers(1, 9),
    buffer=st.integers(1, 9),
)
def test_the_core_cuts_where_counting_ranges_cuts(
    data: bytes, mode: str, parts: int, buffer: int
) -> None:
    size = len(data)
    bounds = [size * k // parts for k in range(parts + 1)]
    expected = [
        b"".join(range_chunks([data[read_offset(start) :]], start, end, mode))
        for start, end in itertools.pairwise(bounds)
    ]
    for fd in _file(data):
        assert _file_pieces_for_tests(fd, size, mode, parts, buffer) == expected


def test_only_the_first_size_bytes_count_and_the_offset_is_untouched() -> None:
    for fd in _file(b"one two three"):
        os.lseek(fd, 4, os.SEEK_SET)
        counter = Counter("words", threads=2)
        counter.feed_file(fd, 7)
        assert counter.counts() == {"one": 1, "two": 1}
        assert os.lseek(fd, 0, os.SEEK_CUR) == 4


def test_misuse_and_io_errors_are_clear() -> None:
    for fd in _file(b"short"):
        counter = Counter("words")
        with pytest.raises(OSError, match="ended at byte 5, before the 100 bytes"):
            counter.feed_file(fd, 100)
        fed = Counter("words")
        fed.feed(b"x")
        with pytest.raises(ValueError, match="had input already"):
            fed.feed_file(fd, 5)
        with pytest.raises(ValueError):
            Counter("words").feed_file(fd, -1)
    with pytest.raises(OSError):
        Counter("words").feed_file(987654, 1)  # not an open descriptor
    read, write = os.pipe()
    try:
        with pytest.raises(ValueError, match="regular files only"):
            Counter("words").feed_file(read, 1)
    finally:
        os.close(read)
        os.close(write)


def test_threads_are_checked() -> None:
    assert Counter("words", threads=3).threads == 3
    assert Counter("words").threads == Counter("words", threads=0).threads >= 1
    for bad in (-1, 257):
        with pytest.raises(ValueError, match="threads"):
            Counter("words", threads=bad)


def test_count_file_reads_regular_files_in_ranges_and_streams_the_rest(tmp_path: Path) -> None:
    text = ("Don’t panic. " * 5000 + "the end").encode()
    plain, packed = tmp_path / "plain.txt", tmp_path / "packed.txt"
    plain.write_bytes(text)
    packed.write_bytes(gzip.compress(text))
    request = JobRequest.make()
    want = _streamed(text, "words", None, 1000)
    for path in (plain, packed):
        counter = count_file(str(path), request, threads=2)
        assert (counter.counts(), counter.skipped) == want
    # The limit is checked against a regular file's size before it is read.
    with pytest.raises(InputError, match=r"plain\.txt: more than 1000 bytes"):
        count_file(str(plain), request, max_input_bytes=1000)
    # A pipe streams.
    read, write = os.pipe()
    writer = subprocess.Popen(
        [sys.executable, "-c", f"import os; os.write({write}, b'piped words piped')"],
        pass_fds=[write],
    )
    os.close(write)
    try:
        counter = count_file(f"/dev/fd/{read}", request, threads=2)
    finally:
        writer.wait()
        os.close(read)
    assert counter.counts() == {"piped": 2, "words": 1}
