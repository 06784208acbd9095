"""The web page (``GET /``) in a real browser against ``wordfreq up``: corpus files
uploaded through it show the words, counts and CSV that ``wordfreq count`` gives, by
keyboard and at phone width.

Debian's Chromium driven by Playwright (which may not download its own browser here);
``make setup`` installs it where it can. ``WORDFREQ_SCREENSHOT=1`` rewrites the README's
screenshot, ``docs/page.png``; otherwise it goes to a temporary file.
"""

from __future__ import annotations

import gzip
import json
import os
import re
from collections.abc import Iterator
from contextlib import contextmanager
from html.parser import HTMLParser
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Locator, Page, expect, sync_playwright
from wordfreq_service.counting.stopwords import ALIASES, LANGUAGES
from wordfreq_service.formats.job_request import (
    AUTO,
    DEFAULT_FORMAT,
    DEFAULT_MODE,
    DEFAULT_NGRAMS,
    DEFAULT_TOP,
    FORMATS,
    MIN_LENGTH_RANGE,
    MODES,
    NGRAMS_RANGE,
    TOP_RANGE,
)

from tests.api_processes import serving, stop
from tests.helpers import CORPUS, ROOT, run_wordfreq

PAGE_FILE = ROOT / "python" / "wordfreq_service" / "api" / "page" / "index.html"
SCREENSHOT = ROOT / "docs" / "page.png"
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]
#: The two smallest books of the corpus: a second or two through the whole path.
BOOKS = [CORPUS / "pg2641.txt", CORPUS / "pg1342.txt"]
#: Not the default, so the option is seen to travel from the page to the worker.
TOP = 12
#: The page's default stop words.
STOPWORDS = "english"
PHONE_WIDTH = 375
#: The controls Tab reaches, in order, before any file is chosen.
TAB_ORDER = ["mode", "top", "stopwords", "min_length", "ngrams", "format", "drop"]
#: From choosing the files to both charts drawn.
RESULT_TIMEOUT_MS = 30_000

needs_chromium = pytest.mark.skipif(
    not CHROMIUM.exists(),
    reason=f"{CHROMIUM} is not installed (make setup installs Debian's chromium with apt "
    "where it can: as root or with password-less sudo)",
)


# -- the page's options are the job request's --------------------------------------------


class _Controls(HTMLParser):
    """The page's form controls: each input's attributes, each select's options."""

    def __init__(self) -> None:
        super().__init__()
        self.inputs: dict[str, dict[str, str | None]] = {}
        self.options: dict[str, list[tuple[str, bool]]] = {}
        self._select: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = dict(attrs)
        if tag == "input" and found.get("id"):
            self.inputs[str(found["id"])] = found
        elif tag == "select":
            self._select = str(found["id"])
            self.options[self._select] = []
        elif tag == "option" and self._select is not None:
            self.options[self._select].append((str(found["value"]), "selected" in found))

    def handle_endtag(self, tag: str) -> None:
        if tag == "select":
            self._select = None


def test_the_page_offers_what_the_job_request_accepts() -> None:
    controls = _Controls()
    controls.feed(PAGE_FILE.read_text(encoding="utf-8"))
    modes = controls.options["mode"]
    assert [value for value, _ in modes] == list(MODES)
    assert [value for value, chosen in modes if chosen] == [DEFAULT_MODE]
    # None ("": no stopwords field sent), auto, and every language (English by the
    # alias it always had), English chosen.
    stop = controls.options["stopwords"]
    english = {code: alias for alias, code in ALIASES.items()}
    languages = [english.get(code, code) for code in LANGUAGES]
    assert sorted(value for value, _ in stop) == sorted(["", AUTO, *languages])
    assert [value for value, chosen in stop if chosen] == [STOPWORDS]
    top = controls.inputs["top"]
    assert (top["min"], top["max"], top["value"]) == (*map(str, TOP_RANGE), str(DEFAULT_TOP))
    shortest = controls.inputs["min_length"]
    assert (shortest["min"], shortest["max"]) == tuple(map(str, MIN_LENGTH_RANGE))
    # Phrases: single words (the default) and every n-gram length the request takes.
    phrases = controls.options["ngrams"]
    low, high = NGRAMS_RANGE
    assert [value for value, _ in phrases] == [str(n) for n in range(low, high + 1)]
    assert [value for value, chosen in phrases if chosen] == [str(DEFAULT_NGRAMS)]
    # Every format, auto chosen (then no format field is sent).
    formats = controls.options["format"]
    assert [value for value, _ in formats] == list(FORMATS)
    assert [value for value, chosen in formats if chosen] == [DEFAULT_FORMAT]


# -- a browser against `wordfreq up` ---------------------------------------------------------


@contextmanager
def running_up(tmp_path: Path, *extra: str) -> Iterator[str]:
    """`wordfreq up` on a free loopback port; yields the page's URL; stops it cleanly."""
    with serving(["up", "--workers", "2", *extra], tmp_path) as (proc, url, log_path):
        yield f"{url}/"
        assert stop(proc) == 0, log_path.read_text()


@pytest.fixture(scope="module")
def up(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with running_up(tmp_path_factory.mktemp("up")) as url:
        yield url


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with sync_playwright() as driver:
        launched = driver.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield launched
        launched.close()


class Visit:
    """A page opened on the service, with every request it makes and every script error."""

    def __init__(self, browser: Browser, url: str) -> None:
        self.context = browser.new_context(
            viewport={"width": 1000, "height": 800}, locale="en-US", accept_downloads=True
        )
        self.page: Page = self.context.new_page()
        self.requests: list[str] = []
        self.errors: list[str] = []
        self.page.on("request", lambda r: self.requests.append(r.url))
        self.page.on("pageerror", lambda e: self.errors.append(str(e)))
        # A listener from the start: Playwright intercepts the file picker only once one
        # is registered, and a key press opens it sooner than a click does.
        self.page.on("filechooser", lambda _: None)
        self.page.goto(url)

    def card(self, name: str) -> Locator:
        """The section showing one file."""
        heading = self.page.get_by_role("heading", name=name, exact=True)
        return self.page.locator("section.file", has=heading)

    def choose_by_keyboard(self, files: list[Path], top: int) -> None:
        """On the freshly loaded page, by keyboard only: Tab to "Top words shown" and type
        ``top``, Tab on to the drop zone and press Enter; the file picker opens; choose
        ``files``."""
        keys = self.page.keyboard
        for control in TAB_ORDER:
            keys.press("Tab")
            assert self.page.evaluate("document.activeElement.id") == control
            if control == "top":
                keys.press("Control+A")
                keys.type(str(top))
        with self.page.expect_file_chooser() as chooser:
            keys.press("Enter")
        chooser.value.set_files([str(f) for f in files])


@pytest.fixture(scope="module")
def counted(browser: Browser, up: str) -> Iterator[Visit]:
    """The page once both books are uploaded through it and their charts are drawn."""
    visit = Visit(browser, up)
    visit.choose_by_keyboard(BOOKS, TOP)
    for book in BOOKS:
        chart = visit.card(book.name).locator(".chart svg")
        expect(chart).to_be_visible(timeout=RESULT_TIMEOUT_MS)
    yield visit
    visit.context.close()


def direct_count(book: Path, *args: str) -> str:
    proc = run_wordfreq(["count", "--stopwords", STOPWORDS, *args, str(book)])
    assert proc.returncode == 0, proc.stderr
    return proc.stdout


def shown_words(card: Locator) -> list[tuple[str, int]]:
    """The words and counts of a file's table, as shown (counts as en-US writes them)."""
    rows = card.locator("tbody tr").evaluate_all(
        "rows => rows.map(r => [r.cells[1].textContent, r.cells[2].textContent])"
    )
    return [(word, int(count.replace(",", ""))) for word, count in rows]


@needs_chromium
@pytest.mark.parametrize("book", BOOKS, ids=lambda b: b.name)
def test_the_page_shows_what_wordfreq_count_counts(counted: Visit, book: Path) -> None:
    expected = json.loads(direct_count(book, "--json", "--top", str(TOP)))
    top = [(w["word"], w["count"]) for w in expected["words"]]
    assert len(top) == TOP
    card = counted.card(book.name)

    assert shown_words(card) == top
    summary = card.locator(".summary").inner_text()
    assert f"{expected['total']:,} words, {expected['unique']:,} distinct" in summary
    assert re.search(r"Counted in [0-9.,]+ ms", summary), summary
    # The whole file went up: its progress bar ended at the file's size.
    assert card.locator("progress").evaluate("p => [p.value, p.max]") == [book.stat().st_size] * 2

    # The chart: one bar a word, longest first, each named by its word and count.
    chart = card.get_by_role("img", name=re.compile(f"top words in {re.escape(book.name)}"))
    bars = chart.locator("g").evaluate_all(
        "gs => gs.map(g => [g.querySelector('title').textContent,"
        " g.querySelector('rect').getBBox().width])"
    )
    assert [title for title, _ in bars] == [f"{w}: {c:,}" for w, c in top]
    widths = [width for _, width in bars]
    assert widths == sorted(widths, reverse=True) and widths[-1] < widths[0]

    # Nothing came from another origin; no script failed.
    origin = counted.page.url
    assert [u for u in counted.requests if not u.startswith((origin, "blob:", "data:"))] == []
    assert counted.errors == []


@needs_chromium
@pytest.mark.parametrize("book", BOOKS, ids=lambda b: b.name)
def test_the_csv_download_holds_every_word(counted: Visit, book: Path) -> None:
    card = counted.card(book.name)
    with counted.page.expect_download(timeout=10_000) as download:
        card.get_by_role("link", name="Download all counts (CSV)").click()
    saved = download.value.path()
    assert download.value.suggested_filename == f"{book.stem}-counts.csv"
    # Every word, not only the top: what `count --csv` prints, byte for byte.
    assert saved.read_text(encoding="utf-8") == direct_count(book, "--csv")


@needs_chromium
def test_phone_width_needs_no_horizontal_scrolling(
    browser: Browser, up: str, tmp_path: Path
) -> None:
    # The worst a result can hold: a word of 300 letters in a file with a long name.
    long_name = tmp_path / f"{'a-rather-long-file-name-' * 4}.txt"
    long_name.write_text(f"{'x' * 300} short words and {'y' * 300} " * 3, encoding="utf-8")
    visit = Visit(browser, up)
    try:
        page = visit.page
        page.set_input_files("#files", [str(long_name), str(BOOKS[0])])
        for name in (long_name.name, BOOKS[0].name):
            expect(visit.card(name).locator(".chart svg")).to_be_visible(timeout=RESULT_TIMEOUT_MS)
        # Turned to a phone's width: the charts are redrawn to fit it on the next frame.
        page.set_viewport_size({"width": PHONE_WIDTH, "height": 800})
        page.wait_for_function(
            "[...document.querySelectorAll('.chart svg')]"
            f".every(s => s.getBoundingClientRect().right <= {PHONE_WIDTH})"
        )
        scroll = page.evaluate(
            "[document.documentElement.scrollWidth, document.documentElement.clientWidth]"
        )
        assert scroll == [PHONE_WIDTH, PHONE_WIDTH]
        # Nor inside the page: no box scrolls sideways (the word table scrolls down only).
        sideways = page.evaluate(
            "[...document.querySelectorAll('body *')]"
            ".filter(e => ['auto', 'scroll'].includes(getComputedStyle(e).overflowX)"
            " && e.scrollWidth > e.clientWidth).map(e => e.className || e.tagName)"
        )
        assert sideways == []
    finally:
        visit.context.close()


@needs_chromium
def test_screenshot(counted: Visit, tmp_path: Path) -> None:
    """The README's picture of the page: two files counted."""
    target = SCREENSHOT if os.environ.get("WORDFREQ_SCREENSHOT") == "1" else tmp_path / "page.png"
    target.parent.mkdir(parents=True, exist_ok=True)
    # The keyboard's focus ring stays on the drop zone; the picture is of the results.
    counted.page.evaluate("document.activeElement.blur(); window.scrollTo(0, 0)")
    counted.page.screenshot(path=str(target), full_page=True)
    assert target.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


@needs_chromium
def test_keyboard_reaches_every_control_with_visible_focus(browser: Browser, up: str) -> None:
    visit = Visit(browser, up)
    try:
        page = visit.page
        reached = []
        for _ in TAB_ORDER:
            page.keyboard.press("Tab")
            reached.append(page.evaluate("document.activeElement.id"))
            outline = page.evaluate("getComputedStyle(document.activeElement).outlineStyle")
            assert outline not in ("none", ""), f"no visible focus on #{reached[-1]}"
        assert reached == TAB_ORDER
        # Enter on the drop zone opens the file picker (a real button).
        with page.expect_file_chooser() as chooser:
            page.keyboard.press("Enter")
        assert chooser.value.is_multiple()
        # The options have accessible names.
        for name in ("Counting rules", "Top words shown", "Stop words removed"):
            expect(page.get_by_label(name)).to_be_visible()
    finally:
        visit.context.close()


@needs_chromium
def test_phrases_show_what_wordfreq_count_ngrams_counts(browser: Browser, up: str) -> None:
    book = BOOKS[0]
    visit = Visit(browser, up)
    try:
        visit.page.select_option("#ngrams", "2")
        visit.page.set_input_files("#files", str(book))
        card = visit.card(book.name)
        expect(card.locator(".chart svg")).to_be_visible(timeout=RESULT_TIMEOUT_MS)
        expected = json.loads(direct_count(book, "--ngrams", "2", "--json"))
        assert shown_words(card) == [(w["word"], w["count"]) for w in expected["words"]]
        assert all(" " in phrase for phrase, _ in shown_words(card))
        expect(card.locator("thead")).to_contain_text("Phrase")
        expect(card.locator(".summary")).to_contain_text(f"{expected['total']:,} phrases")
        expect(card).to_contain_text("2-word phrases")
        # Seed mode counts no phrases: the choice is off while it is chosen.
        visit.page.select_option("#mode", "seed")
        expect(visit.page.locator("#ngrams")).to_be_disabled()
        assert visit.errors == []
    finally:
        visit.context.close()


@needs_chromium
def test_a_file_that_cannot_be_counted_says_why(browser: Browser, up: str, tmp_path: Path) -> None:
    broken = tmp_path / "broken.txt.gz"
    packed = gzip.compress(b"a few words " * 1000)
    broken.write_bytes(packed[: len(packed) // 2])  # a gzip stream cut short
    visit = Visit(browser, up)
    try:
        visit.page.set_input_files("#files", str(broken))
        card = visit.card(broken.name)
        status = card.locator(".status.error")
        expect(status).to_contain_text("could not be counted", timeout=RESULT_TIMEOUT_MS)
        # In the person's terms: the gzip stream, not the object key it was stored under;
        # and no offer to try again what would fail again.
        expect(status).to_contain_text("gzip")
        assert "jobs/" not in status.inner_text()
        expect(card.get_by_role("button", name="Try again")).to_have_count(0)
        assert visit.errors == []
    finally:
        visit.context.close()


@needs_chromium
def test_detect_the_language_names_it_and_drops_its_stop_words(
    browser: Browser, up: str, tmp_path: Path
) -> None:
    french = tmp_path / "french.txt"
    french.write_text(
        "Le matin, nous avons pris le train pour aller voir nos amis qui habitent près de "
        "la mer. Le chat et le chien dorment dans la maison avec les enfants.\n",
        encoding="utf-8",
    )
    visit = Visit(browser, up)
    try:
        # Words mode only, as the service says: seed mode turns it off.
        visit.page.select_option("#stopwords", label="detect the language")
        visit.page.select_option("#mode", "seed")
        assert visit.page.input_value("#stopwords") == ""
        expect(visit.page.locator('#stopwords option[value="auto"]')).to_be_disabled()
        visit.page.select_option("#mode", "words")
        visit.page.select_option("#stopwords", label="detect the language")
        visit.page.set_input_files("#files", str(french))
        card = visit.card(french.name)
        expect(card.locator(".chart svg")).to_be_visible(timeout=RESULT_TIMEOUT_MS)
        expect(card.locator(".language")).to_have_text(
            "Language detected: French; its stop words removed."
        )
        expected = json.loads(
            run_wordfreq(["count", "--json", "--stopwords", AUTO, str(french)]).stdout
        )
        assert expected["language"] == "fr"
        assert shown_words(card) == [(w["word"], w["count"]) for w in expected["words"]]
        assert visit.errors == []
    finally:
        visit.context.close()


@needs_chromium
def test_a_service_that_needs_a_key_asks_for_it(browser: Browser, tmp_path: Path) -> None:
    key = "a-key-for-the-page-test"
    with running_up(tmp_path, "--api-key", key) as url:
        visit = Visit(browser, url)
        try:
            page = visit.page
            book = BOOKS[0]
            # With stop words off this time: the page sends no list, and every word counts.
            page.get_by_label("Stop words removed").select_option(label="none")
            page.set_input_files("#files", str(book))
            card = visit.card(book.name)
            expect(card.locator(".status.error")).to_contain_text("needs an API key")
            key_field = page.get_by_label(re.compile("API key"))
            expect(key_field).to_be_focused()
            key_field.fill(key)
            card.get_by_role("button", name="Try again").click()
            expect(card.locator(".chart svg")).to_be_visible(timeout=RESULT_TIMEOUT_MS)
            proc = run_wordfreq(["count", "--json", str(book)])
            assert proc.returncode == 0, proc.stderr
            expected = [(w["word"], w["count"]) for w in json.loads(proc.stdout)["words"]]
            assert shown_words(card) == expected
        finally:
            visit.context.close()
