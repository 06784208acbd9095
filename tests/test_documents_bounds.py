"""Hostile documents within bounds: what a small input can make the extractors hold or
do is limited (``documents/limits.py``), and past a limit the document fails with a
one-line reason, as any bad document does. Limits are lowered here so fixtures stay
small."""

from __future__ import annotations

from pathlib import Path

import pytest
from wordfreq_service.counting.engine import count_file, summarize
from wordfreq_service.documents import limits
from wordfreq_service.errors import InputError
from wordfreq_service.formats.job_request import JobRequest

from tests.helpers import ROOT

FIXTURES = ROOT / "tests" / "fixtures" / "documents"
EVERY_WORD = JobRequest.make(top=100_000)


def words_of(path: Path | str) -> dict[str, int]:
    return dict(summarize(count_file(str(path), EVERY_WORD), EVERY_WORD).words)


def test_an_html_page_past_the_size_limit_is_refused_not_parsed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    page = tmp_path / "page.html"
    page.write_text("<html><body>" + "<p>word</p>" * 1000)
    monkeypatch.setattr(limits, "MAX_HTML_BYTES", page.stat().st_size)
    assert words_of(page) == {"word": 1000}
    monkeypatch.setattr(limits, "MAX_HTML_BYTES", page.stat().st_size - 1)
    with pytest.raises(InputError, match=r"page.html: HTML document larger than .* \(the limit"):
        count_file(str(page), EVERY_WORD)


def test_an_epub_chapter_past_the_html_size_limit_is_refused(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # A chapter of repeated markup compresses 500 to 1: its size, not the EPUB's, counts.
    monkeypatch.setattr(limits, "MAX_HTML_BYTES", 200)
    with pytest.raises(InputError, match=r"book.epub: .*html: HTML document larger than"):
        count_file(str(FIXTURES / "book.epub"), EVERY_WORD)

