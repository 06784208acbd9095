"""ZIP containers (DOCX, ODT, EPUB) opened with bounds, and told apart by their entries.

A container is refused before anything is decompressed when it lists more than
``MAX_ZIP_ENTRIES`` entries or a member we read declares more than ``MAX_MEMBER_BYTES``
(or all of them together more than ``MAX_CONTAINER_BYTES``): a zip bomb is refused, not
decompressed. A member that decompresses past its declared size is cut there by
``zipfile`` and fails its CRC check: corrupt, never more data.
"""

from __future__ import annotations

import zipfile
import zlib
from typing import IO, BinaryIO

from wordfreq_service.counting.inputs import human_size
from wordfreq_service.documents import formats, limits
from wordfreq_service.errors import InputError

#: ``mimetype`` entries (EPUB, OpenDocument) and what they are.
EPUB_MIMETYPE = "application/epub+zip"
ODT_MIMETYPE = "application/vnd.oasis.opendocument.text"
_ODF_PREFIX = "application/vnd.oasis.opendocument."
DOCX_BODY = "word/document.xml"


class Container:
    """An opened ZIP container and the bytes read from it so far."""

    def __init__(self, raw: BinaryIO, name: str) -> None:
        self.name = name
        try:
            self.zip = zipfile.ZipFile(raw)
        except (zipfile.BadZipFile, OSError, ValueError, EOFError) as exc:
            raise InputError(f"{name}: corrupt or truncated ZIP container: {exc}") from exc
        entries = self.zip.infolist()
        if len(entries) > limits.MAX_ZIP_ENTRIES:
            raise InputError(
                f"{name}: the ZIP container lists {len(entries)} entries, more than "
                f"{limits.MAX_ZIP_ENTRIES} (the limit)"
            )
        self._names = {e.filename for e in entries}
        self._read = 0

    def has(self, member: str) -> bool:
        return member in self._names

    def open(self, member: str) -> IO[bytes]:
        """A member for reading, after its declared size is checked against the limits
        (``InputError`` when missing, too large or encrypted)."""
        try:
            info = self.zip.getinfo(member)
        except KeyError:
            raise InputError(f"{self.name}: {member} is missing from the container") from None
        if info.flag_bits & 0x1:
            raise InputError(f"{self.name}: {member} is encrypted")
        if info.file_size > limits.MAX_MEMBER_BYTES:
            raise InputError(
                f"{self.name}: {member} would decompress to {human_size(info.file_size)}, "
                f"more than {human_size(limits.MAX_MEMBER_BYTES)} (the limit; a zip bomb?)"
            )
        self._read += info.file_size
        if self._read > limits.MAX_CONTAINER_BYTES:
            raise InputError(
                f"{self.name}: its members would decompress to more than "
                f"{human_size(limits.MAX_CONTAINER_BYTES)} (the limit; a zip bomb?)"
            )
        try:
            return self.zip.open(info)
        except (zipfile.BadZipFile, NotImplementedError, OSError, ValueError) as exc:
            raise InputError(f"{self.name}: cannot read {member}: {exc}") from exc

    def read(self, member: str) -> bytes:
        with self.open(member) as stream:
            try:
                return stream.read()
            except CORRUPT_MEMBER as exc:
                raise InputError(f"{self.name}: corrupt member {member}: {exc}") from exc

    def mimetype(self) -> str | None:
        """The ``mimetype`` entry's text (EPUB, OpenDocument), or None."""
        if not self.has("mimetype"):
            return None
        return self.read("mimetype")[:200].decode("ascii", "replace").strip()

    def format(self) -> str | None:
        """``"epub"``, ``"odt"`` or ``"docx"`` from the entries, or None for a ZIP that
        is none of them."""
        mimetype = self.mimetype()
        if mimetype == EPUB_MIMETYPE:
            return formats.EPUB
        if mimetype == ODT_MIMETYPE:
            return formats.ODT
        if self.has(DOCX_BODY):
            return formats.DOCX
        return None

    def describe(self) -> str:
        """What a container that is none of the formats read is, for an error."""
        mimetype = self.mimetype()
        if mimetype and mimetype.startswith(_ODF_PREFIX):
            kind = mimetype[len(_ODF_PREFIX) :]
            return f"an OpenDocument {kind} ({mimetype}), not text"
        if mimetype:
            return f"a ZIP container of {mimetype}"
        return "a ZIP archive, not a DOCX, ODT or EPUB"


#: What reading a corrupt member raises (a bad CRC, a bad deflate stream, a cut archive).
CORRUPT_MEMBER: tuple[type[BaseException], ...] = (
    zipfile.BadZipFile,
    OSError,
    EOFError,
    ValueError,
    zlib.error,
)
