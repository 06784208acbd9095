"""The bounds extraction keeps to, whatever a document claims: each written once here.

The input itself is already bounded by ``--max-input-size`` (``counting/inputs.py``);
these bound what a small input can make the extractors do. Read at each use (not bound at
import), so a test can lower one to build a small hostile fixture.
"""

from __future__ import annotations

#: The most entries a ZIP container (DOCX, ODT, EPUB) may list: its central directory is
#: read whole. An EPUB with every image and font has hundreds.
MAX_ZIP_ENTRIES = 10_000
#: The most bytes one member may decompress to (as its header declares it, and as read:
#: a member that decompresses past its declared size is corrupt). A novel's DOCX body is
#: a few MB.
MAX_MEMBER_BYTES = 256 << 20
#: The most bytes all the members read from one container may decompress to, together.
MAX_CONTAINER_BYTES = 1 << 30
#: The most bytes of HTML parsed as one tree (a web page, one EPUB spine document): an
#: HTML5 parser holds the whole DOM, which takes lexbor 20 to 45 times the markup's size
#: (45 for dense markup, ``<p>word</p>`` repeated: 16 MiB of it peaked at 760 MB). A
#: long book in one page is a few MiB.
MAX_HTML_BYTES = 8 << 20
#: The most pages of a PDF read (a long book has a few thousand).
MAX_PDF_PAGES = 50_000
#: The deepest an HTML document's elements may nest. An HTML5 parser checks the open
#: elements at each tag, so its time grows with depth times tags: 20,000 nested elements
#: (a 300 KB page) took lexbor 6 s, twice that four times as long. Browsers cap the depth
#: (Blink at 512); real pages stay well under 100.
MAX_HTML_DEPTH = 1_000
#: The most bytes of content stream (a page's drawing operators, decompressed) one PDF
#: page may have, and all of a PDF's pages together (pages may share one stream: each
#: page's use counts). pypdf's text extraction takes time that grows faster than a
#: stream's size (1 MiB took 2 s, 2 MiB 7 s, 4 MiB 27 s), so these bound a document's
#: CPU time, to about a minute whatever its size; a text page has tens of KiB.
MAX_PDF_PAGE_CONTENT_BYTES = 1 << 20
MAX_PDF_CONTENT_BYTES = 32 << 20
#: Extracted text is handed to the counter in chunks of about this many bytes.
TEXT_CHUNK_BYTES = 1 << 20
