"""Hand-checked examples through the native counter, ``wordfreq_service._core.Counter``."""

from __future__ import annotations

import codecs
import os
import random
import subprocess
import sys
import unicodedata

import pytest
from wordfreq_service._core import (
    DEFAULT_MAX_WORD_LENGTH,
    ENCODINGS,
    MAX_WORD_LENGTH_LIMIT,
    MODES,
    Counter,
    __version__,
    _panic_for_tests,
)

from tests.helpers import CORPUS, ROOT, SEED_SAMPLE, SEED_TOP_TEN


def counts(
    data: bytes | list[bytes], mode: str = "words", encoding: str | None = None
) -> dict[str, int]:
    counter = Counter(mode, encoding)
    for chunk in [data] if isinstance(data, bytes) else data:
        counter.feed(chunk)
    return counter.counts()


def every_split(data: bytes, mode: str = "words", encoding: str | None = None) -> dict[str, int]:
    """Counts of ``data`` fed whole, and the same when cut at every position."""
    whole = counts(data, mode, encoding)
    for cut in range(len(data) + 1):
        assert counts([data[:cut], data[cut:]], mode, encoding) == whole, cut
    assert counts([data[i : i + 1] for i in range(len(data))], mode, encoding) == whole
    return whole


# --- words mode ---------------------------------------------------------------------


@pytest.mark.skipif(unicodedata.unidata_version != "14.0.0", reason="needs Python 3.11's Unicode")
def test_generated_unicode_tables_are_up_to_date() -> None:
    tool = ROOT / "tools" / "gen_unicode_tables.py"
    proc = subprocess.run([sys.executable, str(tool), "--check"], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr + proc.stdout


def test_module_version() -> None:
    assert isinstance(__version__, str) and __version__


def test_apostrophes() -> None:
    assert counts("Don’t don't DON'T".encode()) == {"don't": 3}
    assert counts(b"o'clock rock'n'roll 'tis dogs' a''b") == {
        "o'clock": 1,
        "rock'n'roll": 1,
        "tis": 1,
        "dogs": 1,
        "a": 1,
        "b": 1,
    }


def test_nfc_and_nfd_are_one_word() -> None:
    assert counts("café cafe\u0301 CAFÉ".encode()) == {"café": 3}


def test_digits_punctuation_and_format_characters_separate() -> None:
    assert counts(b"abc123def") == {"abc": 1, "def": 1}
    assert counts("zero\u200bwidth soft\u00adhyphen x\ufffdy a😀b".encode()) == {
        w: 1 for w in ["zero", "width", "soft", "hyphen", "x", "y", "a", "b"]
    }


def test_windows_1252_bytes() -> None:
    assert counts(b"don\x92t") == {"don't": 1}
    assert counts(b"\x8aa\x9a \x8cuvre\x9c x\x97y z\x81w") == {
        "šaš": 1,
        "œuvreœ": 1,
        "x": 1,
        "y": 1,
        "z": 1,
        "w": 1,
    }
    # Each byte outside a valid UTF-8 sequence is decoded on its own: E2 80 41 = â € A.
    assert counts(b"\xe2\x80A") == {"â": 1, "a": 1}
    # Valid UTF-8 and Windows-1252 bytes may be mixed.
    assert counts(b"caf\xc3\xa9 caf\xe9") == {"café": 2}


def test_final_sigma_and_special_lowercase() -> None:
    assert counts("ΟΔΟΣ".encode()) == {"οδος": 1}
    assert next(iter(counts("ΟΔΟΣ".encode())))[-1] == "ς"
    assert counts("ΣΑΣ".encode()) == {"σας": 1}
    assert counts("Σ".encode()) == {"σ": 1}
    assert counts("Straße".encode()) == {"straße": 1}
    assert counts("İstanbul".encode()) == {"i\u0307stanbul": 1}


def test_utf16_with_bom() -> None:
    text = "Don’t stop ΟΔΟΣ 😀 end"
    want = {"don't": 1, "stop": 1, "οδος": 1, "end": 1}
    le = b"\xff\xfe" + text.encode("utf-16-le")
    be = b"\xfe\xff" + text.encode("utf-16-be")
    assert every_split(le) == want
    assert every_split(be) == want
    assert counts(le, encoding="utf-16") == want
    assert counts(be, encoding="utf-16") == want
    # No BOM: forced UTF-16 is little-endian.
    assert counts(text.encode("utf-16-le"), encoding="utf-16") == want


def test_forced_encodings() -> None:
    assert counts("é".encode(), encoding="cp1252") == {"ã": 1}
    assert counts(b"don\x92t", encoding="cp1252") == {"don't": 1}
    assert counts(b"don\x92t", encoding="latin-1") == {"don": 1, "t": 1}
    assert counts(b"ab\xe9cd", encoding="utf-8") == {"ab": 1, "cd": 1}
    assert counts(b"\xef\xbb\xbfhello", encoding="utf-8") == {"hello": 1}
    assert counts(b"\xef\xbb\xbfhello", encoding="cp1252") == {"ï": 1, "hello": 1}


def test_utf8_bom_dropped_even_split() -> None:
    assert every_split(b"\xef\xbb\xbfhello world") == {"hello": 1, "world": 1}
    # Not a BOM after all: the bytes are text.
    assert counts([b"\xef\xbb", b"x"]) == {"ï": 1, "x": 1}


def test_chunk_splits_inside_words_and_sequences() -> None:
    data = "Don’t stop—the CAFÉ’s ΟΔΟΣ; rock'n'roll cafe\u0301 dogs' x".encode()
    data += b" don\x92t \xe2\x80A \xc3"
    want = every_split(data)
    assert want["don't"] == 2
    assert want["café's"] == 1 and want["café"] == 1 and want["οδος"] == 1


# --- seed mode ----------------------------------------------------------------------


def test_seed_examples() -> None:
    assert counts(b"Hello, World!!", "seed") == {"hello": 1, "world": 1}
    assert counts(b'"quoted"', "seed") == {"quoted": 1}
    assert counts(b"It's", "seed") == {}
    assert counts(b"'....'", "seed") == {"": 1}
    assert counts("ÀÉÎ".encode(), "seed") == {"àéî": 1}
    assert counts(b"ab\xffc", "seed") == {"ab\ufffdc": 1}
    assert counts(b"ABCD\xff", "seed") == {"abcd\ufffd": 1}
    assert counts("\ufeffthe end".encode(), "seed") == {"\ufeffthe": 1}


def test_seed_go_space_set() -> None:
    for space in "\t\n\v\f\r \u0085\u00a0\u1680\u2000\u200a\u2028\u2029\u202f\u205f\u3000":
        data = f"alpha{space}bravo{space}".encode()
        assert every_split(data, "seed") == {"alpha": 1, "bravo": 1}, repr(space)
    for other in "\u200b\u180e\ufeff\x1c":
        assert counts(f"alpha{other}bravo".encode(), "seed") == {f"alpha{other}bravo": 1}


def test_seed_invalid_utf8_is_never_a_space() -> None:
    assert every_split(b"abcde\xc2 fgh12", "seed") == {"abcde\ufffd": 1, "fgh12": 1}
    assert every_split(b"abc\xe2\x80\xe2\x80\x80defgh", "seed") == {
        "abc\ufffd\ufffd": 1,
        "defgh": 1,
    }


def test_seed_gutenberg2_top_ten() -> None:
    counter = Counter("seed")
    with SEED_SAMPLE.open("rb") as f:
        while chunk := f.read(65536):
            counter.feed(chunk)
    _, _, top = counter.report(10, 0)
    assert top == SEED_TOP_TEN


# --- the API ------------------------------------------------------------------------


def test_bad_arguments_raise_value_error() -> None:
    with pytest.raises(ValueError):
        Counter("nope")
    with pytest.raises(ValueError):
        Counter("words", "ebcdic")
    with pytest.raises(ValueError):
        Counter("seed", "utf-8")
    c = Counter("words")
    c.finish()
    with pytest.raises(ValueError):
        c.feed(b"more")
    with pytest.raises(ValueError):
        Counter("words").merge(Counter("seed"))


def test_queries_finish_implicitly() -> None:
    c = Counter("words")
    assert c.mode == "words" and not c.finished
    c.feed(b"tail")
    assert c.counts() == {"tail": 1}
    assert c.finished
    c.finish()  # idempotent
    assert c.report(10, 1) == (1, 1, [("tail", 1)])
    with pytest.raises(ValueError):
        c.feed(b"x")
    assert Counter("seed").mode == "seed"


def test_feed_accepts_buffers() -> None:
    c = Counter("words")
    c.feed(bytearray(b"one "))
    c.feed(memoryview(b"two three")[:4])
    assert c.counts() == {"one": 1, "two": 1}


def test_merge() -> None:
    a, b = Counter("words"), Counter("words", encoding="cp1252")
    a.feed(b"the cat and the")
    b.feed(b"hat the end")
    a.merge(b)
    assert a.finished and b.finished
    assert a.counts() == {"the": 3, "cat": 1, "and": 1, "hat": 1, "end": 1}
    assert b.counts() == {"hat": 1, "the": 1, "end": 1}
    a.merge(a)
    assert a.counts()["the"] == 6


def test_report_ordering_and_filters() -> None:
    c = Counter("words")
    c.feed("b a é z zz zz ab ab ab é".encode())
    assert c.report(None, 0) == (
        10,
        6,
        [("ab", 3), ("zz", 2), ("é", 2), ("a", 1), ("b", 1), ("z", 1)],
    )
    # min_length counts code points; stopwords are exact normalised words.
    assert c.report(3, 1, {"zz"}) == (8, 5, [("ab", 3), ("é", 2), ("a", 1)])
    assert c.report(top=2, min_length=2) == (5, 2, [("ab", 3), ("zz", 2)])
    assert c.report(0, 1) == (10, 6, [])
    assert c.report(None, 1, stopwords=["ab", "zz", "é"]) == (3, 3, [("a", 1), ("b", 1), ("z", 1)])
    with pytest.raises(ValueError):
        c.report(-1, 1)


def test_random_binary_never_crashes() -> None:
    rng = random.Random(1234)
    for mode, encoding in [
        ("words", None),
        ("words", "utf-8"),
        ("words", "utf-16"),
        ("seed", None),
    ]:
        c = Counter(mode, encoding)
        for _ in range(50):
            c.feed(rng.randbytes(rng.randrange(0, 3000)))
        c.feed(os.urandom(3 << 20))  # large enough for the parallel path
        total, unique, _ = c.report(None, 0)
        assert total >= unique >= 0


def test_large_chunk_counts_equal_small_chunks() -> None:
    data = b"".join(p.read_bytes() for p in sorted(CORPUS.glob("*.txt")))
    for mode in ("words", "seed"):
        whole = counts(data, mode)
        assert counts([data[i : i + 65536] for i in range(0, len(data), 65536)], mode) == whole


# --- the word-length limit ----------------------------------------------------------


def skipped_counts(
    data: bytes | list[bytes], limit: int, mode: str = "words", encoding: str | None = None
) -> tuple[dict[str, int], int]:
    counter = Counter(mode, encoding, max_word_length=limit)
    for chunk in [data] if isinstance(data, bytes) else data:
        counter.feed(chunk)
    return counter.counts(), counter.skipped


def test_core_constants() -> None:
    assert MODES == ("words", "seed")
    assert ENCODINGS == ("utf-8", "cp1252", "latin-1", "utf-16")
    # Seed mode keeps every token the Go worker's scanner could hold.
    assert DEFAULT_MAX_WORD_LENGTH == {"words": 1000, "seed": 65536}
    assert MAX_WORD_LENGTH_LIMIT == 65536
    for mode in MODES:
        assert Counter(mode).max_word_length == DEFAULT_MAX_WORD_LENGTH[mode]
        assert Counter(mode, max_word_length=None).max_word_length == DEFAULT_MAX_WORD_LENGTH[mode]


def test_words_mode_limit_counts_code_points_of_the_word_as_found() -> None:
    # Exactly the limit is counted, one more is skipped.
    assert skipped_counts(b"abc abcd ab", 3) == ({"abc": 1, "ab": 1}, 1)
    # Joining apostrophes count (U+2019 and Windows-1252's 0x92 are one each), others not.
    assert skipped_counts("don't don’t ".encode() + b"don\x92t 'tis dogs'", 4) == (
        {"tis": 1, "dogs": 1},
        3,
    )
    assert skipped_counts("don't don’t".encode() + b" don\x92t", 5) == ({"don't": 3}, 0)
    # Before normalisation: NFD café is 5 code points, NFC 4; İ is 1 (lowercased: 2).
    assert skipped_counts("café cafe\u0301 İSTA".encode(), 4) == (
        {"café": 1, "i\u0307sta": 1},
        1,
    )
    # UTF-16: code points, not bytes or UTF-16 units (𝒜 is two units, one code point).
    utf16 = codecs.BOM_UTF16_LE + "𝒜bc ΟΔΟΣ".encode("utf-16-le")
    assert skipped_counts(utf16, 3) == ({"𝒜bc": 1}, 1)


def test_seed_mode_limit_counts_raw_bytes_before_lowercasing_and_trimming() -> None:
    assert skipped_counts(b"Hello, worlds!! abcdef", 6, "seed") == (
        {"hello": 1, "abcdef": 1},
        1,
    )
    # ÀÉÎ is 6 bytes; an over-long token is skipped even if the 4-byte rule drops it too.
    assert skipped_counts("ÀÉÎ".encode(), 5, "seed") == ({}, 1)
    assert skipped_counts(b"abc de", 2, "seed") == ({}, 1)


def test_a_run_straddling_many_chunks_is_skipped_once() -> None:
    run = b"x" * 10_000
    data = b"first " + run + b" final"
    for mode in ("words", "seed"):
        pieces = [data[i : i + 7] for i in range(0, len(data), 7)]
        counts_, skipped = skipped_counts(pieces, 100, mode)
        assert skipped == 1 and set(counts_) == {"first", "final"}
    # The default limit, across a cut: 1000 letters is a word, 1001 is not.
    assert skipped_counts([b"a" * 999, b"a ok " + b"b" * 1001], 1000) == (
        {"a" * 1000: 1, "ok": 1},
        1,
    )


def test_max_word_length_out_of_range_is_a_value_error() -> None:
    for bad in (0, -1, MAX_WORD_LENGTH_LIMIT + 1, 10**30):
        with pytest.raises(ValueError, match="max_word_length"):
            Counter("words", None, bad)
        with pytest.raises(ValueError, match="max_word_length"):
            Counter("seed", max_word_length=bad)
    with pytest.raises(TypeError):
        Counter("words", max_word_length="10")  # type: ignore[arg-type]
    assert Counter("words", max_word_length=MAX_WORD_LENGTH_LIMIT).max_word_length == 65536
    assert Counter("words", max_word_length=1).max_word_length == 1


def test_merge_adds_skipped_runs() -> None:
    a, b = Counter("words", max_word_length=3), Counter("words", max_word_length=3)
    a.feed(b"abcd ab")
    b.feed(b"abcde abcdef x")
    a.merge(b)
    assert a.skipped == 3 and b.skipped == 2
    assert a.counts() == {"ab": 1, "x": 1}
    a.merge(a)
    assert a.skipped == 6


def test_reading_skipped_finishes_the_counter() -> None:
    c = Counter("words", max_word_length=2)
    c.feed(b"abc")
    assert c.skipped == 1
    assert c.finished
    with pytest.raises(ValueError):
        c.feed(b"d")


# --- failures of the core -----------------------------------------------------------


@pytest.mark.parametrize("in_thread_pool", [False, True])
def test_a_panic_in_the_core_is_a_runtime_error(in_thread_pool: bool) -> None:
    # Not PyO3's PanicException, a BaseException that `except Exception` would miss.
    with pytest.raises(RuntimeError, match="internal error in the counting core") as info:
        _panic_for_tests(in_thread_pool)
    assert isinstance(info.value, Exception)
    assert type(info.value) is RuntimeError


OUT_OF_MEMORY = """
import resource, sys
from wordfreq_service._core import Counter

def vm_size():
    for line in open("/proc/self/status"):
        if line.startswith("VmSize:"):
            return int(line.split()[1]) * 1024

counter = Counter("seed")
counter.feed(b"warm up the module ")
limit = vm_size() + (400 << 20)
resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
# Distinct 7-byte tokens: the table doubles to 256 MiB at 8M words, then asks for 512 MiB.
try:
    for start in range(0, 40_000_000, 50_000):
        chunk = b" ".join(b"%07d" % i for i in range(start, start + 50_000)) + b" "
        counter.feed(chunk)
except MemoryError as exc:
    print("MemoryError:", exc)
    try:
        counter.report(10, 1)
    except MemoryError:
        print("still broken")
    sys.exit(0)
print("no MemoryError", counter.report(1))
"""


def test_running_out_of_memory_is_a_memory_error_not_an_abort() -> None:
    proc = subprocess.run(
        [sys.executable, "-c", OUT_OF_MEMORY], capture_output=True, text=True, timeout=300
    )
    # An allocation failure in Rust that is not handled aborts: SIGABRT, exit -6.
    assert proc.returncode == 0, (proc.returncode, proc.stderr[-2000:])
    lines = proc.stdout.splitlines()
    assert lines[0].startswith("MemoryError: counting core: out of memory"), proc.stdout
    assert lines[1:] == ["still broken"]
