"""Documents through `wordfreq count`: each format's text extracted against the text its
fixture was made with (``tests/fixtures/documents/make_fixtures.py``), the format told
from the content whatever the name, and every malformed, encrypted or hostile document a
one-line error."""

from __future__ import annotations

import gzip
import json
import re
import shutil
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from wordfreq_service.counting.engine import count_chunks, count_file, summarize
from wordfreq_service.documents.extract import BLOCK_SEPARATOR, blocks
from wordfreq_service.documents.sniff import SNIFF_BYTES, sniff
from wordfreq_service.errors import InputError
from wordfreq_service.formats.job_request import JobRequest, RequestError

from tests.helpers import ROOT, run_wordfreq

FIXTURES = ROOT / "tests" / "fixtures" / "documents"
EXPECTED: dict[str, list[str]] = json.loads((FIXTURES / "expected.json").read_text("utf-8"))
EVERY_WORD = JobRequest.make(top=100_000)


def counts_of_text(text: str) -> dict[str, Any]:
    """What `count --json` reports for ``text`` counted as plain text."""
    counter = count_chunks([text.encode("utf-8")], JobRequest.make(top=100_000, format="text"))
    result = summarize(counter, EVERY_WORD)
    return {
        "total": result.total,
        "unique": result.unique,
        "skipped": result.skipped,
        "words": [{"word": w, "count": c} for w, c in result.words],
    }


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_each_format_extracts_the_text_it_was_made_with(name: str) -> None:
    with (FIXTURES / name).open("rb") as raw:
        assert list(blocks(raw, name, "auto", None)) == EXPECTED[name]


def test_count_json_of_documents_renamed_txt_counts_their_text(tmp_path: Path) -> None:
    # The names say text; the content says otherwise, and the content decides. One
    # process for them all (an aggregate counts each file on its own, as `count` does).
    for index, name in enumerate(sorted(EXPECTED)):
        shutil.copyfile(FIXTURES / name, tmp_path / f"notes{index}.txt")
    out = run_wordfreq(["count", "--aggregate", "--json", "--top", "100000", str(tmp_path)])
    assert out.returncode == 0, out.stderr
    got = json.loads(out.stdout)
    want = counts_of_text(BLOCK_SEPARATOR.join(b for n in sorted(EXPECTED) for b in EXPECTED[n]))
    assert (got["total"], got["unique"], got["words"]) == (
        want["total"],
        want["unique"],
        want["words"],
    )
    single = run_wordfreq(["count", "--json", "--top", "100000", str(tmp_path / "notes0.txt")])
    assert json.loads(single.stdout) == counts_of_text(
        BLOCK_SEPARATOR.join(EXPECTED[sorted(EXPECTED)[0]])
    )


def test_a_compressed_document_on_standard_input_is_decompressed_then_extracted() -> None:
    data = gzip.compress((FIXTURES / "report.docx").read_bytes())
    out = run_wordfreq(["count", "--json", "--top", "100000", "-"], input=data)
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout) == counts_of_text(BLOCK_SEPARATOR.join(EXPECTED["report.docx"]))


def test_an_aggregate_sniffs_each_file_on_its_own(tmp_path: Path) -> None:
    for name in ("report.odt", "page.html", "book.epub"):
        shutil.copyfile(FIXTURES / name, tmp_path / name)
    text = "Plain words, and text stays text <p>\n"
    (tmp_path / "plain.txt").write_text(text)
    out = run_wordfreq(["count", "--aggregate", "--json", "--top", "100000", str(tmp_path)])
    assert out.returncode == 0, out.stderr
    got = json.loads(out.stdout)
    expected = counts_of_text(
        "\n\n".join(
            [
                *(
                    BLOCK_SEPARATOR.join(EXPECTED[n])
                    for n in EXPECTED
                    if n in {"report.odt", "page.html", "book.epub"}
                ),
                text,
            ]
        )
    )
    assert (got["total"], got["unique"], got["words"]) == (
        expected["total"],
        expected["unique"],
        expected["words"],
    )
    assert [f["status"] for f in got["files"]] == ["success"] * 4


def test_format_text_counts_the_bytes_as_today() -> None:
    page = FIXTURES / "page.html"
    out = run_wordfreq(["count", "--json", "--top", "100000", "--format", "text", str(page)])
    words = {w["word"] for w in json.loads(out.stdout)["words"]}
    assert {"scriptword", "titleword", "html", "doctype"} <= words
    extracted = run_wordfreq(["count", "--json", "--top", "100000", str(page)])
    assert not {"scriptword", "titleword", "stylerule", "hiddenword", "noscriptword"} & {
        w["word"] for w in json.loads(extracted.stdout)["words"]
    }


def test_seed_mode_never_extracts() -> None:
    page = FIXTURES / "page.html"
    seed = run_wordfreq(["count", "--json", "--top", "100000", "--mode", "seed", str(page)])
    assert seed.returncode == 0, seed.stderr
    assert "scriptword" in {w["word"] for w in json.loads(seed.stdout)["words"]}
    refused = run_wordfreq(["count", "--mode", "seed", "--format", "html", str(page)])
    assert refused.returncode == 2
    assert "--format html applies to words mode only" in refused.stderr


def test_encoding_does_not_apply_to_a_pdf_and_overrides_an_html_declaration() -> None:
    refused = run_wordfreq(["count", "--format", "pdf", "--encoding", "utf-8", "x.pdf"])
    assert refused.returncode == 2 and "--encoding does not apply" in refused.stderr
    koi8 = FIXTURES / "koi8.html"
    declared = run_wordfreq(["count", "--json", str(koi8)])
    assert "привет" in {w["word"] for w in json.loads(declared.stdout)["words"]}
    # The user's --encoding comes before the page's declaration (WHATWG's order).
    forced = run_wordfreq(["count", "--json", "--encoding", "latin-1", str(koi8)])
    assert forced.returncode == 0
    assert "привет" not in {w["word"] for w in json.loads(forced.stdout)["words"]}


#: Each unreadable fixture and (part of) its one-line reason.
UNREADABLE = {
    "scanned.pdf": "PDF has no text layer (scanned, or images only?): nothing to count",
    "locked.pdf": "encrypted PDF that needs a password",
    "truncated.pdf": "malformed or truncated PDF",
    "truncated.docx": "corrupt or truncated ZIP container",
    "bomb.docx": "word/document.xml would decompress to 257 MiB, more than 256 MiB",
    "laughs.odt": "declares XML entities, which are refused",
    "encrypted.docx": "an OLE compound file",
    "archive.zip": "a ZIP archive, not a DOCX, ODT or EPUB: not a document",
    "sheet.ods": "an OpenDocument spreadsheet",
}


def test_documents_that_cannot_be_read_each_fail_with_their_reason() -> None:
    paths = [str(FIXTURES / name) for name in UNREADABLE]
    out = run_wordfreq(["count", "--aggregate", "--json", "--allow-failures", *paths])
    assert out.returncode == 0, out.stderr
    files = json.loads(out.stdout)["files"]
    assert [f["status"] for f in files] == ["failure"] * len(UNREADABLE)
    for status, message in zip(files, UNREADABLE.values(), strict=True):
        assert message in status["status_message"], status
    assert "Traceback" not in out.stderr


@pytest.mark.parametrize(
    ("name", "flags", "message"),
    [
        ("scanned.pdf", [], UNREADABLE["scanned.pdf"]),
        ("encrypted.docx", ["--format", "docx"], "encrypted or not a DOCX"),
        ("report.pdf", ["--format", "docx"], "not a DOCX document: its content is PDF"),
        ("page.html", ["--format", "epub"], "not an EPUB document: its content is HTML"),
    ],
)
def test_a_document_that_cannot_be_read_is_a_one_line_error(
    name: str, flags: list[str], message: str
) -> None:
    out = run_wordfreq(["count", *flags, str(FIXTURES / name)])
    assert out.returncode == 1
    assert out.stdout == ""
    assert out.stderr.count("\n") == 1 and "Traceback" not in out.stderr
    assert out.stderr.startswith(f"wordfreq: error: {FIXTURES / name}: ")
    assert message in out.stderr


def test_forced_html_reads_a_fragment_that_does_not_sniff_as_html(tmp_path: Path) -> None:
    fragment = tmp_path / "fragment.txt"
    fragment.write_text("Hello <em>there</em> &amp; <span hidden>gone</span>")
    request = JobRequest.make(top=100, format="html")
    assert summarize(count_file(str(fragment), request), request).words == [
        ("hello", 1),
        ("there", 1),
    ]


def test_request_spellings_carry_the_format() -> None:
    request = JobRequest.make(format="PDF")
    assert request.format == "pdf"
    assert request.to_metadata()["format"] == "pdf"
    assert request.to_json()["format"] == "pdf"
    assert JobRequest.from_metadata({"format": "pdf"}, default_mode="words") == request
    assert JobRequest.from_json({"format": "pdf"}) == request
    assert "format" not in JobRequest.make().to_metadata()
    with pytest.raises(RequestError, match="not one of auto, text, html"):
        JobRequest.make(format="rtf")


# -- detection ------------------------------------------------------------------------

_DOCUMENT_STARTS = (b"PK\x03\x04", b"PK\x05\x06", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1")


#: WHATWG's patterns for HTML, spelled apart from ``sniff.py``'s.
_HTML_START = re.compile(
    rb"(?i)<(?:!doctype html|html|head|script|iframe|h1|div|font|table|a|style|title|b|body"
    rb"|br|p|!--)[ >]|<\?xml"
)


def _starts_like_a_document(data: bytes) -> bool:
    head = data[:SNIFF_BYTES]
    stripped = head.removeprefix(b"\xef\xbb\xbf").lstrip(b"\t\n\x0c\r ")
    return (
        head.startswith(_DOCUMENT_STARTS)
        or _HTML_START.match(stripped) is not None
        or head.startswith(b"%PDF-")
    )


@pytest.mark.parametrize(
    ("start", "kind"),
    [
        (b"<p>Hello", "html"),
        (b"\xef\xbb\xbf \n<!DOCTYPE HTML>", "html"),
        (b"<!-- note -->", None),
        (b"<!-- SPDX-License-Identifier: MIT -->\n# Title\n<https://example.com>", None),
        (b"<!-- saved from url -->\n<!-- two -->  <HTML lang=en>", "html"),
        (b"<!-- unclosed <p>", None),
        (b"<Table border=1>", "html"),
        (b"<pre>code</pre>", None),
        (b"<abbr>", None),
        (b"<br/>", None),
        (b"<p", None),
        (b"a <p> later", None),
        (b"%PDF-1.7\n", "pdf"),
        (b"junk first\r\n%PDF-2.0", None),
        (b"Notes.\n%PDF-1.7 is the first line of a PDF file.\n", None),
        (b" %PDF-1.7\n", None),
        (b"the header %PDF-1.7 quoted", None),
        (b"%PDF-x", None),
    ],
)
def test_what_a_start_is_sniffed_as(start: bytes, kind: str | None) -> None:
    assert sniff(start) == kind


@settings(max_examples=150, deadline=None, print_blob=True)
@given(st.one_of(st.text().map(lambda s: s.encode("utf-8")), st.binary()))
def test_random_input_is_never_a_document_unless_it_starts_like_one(data: bytes) -> None:
    if sniff(data) is not None:
        assert _starts_like_a_document(data)


#: Pieces of text that look like the start of a document, anywhere but at the start.
_LOOKALIKES = ("<p>", "<!-- x -->", "<html ", "<b>", "%PDF-1.7\n", "\n%PDF-2.0", "<?xml ", "PK")


@settings(max_examples=60, deadline=None, print_blob=True)
@given(
    st.lists(
        st.one_of(
            st.text(st.characters(codec="utf-8"), max_size=20),
            st.text("<>%!-/PDFp \n", max_size=20),
            st.sampled_from(_LOOKALIKES),
        ),
        max_size=20,
    ).map("".join)
)
def test_text_that_is_not_a_document_counts_as_with_format_text(text: str) -> None:
    # Through the sniffing path (a stream, as standard input and the worker read it):
    # whatever it quotes, a text that does not start like a document counts as text.
    from wordfreq_service.counting.engine import count_stream

    data = text.encode("utf-8")
    auto = JobRequest.make(top=100_000)
    plain = JobRequest.make(top=100_000, format="text")
    if sniff(data) is None:
        counted = summarize(count_stream(iter([data]), "stdin", auto), auto)
        assert counted == summarize(count_chunks([data], plain), plain)


@pytest.mark.parametrize(
    ("name", "kind"),
    [
        ("page.html", "html"),
        ("koi8.html", "html"),
        ("report.pdf", "pdf"),
        ("report.docx", "zip"),
        ("report.odt", "zip"),
        ("book.epub", "zip"),
        ("encrypted.docx", "ole"),
    ],
)
def test_each_fixture_is_sniffed_from_its_first_bytes(name: str, kind: str) -> None:
    assert sniff((FIXTURES / name).read_bytes()[:SNIFF_BYTES]) == kind


def test_a_stream_is_bounded_by_the_input_limit_before_it_is_spooled(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="the input limit"):
        count_file(str(FIXTURES / "report.docx"), EVERY_WORD, max_input_bytes=1000)


@pytest.mark.parametrize("chunk_bytes", [1, 7, 1 << 20])
def test_blocks_reach_the_counter_separated_by_blank_lines_in_bounded_chunks(
    chunk_bytes: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A blank line between blocks is what keeps a sentence or an n-gram inside its block.
    from wordfreq_service.documents import limits
    from wordfreq_service.documents.extract import text_chunks

    monkeypatch.setattr(limits, "TEXT_CHUNK_BYTES", chunk_bytes)
    texts = ["First block.", "Second, with a line\nbreak.", "Third"]
    chunks = list(text_chunks(texts))
    assert b"".join(chunks).decode() == "First block.\n\nSecond, with a line\nbreak.\n\nThird"
    if chunk_bytes < 12:
        assert len(chunks) == len(texts)


def test_html_nested_past_the_limit_is_refused_before_it_is_parsed(tmp_path: Path) -> None:
    # An HTML5 parser's time grows with depth times tags: 200,000 nested elements would
    # hold it for minutes. Unclosed paragraphs and list items close each other: the
    # deepest is a paragraph in a list item, two below the divs.
    from wordfreq_service.documents.limits import MAX_HTML_DEPTH

    at_limit = tmp_path / "at.html"
    at_limit.write_text(
        "<html><body>"
        + "<div><!-- <span> -->" * (MAX_HTML_DEPTH - 2)
        + "deep"
        + "<p>p<li>li" * 5000
    )
    request = JobRequest.make(top=3)
    assert summarize(count_file(str(at_limit), request), request).words == [
        ("li", 5000),
        ("p", 5000),
        ("deep", 1),
    ]
    past = tmp_path / "past.html"
    past.write_text("<html><body>" + "<div><span>" * 100_000 + "deep")
    with pytest.raises(InputError, match=f"nested more than {MAX_HTML_DEPTH} deep"):
        count_file(str(past), request)
