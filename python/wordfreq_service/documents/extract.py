"""A document's text as UTF-8 chunks for the counter: the format confirmed from the
content, the right extractor run, its blocks joined by blank lines.

The input must be seekable (a PDF's cross-reference table is at its end, a ZIP's
directory too): a regular file as it is, a stream spooled to a temporary file first
(``spool``). Every failure is an ``InputError`` naming the input.
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterable, Iterator
from typing import BinaryIO

from wordfreq_service.documents import formats, limits
from wordfreq_service.documents.sniff import OLE, SNIFF_BYTES, ZIP, pdf_header_within, sniff
from wordfreq_service.errors import InputError

#: What separates two blocks: a blank line, which ends a sentence and a paragraph.
BLOCK_SEPARATOR = "\n\n"

OLE_FILE = (
    "an OLE compound file (an encrypted Office document, or a legacy .doc or .xls): "
    "not a document wordfreq reads"
)


def blocks(raw: BinaryIO, name: str, requested: str, encoding: str | None) -> Iterator[str]:
    """The text blocks of the document in ``raw`` (seekable, at its start), read as
    ``requested`` (``auto`` or a document format) says: a forced format the content is
    not fails, naming what the content is. Whatever goes wrong in an extractor is this
    document's fault, an ``InputError`` (a ``failure`` result on a worker, never a retry
    or a crash)."""
    try:
        yield from _blocks(raw, name, requested, encoding)
    except InputError:
        raise
    except RecursionError as exc:
        raise InputError(f"{name}: malformed document (it nests without end)") from exc
    except Exception as exc:
        reason = " ".join(str(exc).split())[:200]
        raise InputError(
            f"{name}: cannot extract the document's text: {type(exc).__name__}: {reason}"
        ) from exc


def _blocks(raw: BinaryIO, name: str, requested: str, encoding: str | None) -> Iterator[str]:
    raw.seek(0)
    head = raw.read(SNIFF_BYTES)
    kind = sniff(head)
    if kind is None and requested == formats.PDF and pdf_header_within(head):
        kind = formats.PDF
    raw.seek(0)
    if kind == OLE:
        if requested == formats.DOCX:
            raise InputError(f"{name}: encrypted or not a DOCX: {OLE_FILE}")
        raise InputError(f"{name}: {OLE_FILE}")
    if kind == ZIP:
        yield from _container_blocks(raw, name, requested)
        return
    actual = kind or (formats.HTML if requested == formats.HTML else formats.TEXT)
    _expect(name, requested, actual)
    if actual == formats.PDF:
        from wordfreq_service.documents import pdf

        yield from pdf.blocks(raw, name)
        return
    from wordfreq_service.documents import html

    yield from html.blocks(html.read(raw, name), encoding, name)


def _container_blocks(raw: BinaryIO, name: str, requested: str) -> Iterator[str]:
    from wordfreq_service.documents.zipped import Container

    container = Container(raw, name)
    actual = container.format()
    if actual is None:
        if requested in (formats.AUTO, formats.DOCX, formats.ODT, formats.EPUB):
            raise InputError(
                f"{name}: {container.describe()}: not a document wordfreq reads "
                "(--format text counts its bytes as text)"
            )
        _expect(name, requested, "ZIP archive")
    else:
        _expect(name, requested, actual)
    if actual == formats.EPUB:
        from wordfreq_service.documents import epub

        yield from epub.blocks(container)
        return
    from wordfreq_service.documents import office

    yield from (office.docx_blocks if actual == formats.DOCX else office.odt_blocks)(container)


def _expect(name: str, requested: str, actual: str) -> None:
    if requested not in (formats.AUTO, actual):
        what = formats.NAMES.get(actual, actual)
        raise InputError(
            f"{name}: not {_article(requested)} {formats.NAMES[requested]} document: "
            f"its content is {what}"
        )


def _article(fmt: str) -> str:
    return "an" if formats.NAMES[fmt][0] in "AEHIOU" else "a"


def text_chunks(texts: Iterable[str]) -> Iterator[bytes]:
    """``texts`` (blocks) joined by ``BLOCK_SEPARATOR``, as UTF-8 chunks of about
    ``TEXT_CHUNK_BYTES``: memory holds a chunk, never the document's text."""
    pending: list[str] = []
    size = 0
    for text in texts:
        if pending:
            pending.append(BLOCK_SEPARATOR)
        pending.append(text)
        size += len(text)
        if size >= limits.TEXT_CHUNK_BYTES:
            yield "".join(pending).encode("utf-8", "replace")
            # The next block still needs its separator from this one.
            pending = [""]
            size = 0
    rest = "".join(pending)
    if rest:
        yield rest.encode("utf-8", "replace")


def spool(chunks: Iterable[bytes]) -> BinaryIO:
    """``chunks`` written to an anonymous temporary file (in the process's temporary
    directory; gone when closed, however the process ends), rewound. The caller closes
    it. Its size is that of the input, which its reader has already bounded."""
    file = tempfile.TemporaryFile()  # noqa: SIM115 (handed to the caller, who closes it)
    try:
        for chunk in chunks:
            file.write(chunk)
        file.seek(0)
    except BaseException:
        file.close()
        raise
    return file
