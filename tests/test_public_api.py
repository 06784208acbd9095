"""The library API: what `import wordfreq_service` offers, and that importing it is cheap."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import wordfreq_service

PUBLIC = [
    "ENCODINGS",
    "MODES",
    "ConfigError",
    "CountResult",
    "Counter",
    "InputError",
    "JobRequest",
    "RequestError",
    "StopWords",
    "WordfreqError",
    "count_chunks",
    "count_files",
    "summarize",
]


def test_all_is_pinned() -> None:
    assert wordfreq_service.__all__ == PUBLIC
    assert sorted(wordfreq_service._EXPORTS) == sorted(PUBLIC)  # what loads each name


@pytest.mark.parametrize("name", PUBLIC)
def test_each_name_imports(name: str) -> None:
    namespace: dict[str, object] = {}
    exec(f"from wordfreq_service import {name}", namespace)
    assert namespace[name] is getattr(wordfreq_service, name)
    assert name in dir(wordfreq_service)


def test_unknown_name_is_an_attribute_error() -> None:
    with pytest.raises(AttributeError, match="no_such_thing"):
        _ = wordfreq_service.no_such_thing  # type: ignore[attr-defined]
    with pytest.raises(ImportError):
        exec("from wordfreq_service import no_such_thing", {})


def test_import_is_cheap() -> None:
    # The command line imports the package on every run; the AWS SDK and the counting
    # modules load only when something asks for them.
    code = (
        "import sys, wordfreq_service\n"
        "heavy = [m for m in sys.modules if m.startswith(('boto3', 'botocore')) "
        "or m.startswith('wordfreq_service.')]\n"
        "print(heavy)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_the_docstring_example_runs(tmp_path: Path) -> None:
    from wordfreq_service import JobRequest, StopWords, count_files, summarize

    book = tmp_path / "book.txt"
    book.write_text("The cat saw the other cat; the dog saw nothing. Cat!")
    request = JobRequest.make(top=2, stopwords=StopWords.from_spec("english"))
    result = summarize(count_files([str(book)], request), request)
    assert (result.total, result.unique) == (7, 4)  # "the" and "other" are stop words
    assert result.words == [("cat", 3), ("saw", 2)]
    assert "count_files([" in (wordfreq_service.__doc__ or "")


def test_counter_streams_and_merges() -> None:
    from wordfreq_service import Counter, JobRequest, count_chunks, summarize

    options = JobRequest.make(top=3)
    a = count_chunks([b"one two tw", b"o three"], options)
    b = Counter("words")
    b.feed(b"two")
    b.finish()
    a.merge(b)
    assert summarize(a, options).words == [("two", 3), ("one", 1), ("three", 1)]
