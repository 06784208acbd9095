"""DOCX and ODT body text: the body's XML streamed through a safe parser.

defusedxml's parser refuses entity declarations (billion laughs, external entities); the
XML is parsed as it is decompressed, and each paragraph is dropped from the tree once its
text is out, so memory holds one paragraph and its open ancestors, not the document.

A paragraph (DOCX ``w:p``; ODT ``text:p`` and ``text:h``) is a block; a table's cells
hold paragraphs, so each cell is a block of its own, in document order. A paragraph inside
another (a text box, a note) is a block of its own where it stands. Tabs are spaces, line
breaks are line breaks. Body only: headers, footers, comments and deleted tracked changes
are not counted, nor the fallback copy of a drawing (``mc:Fallback``, a second copy of a
text box's text).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import IO
from xml.etree.ElementTree import Element, ParseError

from wordfreq_service.documents.zipped import CORRUPT_MEMBER, DOCX_BODY, Container
from wordfreq_service.errors import InputError

_W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"
_MC = "{http://schemas.openxmlformats.org/markup-compatibility/2006}"
_TEXT = "{urn:oasis:names:tc:opendocument:xmlns:text:1.0}"
_OFFICE = "{urn:oasis:names:tc:opendocument:xmlns:office:1.0}"
_SVG = "{urn:oasis:names:tc:opendocument:xmlns:svg-compatible:1.0}"
ODT_BODY = "content.xml"


class Dialect:
    """One format's names for what the walk needs."""

    def __init__(
        self,
        paragraphs: frozenset[str],
        text: frozenset[str],
        spaces: dict[str, str],
        skipped: frozenset[str],
        mixed: bool,
    ) -> None:
        self.paragraphs = paragraphs
        #: Elements whose own text is text (DOCX keeps text only in ``w:t``).
        self.text = text
        #: Empty elements that stand for characters (a tab, a break), and which.
        self.spaces = spaces
        #: Elements whose content is not body text.
        self.skipped = skipped
        #: Text anywhere in a paragraph counts (ODT), not only in ``text`` elements.
        self.mixed = mixed


DOCX = Dialect(
    paragraphs=frozenset({_W + "p"}),
    text=frozenset({_W + "t"}),
    spaces={
        _W + "tab": " ",
        _W + "br": "\n",
        _W + "cr": "\n",
        _W + "noBreakHyphen": "-",
        _W + "ptab": " ",
    },
    skipped=frozenset({_MC + "Fallback", _W + "delText", _W + "instrText"}),
    mixed=False,
)
ODT = Dialect(
    paragraphs=frozenset({_TEXT + "p", _TEXT + "h"}),
    text=frozenset(),
    spaces={_TEXT + "s": " ", _TEXT + "tab": " ", _TEXT + "line-break": "\n"},
    skipped=frozenset(
        {
            _OFFICE + "annotation",
            _OFFICE + "annotation-end",
            _TEXT + "tracked-changes",
            _TEXT + "note-citation",
            _SVG + "title",
            _SVG + "desc",
        }
    ),
    mixed=True,
)


def docx_blocks(container: Container) -> Iterator[str]:
    yield from _blocks(container, DOCX_BODY, DOCX)


def odt_blocks(container: Container) -> Iterator[str]:
    yield from _blocks(container, ODT_BODY, ODT)


def _blocks(container: Container, member: str, dialect: Dialect) -> Iterator[str]:
    with container.open(member) as stream:
        try:
            yield from _parse(stream, dialect)
        except InputError:
            raise
        except ParseError as exc:
            raise InputError(f"{container.name}: {member} is not well-formed XML: {exc}") from exc
        except _forbidden() as exc:  # before CORRUPT_MEMBER: these are ValueErrors too
            raise InputError(
                f"{container.name}: {member} declares XML entities, which are refused "
                "(a billion-laughs bomb?)"
            ) from exc
        except CORRUPT_MEMBER as exc:
            raise InputError(f"{container.name}: corrupt member {member}: {exc}") from exc


def _forbidden() -> tuple[type[BaseException], ...]:
    from defusedxml import DefusedXmlException

    return (DefusedXmlException,)


def _parse(stream: IO[bytes], dialect: Dialect) -> Iterator[str]:
    from defusedxml.ElementTree import iterparse

    open_elements: list[Element] = []
    in_paragraph = 0  # open paragraphs: only the outermost one is walked, at its end
    skipped = 0  # open skipped elements (their paragraphs are not text)
    for event, element in iterparse(stream, events=("start", "end")):
        tag = element.tag
        if event == "start":
            open_elements.append(element)
            if tag in dialect.skipped:
                skipped += 1
            elif tag in dialect.paragraphs:
                in_paragraph += 1
            continue
        open_elements.pop()
        if tag in dialect.skipped:
            skipped -= 1
        elif tag in dialect.paragraphs:
            in_paragraph -= 1
            if not in_paragraph and not skipped:
                yield from _paragraph(element, dialect)
        if not in_paragraph and open_elements:
            # Done with: out of the tree, so memory holds only what is still open.
            open_elements[-1].remove(element)


def _paragraph(paragraph: Element, dialect: Dialect) -> Iterator[str]:
    """The blocks of one outermost paragraph: its own text, and each paragraph nested in
    it as a block of its own where it stands."""
    parts: list[str] = []
    # (element, or the text to append): an explicit stack, in document order.
    stack: list[Element | str] = [paragraph]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            parts.append(item)
            continue
        tag = item.tag
        if tag in dialect.skipped:
            if dialect.mixed and item.tail:
                parts.append(item.tail)
            continue
        nested = item is not paragraph and tag in dialect.paragraphs
        if nested:
            yield from _flush(parts)
        space = dialect.spaces.get(tag)
        if space is not None:
            count = item.get(_TEXT + "c") if tag == _TEXT + "s" else None
            parts.append(space * _repeat(count))
        elif item.text and (dialect.mixed or tag in dialect.text):
            parts.append(item.text)
        after: list[Element | str] = []
        if nested:
            # Ends the nested block: _flush splits on it (XML text cannot hold a NUL).
            after.append("\0")
        if dialect.mixed and item.tail and item is not paragraph:
            after.append(item.tail)
        stack.extend(reversed(after))
        stack.extend(reversed(list(item)))
    yield from _flush(parts)


def _repeat(count: str | None) -> int:
    if count is None or not count.isdigit():
        return 1
    return min(int(count), 1000)


def _flush(parts: list[str]) -> Iterator[str]:
    if not parts:
        return
    text = "".join(parts)
    parts.clear()
    for piece in text.split("\0"):
        piece = piece.strip()
        if piece:
            yield piece
