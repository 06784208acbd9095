"""N-grams in the counting core: the native counter against the pure-Python reference
(``counting/reference.py``, which defines the rules) on generated text rich in what
breaks a sequence, however the input is cut into chunks (raw invalid bytes and BOMs
too); a hand-checked example; the
report rule (a dropped word breaks a sequence); seed mode refuses them."""

from __future__ import annotations

import os
from collections import Counter as Tally
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from wordfreq_service._core import MAX_NGRAMS, Counter
from wordfreq_service.counting import reference

from tests.helpers import feed_at_cuts

# Pieces that stress the n-gram rules: sentence ends of several scripts (and look-alikes
# that are not: the ellipsis, the semicolon), every spelling of a line break with white
# space between two, U+2029, apostrophes that join or not, quotes and commas (no break),
# digits, letters of several scripts, marks, a Windows-1252 apostrophe.
PIECES = [
    ".", "!", "?", "。", "！", "？", "।", "؟", "‼", "…", ";", ",", '"', "«", "»", "—",
    "\n", "\r", "\r\n", "\n\n", "\r\n\r\n", "\r\r", "\n \t\n", "\n\u00a0\r\n", "\u2029",
    "\u2028", "\x0c", " ", "  ", "\t", "'", "’", "don't", "rock'n'roll", "dogs'", "3.14",
    "the", "The", "cat", "CAT", "sat", "a", "ΟΔΟΣ", "café", "cafe\u0301", "Москва", "東京",
    "ภาษา", "كتاب", "e.g.", "U.S.", "\x92",
]  # fmt: skip
# Scripts written without spaces, segmented into words (by the core's segmenter, in the
# core and the reference alike): whole clauses, with their own sentence ends, and runs
# of their letters mixed with the rest.
UNSPACED = [
    "我爱北京天安门广场", "天安门广场很大", "日本語を話します", "東京タワーに行きました",
    "ภาษาไทยง่ายมาก", "ສະບາຍດີ", "ភាសាខ្មែរ", "မြန်မာစာ", "カタカナ", "ひらがな",
]  # fmt: skip
piece = st.one_of(
    st.sampled_from(PIECES),
    st.sampled_from(UNSPACED),
    st.text(alphabet="北京大学生日本語をはのタワーภาษาไทย", min_size=1, max_size=12),
    st.characters(codec="utf-8"),
    st.text(alphabet="abcXYZé", min_size=1, max_size=12),  # long runs for small limits
)
texts = st.lists(piece, max_size=80).map("".join)
cuts = st.lists(st.integers(min_value=0, max_value=600), max_size=6)
ngram_sizes = st.integers(min_value=2, max_value=MAX_NGRAMS)
limits = st.one_of(st.none(), st.integers(min_value=1, max_value=8))

EXAMPLES = int(os.environ.get("WORDFREQ_PROPERTY_EXAMPLES", "200"))
COMMON = settings(max_examples=EXAMPLES, deadline=None, print_blob=True)


def native(
    data: bytes,
    n: int,
    cut_at: list[int],
    *,
    encoding: str | None = None,
    limit: int | None = None,
    threads: int | None = None,
) -> Counter:
    counter = Counter("words", encoding, limit, ngrams=n, threads=threads)
    feed_at_cuts(counter, data, cut_at)
    return counter


def ref(
    data: bytes, n: int, *, encoding: str | None = None, limit: int | None = None
) -> reference.Counter:
    counter = reference.Counter("words", encoding, limit, ngrams=n)
    counter.feed(data)
    return counter


@COMMON
@given(s=texts, n=ngram_sizes, cut_at=cuts, limit=limits, st_data=st.data())
def test_the_core_counts_the_reference_ngrams(
    s: str, n: int, cut_at: list[int], limit: int | None, st_data: st.DataObject
) -> None:
    data = s.encode()
    got, want = native(data, n, cut_at, limit=limit), ref(data, n, limit=limit)
    counts = want.counts()
    assert got.counts() == counts
    assert got.skipped == want.skipped
    # The report rule, with stop words and a minimum length drawn from the keys' words.
    words = sorted({w for key in counts for w in key.split(" ")})
    stop = st_data.draw(st.sets(st.sampled_from(words)) if words else st.just(set[str]()))
    min_length = st_data.draw(st.integers(min_value=0, max_value=4))
    top = st_data.draw(st.one_of(st.none(), st.integers(min_value=0, max_value=5)))
    assert got.report(top, min_length, stop) == want.report(top, min_length, stop)


@COMMON
@given(
    s=texts,
    n=ngram_sizes,
    cut_at=cuts,
    encoding=st.sampled_from([None, "cp1252", "latin-1", "utf-16"]),
)
def test_other_encodings_give_the_reference_ngrams(
    s: str, n: int, cut_at: list[int], encoding: str | None
) -> None:
    if encoding == "utf-16":
        data = s.encode("utf-16-le", "surrogatepass")
    elif encoding is None:
        data = s.encode("utf-8", "surrogatepass")
    else:
        data = s.encode(encoding, "ignore")
    got, want = native(data, n, cut_at, encoding=encoding), ref(data, n, encoding=encoding)
    assert got.counts() == want.counts()


# Bytes as they come, not only valid text: bytes no UTF-8 sequence holds (each one
# character of Windows-1252, the fallback), UTF-8 sequences cut short, and text.
RAW_BYTES = [
    b"\x92",
    b"\x85",
    b"\x80",
    b"\xff",
    b"\xc3",
    b"\xe2\x80",
    b"\xf0\x9f\x98",
    b"\xed\xa0\x80",
]
byte_piece = st.one_of(
    st.sampled_from(RAW_BYTES), piece.map(lambda p: p.encode("utf-8", "surrogatepass"))
)
# A BOM is looked for only at the start (encoding=None): UTF-8's, UTF-16's either way.
BOMS = [b"", b"\xef\xbb\xbf", b"\xff\xfe", b"\xfe\xff"]


@COMMON
@given(
    pieces=st.lists(byte_piece, max_size=60),
    bom=st.sampled_from(BOMS),
    n=ngram_sizes,
    st_data=st.data(),
)
def test_raw_bytes_and_boms_give_the_reference_ngrams(
    pieces: list[bytes], bom: bytes, n: int, st_data: st.DataObject
) -> None:
    if bom == b"\xff\xfe" or bom == b"\xfe\xff":
        codec = "utf-16-le" if bom == b"\xff\xfe" else "utf-16-be"
        text = b"".join(pieces).decode("utf-8", "replace")
        data = bom + text.encode(codec, "surrogatepass")
    else:
        data = bom + b"".join(pieces)
    # Cuts anywhere in the input, so often inside a multi-byte character.
    cut_at = st_data.draw(st.lists(st.integers(0, len(data)), max_size=8))
    got, want = native(data, n, cut_at), ref(data, n)
    assert got.counts() == want.counts()
    assert got.skipped == want.skipped


@settings(
    max_examples=30,
    deadline=None,
    print_blob=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(s=texts, n=ngram_sizes)
def test_threads_and_ranges_do_not_change_ngrams(s: str, n: int, tmp_path: Path) -> None:
    # Thresholds lowered so that single words would take the parallel path and
    # `feed_file`'s ranges: with N > 1 the counter counts on one thread, so no sequence
    # is cut.
    data = (s + "\n").encode() * 40
    want = ref(data, n).counts()
    parallel = Counter("words", ngrams=n, threads=2)
    parallel._set_parallel_min_for_tests(16)
    parallel.feed(data)
    assert parallel.counts() == want
    path = tmp_path / "big.txt"
    path.write_bytes(data)
    ranged = Counter("words", ngrams=n, threads=2)
    ranged._set_file_ranges_for_tests(64, 1000)
    with open(path, "rb") as f:
        ranged.feed_file(f.fileno(), len(data))
    assert ranged.counts() == want


# A short paragraph whose counts are worked out by hand below.
HAND_CHECKED = (
    "The old man saw the old dog. The old dog, the OLD man's friend, barked!\n"
    "\n"
    "Old man’s dog?\r\n"
    "no"
)
# Sequences (what breaks them): [the old man saw the old dog] (.) [the old dog the old
# man's friend barked] (! and a blank line) [old man's dog] (?) [no]; the comma does not
# break, the U+2019 in man’s is an apostrophe, "no" is alone.
HAND_BIGRAMS = {
    "the old": 4, "old man": 1, "man saw": 1, "saw the": 1, "old dog": 2, "dog the": 1,
    "old man's": 2, "man's friend": 1, "friend barked": 1, "man's dog": 1,
}  # fmt: skip
HAND_TRIGRAMS = {
    "the old man": 1, "old man saw": 1, "man saw the": 1, "saw the old": 1, "the old dog": 2,
    "old dog the": 1, "dog the old": 1, "the old man's": 1, "old man's friend": 1,
    "man's friend barked": 1, "old man's dog": 1,
}  # fmt: skip


@pytest.mark.parametrize("make", [Counter, reference.Counter])
def test_a_hand_checked_paragraph(make: type[Counter]) -> None:
    for n, want in ((2, HAND_BIGRAMS), (3, HAND_TRIGRAMS)):
        counter = make("words", ngrams=n)
        counter.feed(HAND_CHECKED.encode())
        assert counter.counts() == want
        total, unique, top = counter.report(2, 1)
        assert (total, unique) == (sum(want.values()), len(want))
        assert top == sorted(want.items(), key=lambda kv: (-kv[1], kv[0]))[:2]
    # Only the first two sentences hold five words in a row.
    five = make("words", ngrams=5)
    five.feed(HAND_CHECKED.encode())
    assert five.counts() == {
        "the old man saw the": 1, "old man saw the old": 1, "man saw the old dog": 1,
        "the old dog the old": 1, "old dog the old man's": 1, "dog the old man's friend": 1,
        "the old man's friend barked": 1,
    }  # fmt: skip


@pytest.mark.parametrize("make", [Counter, reference.Counter])
def test_a_skipped_word_in_unspaced_text_breaks_a_sequence(make: type[Counter]) -> None:
    # Segmented 我 / 爱 / 北京 / 天安门 / 广场: 天安门 is over the limit of 2, so
    # 北京 and 广场 are not consecutive (and 广场 makes no pair before the sentence end).
    counter = make("words", None, 2, ngrams=2)
    counter.feed("我爱北京天安门广场。东京".encode())
    assert counter.counts() == {"我 爱": 1, "爱 北京": 1}
    assert counter.skipped == 1


@pytest.mark.parametrize("make", [Counter, reference.Counter])
def test_stop_words_break_sequences_rather_than_being_skipped_over(make: type[Counter]) -> None:
    counter = make("words", ngrams=2)
    counter.feed(b"big cats and small dogs and big cats")
    # "and" dropped: "cats and" and "and small" go, and no "cats small" appears.
    total, unique, words = counter.report(None, 1, {"and"})
    assert words == [("big cats", 2), ("small dogs", 1)]
    assert (total, unique) == (3, 2)
    # --min-length drops an n-gram holding a short word the same way.
    assert counter.report(None, 4, None)[2] == [("small dogs", 1)]
    # Single words keep today's meaning of total: the kept words' counts.
    words_only = make("words")
    words_only.feed(b"big cats and small dogs and big cats")
    assert words_only.report(None, 1, {"and"})[:2] == (6, 4)


@pytest.mark.parametrize("make", [Counter, reference.Counter])
def test_each_input_is_counted_on_its_own_and_merges_exactly(make: type[Counter]) -> None:
    first, second = make("words", ngrams=2), make("words", ngrams=2)
    first.feed(b"new york")
    second.feed(b"york city")
    first.merge(second)
    # No "york york": a sequence never runs from one input into the next.
    assert first.counts() == {"new york": 1, "york city": 1}
    with pytest.raises(ValueError, match="different ngrams"):
        first.merge(make("words", ngrams=3))


@pytest.mark.parametrize("make", [Counter, reference.Counter])
def test_seed_mode_and_out_of_range_sizes_are_refused(make: type[Counter]) -> None:
    with pytest.raises(ValueError, match="ngrams applies to words mode only"):
        make("seed", ngrams=2)
    assert make("seed", ngrams=1).ngrams == 1
    for bad in (0, MAX_NGRAMS + 1, -1):
        with pytest.raises(ValueError, match=f"ngrams must be between 1 and {MAX_NGRAMS}"):
            make("words", ngrams=bad)


def test_single_words_are_unchanged() -> None:
    text = HAND_CHECKED.encode()
    plain, one = Counter("words"), Counter("words", ngrams=1)
    plain.feed(text)
    one.feed(text)
    assert plain.counts() == one.counts() == Tally(reference.words_mode(text))
    assert one.ngrams == 1 and "cat sat" not in one.counts()
