"""Pure-Python reference implementation of both counting modes.

This module *defines* the counting semantics; the native core (``wordfreq_service._core``) must
agree with it on every input, which the property tests check. It favours being obviously
right over being fast: it buffers the whole input and does the work at ``finish()``.

Mode ``words``
    Decoding: a leading UTF-8 BOM is dropped; a leading UTF-16 LE/BE BOM switches to
    UTF-16; otherwise UTF-8 in which every byte that is not part of a valid sequence is
    decoded on its own as Windows-1252 (its five undefined bytes become U+FFFD). A word
    is a maximal run of letters and marks (general categories L*, M*); a single
    apostrophe (U+0027 or U+2019) with a letter or mark on both sides joins two runs.
    Each word: U+2019 -> U+0027, ``str.lower()`` (full mapping, final sigma), NFC.

    Scripts written without spaces (Han, Hiragana, Katakana, Thai, Lao, Khmer, Myanmar:
    the blocks in ``_UNSPACED``): a run is cut into parts where it passes between a letter
    of these blocks and any other letter; a mark (M*) continues the part it follows (at
    the start of a run it is classed by its own block). An apostrophe joins only when the
    part before it is not unspaced and the character after it is in no unspaced block.
    Each unspaced part is composed to NFC and cut into words by ICU4X's dictionary
    segmenter, the one the native core uses, taken from it (``_core.segment``: the only
    step this module does not do itself); a segment it calls word-like or that holds a
    letter (L*) is a word, the rest (marks only) are dropped. A part is read into a buffer
    of ``SEGMENT_RUN_BOUND`` code points: when full, it is composed, and while it still
    holds the bound or more it is segmented: one segment is over-long (skipped once, with
    the rest of the part), else every segment but the last is final and the last stays
    buffered. At the part's end the buffer is composed, cut the same way, and segmented.
    So a very long part may be cut other than ICU would cut it whole, the same way
    whatever the chunking.

Mode ``seed``
    The original Go worker: ``bufio.ScanWords`` over raw bytes (Go's space set; an
    invalid UTF-8 byte is never a space), ``strings.ToLower`` (ASCII fast path, else
    per-rune simple mapping with invalid bytes becoming U+FFFD), tokens whose lowercased
    UTF-8 length is at most 4 bytes are skipped, then ``.,"'?!`` is trimmed from both
    ends; an empty result is still counted, as the Go worker did.

N-grams (``words`` mode, ``ngrams`` from 2 to 5)
    The counter counts sequences of N consecutive words instead of single words, each as
    its normalised words joined by one space. A sequence never spans:

    * a sentence end: a character with Unicode's ``Sentence_Terminal`` property (among
      the code points Unicode 14.0.0 assigns; ``.``, ``!``, ``?``, ``。``, ``।``, ``؟``...;
      not ``…``), and U+037E GREEK QUESTION MARK (Greek's ``?``, which the property
      leaves out as canonically ``;``; ``;`` itself is no sentence end);
    * a paragraph break: two line breaks (``\n``, ``\r``, or ``\r\n`` as one) with only
      ``White_Space`` characters between them, or U+2029;
    * a run over ``max_word_length`` (skipped, as a single word would be);
    * the end of the input.

    Every other character between two words (commas, quotes, dashes, digits, a single
    line break) leaves them consecutive. ``report`` keeps an n-gram only when each of its
    words would be kept on its own (at least ``min_length`` characters, not a stop
    word): a dropped word breaks a sequence rather than being skipped over.

Word length (both modes)
    A word longer than ``max_word_length`` (default 1000 in ``words`` mode, 65536 in
    ``seed`` mode, where the Go scanner gave up; at most 65536) is not counted;
    ``Counter.skipped`` counts such runs instead, once each, wherever the input was cut
    into chunks (in an unspaced part, each of its words, measured composed). The length
    is measured on the word as found, before any normalising:
    in ``words`` mode the number of code points of the raw word span in the decoded
    input (letters, marks and the apostrophes that join them, so ``don't`` is 5 and an
    NFD ``café`` is 5), in ``seed`` mode the number of bytes of the raw token as
    ``ScanWords`` split it (before lowercasing and trimming, so ``"Hello,"`` is 6). A
    word of exactly ``max_word_length`` is counted. In ``seed`` mode the limit applies
    first: an over-long token counts as skipped even where the 4-byte rule would also
    drop it.
"""

from __future__ import annotations

import bisect
import codecs
import csv
import functools
import gzip
import io
import os
import re
import unicodedata
from collections import Counter as _Counter
from collections.abc import Collection, Iterable, Iterator
from typing import TYPE_CHECKING, Final

if TYPE_CHECKING:
    from _typeshed import SupportsWrite

MODES = ("words", "seed")
ENCODINGS = ("utf-8", "cp1252", "latin-1", "utf-16")
# The reference's own copies (it is an oracle: it takes nothing from the native core).
MAX_WORD_LENGTH_LIMIT = 65536
MAX_THREADS = 256
MAX_NGRAMS = 5
#: Per mode: seed mode keeps every token the Go worker's scanner could hold.
DEFAULT_MAX_WORD_LENGTH = {"words": 1000, "seed": MAX_WORD_LENGTH_LIMIT}
#: Longest key a counts CSV holds, in code points: MAX_NGRAMS words of the limit's code
#: points, each normalising to at most 3, joined by single spaces.
MAX_KEY_CHARS = MAX_NGRAMS * 3 * MAX_WORD_LENGTH_LIMIT + MAX_NGRAMS - 1

_APOSTROPHES = ("'", "\u2019")
# Unicode's Sentence_Terminal among the code points of Unicode 14.0.0, inclusive ranges
# (tests/test_ngrams_unicode.py checks them against the regex package's property).
SENTENCE_TERMINAL = (
    (0x0021, 0x0021), (0x002E, 0x002E), (0x003F, 0x003F), (0x0589, 0x0589),
    (0x061D, 0x061F), (0x06D4, 0x06D4), (0x0700, 0x0702), (0x07F9, 0x07F9),
    (0x0837, 0x0837), (0x0839, 0x0839), (0x083D, 0x083E), (0x0964, 0x0965),
    (0x104A, 0x104B), (0x1362, 0x1362), (0x1367, 0x1368), (0x166E, 0x166E),
    (0x1735, 0x1736), (0x17D4, 0x17D5), (0x1803, 0x1803), (0x1809, 0x1809),
    (0x1944, 0x1945), (0x1AA8, 0x1AAB), (0x1B5A, 0x1B5B), (0x1B5E, 0x1B5F),
    (0x1B7D, 0x1B7E), (0x1C3B, 0x1C3C), (0x1C7E, 0x1C7F), (0x2024, 0x2024),
    (0x203C, 0x203D), (0x2047, 0x2049), (0x2CF9, 0x2CFB), (0x2E2E, 0x2E2E),
    (0x2E3C, 0x2E3C), (0x2E53, 0x2E54), (0x3002, 0x3002), (0xA4FF, 0xA4FF),
    (0xA60E, 0xA60F), (0xA6F3, 0xA6F3), (0xA6F7, 0xA6F7), (0xA876, 0xA877),
    (0xA8CE, 0xA8CF), (0xA92F, 0xA92F), (0xA9C8, 0xA9C9), (0xAA5D, 0xAA5F),
    (0xAAF0, 0xAAF1), (0xABEB, 0xABEB), (0xFE12, 0xFE12), (0xFE15, 0xFE16),
    (0xFE52, 0xFE52), (0xFE56, 0xFE57), (0xFF01, 0xFF01), (0xFF0E, 0xFF0E),
    (0xFF1F, 0xFF1F), (0xFF61, 0xFF61), (0x10A56, 0x10A57), (0x10F55, 0x10F59),
    (0x10F86, 0x10F89), (0x11047, 0x11048), (0x110BE, 0x110C1), (0x11141, 0x11143),
    (0x111C5, 0x111C6), (0x111CD, 0x111CD), (0x111DE, 0x111DF), (0x11238, 0x11239),
    (0x1123B, 0x1123C), (0x112A9, 0x112A9), (0x1144B, 0x1144C), (0x115C2, 0x115C3),
    (0x115C9, 0x115D7), (0x11641, 0x11642), (0x1173C, 0x1173E), (0x11944, 0x11944),
    (0x11946, 0x11946), (0x11A42, 0x11A43), (0x11A9B, 0x11A9C), (0x11C41, 0x11C42),
    (0x11EF7, 0x11EF8), (0x16A6E, 0x16A6F), (0x16AF5, 0x16AF5), (0x16B37, 0x16B38),
    (0x16B44, 0x16B44), (0x16E98, 0x16E98), (0x1BC9F, 0x1BC9F), (0x1DA88, 0x1DA88),
)  # fmt: skip
# Sentence ends Unicode's property leaves out: U+037E GREEK QUESTION MARK, Greek's "?",
# is canonically equivalent to ";" and so not Sentence_Terminal (";" stays no break).
SENTENCE_END_BEYOND_UNICODE = frozenset({0x037E})
_LINE_BREAKS = "\n\r"
_PARAGRAPH_SEPARATOR = "\u2029"
# The blocks of the scripts written without spaces, inclusive (the core has its own copy
# in src/segment.rs; the tests compare the two on every code point).
_UNSPACED = (
    (0x0E00, 0x0E7F),  # Thai
    (0x0E80, 0x0EFF),  # Lao
    (0x1000, 0x109F),  # Myanmar
    (0x1780, 0x17FF),  # Khmer
    (0x3005, 0x3006),  # ideographic iteration mark, closing mark
    (0x3031, 0x3035),  # vertical kana repeat marks
    (0x303B, 0x303C),  # vertical ideographic iteration mark, masu mark
    (0x3040, 0x30FF),  # Hiragana, Katakana
    (0x31F0, 0x31FF),  # Katakana phonetic extensions
    (0x3400, 0x4DBF),  # CJK unified ideographs extension A
    (0x4E00, 0x9FFF),  # CJK unified ideographs
    (0xA9E0, 0xA9FF),  # Myanmar extended-B
    (0xAA60, 0xAA7F),  # Myanmar extended-A
    (0xF900, 0xFAFF),  # CJK compatibility ideographs
    (0xFF66, 0xFF9F),  # halfwidth Katakana
    (0x1AFF0, 0x1AFFF),  # Kana extended-B
    (0x1B000, 0x1B16F),  # Kana supplement, extended-A, small Kana extension
    (0x20000, 0x2FFFF),  # CJK extensions B to F, compatibility supplement
    (0x30000, 0x3FFFF),  # CJK extensions G and H
)
#: Code points of an unspaced part segmented at a time (see the module docstring).
SEGMENT_RUN_BOUND = 4096
# A count in a counts CSV: decimal digits, from 1 to the largest count a table holds.
_COUNT = re.compile("[0-9]+")
_COUNT_MAX = 2**64 - 1
_SEED_TRIM = ".,\"'?!"
_SEED_MIN_BYTES = 5
# Go's unicode.IsSpace.
_GO_SPACES = frozenset(
    "\t\n\v\f\r \u0085\u00a0\u1680\u2028\u2029\u202f\u205f\u3000"
    + "".join(chr(c) for c in range(0x2000, 0x200B))
)


def _cp1252(byte: int) -> str:
    try:
        return bytes((byte,)).decode("cp1252")
    except UnicodeDecodeError:
        return "\ufffd"


_CP1252 = tuple(_cp1252(b) for b in range(256))


def _per_byte_cp1252(err: UnicodeError) -> tuple[str, int]:
    # Resume right after the first offending byte: each invalid byte stands alone.
    assert isinstance(err, UnicodeDecodeError)
    return _CP1252[err.object[err.start]], err.start + 1


codecs.register_error("wordfreq-cp1252-per-byte", _per_byte_cp1252)


def decode(data: bytes, encoding: str | None = None, *, at_start: bool = True) -> str:
    """Decode a whole input as ``words`` mode does; unless ``at_start``, one that begins
    in the middle of a stream, where there is no BOM to look for."""
    if not at_start:
        if encoding == "utf-16":
            raise ValueError("utf-16 input cannot be counted from the middle of a stream")
        if encoding is None:
            return data.decode("utf-8", "wordfreq-cp1252-per-byte")
        if encoding == "utf-8":
            return data.decode("utf-8", "replace")
    if encoding is None:
        if data.startswith(codecs.BOM_UTF8):
            return data[3:].decode("utf-8", "wordfreq-cp1252-per-byte")
        if data.startswith(codecs.BOM_UTF16_LE):
            return data[2:].decode("utf-16-le", "replace")
        if data.startswith(codecs.BOM_UTF16_BE):
            return data[2:].decode("utf-16-be", "replace")
        return data.decode("utf-8", "wordfreq-cp1252-per-byte")
    if encoding == "utf-8":
        if data.startswith(codecs.BOM_UTF8):
            data = data[3:]
        return data.decode("utf-8", "replace")
    if encoding == "cp1252":
        return "".join(_CP1252[b] for b in data)
    if encoding == "latin-1":
        return data.decode("latin-1")
    if encoding == "utf-16":
        if data.startswith(codecs.BOM_UTF16_BE):
            return data[2:].decode("utf-16-be", "replace")
        if data.startswith(codecs.BOM_UTF16_LE):
            data = data[2:]
        return data.decode("utf-16-le", "replace")
    raise ValueError(f"unknown encoding {encoding!r}; expected one of {', '.join(ENCODINGS)}")


def is_word_char(ch: str) -> bool:
    return unicodedata.category(ch)[0] in "LM"


_UNSPACED_STARTS = tuple(lo for lo, _ in _UNSPACED)


def is_unspaced(ch: str) -> bool:
    """In a script written without spaces (see ``_UNSPACED``)."""
    cp = ord(ch)
    i = bisect.bisect_right(_UNSPACED_STARTS, cp) - 1
    return i >= 0 and cp <= _UNSPACED[i][1]


# A character's class in ``split_parts``: whether it is a letter or mark, in an unspaced
# block, a mark (bits; 0: not part of a word).
_WORD, _UNSPACED_BIT, _MARK = 1, 2, 4


@functools.cache
def _char_class(ch: str) -> int:
    # Cached: the same few characters make up most text.
    category = unicodedata.category(ch)[0]
    if category not in "LM":
        return 0
    return _WORD | (_UNSPACED_BIT if is_unspaced(ch) else 0) | (_MARK if category == "M" else 0)


def split_parts(text: str) -> Iterator[tuple[str, bool]]:
    """Raw word spans of ``words`` mode, before normalisation, each with whether it is a
    part in a script written without spaces (to be segmented)."""
    n = len(text)
    i = 0
    while i < n:
        first = _char_class(text[i])
        if not first:
            i += 1
            continue
        part = first & _UNSPACED_BIT  # the part's class: a letter of the other ends it
        j = i + 1
        while True:
            while j < n:
                cls = _char_class(text[j])
                if not cls or (cls & _UNSPACED_BIT != part and not cls & _MARK):
                    break
                j += 1
            if (
                not part
                and j + 1 < n
                and text[j] in _APOSTROPHES
                and _char_class(text[j + 1]) & (_WORD | _UNSPACED_BIT) == _WORD
            ):
                j += 1
                continue
            break
        yield text[i:j], bool(part)
        i = j


def is_sentence_terminal(ch: str) -> bool:
    cp = ord(ch)
    return cp in SENTENCE_END_BEYOND_UNICODE or any(lo <= cp <= hi for lo, hi in SENTENCE_TERMINAL)


class _Break:
    """Where a sequence of words breaks (``split_words_and_breaks``)."""


SEQUENCE_BREAK: Final = _Break()


def split_words_and_breaks(text: str) -> Iterator[str | _Break | None]:
    """Raw words of ``words`` mode (``raw_words``: the same split and segmentation as
    single words, None for a run skipped whole), and ``SEQUENCE_BREAK`` wherever a
    sequence of words breaks (a sentence end or a paragraph break; see the module's n-gram
    rules). No break character is part of a word, so cutting the text at each one splits
    no word."""
    start = 0
    for at in sequence_breaks(text):
        yield from raw_words(text[start:at])
        yield SEQUENCE_BREAK
        start = at + 1
    yield from raw_words(text[start:])


def sequence_breaks(text: str) -> Iterator[int]:
    """The index of each character of ``text`` that breaks a sequence of words."""
    after_line_break = after_cr = False
    for i, ch in enumerate(text):
        if _char_class(ch):
            after_line_break = after_cr = False
            continue
        crlf = after_cr and ch == "\n"
        after_cr = ch == "\r"
        if crlf:
            pass
        elif ch in _LINE_BREAKS:
            if after_line_break:
                yield i
            after_line_break = True
        elif ch == _PARAGRAPH_SEPARATOR:
            yield i
        elif ch not in _GO_SPACES:
            after_line_break = False
            if is_sentence_terminal(ch):
                yield i


def ngrams_mode(
    data: bytes,
    encoding: str | None,
    max_word_length: int | None,
    ngrams: int,
    *,
    at_start: bool = True,
) -> Iterator[str | None]:
    """The n-grams of ``data``: keys, and None for each word over ``max_word_length``."""
    window: list[str] = []
    for raw in split_words_and_breaks(decode(data, encoding, at_start=at_start)):
        if isinstance(raw, _Break):
            window.clear()
        elif raw is None or (max_word_length is not None and len(raw) > max_word_length):
            window.clear()
            yield None
        else:
            window.append(normalize_word(raw))
            del window[:-ngrams]
            if len(window) == ngrams:
                yield " ".join(window)


def reported(key: str, min_length: int, stop: Collection[str]) -> bool:
    """An n-gram is reported when each of its words would be: a stop word or a short
    word breaks the sequence rather than being skipped over."""
    return all(len(w) >= min_length and w not in stop for w in key.split(" "))


def split_words(text: str) -> Iterator[str]:
    """Raw word spans of ``words`` mode, before normalisation (unspaced parts whole)."""
    for part, _ in split_parts(text):
        yield part


def raw_words(text: str) -> Iterator[str | None]:
    """Raw words of ``words`` mode, before normalisation: unspaced parts segmented; None
    for a run skipped whole (an unspaced segment that fills the bound)."""
    for part, unspaced in split_parts(text):
        yield from segment_part(part) if unspaced else (part,)


def _is_word_segment(segment: str, word_like: bool) -> bool:
    """ICU calls it word-like, or it holds a letter (a lone ``〆``, ``ﾞ``, ``ﾟ``)."""
    return word_like or any(unicodedata.category(ch)[0] == "L" for ch in segment)


def segment_part(part: str) -> Iterator[str | None]:
    """The words of one unspaced part, composed (NFC) and segmented by ICU4X
    ``SEGMENT_RUN_BOUND`` code points at a time; None for a segment that fills the bound
    (the rest of the part is skipped with it)."""
    from wordfreq_service import _core

    bound = SEGMENT_RUN_BOUND
    buf, pos = "", 0
    while True:
        take = bound - len(buf)
        buf += part[pos : pos + take]
        pos += take
        # Composed when full, or at the part's end.
        buf = unicodedata.normalize("NFC", buf)
        while len(buf) >= bound:
            segments = _core.segment(buf)
            if len(segments) == 1:
                yield None
                return
            yield from (s for s, word_like in segments[:-1] if _is_word_segment(s, word_like))
            buf = segments[-1][0]
        if pos >= len(part):
            yield from (s for s, word_like in _core.segment(buf) if _is_word_segment(s, word_like))
            return


def normalize_word(word: str) -> str:
    return unicodedata.normalize("NFC", word.replace("\u2019", "'").lower())


def words_mode(
    data: bytes,
    encoding: str | None = None,
    max_word_length: int | None = None,
    *,
    at_start: bool = True,
) -> Iterator[str | None]:
    """The normalised words of ``data``; None for each word over ``max_word_length``."""
    for raw in raw_words(decode(data, encoding, at_start=at_start)):
        if raw is None or (max_word_length is not None and len(raw) > max_word_length):
            yield None
        else:
            yield normalize_word(raw)


def _go_runes(data: bytes) -> Iterator[tuple[str | None, int, int]]:
    """(char or None for an invalid byte, start, end), decoding UTF-8 as Go does."""
    i, n = 0, len(data)
    while i < n:
        b = data[i]
        width = 1 if b < 0x80 else 2 if 0xC2 <= b <= 0xDF else 3 if 0xE0 <= b <= 0xEF else 4
        if b >= 0x80 and not 0xC2 <= b <= 0xF4:
            width = 0
        if width:
            try:
                ch = data[i : i + width].decode("utf-8")
            except UnicodeDecodeError:
                ch = ""
            if len(ch) == 1:
                yield ch, i, i + width
                i += width
                continue
        yield None, i, i + 1
        i += 1


def _go_simple_lower(ch: str) -> str:
    low = ch.lower()
    if len(low) == 1:
        return low
    # İ is the only character whose full lowercase mapping is longer than one code
    # point; its simple (Go) mapping is plain i.
    return "i" if ch == "\u0130" else ch


def _go_to_lower(token: bytes) -> str:
    if token.isascii():
        return token.decode("ascii").lower()
    return "".join(
        "\ufffd" if ch is None else _go_simple_lower(ch) for ch, _, _ in _go_runes(token)
    )


def go_scan_words(data: bytes) -> Iterator[bytes]:
    start: int | None = None
    for ch, s, _ in _go_runes(data):
        if ch is not None and ch in _GO_SPACES:
            if start is not None:
                yield data[start:s]
                start = None
        elif start is None:
            start = s
    if start is not None:
        yield data[start:]


def seed_mode(data: bytes, max_word_length: int | None = None) -> Iterator[str | None]:
    """The words the Go worker counted; None for each token over ``max_word_length``."""
    for token in go_scan_words(data):
        if max_word_length is not None and len(token) > max_word_length:
            yield None
            continue
        lowered = _go_to_lower(token)
        if len(lowered.encode("utf-8")) < _SEED_MIN_BYTES:
            continue
        yield lowered.strip(_SEED_TRIM)


def rank(counts: dict[str, int]) -> list[tuple[str, int]]:
    """Count descending, then word ascending by code point."""
    return sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))


class Counter:
    """Same API as ``wordfreq_service._core.Counter``; see ``wordfreq/_core.pyi``."""

    def __init__(
        self,
        mode: str,
        encoding: str | None = None,
        max_word_length: int | None = None,
        *,
        at_start: bool = True,
        threads: int | None = None,
        ngrams: int | None = None,
    ) -> None:
        if ngrams is None:
            ngrams = 1
        if not isinstance(ngrams, int):
            raise TypeError("ngrams must be an int or None")
        if not 1 <= ngrams <= MAX_NGRAMS:
            raise ValueError(f"ngrams must be between 1 and {MAX_NGRAMS}")
        if threads is not None and not 0 <= threads <= MAX_THREADS:
            raise ValueError(f"threads must be between 0 and {MAX_THREADS}")
        if not at_start and encoding == "utf-16":
            raise ValueError("utf-16 input cannot be counted from the middle of a stream")
        if max_word_length is None:
            max_word_length = DEFAULT_MAX_WORD_LENGTH.get(mode, 1)
        if not isinstance(max_word_length, int):
            raise TypeError("max_word_length must be an int")
        if not 1 <= max_word_length <= MAX_WORD_LENGTH_LIMIT:
            raise ValueError(f"max_word_length must be between 1 and {MAX_WORD_LENGTH_LIMIT}")
        if mode not in MODES:
            raise ValueError(f"unknown mode {mode!r}; expected one of {', '.join(MODES)}")
        if encoding is not None and encoding not in ENCODINGS:
            raise ValueError(
                f"unknown encoding {encoding!r}; expected one of {', '.join(ENCODINGS)}"
            )
        if mode == "seed" and encoding is not None:
            raise ValueError("seed mode reads raw bytes as the Go worker did; no encoding")
        if mode == "seed" and ngrams > 1:
            raise ValueError(
                "ngrams applies to words mode only (seed mode reads raw bytes as the Go worker did)"
            )
        self._ngrams = ngrams
        self._mode = mode
        self._at_start = at_start
        self._threads = threads or os.cpu_count() or 1
        self._encoding = encoding
        self._max_word_length = max_word_length
        self._buffer = bytearray()
        self._counts: _Counter[str] = _Counter()
        self._skipped = 0
        self._finished = False

    @property
    def mode(self) -> str:
        return self._mode

    @property
    def finished(self) -> bool:
        return self._finished

    @property
    def max_word_length(self) -> int:
        return self._max_word_length

    @property
    def ngrams(self) -> int:
        return self._ngrams

    @property
    def threads(self) -> int:
        return self._threads

    @property
    def skipped(self) -> int:
        self.finish()
        return self._skipped

    def feed(self, data: bytes) -> None:
        if self._finished:
            raise ValueError("counter is finished; no more input")
        self._buffer += data

    def finish(self) -> None:
        if self._finished:
            return
        data = bytes(self._buffer)
        limit = self._max_word_length
        if self._mode == "seed":
            words = seed_mode(data, limit)
        elif self._ngrams > 1:
            words = ngrams_mode(data, self._encoding, limit, self._ngrams, at_start=self._at_start)
        else:
            words = words_mode(data, self._encoding, limit, at_start=self._at_start)
        for word in words:
            if word is None:
                self._skipped += 1
            else:
                self._counts[word] += 1
        self._buffer.clear()
        self._finished = True

    def merge(self, other: Counter) -> None:
        if other.mode != self._mode:
            raise ValueError(f"cannot merge a {other.mode} counter into a {self._mode} one")
        if other.ngrams != self._ngrams:
            raise ValueError("cannot merge counters of different ngrams")
        self.finish()
        other.finish()
        self._counts.update(other.counts())
        self._skipped += other.skipped

    def feed_file(self, fd: int, size: int) -> None:
        if self._buffer or self._finished:
            raise ValueError("feed_file counts a counter's whole input: it has had input")
        data = os.pread(fd, size, 0)
        if len(data) < size:
            raise OSError(f"the file ended at byte {len(data)}, before the {size} bytes expected")
        self.feed(data)
        self.finish()

    def merge_csv(self, chunks: Iterable[bytes], *, skipped: int = 0) -> None:
        # The csv module's field limit is process-wide (131,072 by default, below the
        # longest key); raised, never lowered.
        csv.field_size_limit(max(csv.field_size_limit(), MAX_KEY_CHARS))
        try:
            text = io.StringIO(b"".join(chunks).decode(), newline="")
            # Blank lines are no rows; a malformed CSV adds nothing.
            rows = [row for row in csv.reader(text, strict=True) if row]
        except (UnicodeDecodeError, csv.Error) as e:
            raise ValueError(f"malformed counts CSV: {e}") from None
        if not rows or rows[0] != ["word", "count"]:
            raise ValueError("malformed counts CSV: the header must be word,count")
        added: _Counter[str] = _Counter()
        for row in rows[1:]:
            if len(row) != 2 or not _COUNT.fullmatch(row[1]) or not 0 < int(row[1]) <= _COUNT_MAX:
                raise ValueError(f"malformed counts CSV: {row!r} is not word,count")
            added[row[0]] += int(row[1])
        self.finish()
        for word, count in added.items():
            self._counts[word] = min(self._counts[word] + count, _COUNT_MAX)
        self._skipped += skipped

    def counts(self) -> dict[str, int]:
        self.finish()
        return dict(self._counts)

    def report(
        self,
        top: int | None,
        min_length: int,
        stopwords: Collection[str] | None = None,
    ) -> tuple[int, int, list[tuple[str, int]]]:
        self.finish()
        stop = frozenset(stopwords or ())
        if self._ngrams > 1:
            kept = {k: c for k, c in self._counts.items() if reported(k, min_length, stop)}
        else:
            kept = {w: c for w, c in self._counts.items() if len(w) >= min_length and w not in stop}
        ranked = rank(kept)
        return sum(kept.values()), len(kept), ranked if top is None else ranked[:top]

    def write_csv(
        self,
        out: SupportsWrite[bytes],
        min_length: int,
        stopwords: Collection[str] | None = None,
        *,
        header: bytes | None = None,
        gzip_level: int | None = None,
    ) -> int:
        text = io.StringIO()
        csv.writer(text, lineterminator="\n").writerows(self.report(None, min_length, stopwords)[2])
        data = (header or b"") + text.getvalue().encode()
        out.write(data if gzip_level is None else gzip.compress(data, gzip_level, mtime=0))
        return len(data)
