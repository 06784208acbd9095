"""The job request: one format on every path (command line, object metadata, API JSON),
one set of ranges and rules, refused before anything is uploaded."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st
from wordfreq_service import _core
from wordfreq_service.formats.job_request import (
    DEFAULT_MAX_WORD_LENGTH,
    MAX_INLINE_STOPWORDS,
    MAX_WORD_LENGTH_RANGE,
    MIN_LENGTH_RANGE,
    TOP_RANGE,
    JobRequest,
    RequestError,
    StopWords,
)

from tests.helpers import run_wordfreq

# Stop words as a request holds them: normalised as words mode normalises words.
words = st.text(st.characters(categories=["Ll"]), min_size=1, max_size=8).map(_core.normalize_word)


@st.composite
def requests(draw: st.DrawFn) -> JobRequest:
    mode = draw(st.sampled_from(_core.MODES))
    words_mode = mode == "words"
    longest = draw(st.integers(*MAX_WORD_LENGTH_RANGE))
    shortest = draw(st.none() | st.integers(MIN_LENGTH_RANGE[0], min(longest, 1000)))
    stop = draw(
        st.just(StopWords())
        | st.just(StopWords(builtin="english"))
        | st.frozensets(words, min_size=1, max_size=20).map(lambda w: StopWords(words=w))
    )
    return JobRequest.make(
        mode=mode,
        top=draw(st.integers(*TOP_RANGE)),
        min_length=shortest if words_mode else None,
        max_word_length=longest,
        encoding=draw(st.none() | st.sampled_from(_core.ENCODINGS)) if words_mode else None,
        stopwords=stop,
    )


@given(requests())
def test_metadata_round_trip(request: JobRequest) -> None:
    meta = request.to_metadata()
    assert all(k == k.lower() and v.isascii() for k, v in meta.items())
    assert JobRequest.from_metadata(meta, default_mode="words") == request


@given(requests())
def test_json_round_trip(request: JobRequest) -> None:
    assert JobRequest.from_json(request.to_json()) == request


def test_modes_and_encodings_come_from_the_core() -> None:
    from wordfreq_service.formats import job_request

    assert job_request.MODES == _core.MODES
    assert job_request.ENCODINGS == _core.ENCODINGS
    assert job_request.DEFAULT_MAX_WORD_LENGTH == _core.DEFAULT_MAX_WORD_LENGTH


@pytest.mark.parametrize(
    ("meta", "message"),
    [
        ({"mode": "seed", "min-length": "3"}, "min-length in object metadata applies to words"),
        ({"mode": "seed", "encoding": "utf-8"}, "encoding in object metadata applies to words"),
        ({"top": "1000000"}, "top in object metadata: 1000000 is not in the range 0..100000"),
        ({"top": "ten"}, "top in object metadata: 'ten' is not a whole number"),
        ({"mode": "fancy"}, "mode in object metadata: 'fancy' is not one of words, seed"),
        ({"min-length": "1001"}, "min-length in object metadata: 1001 is not in the range"),
        ({"max-word-length": "0"}, "max-word-length in object metadata: 0 is not in the range"),
        ({"min-length": "20", "max-word-length": "10"}, "no word could be counted"),
    ],
)
def test_metadata_the_worker_refuses(meta: dict[str, str], message: str) -> None:
    with pytest.raises(RequestError, match=message):
        JobRequest.from_metadata(meta, default_mode="words")


def test_metadata_choices_ignore_case() -> None:
    request = JobRequest.from_metadata(
        {"Mode": "WORDS", "encoding": "UTF-8", "stopwords": "English"}, default_mode="seed"
    )
    assert (request.mode, request.encoding, request.stopwords.builtin) == (
        "words",
        "utf-8",
        "english",
    )


def test_objects_without_a_request_get_the_workers_default_mode() -> None:
    request = JobRequest.from_metadata({}, default_mode="seed")
    assert (request.mode, request.top, request.max_word_length) == ("seed", 10, None)
    assert request.new_counter().max_word_length == DEFAULT_MAX_WORD_LENGTH["seed"] == 65536


def test_json_rejects_unknown_and_mistyped_options() -> None:
    with pytest.raises(RequestError, match="unknown option"):
        JobRequest.from_json({"topp": 3})
    with pytest.raises(RequestError, match="top: True is not a whole number"):
        JobRequest.from_json({"top": True})
    with pytest.raises(RequestError, match="stopwords"):
        JobRequest.from_json({"stopwords": 3})


def test_an_inline_stop_word_list_that_cannot_travel_is_refused() -> None:
    big = StopWords(words=frozenset(f"word{i}" for i in range(400)))
    with pytest.raises(RequestError, match=f"limit {MAX_INLINE_STOPWORDS}"):
        JobRequest.make(stopwords=big).to_metadata()


# -- the command line: every command, one range, exit 2 however large ---------------------


@pytest.mark.parametrize("command", ["count", "submit"])
@pytest.mark.parametrize(
    "args",
    [
        ["--top", "99999999999999999999999"],
        ["--top", "1000000"],
        ["--min-length", "1001"],
        ["--max-word-length", "99999999999999999999"],
        ["--mode", "seed", "--min-length", "3"],
        ["--mode", "seed", "--encoding", "cp1252"],
        ["--min-length", "30", "--max-word-length", "20"],
    ],
)
def test_out_of_range_options_are_usage_errors(
    command: str, args: list[str], tmp_path: Path
) -> None:
    book = tmp_path / "book.txt"
    book.write_text("some words here\n")
    data = tmp_path / "data"
    extra = ["--data-dir", str(data), "--timeout", "5"] if command == "submit" else []
    proc = run_wordfreq([command, *extra, *args, str(book)], timeout=60)
    assert proc.returncode == 2, proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1, proc.stderr
    assert "Traceback" not in proc.stderr and "internal error" not in proc.stderr
    if command == "submit":
        # Refused before anything was uploaded: no object, no event.
        objects = data / "objects"
        assert not objects.exists() or not any(p.is_file() for p in objects.rglob("*"))


def test_submit_refuses_a_stop_word_file_too_large_to_travel(tmp_path: Path) -> None:
    stop = tmp_path / "stop.txt"
    stop.write_text("\n".join(f"stopword{i}" for i in range(400)))
    book = tmp_path / "book.txt"
    book.write_text("words\n")
    data = tmp_path / "data"
    proc = run_wordfreq(["submit", "--data-dir", str(data), "--stopwords", str(stop), str(book)])
    assert proc.returncode == 2
    assert "too large to travel" in proc.stderr
    assert not data.exists(), "refused only after setting up the data directory"
    objects = data / "objects"
    assert not objects.exists() or not any(p.is_file() for p in objects.rglob("*"))


def test_choices_are_case_insensitive(tmp_path: Path) -> None:
    book = tmp_path / "book.txt"
    book.write_bytes("The café and the CAFÉ\n".encode())
    upper = run_wordfreq(
        [
            "count",
            "--json",
            "--mode",
            "Words",
            "--encoding",
            "UTF-8",
            "--stopwords",
            "English",
            str(book),
        ]
    )
    assert upper.returncode == 0, upper.stderr
    assert '"café", "count": 2' in upper.stdout
    assert '"the"' not in upper.stdout


def test_service_modules_keep_to_their_layers() -> None:
    """The client does not import the worker; production code never imports the
    pure-Python reference (it is the tests' oracle)."""
    code = (
        "import sys\n"
        "import wordfreq_service.service.client, wordfreq_service.cli.submit\n"
        "assert 'wordfreq_service.service.worker' not in sys.modules, 'client imports worker'\n"
        "import wordfreq_service.cli.count, wordfreq_service.cli.services\n"
        "import wordfreq_service.service.worker, wordfreq_service.service.pool\n"
        "bad = 'wordfreq_service.counting.reference'\n"
        "assert bad not in sys.modules, 'production code imports the reference'\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr


def test_a_one_word_stop_list_named_like_a_builtin_stays_a_list() -> None:
    request = JobRequest.make(stopwords=StopWords(words=frozenset({"english"})))
    back = JobRequest.from_metadata(request.to_metadata(), default_mode="words")
    assert back.stopwords == StopWords(words=frozenset({"english"}))
    assert JobRequest.from_metadata({"stopwords": "English"}, default_mode="words").stopwords == (
        StopWords(builtin="english")
    )


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"mode": 5}, "--mode: 5 is not a string"),
        ({"encoding": ["utf-8"]}, "--encoding: .* is not a string"),
        ({"top": 2.5}, "--top: 2.5 is not a whole number"),
        ({"stopwords": "klingon"}, "stopwords: unknown language 'klingon'; expected auto, english"),
        ({"stopwords": [1, 2]}, "stopwords: expected"),
    ],
)
def test_library_callers_get_request_errors(kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(RequestError, match=message):
        JobRequest.make(**kwargs)  # type: ignore[arg-type]


def test_library_callers_may_name_stop_words_directly() -> None:
    assert JobRequest.make(stopwords="English").stopwords == StopWords(builtin="english")
    assert JobRequest.make(stopwords=["The", "Don’t"]).stopwords.words == {"the", "don't"}


def test_seed_mode_keeps_tokens_as_long_as_the_go_scanner_held(tmp_path: Path) -> None:
    book = tmp_path / "book.txt"
    book.write_bytes(b"x" * 5000 + b" " + b"y" * 70000 + b" short words")
    proc = run_wordfreq(["count", "--json", "--mode", "seed", str(book)])
    out = json.loads(proc.stdout)
    assert {w["word"] for w in out["words"]} == {"x" * 5000, "short", "words"}
    assert out["skipped"] == 1  # only the token past 64 KiB
    words = json.loads(run_wordfreq(["count", "--json", str(book)]).stdout)
    assert words["skipped"] == 2  # words mode: 1000 characters


@pytest.mark.parametrize("size", ["9" * 400, "1e999", "-5", "0", "12Q", "99999999T"])
def test_max_input_size_out_of_range_is_a_usage_error(size: str, tmp_path: Path) -> None:
    book = tmp_path / "book.txt"
    book.write_text("words\n")
    proc = run_wordfreq(["count", "--max-input-size", size, str(book)])
    assert proc.returncode == 2, proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1 and "--max-input-size" in proc.stderr


@pytest.mark.parametrize(("size", "cap"), [("10", "10 bytes"), ("1K", "1 KiB"), ("2kib", "2 KiB")])
def test_max_input_size_caps_the_input(size: str, cap: str, tmp_path: Path) -> None:
    book = tmp_path / "book.txt"
    book.write_text("word " * 1000)
    proc = run_wordfreq(["count", "--max-input-size", size, str(book)])
    assert proc.returncode == 1
    assert proc.stderr.strip() == f"wordfreq: error: {book}: more than {cap} (the input limit)"


@pytest.mark.parametrize("raw", ["٣", "1_000", " +7 ", "7.0", ""])
def test_numbers_in_metadata_are_ascii_digits(raw: str) -> None:
    with pytest.raises(RequestError, match="is not a whole number"):
        JobRequest.make(top=raw)


def test_json_mode_null_is_a_request_error() -> None:
    with pytest.raises(RequestError, match="mode: None is not a string"):
        JobRequest.from_json({"mode": None})


def test_listed_stop_words_keep_a_leading_hash() -> None:
    # Comments belong to stop-word files only.
    assert JobRequest.make(stopwords=["#x", "y"]).stopwords.words == {"#x", "y"}
