"""The formats ``--format`` names, and what each is called in messages."""

from __future__ import annotations

TYPE_CHECKING = False  # not typing's: `wordfreq count` imports this module, typing costs ~10 ms
if TYPE_CHECKING:
    from typing import Final

AUTO: Final = "auto"
TEXT: Final = "text"
HTML: Final = "html"
PDF: Final = "pdf"
DOCX: Final = "docx"
ODT: Final = "odt"
EPUB: Final = "epub"

#: ``--format``'s choices: ``auto`` tells from the content, ``text`` counts the bytes as
#: they are (no sniffing), the others force one document format.
FORMATS: Final[tuple[str, ...]] = (AUTO, TEXT, HTML, PDF, DOCX, ODT, EPUB)
DEFAULT_FORMAT: Final = AUTO
#: The formats read through an extractor.
DOCUMENTS: Final[tuple[str, ...]] = (HTML, PDF, DOCX, ODT, EPUB)
#: Documents whose text is Unicode by construction: ``--encoding`` has no say in them.
UNICODE_DOCUMENTS: Final[tuple[str, ...]] = (PDF, DOCX, ODT, EPUB)

NAMES: Final[dict[str, str]] = {
    TEXT: "text",
    HTML: "HTML",
    PDF: "PDF",
    DOCX: "DOCX",
    ODT: "ODT",
    EPUB: "EPUB",
}
