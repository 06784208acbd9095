"""``Counter.merge_csv``: a counts CSV (as ``write_csv`` and Python's ``csv`` module write
it) read back into a counter, in chunks cut anywhere; a malformed one is refused, naming
its line, and adds nothing."""

from __future__ import annotations

import csv
import io
from collections import Counter as Tally
from collections.abc import Iterator

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from wordfreq_service import _core
from wordfreq_service._core import Counter
from wordfreq_service.counting import reference

# Words of every length the table stores differently (empty, 1-7, 8-15, longer), with
# what CSV quotes. (Python's writer leaves a lone "\r" unquoted, which no reader can read
# back; no counter makes such a word.)
_word = (
    st.text(st.sampled_from('ab,"\n é’中'), max_size=20)
    | st.text(max_size=3).filter(lambda w: "\r" not in w)
    | st.sampled_from(["x" * 300, "a\r\nb", "\r\n"])
)
_rows = st.lists(st.tuples(_word, st.integers(1, 2**40)), max_size=40)


def _csv(rows: list[tuple[str, int]], header: tuple[str, str] = ("word", "count")) -> bytes:
    text = io.StringIO()
    csv.writer(text, lineterminator="\n").writerows([header, *rows])
    return text.getvalue().encode()


def _cut(data: bytes, size: int) -> Iterator[bytes]:
    return (data[i : i + size] for i in range(0, len(data), size))


@settings(max_examples=200, deadline=None)
@given(rows=_rows, more=_rows, size=st.integers(1, 50), mode=st.sampled_from(["words", "seed"]))
def test_merged_counts_add_up(
    rows: list[tuple[str, int]], more: list[tuple[str, int]], size: int, mode: str
) -> None:
    counter = Counter(mode)
    counter.merge_csv(_cut(_csv(rows), size), skipped=3)
    counter.merge_csv([bytearray(_csv(more)), memoryview(b"")], skipped=1)
    want: Tally[str] = Tally()
    for word, n in [*rows, *more]:
        want[word] += n
    assert counter.counts() == dict(want)
    assert counter.skipped == 4


def test_it_adds_to_what_was_counted_and_finishes_the_counter() -> None:
    counter = Counter("seed")
    counter.feed(b"hello there hello")
    counter.merge_csv([b'word,count\r\nhello,2\r\n"a,""b""",1\r\n,5'])
    assert counter.counts() == {"hello": 4, "there": 1, 'a,"b"': 1, "": 5}
    assert counter.finished
    with pytest.raises(ValueError, match="finished"):
        counter.feed(b"more")


def test_a_csv_written_by_the_core_reads_back_at_every_cut() -> None:
    source = Counter("seed")
    source.feed(b'plain q"u,o say""so left,right plain "". a\nb')
    text = io.BytesIO()
    source.write_csv(text, 0, header=b"word,count\n")
    data = text.getvalue()
    for cut in range(len(data) + 1):
        counter = Counter("seed")
        counter.merge_csv([data[:cut], data[cut:]])
        assert counter.counts() == source.counts(), cut


@pytest.mark.parametrize(
    ("data", "line"),
    [
        (b"", 1),
        (b"word,total\nx,1\n", 1),
        (b"word,count\nx,1\n\n\r\ny\n", 5),
        (b"word,count\nx\n", 2),
        (b"word,count\nx,1,2\n", 2),
        (b"word,count\nx,0\n", 2),
        (b"word,count\nx,-3\n", 2),
        (b"word,count\nx,1.5\n", 2),
        (b"word,count\nx,18446744073709551616\n", 2),
        (b'word,count\n"x"y,1\n', 2),
        (b'word,count\na,1\n"open\n,1\n', 3),
        (b"word,count\na,1\n\xff\xfe,1\n", 3),
        (b"word,count\na\rb,1\n", 2),
    ],
)
def test_malformed_csv_is_refused_naming_the_line_and_adds_nothing(data: bytes, line: int) -> None:
    counter = Counter("words")
    counter.feed(b"kept")
    with pytest.raises(ValueError, match=f"malformed counts CSV at line {line}:"):
        counter.merge_csv(_cut(data, 3), skipped=7)
    assert counter.counts() == {"kept": 1}
    assert counter.skipped == 0


def test_an_error_from_the_chunks_adds_nothing() -> None:
    def chunks() -> Iterator[bytes]:
        yield b"word,count\nx,1\n"
        raise OSError("connection reset")

    counter = Counter("words")
    with pytest.raises(OSError, match="connection reset"):
        counter.merge_csv(chunks())
    assert counter.counts() == {}


def test_arguments_are_checked() -> None:
    counter = Counter("words")
    for bad in (-1, 2**64, "3", 1.0):
        with pytest.raises(ValueError, match="skipped"):
            counter.merge_csv([b"word,count\n"], skipped=bad)  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        counter.merge_csv([b"word,count\n", "x,1\n"])  # type: ignore[list-item]


def test_counts_saturate_and_a_huge_word_is_refused() -> None:
    counter = Counter("words")
    top = 2**64 - 1
    counter.merge_csv([f"word,count\nx,{top}\n".encode()])
    counter.merge_csv([b"word,count\nx,5\n"])
    assert counter.counts() == {"x": top}
    with pytest.raises(ValueError, match="line 2: a word or phrase longer than"):
        # Past the longest key a counter makes: MAX_NGRAMS words of 12 bytes per code
        # point of the limit, and the spaces between them.
        counter.merge_csv([b"word,count\n", *([b"y" * 65536] * 61), b",1\n"])


def test_the_longest_word_a_counter_makes_merges_back() -> None:
    # U+FB2C is 3 bytes and normalises (NFC) to three 2-byte code points: the longest
    # word a counter keeps is 6 bytes per code point of input here, 12 at worst.
    source = Counter("words", None, 65536)
    source.feed(("\ufb2c" * 65536 + " x").encode())
    (word,) = [w for w in source.counts() if w != "x"]
    assert len(word.encode()) == 6 * 65536
    text = io.BytesIO()
    source.write_csv(text, 0, header=b"word,count\n")
    counter = Counter("words")
    counter.merge_csv(_cut(text.getvalue(), 1 << 16))
    assert counter.counts() == source.counts()


def test_blank_lines_are_skipped_as_pythons_csv_skips_them() -> None:
    data = b"word,count\n\na,1\r\n\r\nb,2\n\n"
    rows = csv.DictReader(io.StringIO(data.decode(), newline=""))
    assert [(row["word"], row["count"]) for row in rows] == [("a", "1"), ("b", "2")]
    for size in (1, 3, len(data)):
        counter = Counter("words")
        counter.merge_csv(_cut(data, size))
        assert counter.counts() == {"a": 1, "b": 2}


@pytest.mark.parametrize("make", [Counter, reference.Counter], ids=["core", "reference"])
def test_the_longest_phrase_a_counter_writes_merges_back(make: type[Counter]) -> None:
    """The longest key a counts CSV holds: MAX_NGRAMS words at the word-length limit, of
    the letter whose normalised form is longest (U+FB2C stays three 2-byte code points
    under NFC), written by ``write_csv`` and read back by ``merge_csv``: what
    ``submit --aggregate`` and corpus jobs do with every member's counts."""
    limit, n = _core.MAX_WORD_LENGTH_LIMIT, _core.MAX_NGRAMS
    word = "\ufb2c" * limit
    counter = make("words", max_word_length=limit, ngrams=n)
    counter.feed(" ".join([word] * n).encode())
    out = io.BytesIO()
    counter.write_csv(out, 1, header=b"word,count\n")
    merged = make("words", max_word_length=limit, ngrams=n)
    merged.merge_csv(_cut(out.getvalue(), 1 << 16))
    assert merged.counts() == counter.counts()
    [key] = merged.counts()
    assert len(key.encode()) == n * 6 * limit + n - 1
