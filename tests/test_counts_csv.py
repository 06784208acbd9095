"""The job path's full counts written and compressed by the counting core
(``Counter.write_csv`` under ``formats.jobs.write_counter_counts``): the same CSV, byte
for byte once decompressed, as ``write_counts`` makes from the report's Python list, for
any input in both modes, with the report's filters, in bounded writes."""

from __future__ import annotations

import csv
import gzip
import io

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from wordfreq_service._core import MODES, Counter
from wordfreq_service.counting import reference
from wordfreq_service.formats.jobs import COUNTS_HEADER, write_counter_counts, write_counts

# Text with what CSV must quote (`"`, `,`), what splits words, and letters beyond ASCII;
# as tokens too, since seed mode counts only tokens of five bytes or more.
_chars = st.sampled_from("ab,\"'’ \n\r\tÉéΣσς-1") | st.characters(codec="utf-8")
_token = st.text(st.sampled_from("ab,\"'’ÉΣς-") | _chars, min_size=3, max_size=12)
_text = st.text(_chars, max_size=200) | st.lists(_token, max_size=30).map(" ".join)


def _counted(mode: str, text: str) -> Counter:
    counter = Counter(mode)
    counter.feed(text.encode())
    return counter


def _both(counter: Counter, min_length: int, stop: frozenset[str]) -> tuple[bytes, bytes, int]:
    """The counts CSV, decompressed, as the core writes it and as ``write_counts`` writes
    the report's list, and the size the core reports."""
    native, listed = io.BytesIO(), io.BytesIO()
    size = write_counter_counts(counter, native, min_length, stop)
    listed_size = write_counts(counter.report(None, min_length, stop)[2], listed)
    assert size == listed_size
    return gzip.decompress(native.getvalue()), gzip.decompress(listed.getvalue()), size


@settings(max_examples=150, deadline=None)
@given(
    mode=st.sampled_from(MODES),
    text=_text,
    min_length=st.integers(0, 4),
    stop=st.frozensets(st.sampled_from(["a", "b", "ab", '"', "a,b", "σ"]), max_size=3),
)
def test_the_core_writes_the_csv_write_counts_writes(
    mode: str, text: str, min_length: int, stop: frozenset[str]
) -> None:
    counter = _counted(mode, text)
    plain, listed, size = _both(counter, min_length, stop)
    assert plain == listed
    assert len(plain) == size
    # And it reads back as the report: every kept word, in order.
    rows = list(csv.reader(io.StringIO(plain.decode(), newline="")))
    assert rows[0] == list(COUNTS_HEADER)
    assert rows[1:] == [[w, str(n)] for w, n in counter.report(None, min_length, stop)[2]]
    # The pure-Python twin writes the same rows.
    twin = reference.Counter(mode)
    twin.feed(text.encode())
    rows_only = io.BytesIO()
    assert twin.write_csv(rows_only, min_length, stop) == size - len(plain.split(b"\n")[0]) - 1
    assert rows_only.getvalue() == plain.split(b"\n", 1)[1]


def test_quoting_is_csv_writers_for_each_special_character() -> None:
    # Seed mode keeps inner punctuation, which words mode never counts.
    counter = _counted("seed", 'plain q"u,o say""so left,right plain')
    plain = _both(counter, 0, frozenset())[0].decode()
    assert plain == ('word,count\nplain,2\n"left,right",1\n"q""u,o",1\n"say""""so",1\n')


def test_stop_words_and_min_length_are_honoured() -> None:
    counter = _counted("words", "The cat and the hat sat on the mat, a cat")
    plain = _both(counter, 3, frozenset({"the", "and"}))[0].decode()
    assert plain == "word,count\ncat,2\nhat,1\nmat,1\nsat,1\n"


class _Recorder(io.RawIOBase):
    """A raw file that takes at most ``most`` bytes per write, recording each write."""

    def __init__(self, most: int) -> None:
        self.most = most
        self.sizes: list[int] = []
        self.data = bytearray()

    def writable(self) -> bool:
        return True

    def write(self, b: object) -> int:
        view = memoryview(b).cast("B")  # type: ignore[arg-type]
        self.sizes.append(len(view))
        taken = bytes(view[: self.most])
        self.data += taken
        return len(taken)


@pytest.mark.parametrize("most", [1 << 30, 10_000])
def test_large_counts_go_out_in_bounded_writes_short_writes_included(most: int) -> None:
    words = ["".join(chr(97 + i // 26**k % 26) for k in (3, 2, 1, 0)) for i in range(40_000)]
    counter = _counted("words", " ".join(words))
    out = _Recorder(most)
    size = counter.write_csv(out, 0)
    expected = "".join(f"{w},1\n" for w in words).encode()
    assert bytes(out.data) == expected and size == len(expected)
    assert len(out.sizes) >= 5 and max(out.sizes) < (64 << 10) + 256


def test_compressed_counts_go_out_in_pieces_and_decompress_whole() -> None:
    words = ["".join(chr(97 + i // 26**k % 26) for k in (3, 2, 1, 0)) for i in range(200_000)]
    counter = _counted("words", " ".join(words))
    out = _Recorder(1 << 30)
    size = counter.write_csv(out, 0, header=b"head\n", gzip_level=1)
    expected = b"head\n" + "".join(f"{w},1\n" for w in words).encode()
    assert gzip.decompress(bytes(out.data)) == expected and size == len(expected)
    assert len(out.sizes) > 2 and len(out.data) < len(expected)
    with pytest.raises(ValueError, match="gzip_level"):
        counter.write_csv(out, 0, gzip_level=10)


def test_a_file_that_takes_nothing_is_an_error() -> None:
    counter = _counted("words", "one two")
    with pytest.raises(OSError, match="took none"):
        counter.write_csv(_Recorder(0), 0)
