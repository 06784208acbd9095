"""Big inputs cut into byte ranges (``counting/ranges.py``): counting each range's piece on
its own (the first at the start of the input, the rest with ``at_start=False``) and adding
the counts up gives exactly the count of the whole input, in both modes, wherever the
nominal cuts fall (inside multi-byte characters, on whitespace, next to apostrophes, in
over-long runs); the pieces tile the input; the counts survive the trip through the counts
CSV (``write_csv`` then ``merge_csv``)."""

from __future__ import annotations

import bz2
import gzip
import io
import itertools
import lzma
from collections.abc import Iterator, Sequence

import pytest
import zstandard
from hypothesis import given, settings
from hypothesis import strategies as st
from wordfreq_service._core import FILE_MIN_RANGE, SPLIT_SAFE_BYTES, Counter
from wordfreq_service.counting.ranges import (
    MAX_PARTS,
    MIN_SPLIT_THRESHOLD,
    plan_ranges,
    range_chunks,
    read_offset,
    unsplittable,
)
from wordfreq_service.formats.job_request import JobRequest
from wordfreq_service.formats.jobs import counts_csv, write_counter_counts

#: (mode, forced encoding) pairs a split input may be counted with.
SETTINGS = [
    ("words", None),
    ("words", "utf-8"),
    ("words", "cp1252"),
    ("words", "latin-1"),
    ("seed", None),
]

_PIECES = [
    b"a",
    b"word",
    b"Don",
    b"'",
    "’".encode(),  # U+2019
    "é".encode(),
    "Σς".encode(),
    "中文".encode(),
    "𝔘".encode(),  # four bytes
    "e\u0301".encode(),  # a combining mark
    b"\x92",  # Windows-1252 right quote, invalid as UTF-8
    b"\xe9",
    b"\x97",
    b"\xc3",  # a lead byte with no continuation
    b" ",
    b"\t",
    b"\n",
    b"\r\n",
    b"\x0b\x0c",
    "\u0085".encode(),
    "\u00a0".encode(),
    "\u2000".encode(),
    "\u3000".encode(),
    "\u2028".encode(),
    b"\xef\xbb\xbf",  # U+FEFF past the start
    b".,;-1",
    b'"',
    b"\x00",
    b"\xff\xfe",  # a UTF-16 BOM, but not at the start
    b"\xfe\xff",
]

_piece = st.sampled_from(_PIECES) | st.integers(5, 40).map(lambda n: b"x" * n)
_data = st.tuples(st.booleans(), st.lists(_piece, max_size=60)).map(
    lambda t: (b"\xef\xbb\xbf" if t[0] else b"") + b"".join(t[1])
)


def _chunked(data: bytes, sizes: Sequence[int]) -> Iterator[bytes]:
    """``data`` in chunks of the given sizes (cycled), empty chunks included."""
    i, k = 0, 0
    while i < len(data):
        n = sizes[k % len(sizes)] if sizes else len(data)
        yield data[i : i + n]
        i += n
        k += 1


def _whole(data: bytes, mode: str, encoding: str | None, longest: int) -> Counter:
    counter = Counter(mode, encoding, longest)
    counter.feed(data)
    return counter


def _pieces(data: bytes, cuts: Sequence[int], mode: str, sizes: Sequence[int]) -> list[bytes]:
    bounds = [0, *sorted(set(cuts)), len(data)]
    pieces = []
    for start, end in itertools.pairwise(bounds):
        source = _chunked(data[read_offset(start) :], sizes)
        pieces.append(b"".join(range_chunks(source, start, end, mode)))
    return pieces


def _counted(pieces: list[bytes], mode: str, encoding: str | None, longest: int) -> list[Counter]:
    counters = []
    for i, piece in enumerate(pieces):
        counter = Counter(mode, encoding, longest, at_start=i == 0)
        counter.feed(piece)
        counters.append(counter)
    return counters


def _merged(counters: list[Counter], mode: str) -> Counter:
    total = Counter(mode)
    for counter in counters:
        total.merge(counter)
    return total


def _splittable(data: bytes, cuts: Sequence[int], mode: str, encoding: str | None) -> Sequence[int]:
    """The cuts, or none for an input that ``unsplittable`` keeps whole (UTF-16 by BOM)."""
    request = JobRequest.make(mode=mode, encoding=encoding)
    return [] if unsplittable(data[:8], request) is not None else cuts


def _check(
    data: bytes,
    cuts: Sequence[int],
    mode: str,
    encoding: str | None,
    longest: int,
    sizes: Sequence[int],
) -> None:
    cuts = _splittable(data, cuts, mode, encoding)
    pieces = _pieces(data, cuts, mode, sizes)
    assert b"".join(pieces) == data
    whole = _whole(data, mode, encoding, longest)
    merged = _merged(_counted(pieces, mode, encoding, longest), mode)
    assert (merged.counts(), merged.skipped) == (whole.counts(), whole.skipped)


@settings(max_examples=300, deadline=None)
@given(
    data=_data,
    setting=st.sampled_from(SETTINGS),
    longest=st.integers(1, 12),
    cut_fractions=st.lists(st.floats(0, 1), max_size=6),
    sizes=st.lists(st.integers(0, 9), max_size=4),
)
def test_ranges_add_up_to_the_whole(
    data: bytes,
    setting: tuple[str, str | None],
    longest: int,
    cut_fractions: list[float],
    sizes: list[int],
) -> None:
    mode, encoding = setting
    cuts = [int(f * len(data)) for f in cut_fractions]
    cuts = [c for c in cuts if 0 < c < len(data)]
    _check(data, cuts, mode, encoding, longest, [s or 1 for s in sizes] if any(sizes) else [])


SAMPLE = (
    "\ufeffDon’t stop—it's Σίσυφος' rock'n'roll.\r\n"
    "naïve café\u00a0e\u0301té 中文\u3000x\u2028'quoted' "
).encode() + b"don\x92t \x97 caf\xe9 \xff\xfeab xxxxxxxxxxxxxxxx y"


@pytest.mark.parametrize(("mode", "encoding"), SETTINGS)
def test_every_single_cut_of_a_sample(mode: str, encoding: str | None) -> None:
    for longest in (3, 1000):
        for cut in range(1, len(SAMPLE)):
            _check(SAMPLE, [cut], mode, encoding, longest, [7])


@settings(max_examples=100, deadline=None)
@given(
    data=_data,
    setting=st.sampled_from(SETTINGS),
    longest=st.integers(1, 12),
    cut_fractions=st.lists(st.floats(0, 1), max_size=4),
    csv_chunk=st.integers(1, 17),
)
def test_the_counts_csv_round_trip_adds_up_to_the_whole(
    data: bytes,
    setting: tuple[str, str | None],
    longest: int,
    cut_fractions: list[float],
    csv_chunk: int,
) -> None:
    mode, encoding = setting
    cuts = _splittable(
        data,
        [c for c in (int(f * len(data)) for f in cut_fractions) if 0 < c < len(data)],
        mode,
        encoding,
    )
    counters = _counted(_pieces(data, cuts, mode, []), mode, encoding, longest)
    total = Counter(mode)
    for counter in counters:
        packed = io.BytesIO()
        write_counter_counts(counter, packed, 0)
        text = b"".join(counts_csv([packed.getvalue()]))
        total.merge_csv(_chunked(text, [csv_chunk]), skipped=counter.skipped)
    whole = _whole(data, mode, encoding, longest)
    assert (total.counts(), total.skipped) == (whole.counts(), whole.skipped)


def test_reading_stops_once_the_piece_is_complete() -> None:
    data = b"aaaa bbbb cccc dddd eeee"
    taken: list[bytes] = []

    def source(start: int) -> Iterator[bytes]:
        for chunk in _chunked(data[read_offset(start) :], [2]):
            taken.append(chunk)
            yield chunk

    assert b"".join(range_chunks(source(0), 0, 7, "words")) == b"aaaa bbbb "
    assert b"".join(taken) == b"aaaa bbbb "
    taken.clear()
    # The range [12, 16) starts after the space at 14 and ends after the one at 19.
    assert b"".join(range_chunks(source(12), 12, 16, "words")) == b"dddd "
    assert b"".join(taken) == b"ccc dddd e"


def test_a_range_inside_one_huge_run_is_empty_and_reads_only_its_own_bytes() -> None:
    data = b"x" * 1000 + b" tail"
    read = 0

    def source(start: int) -> Iterator[bytes]:
        nonlocal read
        for chunk in _chunked(data[read_offset(start) :], [10]):
            read += len(chunk)
            yield chunk

    assert list(range_chunks(source(300), 300, 600, "seed")) == []
    assert read <= 310
    # The first range reads on to the first safe byte past its end, and no further.
    read = 0
    assert b"".join(range_chunks(source(0), 0, 300, "seed")) == b"x" * 1000 + b" "
    assert read <= 1010


def test_plan_ranges() -> None:
    assert plan_ranges(0, 10) == [(0, 0)]
    assert plan_ranges(10, 10) == [(0, 10)]
    mib = FILE_MIN_RANGE
    for size, threshold in [(11 * mib, 10 * mib), (100 * mib, 10 * mib), (2**31 + 7, 2**28)]:
        ranges = plan_ranges(size, threshold)
        assert ranges[0][0] == 0 and ranges[-1][1] == size
        assert all(a[1] == b[0] for a, b in itertools.pairwise(ranges))
        assert all(0 < end - start <= threshold // 2 for start, end in ranges)
    assert len(plan_ranges(100 * mib, 10 * mib)) == 20
    # A tiny threshold still makes parts of at least FILE_MIN_RANGE (1 MiB), not millions.
    assert mib == 1 << 20
    for size, threshold in [(3, 1), (2 * 10**9, 1), (10 * mib + 1, 1000)]:
        ranges = plan_ranges(size, threshold)
        assert ranges[0][0] == 0 and ranges[-1][1] == size
        assert all(a[1] == b[0] for a, b in itertools.pairwise(ranges))
        assert len(ranges) == 1 or all(end - start >= mib for start, end in ranges)
    with pytest.raises(ValueError):
        plan_ranges(10, 0)
    assert read_offset(0) == 0 and read_offset(100) == 99


def test_an_object_is_never_split_into_more_than_max_parts() -> None:
    # A threshold far below the object (a huge object, or a misconfiguration): at most
    # MAX_PARTS ranges, longer ones, still tiling the object.
    for size, threshold in [(1 << 40, 2), (1 << 40, MIN_SPLIT_THRESHOLD)]:
        ranges = plan_ranges(size, threshold)
        assert len(ranges) == MAX_PARTS
        assert ranges[0][0] == 0 and ranges[-1][1] == size
        assert all(a[1] == b[0] for a, b in itertools.pairwise(ranges))


def test_safe_bytes_are_ascii_and_end_words() -> None:
    assert set(SPLIT_SAFE_BYTES) == {"words", "seed"}
    assert SPLIT_SAFE_BYTES["seed"] == b"\t\n\x0b\x0c\r "
    words = SPLIT_SAFE_BYTES["words"]
    assert b" " in words and b"." in words and b"'" not in words and b"a" not in words
    assert all(b < 0x80 for b in words)


_COMPRESSED = {
    "gzip": gzip.compress(b"some text"),
    "bzip2": bz2.compress(b"some text"),
    "xz": lzma.compress(b"some text"),
    "zstd": zstandard.ZstdCompressor().compress(b"some text"),
}


@pytest.mark.parametrize("kind", sorted(_COMPRESSED))
def test_compressed_input_is_not_split(kind: str) -> None:
    for mode in ("words", "seed"):
        reason = unsplittable(_COMPRESSED[kind][:8], JobRequest.make(mode=mode))
        assert reason is not None and kind in reason


def test_utf16_is_not_split_but_a_utf8_bom_is() -> None:
    words = JobRequest.make()
    for bom in (b"\xff\xfe", b"\xfe\xff"):
        reason = unsplittable(bom + "text".encode("utf-16-le"), words)
        assert reason is not None and "UTF-16" in reason
        # Forced to a byte encoding, or in seed mode, those bytes are just text.
        assert unsplittable(bom + b"text", JobRequest.make(encoding="cp1252")) is None
        assert unsplittable(bom + b"text", JobRequest.make(mode="seed")) is None
    assert unsplittable(b"plain", JobRequest.make(encoding="utf-16")) is not None
    assert unsplittable(b"\xef\xbb\xbfplain", words) is None
    assert unsplittable(b"", words) is None
    with pytest.raises(ValueError, match="utf-16"):
        Counter("words", "utf-16", at_start=False)
