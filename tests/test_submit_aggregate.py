"""`wordfreq submit --aggregate`: every file a job, the jobs' full counts summed, on the
embedded stack (in-process job service) and through the job API (corpus jobs); the sum
equals each file's own count added up; a failing file is reported, the rest summed."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from wordfreq_service.counting.corpus import find_corpus
from wordfreq_service.errors import WordfreqError
from wordfreq_service.formats.job_request import JobRequest
from wordfreq_service.formats.results import JobResult
from wordfreq_service.service.api_client import ApiClient, CorpusTicket, HttpJobs
from wordfreq_service.service.corpus_client import ApiMerger, LocalMerger, collect, upload_corpus
from wordfreq_service.service.job_client import JobTicket

from tests.api_processes import serving, stop
from tests.corpus_fixtures import corpus_files, make_mixed_corpus, ordered, per_file_sum
from tests.helpers import run_wordfreq

JSON_KEYS = ["total", "unique", "words", "files"]
FILE_KEYS = ["file", "status", "status_message"]
#: A gzip header, then garbage: the client uploads it, the worker cannot count it.
CORRUPT_GZIP = b"\x1f\x8b\x08\x00" + b"not really gzip" * 10


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = make_mixed_corpus(tmp_path_factory.mktemp("submit") / "corpus")
    (root / "sub" / "broken.gz").write_bytes(CORRUPT_GZIP)
    return root


def good_files(root: Path) -> list[Path]:
    return [p for p in corpus_files(root) if p.name != "broken.gz"]


def check_sum(body: dict[str, Any], root: Path) -> None:
    """The whole-vocabulary JSON equals the sum of each good file's own count, and each
    file has its status in walk order."""
    expected = per_file_sum(good_files(root), JobRequest.make())
    assert list(body) == JSON_KEYS
    assert [(w["word"], w["count"]) for w in body["words"]] == ordered(expected)
    assert body["total"] == sum(expected.values()) and body["unique"] == len(expected)
    assert all(list(f) == FILE_KEYS for f in body["files"])
    assert [f["file"] for f in body["files"]] == find_corpus([str(root)]).files
    statuses = {Path(f["file"]).name: (f["status"], f["status_message"]) for f in body["files"]}
    status, message = statuses.pop("broken.gz")
    # Why, without the file's name again or the internal key of its job (jobs/<id>).
    assert status == "failure" and "gzip" in message
    assert "broken.gz" not in message and "jobs/" not in message
    assert set(statuses.values()) == {("success", "Success")}


def test_embedded_submit_aggregate_sums_every_jobs_full_counts(
    corpus: Path, tmp_path: Path
) -> None:
    data = str(tmp_path / "data")
    args = ["submit", "--aggregate", "--data-dir", data, "--workers", "2"]
    proc = run_wordfreq([*args, "--json", "--top", "100000", str(corpus)])
    assert proc.returncode == 1, proc.stderr  # the broken file
    check_sum(json.loads(proc.stdout), corpus)
    errors = [line for line in proc.stderr.splitlines() if line.startswith("wordfreq: error:")]
    assert len(errors) == 1 and "broken.gz" in errors[0]
    allowed = run_wordfreq([*args, "--allow-failures", str(corpus)])
    assert allowed.returncode == 0, allowed.stderr
    assert allowed.stdout.startswith("Top Words:\n- the\t\t")
    globbed = run_wordfreq([*args, "--json", "--glob", "*.gz", str(corpus)])
    body = json.loads(globbed.stdout)
    assert [Path(f["file"]).name for f in body["files"]] == ["packed.txt.gz", "broken.gz"]
    assert body["total"] == 250 and globbed.returncode == 1


def test_submit_aggregate_through_the_api_uses_corpus_jobs(corpus: Path, tmp_path: Path) -> None:
    with serving(["up", "--workers", "2"], tmp_path) as (proc, url, log_path):
        remote = run_wordfreq(
            ["submit", "--api", url, "--aggregate", "--json", "--top", "100000", str(corpus)]
        )
        assert remote.returncode == 1, remote.stderr + log_path.read_text()
        check_sum(json.loads(remote.stdout), corpus)
        assert '"corpus created"' in log_path.read_text()
        allowed = run_wordfreq(
            ["submit", "--api", url, "--aggregate", "--allow-failures", str(corpus)]
        )
        assert allowed.returncode == 0, allowed.stderr
        assert stop(proc) == 0


def test_a_corpus_larger_than_one_corpus_job_is_summed_by_the_client(
    corpus: Path, tmp_path: Path
) -> None:
    # Three members a corpus job: the mixed corpus needs several.
    request = JobRequest.make(top=100000)
    with serving(["up", "--workers", "2"], tmp_path) as (proc, url, log_path):
        api = ApiClient(url)
        try:
            transport = HttpJobs(api)
            entries, pool = upload_corpus(transport, find_corpus([str(corpus)]), request)
            summed, files = collect(transport, entries, ApiMerger(api, request, per_corpus=3), 120)
            pool.shutdown()
        finally:
            api.close()
        assert log_path.read_text().count('"corpus created"') == 2  # 6 good files, 3 each
        assert stop(proc) == 0
    expected = per_file_sum(good_files(corpus), request)
    assert summed.words == ordered(expected)
    assert (summed.total, summed.unique) == (sum(expected.values()), len(expected))
    assert sum(not f.ok for f in files) == 1


def test_the_compatible_path_has_no_counts_to_aggregate(corpus: Path) -> None:
    proc = run_wordfreq(
        ["submit", "--aggregate", "-bucket", "b", "-queueUrl", "http://127.0.0.1:9/q", str(corpus)]
    )
    assert proc.returncode == 2
    assert "--aggregate needs the job path" in proc.stderr


MALFORMED_COUNTS = b"word,count\nword\n"


def test_a_job_whose_counts_cannot_be_merged_fails_that_file_only() -> None:
    # The embedded stack's merge: the bad job is a failure, the rest still sums.
    stored = {"good": b"word,count\nwhale,2\n", "bad": MALFORMED_COUNTS}
    merger = LocalMerger(JobRequest.make(), lambda t: [stored[t.job_id]])
    results = {
        job_id: JobResult.success(
            f"jobs/{job_id}", job_id, words=[], total=0, unique=0, mode="words", skipped=0
        )
        for job_id in stored
    }
    tickets = {job_id: JobTicket(job_id, f"jobs/{job_id}", "t") for job_id in stored}
    assert merger.add(tickets["good"], results["good"]) is None
    assert merger.add(tickets["bad"], results["bad"]) == (
        "its counts could not be merged: malformed counts CSV at line 2: "
        "expected two fields (word,count)"
    )
    summed = merger.finish(list(tickets.values()), 1)
    assert summed.words == [("whale", 2)]


def test_corpus_counts_the_client_cannot_merge_are_a_one_line_error() -> None:
    # Through a job API with several corpus jobs, the client sums their counts: counts
    # it cannot read are wordfreq's own error (one line), not an internal one.
    class Api:
        def create_corpus(self, tickets: list[JobTicket]) -> CorpusTicket:
            return CorpusTicket(f"c{tickets[0].job_id}", "t")

        def corpus_result(self, corpus: CorpusTicket, *, wait: float) -> dict[str, Any]:
            return {"files": []}

        def corpus_counts(self, corpus: CorpusTicket) -> list[bytes]:
            return [MALFORMED_COUNTS]

    tickets = [JobTicket(str(i), f"jobs/{i}", "t") for i in range(2)]
    merger = ApiMerger(Api(), JobRequest.make(), per_corpus=1)
    with pytest.raises(WordfreqError) as raised:
        merger.finish(tickets, 1)
    assert str(raised.value) == (
        "corpus c0's counts could not be merged: malformed counts CSV at line 2: "
        "expected two fields (word,count)"
    )
