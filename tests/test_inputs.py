"""Opening input: truncated compressed streams fail, the input limit holds, and the zstd
frame tracker agrees with zstd on where frames end."""

from __future__ import annotations

import bz2
import gzip
import lzma
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest
import zstandard
from wordfreq_service.counting.engine import count_files
from wordfreq_service.counting.inputs import (
    DEFAULT_MAX_INPUT_BYTES,
    ZstdFrames,
    decompress_chunks,
    human_size,
    iter_chunks,
)
from wordfreq_service.errors import InputError
from wordfreq_service.formats.job_request import JobRequest

from tests.helpers import CORPUS, run_wordfreq

PLAIN = (CORPUS / "pg2641.txt").read_bytes()

# Each format and the length of its header (the first bytes before any data).
FORMATS: dict[str, tuple[Callable[[bytes], bytes], Callable[[bytes], int]]] = {
    "gzip": (gzip.compress, lambda _: 10),
    "bzip2": (bz2.compress, lambda _: 4),
    "xz": (lzma.compress, lambda _: 12),
    "zstd": (zstandard.ZstdCompressor().compress, zstandard.frame_header_size),
}
CUTS: dict[str, Callable[[bytes, int], int]] = {
    "one byte short": lambda data, header: len(data) - 1,
    "half": lambda data, header: len(data) // 2,
    "just after the header": lambda data, header: header,
    "in the last quarter": lambda data, header: len(data) * 3 // 4 + 1,
}


def truncated(kind: str, cut: str) -> bytes:
    compress, header_len = FORMATS[kind]
    data = compress(PLAIN)
    return data[: CUTS[cut](data, header_len(data))]


@pytest.mark.parametrize("cut", list(CUTS))
@pytest.mark.parametrize("kind", list(FORMATS))
def test_a_truncated_stream_is_an_input_error(tmp_path: Path, kind: str, cut: str) -> None:
    path = tmp_path / "book.bin"
    path.write_bytes(truncated(kind, cut))
    for chunk_size in (1 << 16, 1 << 23):
        with pytest.raises(InputError, match=f"corrupt or truncated {kind} stream"):
            for _ in iter_chunks(path, chunk_size):
                pass


@pytest.mark.parametrize("kind", list(FORMATS))
def test_a_whole_stream_is_read_whole(tmp_path: Path, kind: str) -> None:
    path = tmp_path / "book.bin"
    path.write_bytes(FORMATS[kind][0](PLAIN))
    assert b"".join(iter_chunks(path, 1 << 16)) == PLAIN


@pytest.mark.parametrize("kind", list(FORMATS))
def test_wordfreq_count_on_a_truncated_stream_fails_in_one_line(tmp_path: Path, kind: str) -> None:
    path = tmp_path / "book.txt"
    path.write_bytes(truncated(kind, "half"))
    proc = run_wordfreq(["count", str(path)])
    assert proc.returncode == 1
    assert "Traceback" not in proc.stderr
    assert proc.stderr.count("\n") == 1, proc.stderr
    assert str(path) in proc.stderr and f"corrupt or truncated {kind} stream" in proc.stderr
    assert proc.stdout == ""


@pytest.mark.skipif(shutil.which("zstd") is None, reason="needs the zstd command")
def test_zstd_cut_as_the_issue_reports_fails(tmp_path: Path) -> None:
    # `zstd -c book.txt | head -c 100000 > t.zst; wordfreq count t.zst` used to exit 0.
    book = tmp_path / "book.txt"
    book.write_bytes(PLAIN)
    packed = subprocess.run(["zstd", "-q", "-c", str(book)], capture_output=True, check=True)
    cut = tmp_path / "t.zst"
    cut.write_bytes(packed.stdout[:100000])
    proc = run_wordfreq(["count", str(cut)])
    assert proc.returncode == 1 and "corrupt or truncated zstd stream" in proc.stderr


def zstd_frames(*parts: bytes) -> tuple[bytes, set[int]]:
    """Frames of several kinds back to back, and the offsets where each one ends."""
    frames = [
        zstandard.ZstdCompressor().compress(parts[0]),
        # A skippable frame (magic 0x184D2A5?, then a 4-byte size).
        b"\x5a\x2a\x4d\x18" + (7).to_bytes(4, "little") + b"skipped",
        zstandard.ZstdCompressor(level=19, write_checksum=True).compress(parts[1]),
        zstandard.ZstdCompressor(write_content_size=False).compress(parts[2]),
        zstandard.ZstdCompressor().compress(b""),
    ]
    ends, pos = {0}, 0
    for frame in frames:
        pos += len(frame)
        ends.add(pos)
    return b"".join(frames), ends


def test_the_zstd_frame_tracker_knows_where_frames_end() -> None:
    runs = b"a" * 300_000  # RLE blocks
    data, ends = zstd_frames(PLAIN[:200_000], runs + PLAIN[:50_000], PLAIN[-70_000:])
    step = 997
    for cut in sorted({*range(0, len(data), step), *ends, *(e - 1 for e in ends if e)}):
        frames = ZstdFrames()
        frames.feed(data[:cut])
        assert frames.complete == (cut in ends), cut
    # Fed in pieces, the answer is the same.
    frames = ZstdFrames()
    for i in range(0, len(data), 5):
        frames.feed(data[i : i + 5])
    assert frames.complete
    whole = b"".join(decompress_chunks(iter([data]), "x"))
    assert whole == PLAIN[:200_000] + runs + PLAIN[:50_000] + PLAIN[-70_000:]


def test_garbage_after_a_zstd_frame_is_corrupt() -> None:
    frames = ZstdFrames()
    frames.feed(b"not zstd")
    assert frames.unknown and not frames.complete
    data = zstandard.ZstdCompressor().compress(PLAIN) + b"not zstd"
    with pytest.raises(InputError, match="corrupt or truncated zstd stream"):
        for _ in decompress_chunks(iter([data]), "x"):
            pass


# --- the input limit ----------------------------------------------------------------


def read_all(data: bytes, max_bytes: int | None, chunk: int = 4096) -> bytes:
    pieces = iter([data[i : i + chunk] for i in range(0, len(data), chunk)])
    return b"".join(decompress_chunks(pieces, "in.txt", 1 << 16, max_bytes))


def test_plain_input_over_the_limit_fails() -> None:
    assert read_all(PLAIN, len(PLAIN)) == PLAIN
    assert read_all(PLAIN, None) == PLAIN
    with pytest.raises(InputError, match=r"^in\.txt: more than 1000 bytes \(the input limit\)$"):
        read_all(PLAIN, 1000)


@pytest.mark.parametrize("kind", list(FORMATS))
def test_compressed_input_is_limited_after_decompression(kind: str) -> None:
    packed = FORMATS[kind][0](PLAIN)
    assert read_all(packed, len(PLAIN)) == PLAIN
    with pytest.raises(InputError, match="more than 384 KiB after decompression"):
        read_all(packed, 384 << 10)
    # The limit counts the bytes that come out, not the bytes of the file.
    with pytest.raises(InputError, match="the input limit"):
        read_all(packed, len(packed) + 1)


def test_the_limit_stops_a_bomb_before_reading_it_all() -> None:
    # 64 MiB of zeros in ~64 KB of gzip; a 1 MiB limit fails at the first chunk past it.
    bomb = gzip.compress(bytes(64 << 20), 9)
    seen = 0
    with pytest.raises(InputError, match="more than 1 MiB after decompression"):
        for chunk in decompress_chunks(iter([bomb]), "bomb.gz", 1 << 16, 1 << 20):
            seen += len(chunk)
    assert seen <= 1 << 20


@pytest.mark.parametrize("kind", ["xz", "zstd"])
def test_a_header_asking_for_gigabytes_of_window_fails_before_decoding(kind: str) -> None:
    # 588 bytes of xz asking for a 4 GiB dictionary filled 1.2 GB of memory, under the
    # default input limit; zstd's 2 GiB window is refused the same way.
    from tests.faults.bombs import xz_huge_dictionary, zstd_huge_window

    bomb = xz_huge_dictionary() if kind == "xz" else zstd_huge_window()
    with pytest.raises(InputError, match=f"the {kind} stream needs more than 128 MiB"):
        read_all(bomb, DEFAULT_MAX_INPUT_BYTES)


def test_xz_streams_read_as_lzma_file_reads_them() -> None:
    # Concatenated streams in one; bytes after a stream that begin none ignored.
    packed = lzma.compress(b"one ") + lzma.compress(b"two ", preset=9)
    assert read_all(packed + b"trailing", None) == b"one two "
    assert read_all(lzma.compress(b"big " * 100_000, preset=9), None) == b"big " * 100_000


def test_count_files_applies_the_limit(tmp_path: Path) -> None:
    path = tmp_path / "book.txt"
    path.write_bytes(PLAIN)
    assert DEFAULT_MAX_INPUT_BYTES == 16 << 30
    assert count_files([str(path)], JobRequest()).report(1, 1)[0] > 0
    with pytest.raises(InputError, match=r"book\.txt: more than 100 KiB"):
        count_files([str(path)], JobRequest(), max_input_bytes=100 << 10)


def test_human_sizes() -> None:
    assert human_size(16 << 30) == "16 GiB"
    assert human_size(3 << 19) == "1.5 MiB"
    assert human_size(1023) == "1023 bytes"
    assert human_size(1 << 10) == "1 KiB"
