"""HTML's visible text, with selectolax (lexbor's HTML5 parser).

Visible text is what a browser with scripting shows in the page: the body's text nodes,
entities decoded by the parser. Not counted: ``<head>`` (the title included: a tab's
label, and in an EPUB repeated by every chapter), ``script``, ``style``, ``template``,
``noscript`` (not shown where scripts run), ``iframe`` (its text is fallback markup),
ruby annotations (``rt``, ``rtc``: a reading gloss over the base text, as furigana over
kanji; ``rp``: the parentheses only browsers without ruby show), the fallback content of
``canvas``, ``video``, ``audio`` and ``object``, comments, and elements with the
``hidden`` attribute or an inline style hiding them (``display: none``, ``visibility:
hidden``; style sheets are not applied). Replaced elements and form controls (``img``,
``input``, ``button``, ...) separate words. Each block-level element (paragraph,
heading, list item, table cell, ...) is a block of its own: blocks are separated by a
blank line, so a sentence never runs from one into the next; ``<br>`` is a line break.
Whitespace runs outside ``<pre>`` collapse to one space, as rendering does, so the
source's line breaks never make paragraph breaks.

Decoding, in the order of the WHATWG encoding sniffing algorithm: a byte-order mark
(UTF-8, UTF-16), else ``--encoding`` when given (the user's override), else a charset
declared in the first 1024 bytes (``<meta charset>``, ``<meta http-equiv>``'s content,
an XML declaration's ``encoding``; only the WHATWG standard's encodings, any other label
ignored as a browser does), else UTF-8 with every invalid byte read as
Windows-1252, as text is read.
"""

from __future__ import annotations

import codecs
import re
from collections.abc import Iterator
from typing import IO

from selectolax.lexbor import LexborHTMLParser, LexborNode

from wordfreq_service import _core
from wordfreq_service.documents import limits
from wordfreq_service.documents.depth import nesting
from wordfreq_service.errors import InputError

_BLOCKS = frozenset(
    """address article aside blockquote body caption center dd details dialog dir div dl
    dt fieldset figcaption figure footer form h1 h2 h3 h4 h5 h6 header hgroup hr html li
    legend main menu nav ol optgroup option p pre section summary table tbody td tfoot th
    thead tr ul""".split()
)
_SKIPPED = frozenset(
    {"head", "script", "style", "template", "noscript", "iframe", "rt", "rp", "rtc", "-comment"}
    # Fallback content: shown only where the element itself is not supported.
    | {"canvas", "video", "audio", "object"}
)
#: Elements drawn as boxes of their own (replaced elements, form controls): the text on
#: either side of one, or in two side by side, is never one word (`left<img>right`).
_SEPARATE = frozenset(
    """img input button select textarea canvas video audio iframe object embed svg math
    meter progress""".split()
)
#: An inline style that hides the element: ``display: none`` or ``visibility: hidden``
#: (or ``collapse``), the common ways pages hide text; style sheets are not applied.
_HIDING_STYLE = re.compile(
    r"(?:^|;)\s*(?:display\s*:\s*none|visibility\s*:\s*(?:hidden|collapse))\s*"
    r"(?:!\s*important\s*)?(?:;|$)",
    re.IGNORECASE,
)
_TEXT = "-text"
_HTML_SPACE = re.compile(r"[ \t\n\r\f]+")

_PRESCAN_BYTES = 1024
_DECLARED = re.compile(
    rb"""<meta[^>]*?charset\s*=\s*["']?\s*([A-Za-z0-9_.:-]+)"""
    rb"""|<\?xml[^>]*?encoding\s*=\s*["']([A-Za-z0-9_.:-]+)""",
    re.IGNORECASE,
)
#: The encodings of the WHATWG Encoding standard, as Python's codecs name them: a declared
#: label naming any other codec (``rot13``, ``base64``, ``idna``, ``utf-7``, ``cp037``...)
#: is no text encoding a browser knows, so it is ignored as an unknown label is.
_WHATWG_CODECS = frozenset(
    """utf-8 cp866 iso8859-2 iso8859-3 iso8859-4 iso8859-5 iso8859-6 iso8859-7 iso8859-8
    iso8859-10 iso8859-13 iso8859-14 iso8859-15 iso8859-16 koi8-r koi8-u mac-roman cp874
    cp1250 cp1251 cp1252 cp1253 cp1254 cp1255 cp1256 cp1257 cp1258 mac-cyrillic gbk
    gb18030 big5 euc_jp iso2022_jp shift_jis cp949""".split()
)
#: Labels the WHATWG Encoding standard reads as another encoding than Python does.
_WHATWG_LABELS = {
    "windows-874": "cp874",
    "tis-620": "cp874",
    "iso-8859-11": "cp874",
    "iso-8859-9": "cp1254",
    "latin5": "cp1254",
    "x-mac-cyrillic": "mac-cyrillic",
    "gb2312": "gbk",
    "euc-kr": "cp949",
    "ks_c_5601-1987": "cp949",
    "iso-8859-1": "cp1252",
    "latin1": "cp1252",
    "latin-1": "cp1252",
    "ascii": "cp1252",
    "us-ascii": "cp1252",
    "iso8859-1": "cp1252",
    "l1": "cp1252",
    # A declared UTF-16 on bytes that can be prescanned as ASCII is UTF-8 (WHATWG).
    "utf-16": "utf-8",
    "utf-16le": "utf-8",
    "utf-16be": "utf-8",
}
#: ``--encoding``'s names (the counting core's) as Python codecs: the core reads
#: ``utf-16`` without a byte-order mark as little-endian (one with a mark is read above).
_FORCED = {name: "utf-16-le" if name == "utf-16" else name for name in _core.ENCODINGS}
for _codec in _FORCED.values():
    codecs.lookup(_codec)  # a core encoding Python cannot decode fails here, not in a count
_BOMS = (
    (codecs.BOM_UTF8, "utf-8"),
    (codecs.BOM_UTF16_LE, "utf-16-le"),
    (codecs.BOM_UTF16_BE, "utf-16-be"),
)
_FALLBACK_ERRORS = "wordfreq.cp1252"


def _cp1252_fallback(exc: UnicodeError) -> tuple[str, int]:
    # Each invalid byte on its own as Windows-1252, as the counting core reads text.
    if not isinstance(exc, UnicodeDecodeError):
        raise exc
    return exc.object[exc.start : exc.end].decode("cp1252", "replace"), exc.end


codecs.register_error(_FALLBACK_ERRORS, _cp1252_fallback)


def decode(data: bytes, encoding: str | None) -> str:
    """The HTML's text, decoded as the module's docstring says."""
    for bom, codec in _BOMS:
        if data.startswith(bom):
            return data[len(bom) :].decode(codec, "replace")
    if encoding is not None:
        return data.decode(_FORCED[encoding], "replace")
    declared = _declared(data[:_PRESCAN_BYTES])
    if declared is not None:
        try:
            return data.decode(declared, "replace")
        except (LookupError, UnicodeError):
            pass  # a codec that cannot decode leniently: no declaration after all
    return data.decode("utf-8", _FALLBACK_ERRORS)


def _declared(head: bytes) -> str | None:
    found = _DECLARED.search(head)
    if found is None:
        return None
    label = (found.group(1) or found.group(2)).decode("ascii").lower()
    label = _WHATWG_LABELS.get(label, label)
    try:
        codec = codecs.lookup(label).name
    except LookupError:
        return None  # an unknown label is no declaration
    return codec if codec in _WHATWG_CODECS else None


def read(stream: IO[bytes], name: str) -> bytes:
    """The HTML in ``stream``, ``InputError`` naming ``name`` when it is larger than
    ``MAX_HTML_BYTES`` (read no further than that: a page is parsed whole)."""
    from wordfreq_service.counting.inputs import human_size

    limit = limits.MAX_HTML_BYTES
    data = stream.read(limit + 1)
    if len(data) > limit:
        raise InputError(
            f"{name}: HTML document larger than {human_size(limit)} (the limit: it is "
            "parsed whole; --format text counts its bytes as text)"
        )
    return data


def blocks(data: bytes, encoding: str | None, name: str) -> Iterator[str]:
    """The visible text of an HTML document, one block (a paragraph, a cell, ...) at a
    time, each stripped and non-empty; ``InputError`` naming ``name`` when its elements
    nest deeper than ``MAX_HTML_DEPTH``."""
    text = decode(data, encoding)
    deepest = nesting(text, limits.MAX_HTML_DEPTH)
    if deepest > limits.MAX_HTML_DEPTH:
        raise InputError(
            f"{name}: HTML elements nested more than {limits.MAX_HTML_DEPTH} deep (the limit)"
        )
    tree = LexborHTMLParser(text)
    root = tree.root
    if root is None:
        return
    yield from _walk(root)


def _walk(root: LexborNode) -> Iterator[str]:
    parts: list[str] = []
    pre = 0  # open <pre> elements: their whitespace is kept
    # (node, leaving): an explicit stack, since documents may nest deeper than Python's
    # recursion limit.
    stack: list[tuple[LexborNode, bool]] = [(root, False)]
    while stack:
        node, leaving = stack.pop()
        tag = node.tag
        if leaving:
            if tag == "pre":
                pre -= 1
            if tag in _SEPARATE:
                parts.append(" ")
            if tag in _BLOCKS:
                yield from _flush(parts)
            continue
        if tag == _TEXT:
            text = node.text_content or ""
            parts.append(text if pre else _HTML_SPACE.sub(" ", text))
            continue
        if tag in _SEPARATE:
            parts.append(" ")
        if tag in _SKIPPED or tag is None:
            continue
        if tag == "br":
            parts.append("\n")
            continue
        attributes = node.attributes
        if "hidden" in attributes or _HIDING_STYLE.search(attributes.get("style") or ""):
            continue
        if tag in _BLOCKS:
            yield from _flush(parts)
        if tag == "pre":
            pre += 1
        stack.append((node, True))
        children = list(node.iter(include_text=True))
        children.reverse()
        stack.extend((child, False) for child in children)
    yield from _flush(parts)


def _flush(parts: list[str]) -> Iterator[str]:
    if not parts:
        return
    text = "".join(parts).strip()
    parts.clear()
    if text:
        yield text
