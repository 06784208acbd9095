"""Hostile documents within bounds: what a small input can make the extractors hold or
do is limited (``documents/limits.py``), and past a limit the document fails with a
one-line reason, as any bad document does. Limits are lowered here so fixtures stay
small."""

from __future__ import annotations

import io
from collections.abc import Iterator
from pathlib import Path

import pytest
from wordfreq_service import _core
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


_W = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"
_TEXT = "urn:oasis:names:tc:opendocument:xmlns:text:1.0"


class _Tracked(io.BytesIO):
    """A stream that says how far it has been read."""

    high = 0

    def read(self, size: int | None = -1) -> bytes:
        data = super().read(size)
        self.high = self.tell()
        return data


@pytest.mark.parametrize(
    ("dialect", "words", "body"),
    [
        (
            "DOCX",
            2 * 20_000,
            f'<w:document xmlns:w="{_W}"><w:body><w:p>'
            + "<w:r><w:t>al</w:t></w:r><w:r><w:t>pha beta </w:t></w:r><w:r><w:tab/></w:r>" * 20_000
            + "</w:p></w:body></w:document>",
        ),
        (
            "ODT",
            4 * 20_000 + 1,
            f'<office:document-content xmlns:office="urn:oasis:names:tc:opendocument:xmlns:'
            f'office:1.0" xmlns:text="{_TEXT}"><office:body><office:text><text:p>start '
            + "alpha<text:s/>beta <text:span>alpha beta</text:span> " * 20_000
            + "</text:p></office:text></office:body></office:document-content>",
        ),
    ],
)
def test_one_long_paragraph_goes_out_in_parts_as_it_is_read(
    dialect: str, words: int, body: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Memory holds a part of a paragraph, never the whole: its first part is out long
    # before the XML is read to its end, and no word is lost or split between parts.
    from wordfreq_service.documents import office

    monkeypatch.setattr(limits, "TEXT_CHUNK_BYTES", 10_000)
    stream = _Tracked(body.encode())
    parts = office._parse(stream, getattr(office, dialect))
    first = next(parts)
    assert stream.high < len(body) // 4
    text = " ".join([first, *parts])
    assert len(text.split()) == words
    assert set(text.split()) - {"start"} == {"alpha", "beta"}


def test_a_pdf_page_drawing_past_the_content_limit_is_refused_before_extraction(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Extraction time grows faster than a content stream's size: a 5 KB PDF whose page
    # inflates to megabytes of operators would hold a worker for hours.
    report = FIXTURES / "report.pdf"  # five pages of 73 to 161 bytes of content
    assert sum(words_of(report).values()) > 0
    monkeypatch.setattr(limits, "MAX_PDF_PAGE_CONTENT_BYTES", 100)
    with pytest.raises(InputError, match=r"report.pdf: page 2 draws with 102 bytes of content"):
        count_file(str(report), EVERY_WORD)
    monkeypatch.setattr(limits, "MAX_PDF_PAGE_CONTENT_BYTES", 1000)
    monkeypatch.setattr(limits, "MAX_PDF_CONTENT_BYTES", 73 + 102 + 99)
    with pytest.raises(InputError, match=r"report.pdf: the PDF's pages draw with more than"):
        count_file(str(report), EVERY_WORD)


@pytest.mark.parametrize(
    "label",
    [
        "rot13",
        "base64",
        "hex",
        "zlib",
        "uu",
        "idna",
        "punycode",
        "utf-7",
        "cp037",
        "utf-32",
        "nonesuch",
    ],
)
def test_a_declared_charset_that_is_no_web_encoding_is_ignored(label: str, tmp_path: Path) -> None:
    # WHATWG: a label outside the Encoding standard is no declaration; the page is read
    # as undeclared (UTF-8, each invalid byte as Windows-1252), never an internal error.
    page = tmp_path / "c.html"
    page.write_bytes(f'<html><meta charset="{label}"><p>hello caf\xe9</p>'.encode())
    assert words_of(page) == {"hello": 1, "café": 1}


def test_a_web_encoding_declared_by_another_label_is_read(tmp_path: Path) -> None:
    page = tmp_path / "k.html"
    page.write_bytes('<html><meta charset="euc-kr"><p>안녕</p>'.encode("cp949"))
    assert words_of(page) == {"안녕": 1}


def test_any_exception_inside_an_extractor_is_this_documents_failure(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # What escapes a library on a hostile file is an InputError, which `count` reports in
    # one line and a worker turns into a `failure` result (not a retry, not a crash).
    from wordfreq_service.documents import html

    def broken(*args: object) -> Iterator[str]:
        raise LookupError("'rot-13' is not a text encoding")
        yield ""

    monkeypatch.setattr(html, "blocks", broken)
    page = tmp_path / "p.html"
    page.write_text("<p>hello</p>")
    with pytest.raises(
        InputError, match=r"p.html: cannot extract the document's text: LookupError: 'rot-13'"
    ):
        count_file(str(page), EVERY_WORD)


def test_a_text_quoting_a_pdf_header_counts_as_text_and_forced_pdf_reads_past_junk(
    tmp_path: Path,
) -> None:
    # WHATWG sniffs a PDF only at offset 0: prose about PDFs must not fail as one.
    prose = tmp_path / "prose.txt"
    prose.write_text("Notes on the format.\n%PDF-1.7 is the first line of a PDF file.\n")
    assert words_of(prose)["pdf"] == 2
    late = tmp_path / "late.pdf"
    late.write_bytes(b"junk before the header\n" + (FIXTURES / "report.pdf").read_bytes())
    forced = JobRequest.make(top=100_000, format="pdf")
    assert (
        summarize(count_file(str(late), forced), forced).words
        == summarize(count_file(str(FIXTURES / "report.pdf"), forced), forced).words
    )


def test_ruby_annotations_are_not_counted(tmp_path: Path) -> None:
    # Furigana over kanji is a reading gloss, not running text: counted, it would add
    # junk words (とうき, ょ, う) to every Japanese e-book.
    page = tmp_path / "ruby.html"
    page.write_text(
        "<html><body><p><ruby>東京<rp>(</rp><rt>とうきょう</rt><rp>)</rp></ruby>"
        "<ruby>漢<rtc><rt>かん</rt></rtc></ruby></p>"
    )
    plain = tmp_path / "plain.txt"
    plain.write_text("東京漢")
    assert words_of(page) == words_of(plain)


def test_a_soft_hyphen_separates_words_in_html_as_in_text(tmp_path: Path) -> None:
    # U+00AD is a format character, which the counting rules make a separator in any
    # text: HTML's &shy; (shown joined by a browser) follows the same rule, so one word
    # counts alike whatever the input's format.
    page = tmp_path / "shy.html"
    page.write_text("<html><body><p>Silben&shy;trennung und Silben\u00adtrennung</p>")
    plain = tmp_path / "shy.txt"
    plain.write_text("Silben\u00adtrennung und Silben\u00adtrennung")
    assert words_of(page) == words_of(plain) == {"silben": 2, "trennung": 2, "und": 1}


@pytest.mark.parametrize("encoding", _core.ENCODINGS)
def test_every_encoding_of_the_core_reads_a_forced_html_page(encoding: str, tmp_path: Path) -> None:
    # --encoding's choices are the core's: each must decode HTML too, never an internal
    # error when the core gains one.
    page = tmp_path / "page.html"
    page.write_bytes("<p>hello world</p>".encode("utf-16-le" if encoding == "utf-16" else encoding))
    request = JobRequest.make(top=10, format="html", encoding=encoding)
    assert summarize(count_file(str(page), request), request).words == [
        ("hello", 1),
        ("world", 1),
    ]


def test_html_hidden_by_an_inline_style_or_as_fallback_content_is_not_counted(
    tmp_path: Path,
) -> None:
    # What a browser does not show: text hidden by an inline style (the common way pages
    # hide menus and screen-reader text) and the fallback inside canvas, video, audio.
    page = tmp_path / "hidden.html"
    page.write_text(
        "<html><body><p>shown</p><p style='display:none'>cssnone</p>"
        "<p style='color: red; visibility : hidden !important'>vishidden</p>"
        "<p style='display: block'>block</p>"
        "<canvas>canvasfallback</canvas><video>videofallback</video>"
        "<audio>audiofallback</audio></body></html>"
    )
    assert words_of(page) == {"shown": 1, "block": 1}


def test_html_boxes_side_by_side_never_make_one_word(tmp_path: Path) -> None:
    page = tmp_path / "boxes.html"
    page.write_text(
        "<html><body><p><button>one</button><button>two</button> "
        "left<img src=x alt=z>right aa<input>bb <span>in</span>line</p></body></html>"
    )
    assert words_of(page) == {
        "one": 1,
        "two": 1,
        "left": 1,
        "right": 1,
        "aa": 1,
        "bb": 1,
        "inline": 1,
    }


def test_docx_hidden_runs_are_not_counted_and_soft_hyphens_separate(tmp_path: Path) -> None:
    import docx  # python-docx, of the dev extra: Word's own markup for both
    from docx.oxml.ns import qn

    document = docx.Document()
    paragraph = document.add_paragraph("visible ")
    paragraph.add_run("vanishword").font.hidden = True
    paragraph.add_run(" after ")
    shown = paragraph.add_run("shownagain")
    shown.font.hidden = False  # w:vanish w:val="0": not hidden
    hyphenated = document.add_paragraph("Silben")
    run = hyphenated.add_run()
    run._r.append(run._r.makeelement(qn("w:softHyphen"), {}))
    hyphenated.add_run("trennung")
    path = tmp_path / "hidden.docx"
    document.save(str(path))
    assert words_of(path) == {
        "visible": 1,
        "after": 1,
        "shownagain": 1,
        "silben": 1,
        "trennung": 1,
    }
