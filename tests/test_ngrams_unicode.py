"""The sentence ends of the n-gram rules are Unicode's ``Sentence_Terminal`` (among the
code points of Unicode 14.0.0, the version of the core's other tables): the reference's
table against the ``regex`` package's property, and the core against the reference on
every code point that is not part of a word."""

from __future__ import annotations

import sys
import unicodedata
from collections import Counter as Tally

import regex
from wordfreq_service._core import Counter
from wordfreq_service.counting import reference

# Categories of the code points Unicode 14 does not assign to a character of text.
UNASSIGNED = {"Cn", "Cs"}


def assigned(cp: int) -> bool:
    return unicodedata.category(chr(cp)) not in UNASSIGNED


def test_the_reference_table_is_unicode_sentence_terminal() -> None:
    assert unicodedata.unidata_version == "14.0.0"
    prop = regex.compile(r"\p{Sentence_Terminal}")
    want = {cp for cp in range(sys.maxunicode + 1) if assigned(cp) and prop.match(chr(cp))}
    table = {cp for lo, hi in reference.SENTENCE_TERMINAL for cp in range(lo, hi + 1)}
    assert table == want
    assert {".", "!", "?", "。", "！", "？", "।", "؟", "‼"} <= {chr(cp) for cp in table}
    assert not {"…", ";", ",", "\u2029"} & {chr(cp) for cp in table}
    # None is part of a word: a sentence end always ends the word before it.
    assert not any(reference.is_word_char(chr(cp)) for cp in table)


def test_the_core_breaks_a_sequence_where_the_reference_does() -> None:
    """Each code point that is no word character between two words: the two make a
    bigram unless it breaks the sequence, in the core exactly as in the reference."""
    breaking_core, breaking_ref = set(), set()
    for cp in range(sys.maxunicode + 1):
        ch = chr(cp)
        # An apostrophe joins the two words into one; a line break is tested apart.
        if not assigned(cp) or reference.is_word_char(ch) or ch in "'\u2019\n\r":
            continue
        data = f"ab{ch}cd".encode()
        counter = Counter("words", ngrams=2)
        counter.feed(data)
        if not counter.counts():
            breaking_core.add(cp)
        if not set(reference.ngrams_mode(data, None, None, 2)) - {None}:
            breaking_ref.add(cp)
    assert breaking_core == breaking_ref
    table = {cp for lo, hi in reference.SENTENCE_TERMINAL for cp in range(lo, hi + 1)}
    # Beyond the property: U+2029 breaks a paragraph, and U+037E GREEK QUESTION MARK
    # ends a sentence (Unicode leaves it out as canonically ";", but it is Greek's "?").
    assert breaking_core == table | {0x2029, 0x037E}


def test_the_greek_question_mark_ends_a_sentence_and_the_semicolon_does_not() -> None:
    greek = "Τι κάνεις\u037e Καλά; ευχαριστώ.".encode()
    want = {"τι κάνεις": 1, "καλά ευχαριστώ": 1}
    counter = Counter("words", ngrams=2)
    counter.feed(greek)
    assert counter.counts() == want
    keys = reference.ngrams_mode(greek, None, None, 2)
    assert Tally(k for k in keys if k is not None) == want
