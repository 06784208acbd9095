"""An EPUB's text: its spine's documents in reading order, each through the HTML
extractor (``html.py``: visible text, blocks separated).

``META-INF/container.xml`` names the package document (OPF); its manifest maps IDs to
files, its spine lists them in reading order (every ``itemref``, auxiliary ones marked
``linear="no"`` included: they are part of the book). Spine items that are not XHTML or
HTML (an SVG page) are passed over. Each spine document ends a block.
"""

from __future__ import annotations

import posixpath
from collections.abc import Iterator
from urllib.parse import unquote
from xml.etree.ElementTree import Element, ParseError

from wordfreq_service.documents import html
from wordfreq_service.documents.zipped import CORRUPT_MEMBER, Container
from wordfreq_service.errors import InputError

CONTAINER_XML = "META-INF/container.xml"
_CONTAINER = "{urn:oasis:names:tc:opendocument:xmlns:container}"
_OPF = "{http://www.idpf.org/2007/opf}"
_READABLE = frozenset({"application/xhtml+xml", "text/html"})


def blocks(container: Container) -> Iterator[str]:
    for member in spine(container):
        name = f"{container.name}: {member}"
        with container.open(member) as stream:
            try:
                data = html.read(stream, name)
            except CORRUPT_MEMBER as exc:
                raise InputError(f"{name}: corrupt member: {exc}") from exc
        yield from html.blocks(data, None, name)


def spine(container: Container) -> list[str]:
    """The members of the spine's readable documents, in reading order."""
    name = container.name
    root = _xml(container, CONTAINER_XML)
    rootfile = root.find(f"{_CONTAINER}rootfiles/{_CONTAINER}rootfile")
    opf_path = rootfile.get("full-path") if rootfile is not None else None
    if not opf_path:
        raise InputError(f"{name}: {CONTAINER_XML} names no package document")
    package = _xml(container, opf_path)
    base = posixpath.dirname(opf_path)
    manifest: dict[str, tuple[str, str]] = {}
    for item in package.iter(f"{_OPF}item"):
        ident, href = item.get("id"), item.get("href")
        if ident and href:
            member = posixpath.normpath(posixpath.join(base, unquote(href.split("#")[0])))
            manifest[ident] = (member, item.get("media-type", ""))
    members = []
    for ref in package.iter(f"{_OPF}itemref"):
        entry = manifest.get(ref.get("idref", ""))
        if entry is None:
            raise InputError(f"{name}: the spine names {ref.get('idref')!r}, not in the manifest")
        member, media_type = entry
        if media_type in _READABLE:
            members.append(member)
    return members


def _xml(container: Container, member: str) -> Element:
    from defusedxml import DefusedXmlException
    from defusedxml.ElementTree import fromstring

    data = container.read(member)
    try:
        root: Element = fromstring(data)
    except ParseError as exc:
        raise InputError(f"{container.name}: {member} is not well-formed XML: {exc}") from exc
    except DefusedXmlException as exc:
        raise InputError(
            f"{container.name}: {member} declares XML entities, which are refused "
            "(a billion-laughs bomb?)"
        ) from exc
    return root
