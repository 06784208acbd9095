"""What an input is, told from its first bytes (never its name).

Only ``SNIFF_BYTES`` are looked at, once per input, so plain text pays a few microseconds.
HTML is recognised as the WHATWG MIME Sniffing standard's "rules for identifying an
unknown MIME type" do: after any whitespace (and a UTF-8 byte-order mark), one of its
tags, case-insensitive, followed by a space or ``>``; but a leading comment (``<!--``,
which WHATWG takes for HTML alone) must be followed by one of those tags within the bytes
sniffed. An XHTML file opening with an XML
declaration is HTML too when an ``<html`` tag or HTML doctype follows within the first
bytes. A PDF is ``%PDF-`` and a digit at the very start, as WHATWG's rules say (a text
quoting a header on a later line stays text; ``--format pdf`` also reads a PDF with bytes
before its header, as readers do). A ZIP
archive (local file header or empty archive) is a container whose entries tell what it
holds (``zipped.py``); an OLE compound file is what an encrypted Office document (and a
legacy ``.doc``) is.
"""

from __future__ import annotations

from wordfreq_service.documents import formats

TYPE_CHECKING = False  # not typing's: `wordfreq count` imports this module, typing costs ~10 ms
if TYPE_CHECKING:
    from typing import Final

#: How many of an input's first bytes are sniffed.
SNIFF_BYTES: Final = 1024

#: Kinds of content ``sniff`` reports (beside the document formats' own names).
ZIP: Final = "zip"
OLE: Final = "ole"

_WHITESPACE: Final = b"\t\n\x0c\r "
_UTF8_BOM: Final = b"\xef\xbb\xbf"
_HTML_TAGS: Final = (
    b"<!doctype html",
    b"<html",
    b"<head",
    b"<script",
    b"<iframe",
    b"<h1",
    b"<div",
    b"<font",
    b"<table",
    b"<a",
    b"<style",
    b"<title",
    b"<b",
    b"<body",
    b"<br",
    b"<p",
)
_TAG_END: Final = b" >"
_COMMENT: Final = b"<!--"
_COMMENT_END: Final = b"-->"
_PDF: Final = b"%PDF-"
_DIGITS: Final = b"0123456789"
_DIGIT_BYTES: Final = tuple(bytes([d]) for d in _DIGITS)
_ZIP: Final = (b"PK\x03\x04", b"PK\x05\x06")
_OLE: Final = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"


def sniff(head: bytes) -> str | None:
    """``"pdf"``, ``"html"``, ``ZIP`` or ``OLE`` for an input whose first bytes are
    ``head`` (``SNIFF_BYTES`` of them, or the whole input when shorter); None for text."""
    head = head[:SNIFF_BYTES]
    if head.startswith(_ZIP):
        return ZIP
    if head.startswith(_OLE):
        return OLE
    if _is_pdf(head):
        return formats.PDF
    if looks_like_html(head):
        return formats.HTML
    return None


def looks_like_html(head: bytes) -> bool:
    start = head[len(_UTF8_BOM) :] if head.startswith(_UTF8_BOM) else head
    start = start.lstrip(_WHITESPACE)
    while start.startswith(_COMMENT):
        # WHATWG takes a leading comment alone for HTML; a Markdown or text file opens
        # with one as often (a licence header, a linter's directive), so a tag must follow.
        end = start.find(_COMMENT_END, len(_COMMENT))
        if end < 0:
            return False
        start = start[end + len(_COMMENT_END) :].lstrip(_WHITESPACE)
    if not start.startswith(b"<"):
        return False
    lowered = start[:16].lower()
    for tag in _HTML_TAGS:
        if lowered.startswith(tag) and start[len(tag) : len(tag) + 1] in (b" ", b">"):
            return True
    if start[:5].lower() != b"<?xml":
        return False
    import re  # not at the top: `re` is no cost plain text should pay

    return re.search(rb"<(?:!doctype\s+)?html[\s>]", start, re.IGNORECASE) is not None


def _is_pdf(head: bytes) -> bool:
    return head.startswith(_PDF) and head[len(_PDF) : len(_PDF) + 1] in _DIGIT_BYTES


def pdf_header_within(head: bytes) -> bool:
    """Whether a PDF header starts a line anywhere in ``head``: what ``--format pdf``
    accepts (readers accept bytes before the header), never ``auto`` (prose quotes it)."""
    at = head.find(_PDF)
    while at >= 0:
        digit = head[at + len(_PDF) : at + len(_PDF) + 1]
        if (at == 0 or head[at - 1] in b"\r\n") and digit and digit in _DIGITS:
            return True
        at = head.find(_PDF, at + 1)
    return False


def is_document(head: bytes, requested: str) -> bool:
    """Whether an input whose first bytes are ``head`` goes to an extractor under
    ``--format requested``: always when a document format is forced (which then checks
    the content), never for ``text``, and for ``auto`` when the content is one."""
    if requested == formats.TEXT:
        return False
    return requested != formats.AUTO or sniff(head) is not None
