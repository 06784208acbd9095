"""The HTML depth estimate (``documents/depth.py``) made before a page is parsed: valid
and sloppy pages get their real depth, and no page makes the parser nest much deeper than
the estimate (lexbor's own tree is the judge)."""

from __future__ import annotations

from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st
from selectolax.lexbor import LexborHTMLParser
from wordfreq_service.counting.engine import count_file, summarize
from wordfreq_service.documents.depth import nesting
from wordfreq_service.documents.limits import MAX_HTML_DEPTH
from wordfreq_service.formats.job_request import JobRequest

#: Table rows and cells are not counted (the parser's table rules pop them): a table
#: nests four deep (table, tbody, tr, td) for the one the estimate counts.
TABLE_FACTOR = 4
#: html, body, and the text node.
ROOT_LEVELS = 3

_TAGS = (
    "div span p li ul ol b i font table tr td a button h1 h2 select option ruby rt rp svg "
    "math dd dl dt section pre form nobr em object br img"
).split()


def parser_depth(text: str) -> int:
    root = LexborHTMLParser(text).root
    assert root is not None
    deepest = 0
    stack = [(root, 1)]
    while stack:
        node, depth = stack.pop()
        deepest = max(deepest, depth)
        stack.extend((child, depth + 1) for child in node.iter(include_text=False))
    return deepest


def test_valid_xhtml_and_sloppy_html_pass_at_their_real_depth(tmp_path: Path) -> None:
    # An EPUB's page markers (<span/>, which HTML reads as an open span closed by </p>)
    # and legacy pages' unclosed <font> in each paragraph nest a few deep, not 1,200.
    xhtml = (
        '<?xml version="1.0"?><html xmlns="http://www.w3.org/1999/xhtml"><body>'
        + "".join(f'<p>A line of the book.<span id="pg{n}"/></p>' for n in range(1200))
        + "</body></html>"
    )
    sloppy = "<html><body>" + "<p><font color=red>sloppy text\n" * 1200
    for name, text in (("book.xhtml", xhtml), ("legacy.html", sloppy)):
        assert nesting(text, MAX_HTML_DEPTH) <= 8, name
        page = tmp_path / name
        page.write_text(text)
        request = JobRequest.make(top=100_000, format="html")
        assert sum(c for _, c in summarize(count_file(str(page), request), request).words)


def _token(tag: str, kind: int) -> str:
    return f"</{tag}>" if kind == 0 else (f"<{tag}/>" if kind == 1 else f"<{tag}>x")


_PATTERNS = st.lists(
    st.tuples(st.sampled_from(_TAGS), st.integers(0, 4)).map(lambda t: _token(*t)),
    min_size=1,
    max_size=6,
)


@settings(max_examples=120, deadline=None, print_blob=True)
@given(_PATTERNS, st.integers(1, 150))
def test_no_repeated_pattern_nests_the_parser_past_the_estimate(
    pattern: list[str], times: int
) -> None:
    # Repetition is how a small page nests deep: whatever the pattern, the parser's depth
    # stays within the estimate times the table factor.
    text = "".join(pattern) * times
    assert parser_depth(text) <= TABLE_FACTOR * nesting(text, 10**9) + ROOT_LEVELS + 2
