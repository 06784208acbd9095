"""Stop words per language: the shipped lists, and the ``stopwords`` option's grammar on
its three spellings (command line, S3 metadata, API JSON)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from wordfreq_service._core import normalize_word
from wordfreq_service.counting import stopwords
from wordfreq_service.counting.stopwords import ALIASES, ENGLISH, LANGUAGES, language_words
from wordfreq_service.formats.job_request import (
    AUTO,
    LANGUAGES_METADATA_PREFIX,
    JobRequest,
    RequestError,
    StopWords,
)

from tests.helpers import run_wordfreq

#: The languages the issue names, at least.
REQUIRED = {"en", "fr", "de", "es", "it", "pt", "nl", "ru", "zh", "ja", "ar", "th"}
DATA = Path(stopwords.DATA_DIR)


def test_at_least_25_languages_including_the_major_ones() -> None:
    assert len(LANGUAGES) >= 25
    assert set(LANGUAGES) >= REQUIRED
    assert all(len(code) == 2 and code.isascii() and code.islower() for code in LANGUAGES)


def test_every_vendored_file_is_a_listed_language_and_every_language_has_a_list() -> None:
    files = {p.stem for p in DATA.glob("*.txt")}
    assert files == set(LANGUAGES) - set(stopwords.OWN_LISTS)
    notice = (DATA / "NOTICE").read_text(encoding="utf-8")
    for fact in ("stopwords-iso", "stopwordsiso 0.7.1", "MIT"):
        assert fact in notice


@pytest.mark.parametrize("code", sorted(LANGUAGES))
def test_each_list_loads_normalised_as_words_mode_normalises(code: str) -> None:
    words = language_words(code)
    assert words, f"{code}: empty list"
    for word in words:
        assert word == normalize_word(word), f"{code}: {word!r} is not normalised"
        assert word and not any(c.isspace() for c in word), f"{code}: {word!r}"


def test_english_is_todays_list_under_both_names() -> None:
    assert StopWords.of("english").resolve() == ENGLISH
    assert StopWords.of("EN").resolve() == ENGLISH
    assert "world" not in ENGLISH  # stopwords-iso's English list would drop it


def test_a_list_is_read_only_when_asked_for() -> None:
    code = (
        "from wordfreq_service.counting import stopwords\n"
        "from wordfreq_service.formats.job_request import JobRequest\n"
        "import wordfreq_service.cli.count\n"
        "assert set(stopwords._loaded) == {'en'}, stopwords._loaded\n"
        "JobRequest.make(stopwords='fr,DE').stop_words()\n"
        "print(sorted(stopwords._loaded))\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.split() == ["['de',", "'en',", "'fr']"]


# -- the grammar ----------------------------------------------------------------------

NAMES = sorted({*LANGUAGES, *ALIASES})


@st.composite
def language_specs(draw: st.DrawFn) -> tuple[str, set[str]]:
    """A spec as a user may type it (any case, spaces around items, repeats), and the
    codes it names."""
    names = draw(st.lists(st.sampled_from(NAMES), min_size=1, max_size=5))
    cased = [draw(st.sampled_from([n, n.upper(), n.title()])) for n in names]
    spaced = [
        draw(st.sampled_from(["", " "])) + n + draw(st.sampled_from(["", " "])) for n in cased
    ]
    return ",".join(spaced), {ALIASES.get(n, n) for n in names}


def union(codes: set[str]) -> frozenset[str]:
    return frozenset().union(*(language_words(c) for c in codes))


@settings(max_examples=60, print_blob=True)
@given(spec=language_specs())
def test_comma_lists_name_the_union_on_every_spelling(spec: tuple[str, set[str]]) -> None:
    text, codes = spec
    expected = union(codes)
    # API JSON and library callers
    via_json = JobRequest.from_json({"stopwords": text})
    assert via_json.stop_words() == expected
    # S3 metadata, as given by hand (behind the prefix) and as submit writes it
    by_hand = {"stopwords": "Lang:" + text}
    assert JobRequest.from_metadata(by_hand, default_mode="words") == via_json
    back = JobRequest.from_metadata(via_json.to_metadata(), default_mode="words")
    assert back == via_json and back.stop_words() == expected
    # The command line
    assert StopWords.from_spec(text) == via_json.stopwords
    # Codes travel as codes: every language at once stays far inside S3's 2 KB.
    limit = len(LANGUAGES_METADATA_PREFIX) + 3 * len(NAMES) + len("english")
    assert len(via_json.to_metadata()["stopwords"]) <= limit


def test_a_word_list_that_looks_like_codes_stays_words_in_metadata() -> None:
    request = JobRequest.make(stopwords=["de", "fr"])
    meta = request.to_metadata()
    assert meta["stopwords"] == "de,fr"
    back = JobRequest.from_metadata(meta, default_mode="words")
    assert back.stop_words() == {"de", "fr"}


@pytest.mark.parametrize("spec", ["xx", "fr,xx", "klingon", "fr,,de"])
def test_unknown_codes_are_request_errors_listing_the_choices(spec: str) -> None:
    with pytest.raises(RequestError, match="unknown language") as by_library:
        JobRequest.make(stopwords=spec)
    with pytest.raises(RequestError, match="unknown language") as by_json:
        JobRequest.from_json({"stopwords": spec})
    for caught in (by_library, by_json):
        assert "fr (French)" in str(caught.value) and "zh (Chinese)" in str(caught.value)


def test_the_command_line_refuses_an_unknown_code_and_lists_the_choices(tmp_path: Path) -> None:
    book = tmp_path / "book.txt"
    book.write_text("the cat\n")
    proc = run_wordfreq(["count", "--stopwords", "fr,xx", str(book)])
    assert proc.returncode == 2
    assert "unknown language 'xx'" in proc.stderr and "de (German)" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_a_name_both_code_and_file_is_the_language_and_dot_slash_the_file(
    tmp_path: Path,
) -> None:
    (tmp_path / "de").write_text("cat\n", encoding="utf-8")
    cwd = os.getcwd()
    os.chdir(tmp_path)
    try:
        assert StopWords.from_spec("de") == StopWords(builtin="de")
        assert StopWords.from_spec("./de").words == {"cat"}
        # A file whose name is no code is read as before.
        (tmp_path / "mine.txt").write_text("Don’t\n", encoding="utf-8")
        assert StopWords.from_spec("mine.txt").words == {"don't"}
    finally:
        os.chdir(cwd)


@pytest.mark.parametrize("spec", ["auto,fr", "fr,AUTO"])
def test_auto_stands_alone(spec: str) -> None:
    with pytest.raises(RequestError, match="auto detects the language; it takes no others"):
        JobRequest.make(stopwords=spec)


def test_auto_is_words_mode_only_on_every_path() -> None:
    with pytest.raises(RequestError, match="auto applies to words mode only"):
        JobRequest.make(mode="seed", stopwords="auto")
    with pytest.raises(RequestError, match="auto applies to words mode only"):
        JobRequest.from_json({"mode": "seed", "stopwords": "Auto"})
    with pytest.raises(RequestError, match="auto applies to words mode only"):
        JobRequest.from_metadata({"mode": "seed", "stopwords": "lang:auto"}, default_mode="words")
    request = JobRequest.make(stopwords="AUTO")
    assert request.stopwords == StopWords(builtin=AUTO)
    assert request.to_json()["stopwords"] == AUTO
    assert request.to_metadata()["stopwords"] == LANGUAGES_METADATA_PREFIX + AUTO
    # Its list depends on the counts: the counts-independent list is empty.
    assert request.stop_words() == frozenset()


def test_metadata_from_an_older_client_keeps_its_inline_words() -> None:
    # An older client wrote "english" for the list and any other value as words; they
    # stay words, even when every one is a language code or "auto" (a file holding "it"
    # must not become Italian's 632 words, nor "auto" switch detection on).
    for value, words in (
        ("of,to", {"of", "to"}),
        ("fr,xx", {"fr", "xx"}),
        ("english,", {"english"}),
        ("it", {"it"}),
        ("no", {"no"}),
        ("de,el,la", {"de", "el", "la"}),
        ("auto", {"auto"}),
    ):
        request = JobRequest.from_metadata({"stopwords": value}, default_mode="words")
        assert request.stopwords == StopWords(words=frozenset(words))
    seed = JobRequest.from_metadata({"mode": "seed", "stopwords": "auto"}, default_mode="words")
    assert seed.stop_words() == {"auto"}
    english = JobRequest.from_metadata({"stopwords": "english"}, default_mode="words")
    assert english.stop_words() == language_words("en")
    # And the newer client's English still reads as English to an older worker.
    assert JobRequest.make(stopwords="english").to_metadata()["stopwords"] == "english"
