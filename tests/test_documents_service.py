"""Documents through the service: the worker's compatible path (options in object
metadata) and the job API (``format`` in its JSON) extract a document's text as `count`
does, a bad document is a ``failure`` result, and a document is never split."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from wordfreq_service.adapters.embedded import open_embedded
from wordfreq_service.counting.ranges import unsplittable
from wordfreq_service.documents.extract import BLOCK_SEPARATOR
from wordfreq_service.formats.job_request import JobRequest
from wordfreq_service.formats.results import JobResult

from tests.api_fixtures import ApiStack, open_api_stack
from tests.helpers import run_wordfreq
from tests.test_documents import EXPECTED, FIXTURES, counts_of_text
from tests.test_worker import drain_once, put, results


@pytest.fixture
def embedded(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[ApiStack]:
    yield from open_api_stack(request, "embedded", tmp_path)


def top_words(name: str, top: int) -> list[tuple[str, int]]:
    words = counts_of_text(BLOCK_SEPARATOR.join(EXPECTED[name]))["words"][:top]
    return [(w["word"], w["count"]) for w in words]


def test_the_worker_extracts_documents_and_fails_bad_ones_cleanly(tmp_path: Path) -> None:
    backend = open_embedded(tmp_path)
    meta = {"mode": "words", "top": "50"}
    put(backend, "uploads/report.pdf.txt", (FIXTURES / "report.pdf").read_bytes(), **meta)
    put(backend, "uploads/book", (FIXTURES / "book.epub").read_bytes(), **meta)
    put(backend, "uploads/scan", (FIXTURES / "scanned.pdf").read_bytes(), **meta)
    put(backend, "uploads/forced", (FIXTURES / "page.html").read_bytes(), **meta, format="pdf")
    drain_once(backend)
    got = {r.file_key: r for r in map(JobResult.from_json, map(json.dumps, results(backend)))}
    assert set(got) == {"uploads/report.pdf.txt", "uploads/book", "uploads/scan", "uploads/forced"}
    pdf, book = got["uploads/report.pdf.txt"], got["uploads/book"]
    assert pdf.status == book.status == "success"
    assert pdf.words == top_words("report.pdf", 50)
    assert book.words == top_words("book.epub", 50)
    scan, forced = got["uploads/scan"], got["uploads/forced"]
    assert scan.status == forced.status == "failure"
    assert "PDF has no text layer" in scan.status_message
    assert "not a PDF document: its content is HTML" in forced.status_message


def test_the_job_api_takes_a_format_and_counts_the_documents_text(embedded: ApiStack) -> None:
    data = (FIXTURES / "report.docx").read_bytes()
    job = embedded.create(len(data), top=50, format="docx", stopwords=[])
    assert embedded.upload(job, data).status_code == 200
    drain_once(embedded.backend)
    view = embedded.get_job(job, wait=5).json()
    assert view["state"] == "done", view
    expected = counts_of_text(BLOCK_SEPARATOR.join(EXPECTED["report.docx"]))
    assert view["result"]["words"] == expected["words"][:50]
    assert view["result"]["total"] == expected["total"]
    refused = embedded.client.post("/jobs", json={"size": 5, "mode": "seed", "format": "pdf"})
    assert refused.status_code == 422
    assert "format pdf applies to words mode only" in refused.json()["error"]
    assert embedded.client.post("/jobs", json={"size": 5, "format": "rtf"}).status_code == 422


@pytest.mark.parametrize("name", ["report.pdf", "report.docx", "page.html", "book.epub"])
def test_a_document_is_never_split(name: str) -> None:
    head = (FIXTURES / name).read_bytes()[:4096]
    assert unsplittable(head, JobRequest.make()) == (
        "a document's text is extracted from the whole: it cannot be split"
    )
    # Counted as text on request, its bytes can be cut like any text's.
    assert unsplittable(head, JobRequest.make(format="text")) is None


def test_submit_carries_the_format_in_the_uploads_metadata(tmp_path: Path) -> None:
    odt, page = FIXTURES / "report.odt", FIXTURES / "page.html"
    options = ["--json", "--top", "50", "--format", "odt"]
    proc = run_wordfreq(["submit", "--data-dir", str(tmp_path), *options, str(odt), str(page)])
    assert proc.returncode == 1, proc.stderr  # one of the two failed
    first, second = map(json.loads, proc.stdout.splitlines())
    assert (first["file"], first["status"]) == (str(odt), "success")
    assert [(w["word"], w["count"]) for w in first["words"]] == top_words("report.odt", 50)
    assert (second["file"], second["status"]) == (str(page), "failure")
    assert "not an ODT document: its content is HTML" in second["status_message"]


def test_the_drain_deadline_holds_while_a_documents_text_is_extracted(tmp_path: Path) -> None:
    import itertools

    from wordfreq_service.service.worker.job import Abandoned, count_object
    from wordfreq_service.service.worker.settings import WorkerSettings

    backend = open_embedded(tmp_path)
    put(backend, "uploads/book", (FIXTURES / "book.epub").read_bytes())
    # Asked once for the object's one chunk (no deadline yet), then past due (0.0 on the
    # monotonic clock) while its text is extracted.
    answers = itertools.chain([None], itertools.repeat(0.0))

    def deadline() -> float | None:
        return next(answers)

    with pytest.raises(Abandoned):
        count_object(backend.store, "uploads/book", "job", WorkerSettings(), deadline)


def test_an_exception_escaping_a_library_is_the_jobs_failure_not_a_retry(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A LookupError (once raised by a `rot13` charset) used to leave count_object as an
    # unexpected error: retried until dead-lettered. Whatever an extractor raises is the
    # document's failure result.
    from wordfreq_service.documents import html
    from wordfreq_service.service.worker.job import count_object
    from wordfreq_service.service.worker.settings import WorkerSettings

    def broken(*args: object) -> Iterator[str]:
        raise LookupError("'rot-13' is not a text encoding")
        yield ""

    monkeypatch.setattr(html, "blocks", broken)
    backend = open_embedded(tmp_path)
    put(backend, "uploads/page", b"<html><p>hello</p>")
    counted = count_object(backend.store, "uploads/page", "job", WorkerSettings(), lambda: None)
    assert counted.result.status == "failure"
    assert "cannot extract the document's text: LookupError" in counted.result.status_message
