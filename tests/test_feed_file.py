"""``Counter.feed_file``: a regular file counted by the core in one range per thread with
positional reads gives exactly the streamed count, for any thread count, in both modes;
its range boundaries are ``counting/ranges.py``'s; ``count`` uses it for regular,
uncompressed files and streams everything else."""

from __future__ import annotations

import gzip
import itertools
import os
import signal
import string
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from wordfreq_service._core import Counter, _file_pieces_for_tests, cores
from wordfreq_service.counting.engine import RANGED_MIN_BYTES, count_file
from wordfreq_service.counting.inputs import DEFAULT_MAX_INPUT_BYTES
from wordfreq_service.counting.ranges import range_chunks, read_offset
from wordfreq_service.errors import InputError
from wordfreq_service.formats.job_request import JobRequest

from tests.helpers import WORDFREQ
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


@pytest.mark.parametrize("threads", [1, 3])
def test_a_file_grown_since_its_size_was_taken_is_counted_whole(threads: int) -> None:
    data = b"one two three " * 1000
    for fd in _file(data):
        os.lseek(fd, 4, os.SEEK_SET)
        counter = Counter("words", threads=threads)
        counter._set_file_ranges_for_tests(1000, 64)
        counter.feed_file(fd, 7000)  # the last range reads on past byte 7000
        assert counter.counts() == {"one": 1000, "two": 1000, "three": 1000}
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
    # Large enough for two ranges of FILE_MIN_RANGE on two threads.
    text = ("Don’t panic. " * 300_000 + "the end").encode()
    assert len(text) >= 2 * RANGED_MIN_BYTES
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


def _stat_as_regular(monkeypatch: pytest.MonkeyPatch, path: Path) -> None:
    """The first look at ``path`` (``os.stat`` by path) sees a regular file, as it would
    just before a FIFO is put in the file's place."""
    regular = os.stat(__file__)
    real_stat = os.stat

    def stat(name: str, *args: object, **kwargs: object) -> os.stat_result:
        return regular if str(name) == str(path) else real_stat(name, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(os, "stat", stat)


@pytest.mark.timeout(30)
def test_a_fifo_swapped_in_after_the_first_look_streams(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fifo = tmp_path / "swapped"
    os.mkfifo(fifo)
    # The pipe holds the words while a reader keeps it open; the writer is gone, so the
    # stream ends after them.
    keeper = os.open(fifo, os.O_RDONLY | os.O_NONBLOCK)
    try:
        writer = os.open(fifo, os.O_WRONLY)
        os.write(writer, b"fifo words fifo")
        os.close(writer)
        _stat_as_regular(monkeypatch, fifo)
        counter = count_file(str(fifo), JobRequest.make(), threads=2)
    finally:
        os.close(keeper)
    assert counter.counts() == {"fifo": 2, "words": 1}


@pytest.mark.parametrize(
    "path",
    # /proc files say 0 bytes; sysfs files 4096, whatever their length.
    ["/proc/cpuinfo", "/proc/self/status", "/sys/kernel/mm/transparent_hugepage/enabled"],
)
def test_files_whose_size_is_not_their_length_are_counted_whole(path: str) -> None:
    if not os.path.exists(path):
        pytest.skip(f"{path} does not exist on this system")
    with open(path, "rb") as f:
        data = f.read()
    size = os.stat(path).st_size
    assert size != len(data) and data, f"{path}: {size} bytes said, {len(data)} read"
    counter = count_file(path, JobRequest.make(), threads=2)
    # Some of /proc changes between two reads (times, memory); the words do not.
    assert set(counter.counts()) == set(_streamed(data, "words", None, 1000)[0])


def _peak_rss_mib(code: str) -> float:
    """The peak resident memory of a fresh Python that runs ``code``, in MiB."""
    probe = f"{code}\nimport resource; print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)"
    out = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True, timeout=120
    ).stdout
    return int(out.split()[-1]) / 1024


def test_range_threads_never_outnumber_the_cores(tmp_path: Path) -> None:
    # 256 MiB, sparse but for the same 10,000 words at the start of every MiB: a range
    # thread holds a 2 MiB buffer and a table of those words until the end.
    big = tmp_path / "sparse"
    vocabulary = itertools.islice(itertools.product(string.ascii_lowercase, repeat=4), 10_000)
    block = " ".join("".join(w) for w in vocabulary).encode() + b" "
    with big.open("wb") as f:
        for mib in range(256):
            f.seek(mib << 20)
            f.write(block)
        f.truncate(256 << 20)
    count = (
        "from wordfreq_service._core import Counter\n"
        f"c = Counter('words', threads=256); f = open({str(big)!r}, 'rb')\n"
        f"c.feed_file(f.fileno(), {big.stat().st_size}); assert len(c.counts()) == 10_000"
    )
    base = _peak_rss_mib("from wordfreq_service._core import Counter")
    grown = _peak_rss_mib(count) - base
    # 256 ranges hold well over 256 MiB; one per core, a few MiB each.
    assert grown < 16 + 8 * cores(), f"{grown:.0f} MiB more at threads=256 on {cores()} cores"


def test_ctrl_c_stops_a_ranged_count_at_once(tmp_path: Path) -> None:
    # 16 GiB of zero bytes (sparse: no disk): a whole count takes tens of seconds here.
    big = tmp_path / "sparse"
    with big.open("wb") as f:
        f.truncate(DEFAULT_MAX_INPUT_BYTES)
    proc = subprocess.Popen(
        [WORDFREQ, "count", str(big)], stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    try:
        # Interrupt once the core has read a good deal: it is counting, not starting up.
        io_file = Path(f"/proc/{proc.pid}/io")
        while proc.poll() is None:
            fields = dict(line.split(": ") for line in io_file.read_text().splitlines())
            if int(fields["rchar"]) > 512 << 20:
                break
            time.sleep(0.05)
        assert proc.poll() is None, "the count ended before it could be interrupted"
        proc.send_signal(signal.SIGINT)
        # A whole count would read all 16 GiB; stopping takes one check (32 MiB a range).
        out, err = proc.communicate(timeout=10)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 130, err
    assert len(err.decode().strip().splitlines()) == 1 and b"Traceback" not in err
    assert out == b""
