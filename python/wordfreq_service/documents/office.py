"""DOCX and ODT body text: the body's XML streamed through a safe parser.

defusedxml's parser refuses entity declarations (billion laughs, external entities); the
XML is parsed as it is decompressed, into no tree: the text of each paragraph goes out as
the parser meets it, and a paragraph longer than about ``TEXT_CHUNK_BYTES`` goes out in
parts of that size (cut at a space), each a block of its own. Memory holds about a chunk,
never a paragraph or the document.

A paragraph (DOCX ``w:p``; ODT ``text:p`` and ``text:h``) is a block; a table's cells
hold paragraphs, so each cell is a block of its own, in document order. A paragraph inside
another (a text box, a note) is a block of its own where it stands. Tabs are spaces, line
breaks are line breaks; DOCX's optional hyphen is U+00AD, which separates words as in
text. Body only: headers, footers, comments and deleted tracked changes are not counted,
nor the fallback copy of a drawing (``mc:Fallback``, a second copy of a text box's text),
nor a DOCX run formatted hidden (``w:vanish`` set on the run itself; hidden styles are
not followed).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import IO
from xml.etree.ElementTree import ParseError

from wordfreq_service.documents import limits
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
        hidden: tuple[str, str, str] | None = None,
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
        #: (run, its properties, the property that hides it): a run formatted hidden
        #: (DOCX ``w:vanish``, Word's "Hidden" font effect) is not shown, so not counted.
        self.hidden = hidden


DOCX = Dialect(
    paragraphs=frozenset({_W + "p"}),
    text=frozenset({_W + "t"}),
    spaces={
        _W + "tab": " ",
        _W + "br": "\n",
        _W + "cr": "\n",
        _W + "noBreakHyphen": "-",
        # An optional hyphen is U+00AD, which separates words in every format.
        _W + "softHyphen": "\u00ad",
        _W + "ptab": " ",
    },
    skipped=frozenset({_MC + "Fallback", _W + "delText", _W + "instrText"}),
    mixed=False,
    hidden=(_W + "r", _W + "rPr", _W + "vanish"),
)
#: ``w:val`` values that turn a DOCX on/off property off.
_OFF = frozenset({"0", "false", "off"})
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


#: How many bytes of the body are fed to the parser at a time.
_FEED_BYTES = 64 << 10


def _parse(stream: IO[bytes], dialect: Dialect) -> Iterator[str]:
    from defusedxml.ElementTree import DefusedXMLParser

    body = _Body(dialect)
    parser = DefusedXMLParser(target=body)
    while data := stream.read(_FEED_BYTES):
        parser.feed(data)
        yield from body.drain()
    parser.close()
    yield from body.drain()


class _Body:
    """The parser's target: the text of the paragraphs as the parser reads it (in order:
    each piece of character data comes between the tags it stands between), out as
    blocks. It holds the current paragraph's text, and of a paragraph longer than
    ``TEXT_CHUNK_BYTES`` only the part not yet out: memory holds no tree and no whole
    paragraph, only about a chunk."""

    def __init__(self, dialect: Dialect) -> None:
        self.dialect = dialect
        self.open: list[str] = []
        self.paragraphs = 0  # open paragraphs
        self.skipped = 0  # open skipped elements: nothing in them is body text
        self.hidden_run = False  # inside a run formatted hidden
        self.parts: list[str] = []  # the current block's text
        self.size = 0
        self.ready: list[str] = []

    def start(self, tag: str, attrib: dict[str, str]) -> None:
        self.open.append(tag)
        dialect = self.dialect
        if tag in dialect.skipped:
            self.skipped += 1
        if self.skipped:
            return
        if tag in dialect.paragraphs:
            # A paragraph inside another (a text box, a note) is a block where it stands.
            self._end_block()
            self.paragraphs += 1
            return
        hidden = dialect.hidden
        if (
            hidden is not None
            and tag == hidden[2]
            and self.open[-3:-1] == [hidden[0], hidden[1]]
            and attrib.get(_W + "val", "").lower() not in _OFF
        ):
            self.hidden_run = True
        space = dialect.spaces.get(tag)
        if space is not None and self.paragraphs and not self.hidden_run:
            count = attrib.get(_TEXT + "c") if tag == _TEXT + "s" else None
            self._add(space * _repeat(count))

    def end(self, tag: str) -> None:
        self.open.pop()
        if self.skipped:
            if tag in self.dialect.skipped:
                self.skipped -= 1
            return
        if tag in self.dialect.paragraphs:
            self.paragraphs -= 1
            self._end_block()
        elif self.dialect.hidden is not None and tag == self.dialect.hidden[0]:
            self.hidden_run = False

    def data(self, data: str) -> None:
        if self.skipped or not self.paragraphs or self.hidden_run:
            return
        if self.dialect.mixed or self.open[-1] in self.dialect.text:
            self._add(data)

    def close(self) -> None:
        self._end_block()

    def drain(self) -> Iterator[str]:
        ready, self.ready = self.ready, []
        yield from ready

    def _add(self, text: str) -> None:
        self.parts.append(text)
        self.size += len(text)
        if self.size <= limits.TEXT_CHUNK_BYTES:
            return
        # A paragraph longer than a chunk: out up to its last space, so no word is cut
        # (unless a word alone is longer than a chunk).
        held = "".join(self.parts)
        cut = max(held.rfind(" "), held.rfind("\n"), held.rfind("\t"))
        if cut <= 0 or len(held) - cut > limits.TEXT_CHUNK_BYTES:
            cut = len(held)
        self._out(held[:cut])
        self.parts = [held[cut:]]
        self.size = len(held) - cut

    def _end_block(self) -> None:
        self._out("".join(self.parts))
        self.parts.clear()
        self.size = 0

    def _out(self, text: str) -> None:
        if text := text.strip():
            self.ready.append(text)


def _repeat(count: str | None) -> int:
    if count is None or not count.isdigit():
        return 1
    return min(int(count), 1000)
