"""A PDF's text layer, page by page, with pypdf.

Each page is a block. A PDF whose pages hold no text at all (a scan, images only) fails:
there is nothing to count, and counting its bytes would count its binary. An encrypted
PDF is read when the empty user password opens it (a PDF that only restricts printing or
copying, as many do); one that needs a password fails, saying so. pypdf reads a damaged
file leniently (it rebuilds a broken cross-reference table); what it cannot read at all
is a one-line error. More than ``MAX_PDF_PAGES`` pages is refused before any is read, and a
page whose content stream is over ``MAX_PDF_PAGE_CONTENT_BYTES`` (or pages over
``MAX_PDF_CONTENT_BYTES`` together) before its text is extracted: that bounds the CPU time.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import TYPE_CHECKING, BinaryIO

from wordfreq_service.counting.inputs import human_size
from wordfreq_service.documents import limits
from wordfreq_service.errors import InputError

if TYPE_CHECKING:
    from pypdf import PageObject

NO_TEXT = "PDF has no text layer (scanned, or images only?): nothing to count"
NEEDS_PASSWORD = "encrypted PDF that needs a password: cannot be read"

# pypdf reports every oddity it works around as a warning on its logger: noise on a
# count's standard error for a file it read after all.
logging.getLogger("pypdf").setLevel(logging.ERROR)


def blocks(raw: BinaryIO, name: str) -> Iterator[str]:
    """The text of each page of the PDF in ``raw`` (seekable), stripped and non-empty."""
    from pypdf import PasswordType, PdfReader
    from pypdf.errors import DependencyError

    found = False
    try:
        reader = PdfReader(raw, strict=False)
        if reader.is_encrypted:
            try:
                opened = reader.decrypt("")
            except DependencyError as exc:
                raise InputError(f"{name}: encrypted PDF that cannot be decrypted: {exc}") from exc
            if opened == PasswordType.NOT_DECRYPTED:
                raise InputError(f"{name}: {NEEDS_PASSWORD}")
        pages = len(reader.pages)
        if pages > limits.MAX_PDF_PAGES:
            raise InputError(
                f"{name}: the PDF has {pages} pages, more than {limits.MAX_PDF_PAGES} (the limit)"
            )
        content = 0
        for number, page in enumerate(reader.pages, 1):
            content += _content_size(page, number, name)
            if content > limits.MAX_PDF_CONTENT_BYTES:
                raise InputError(
                    f"{name}: the PDF's pages draw with more than "
                    f"{human_size(limits.MAX_PDF_CONTENT_BYTES)} of content streams "
                    "(the limit: reading their text takes too long)"
                )
            text = page.extract_text().strip()
            if text:
                found = True
                yield text
    except InputError:
        raise
    except RecursionError as exc:
        raise InputError(f"{name}: malformed PDF (its objects nest without end)") from exc
    except Exception as exc:
        # pypdf's failures on a malformed file are not confined to its own exception
        # classes (KeyError, TypeError, struct and zlib errors escape it): every one is
        # this input's, never the caller's.
        raise InputError(f"{name}: malformed or truncated PDF: {_reason(exc)}") from exc
    if not found:
        raise InputError(f"{name}: {NO_TEXT}")


def _content_size(page: PageObject, number: int, name: str) -> int:
    """The size of ``page``'s content stream, decompressed; ``InputError`` past
    ``MAX_PDF_PAGE_CONTENT_BYTES``."""
    contents = page.get_contents()
    size = len(contents.get_data()) if contents is not None else 0
    if size > limits.MAX_PDF_PAGE_CONTENT_BYTES:
        raise InputError(
            f"{name}: page {number} draws with {human_size(size)} of content stream, more "
            f"than {human_size(limits.MAX_PDF_PAGE_CONTENT_BYTES)} (the limit: reading "
            "its text takes too long)"
        )
    return size


def _reason(exc: BaseException) -> str:
    text = " ".join(str(exc).split())
    return text[:200] if text else type(exc).__name__
