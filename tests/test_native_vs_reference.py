"""Property tests: the native counter (``wordfreq_service._core``) and the pure-Python
reference (``counting.reference``) give identical ``counts()``, ``report()`` and
``skipped`` on any input, in both modes and all encodings, with any word-length limit,
however the input is cut into chunks."""

from __future__ import annotations

import codecs
import os
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from wordfreq_service._core import Counter, normalize_word
from wordfreq_service.counting import reference

from tests.helpers import feed_at_cuts

# The native counter splits chunks of at least this many bytes across the cores.
PARALLEL_MIN_BYTES = 1 << 20

WORDS_ENCODINGS: list[str | None] = [None, "utf-8", "cp1252", "latin-1", "utf-16"]

# Characters that stress the rules: apostrophes, sigma and other special lowercasing,
# case-ignorable and cased marks, composing sequences (Latin, Hangul), format characters,
# digits and separators, letters newer than Unicode 14 (unassigned for Python 3.11).
INTERESTING = (
    "'’ʼ\u2018Σσςİıi\u0307ͅ\u0301\u0345ǅǄßẞΟΔΑ\u212aÅAEeé\u1100\u1161\u11a8가ᄀ"
    "\u200b\u00ad\ufeff\ufffd0123 \t\r\n.,-—😀\U0001f3fb\u0300\u0327cÇ\u0130\u03a3"
    "\U00011f04\u0870Ꟁꟁ\U00010570\U00010597\u2c2f\u2c5f"
    # Scripts written without spaces (segmented): Han, kana with the prolonged sound and
    # iteration marks and a combining voiced mark, Thai with its vowel signs, Lao, Khmer,
    # Myanmar, halfwidth Katakana, an ideograph outside the BMP, CJK punctuation.
    "中文北京天安门日本語々〆のはをテキストーカタカナ\u3099ｶﾀ\U00020000"
    "ภาษาไทยสวัสดี\u0e31\u0e48ລາວខ្មែរမြန်မာ。、"
)
char = st.one_of(
    st.sampled_from(INTERESTING),
    st.characters(codec="utf-8"),
    st.characters(min_codepoint=0x41, max_codepoint=0x7A),
)
text = st.lists(char, max_size=60).map("".join)
cuts = st.lists(st.integers(min_value=0, max_value=1000), max_size=5)
top = st.one_of(st.none(), st.integers(min_value=0, max_value=6))
min_length = st.integers(min_value=0, max_value=4)

# Bytes that stress the decoders: BOMs, Windows-1252 specials, broken UTF-8 and UTF-16.
RAW = [
    b"\xef\xbb\xbf", b"\xff\xfe", b"\xfe\xff", b"\x92", b"\x8a", b"\x9a", b"\x81", b"\x9f",
    b"\xe2\x80", b"\xc3", b"\xed\xa0\x80", b"\xf0\x9f\x98", b"\x00\xd8", b"\xd8\x00",
    b"\x00\xdc", b"\x00", b"'", b"a",
]  # fmt: skip


@st.composite
def mixed_bytes(draw: st.DrawFn) -> bytes:
    """Text in some encoding with raw byte fragments spliced in, maybe after a BOM."""
    parts = []
    for _ in range(draw(st.integers(min_value=0, max_value=6))):
        kind = draw(st.sampled_from(["utf-8", "utf-16-le", "utf-16-be", "cp1252", "raw"]))
        if kind == "raw":
            parts.append(draw(st.sampled_from(RAW)))
        elif kind == "cp1252":
            parts.append(draw(text).encode("cp1252", "ignore"))
        else:
            parts.append(draw(text).encode(kind, "surrogatepass"))
    return b"".join(parts)


any_bytes = st.one_of(st.binary(max_size=200), mixed_bytes())
BOMS = [codecs.BOM_UTF8, codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE]


def utf16_with_bom(s: str, big_endian: bool) -> bytes:
    if big_endian:
        return codecs.BOM_UTF16_BE + s.encode("utf-16-be")
    return codecs.BOM_UTF16_LE + s.encode("utf-16-le")


def feed_native(
    data: bytes,
    mode: str,
    encoding: str | None,
    cut_at: list[int],
    max_word_length: int | None = None,
) -> Counter:
    counter = Counter(mode, encoding, max_word_length)
    feed_at_cuts(counter, data, cut_at)
    return counter


def check(
    data: bytes,
    mode: str,
    encoding: str | None,
    cut_at: list[int],
    st_data: st.DataObject | None = None,
    max_word_length: int | None = None,
) -> None:
    native = feed_native(data, mode, encoding, cut_at, max_word_length)
    ref = reference.Counter(mode, encoding, max_word_length)
    ref.feed(data)
    want = ref.counts()
    assert native.counts() == want
    assert native.skipped == ref.skipped
    if st_data is None:
        assert native.report(10, 1) == ref.report(10, 1)
        assert native.report(None, 0) == ref.report(None, 0)
        return
    args = (
        st_data.draw(top, label="top"),
        st_data.draw(min_length, label="min_length"),
        st_data.draw(st.sets(st.sampled_from(sorted(want))) if want else st.just(set[str]())),
    )
    assert native.report(*args) == ref.report(*args)


# WORDFREQ_PROPERTY_EXAMPLES=5000 for a deeper search than the default run's.
EXAMPLES = int(os.environ.get("WORDFREQ_PROPERTY_EXAMPLES", "300"))
COMMON = settings(max_examples=EXAMPLES, deadline=None)


@COMMON
@given(data=any_bytes, encoding=st.sampled_from(WORDS_ENCODINGS), cut_at=cuts)
def test_words_mode_on_arbitrary_bytes(
    data: bytes, encoding: str | None, cut_at: list[int]
) -> None:
    check(data, "words", encoding, cut_at)


@COMMON
@given(data=any_bytes, cut_at=cuts)
def test_seed_mode_on_arbitrary_bytes(data: bytes, cut_at: list[int]) -> None:
    check(data, "seed", None, cut_at)


@COMMON
@given(s=text, cut_at=cuts, st_data=st.data())
def test_text_as_utf8(s: str, cut_at: list[int], st_data: st.DataObject) -> None:
    data = s.encode()
    for mode, encoding in [("words", None), ("words", "utf-8"), ("seed", None)]:
        check(data, mode, encoding, cut_at, st_data)
    check(codecs.BOM_UTF8 + data, "words", None, cut_at)


@COMMON
@given(s=text, big_endian=st.booleans(), cut_at=cuts, st_data=st.data())
def test_text_as_utf16_with_bom(
    s: str, big_endian: bool, cut_at: list[int], st_data: st.DataObject
) -> None:
    data = utf16_with_bom(s, big_endian)
    for encoding in (None, "utf-16"):
        check(data, "words", encoding, cut_at, st_data)
    check(s.encode("utf-16-le"), "words", "utf-16", cut_at)


@COMMON
@given(s=text, cut_at=cuts)
def test_text_in_single_byte_encodings(s: str, cut_at: list[int]) -> None:
    for codec in ("cp1252", "latin-1"):
        data = s.encode(codec, "replace")
        for encoding in (None, codec):
            check(data, "words", encoding, cut_at)
        check(data, "seed", None, cut_at)


# --- the word-length limit ------------------------------------------------------------

# Small limits, so that words over them are common and cross chunk boundaries.
max_len = st.integers(min_value=1, max_value=12)
# Many cuts: a long run is fed in many pieces.
many_cuts = st.lists(st.integers(min_value=0, max_value=400), max_size=40)


@st.composite
def long_runs(draw: st.DrawFn) -> bytes:
    """Text with long runs of letters (ASCII, non-ASCII, joined by apostrophes)."""
    parts = []
    for _ in range(draw(st.integers(min_value=1, max_value=5))):
        unit = draw(st.sampled_from(["a", "é", "ab'c", "Σ’x", "e\u0301", "語"]))
        parts.append(unit * draw(st.integers(min_value=0, max_value=60)))
        parts.append(draw(text))
    return "".join(parts).encode()


@COMMON
@given(
    data=st.one_of(any_bytes, long_runs()),
    encoding=st.sampled_from(WORDS_ENCODINGS),
    cut_at=many_cuts,
    limit=max_len,
)
def test_word_length_limit_words_mode(
    data: bytes, encoding: str | None, cut_at: list[int], limit: int
) -> None:
    check(data, "words", encoding, cut_at, max_word_length=limit)


@COMMON
@given(data=st.one_of(any_bytes, long_runs()), cut_at=many_cuts, limit=max_len)
def test_word_length_limit_seed_mode(data: bytes, cut_at: list[int], limit: int) -> None:
    check(data, "seed", None, cut_at, max_word_length=limit)


@COMMON
@given(
    s=st.one_of(text, long_runs().map(bytes.decode)),
    big_endian=st.booleans(),
    cut_at=many_cuts,
    limit=max_len,
    st_data=st.data(),
)
def test_word_length_limit_utf16(
    s: str, big_endian: bool, cut_at: list[int], limit: int, st_data: st.DataObject
) -> None:
    data = utf16_with_bom(s, big_endian)
    for encoding in (None, "utf-16"):
        check(data, "words", encoding, cut_at, st_data, max_word_length=limit)


# --- large chunks: the parallel path --------------------------------------------------

LARGE = settings(
    max_examples=4,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


def repeat_past_threshold(unit: bytes) -> bytes:
    unit = unit or b" "
    return unit * (PARALLEL_MIN_BYTES // len(unit) + 2)


large_unit = st.lists(st.one_of(any_bytes, text.map(str.encode)), min_size=1, max_size=8).map(
    b"".join
)


@LARGE
@given(unit=large_unit)
def test_large_chunks_words_mode(unit: bytes) -> None:
    data = repeat_past_threshold(unit)
    for encoding in (None, "cp1252"):
        check(data, "words", encoding, [])


@LARGE
@given(unit=large_unit)
def test_large_chunks_seed_mode(unit: bytes) -> None:
    check(repeat_past_threshold(unit), "seed", None, [])


@LARGE
@given(unit=st.one_of(large_unit, long_runs()), limit=max_len)
def test_large_chunks_with_a_word_length_limit(unit: bytes, limit: int) -> None:
    # Always some ASCII words over any drawn limit: the fast path must skip them too.
    data = repeat_past_threshold(unit + b" abcdefghijklmn op'qrstuvwxyzab, ")
    check(data, "words", None, [], max_word_length=limit)
    check(data, "seed", None, [], max_word_length=limit)
    utf16 = codecs.BOM_UTF16_LE + data.decode("utf-8", "replace").encode("utf-16-le")
    check(utf16, "words", None, [], max_word_length=limit)


@LARGE
@given(s=text, big_endian=st.booleans())
def test_large_chunks_utf16(s: str, big_endian: bool) -> None:
    unit = (s or "x").encode("utf-16-be" if big_endian else "utf-16-le")
    bom = codecs.BOM_UTF16_BE if big_endian else codecs.BOM_UTF16_LE
    check(bom + unit * (PARALLEL_MIN_BYTES // len(unit) + 2), "words", None, [])


@given(s=text)
def test_normalize_word_matches_the_reference(s: str) -> None:
    """Stop-word lists are normalised by the core's own rule, which is the reference's."""
    for word in reference.split_words(s):
        assert normalize_word(word) == reference.normalize_word(word)


@COMMON
@given(
    data=st.tuples(st.sampled_from([b"", *BOMS]), any_bytes).map(b"".join),
    setting=st.sampled_from(
        [("words", e) for e in WORDS_ENCODINGS if e != "utf-16"] + [("seed", None)]
    ),
    cut_at=cuts,
)
def test_a_counter_that_starts_mid_stream(
    data: bytes, setting: tuple[str, str | None], cut_at: list[int]
) -> None:
    # at_start=False: no BOM is looked for (a range of a split input after the first).
    mode, encoding = setting
    native = Counter(mode, encoding, at_start=False)
    start = 0
    for cut in sorted(min(c, len(data)) for c in cut_at):
        native.feed(data[start:cut])
        start = max(start, cut)
    native.feed(data[start:])
    ref = reference.Counter(mode, encoding, at_start=False)
    ref.feed(data)
    assert native.counts() == ref.counts()
    assert native.skipped == ref.skipped


def test_the_reference_has_the_native_api(tmp_path: Path) -> None:
    for name in dir(Counter):
        if not name.startswith("_"):
            assert hasattr(reference.Counter, name), name
    data = b"one two two \xff\xfethree"
    csv_text = b'word,count\nextra,2\n"a,b",1\n'
    for make in (Counter, reference.Counter):
        with open(tmp_path / "in.txt", "w+b") as f:
            f.write(data)
            f.flush()
            counter = make("words", threads=2)
            counter.feed_file(f.fileno(), len(data))
        counter.merge_csv([csv_text], skipped=3)
        assert counter.counts() == {"one": 1, "two": 2, "ÿþthree": 1, "extra": 2, "a,b": 1}
        assert counter.skipped == 3
