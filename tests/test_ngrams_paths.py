"""``--ngrams`` on every path: the job request's three spellings, ``count`` (text, JSON,
CSV), ``count --aggregate`` (an exact merge of n-gram counts), ``submit`` and
``submit --aggregate`` on the embedded stack and through the job API, and the worker's
decision to count n-grams in one piece."""

from __future__ import annotations

import io
import json
from collections import Counter as Tally
from pathlib import Path

import httpx
import pytest
from wordfreq_service.counting import reference
from wordfreq_service.counting.ranges import unsplittable
from wordfreq_service.formats.job_request import JobRequest, RequestError

from tests.api_processes import serving, stop
from tests.helpers import parse_top_words, run_wordfreq
from tests.test_worker_split import THRESHOLD, _embedded, drain, results

# Two files: "york" ends the first and "new" starts the second, which must not pair.
FILES = {
    "a.txt": "New York is big. I love New York, New York\n",
    "b.txt": "new york!\nNew\n\nYork city; new york city. \u201cNew York\u201d rocks\n",
}
N = 2


def ranked(counts: dict[str, int]) -> list[tuple[str, int]]:
    return sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))


def reference_counts(text: str, n: int = N) -> dict[str, int]:
    counter = reference.Counter("words", ngrams=n)
    counter.feed(text.encode())
    return counter.counts()


@pytest.fixture
def corpus(tmp_path: Path) -> Path:
    root = tmp_path / "corpus"
    root.mkdir()
    for name, text in FILES.items():
        (root / name).write_text(text, encoding="utf-8")
    return root


def expected_sum() -> dict[str, int]:
    total: Tally[str] = Tally()
    for text in FILES.values():
        total.update(reference_counts(text))
    return dict(total)


def test_the_job_request_carries_ngrams_in_every_spelling() -> None:
    request = JobRequest.make(ngrams="3")
    assert request.ngrams == 3
    assert request.to_metadata()["ngrams"] == "3"
    assert request.to_json()["ngrams"] == 3
    assert JobRequest.from_metadata(request.to_metadata(), default_mode="words") == request
    assert JobRequest.from_json(request.to_json()) == request
    assert request.new_counter().ngrams == 3
    # Single words: today's request, nothing more travels.
    plain = JobRequest.make()
    assert plain.ngrams == 1 and "ngrams" not in plain.to_metadata()
    assert "ngrams" not in plain.to_json()
    for bad in (0, 6, "two", True):
        with pytest.raises(RequestError, match="ngrams"):
            JobRequest.from_json({"ngrams": bad})
    with pytest.raises(RequestError, match="ngrams in object metadata applies to words mode"):
        JobRequest.from_metadata({"mode": "seed", "ngrams": "2"}, default_mode="words")
    with pytest.raises(RequestError, match="ngrams applies to words mode only"):
        JobRequest.from_json({"mode": "seed", "ngrams": 2})
    assert JobRequest.make(mode="seed", ngrams=1).ngrams == 1


def test_count_shows_each_ngram_with_one_space_in_every_format(corpus: Path) -> None:
    path = corpus / "b.txt"
    want = ranked(reference_counts(FILES["b.txt"]))
    text = run_wordfreq(["count", "--ngrams", "2", str(path)])
    assert text.returncode == 0, text.stderr
    assert parse_top_words(text.stdout) == want[:10]
    assert "- new york\t" in text.stdout
    body = json.loads(run_wordfreq(["count", "--ngrams", "2", "--json", str(path)]).stdout)
    assert [(w["word"], w["count"]) for w in body["words"]] == want[:10]
    assert (body["total"], body["unique"]) == (sum(c for _, c in want), len(want))
    csv_text = run_wordfreq(["count", "--ngrams", "2", "--csv", str(path)]).stdout
    assert csv_text.splitlines() == ["word,count", *(f"{w},{c}" for w, c in want)]
    # Stop words break a sequence: "i love" goes with "i", "love new" stays.
    stopped = json.loads(
        run_wordfreq(
            ["count", "--ngrams", "2", "--stopwords", "english", "--json", str(corpus / "a.txt")]
        ).stdout
    )
    assert {w["word"] for w in stopped["words"]} == {"new york", "love new", "york new"}


def test_seed_mode_refuses_ngrams_on_the_command_line(corpus: Path) -> None:
    proc = run_wordfreq(["count", "--mode", "seed", "--ngrams", "2", str(corpus / "a.txt")])
    assert proc.returncode == 2
    assert proc.stderr.strip() == (
        "wordfreq: error: --ngrams applies to words mode only (seed mode reads raw bytes as "
        "the Go worker did)"
    )


def test_count_aggregate_merges_ngram_counts_exactly(corpus: Path) -> None:
    want = ranked(expected_sum())
    # Once, within a.txt: never a.txt's last word with b.txt's first.
    assert ("york new", 1) in want
    args = ["count", "--aggregate", "--ngrams", "2", str(corpus)]
    body = json.loads(run_wordfreq([*args, "--json", "--top", "1000"]).stdout)
    assert [(w["word"], w["count"]) for w in body["words"]] == want
    csv_text = run_wordfreq([*args, "--csv"]).stdout
    assert csv_text.splitlines()[1:] == [f"{w},{c}" for w, c in want]
    # The same through the counts CSV merge (what every aggregate path adds up).
    merged = JobRequest.make(ngrams=2).new_counter()
    merged.merge_csv([csv_text.encode()])
    assert ranked(merged.counts()) == want


def test_submit_on_the_embedded_stack(corpus: Path, tmp_path: Path) -> None:
    data = str(tmp_path / "data")
    one = run_wordfreq(
        ["submit", "--data-dir", data, "--ngrams", "2", "--json", str(corpus / "a.txt")]
    )
    assert one.returncode == 0, one.stderr
    body = json.loads(one.stdout)
    assert [(w["word"], w["count"]) for w in body["words"]] == ranked(
        reference_counts(FILES["a.txt"])
    )
    # Every file's full counts merged in-process (the embedded stack's aggregate).
    flags = ["--aggregate", "--ngrams", "2", "--top", "100", "--json"]
    many = run_wordfreq(["submit", "--data-dir", data, *flags, str(corpus)])
    assert many.returncode == 0, many.stderr
    summed = json.loads(many.stdout)
    assert [(w["word"], w["count"]) for w in summed["words"]] == ranked(expected_sum())


def test_submit_aggregate_through_the_job_api(corpus: Path, tmp_path: Path) -> None:
    # A corpus job: the request's JSON carries ngrams to every file's job.
    with serving(["up", "--workers", "1"], tmp_path) as (proc, url, log_path):
        # One file, one job: the request's JSON carries ngrams to it.
        one = run_wordfreq(
            ["submit", "--api", url, "--ngrams", "2", "--json", str(corpus / "b.txt")]
        )
        assert one.returncode == 0, one.stderr + log_path.read_text()
        assert [(w["word"], w["count"]) for w in json.loads(one.stdout)["words"]] == ranked(
            reference_counts(FILES["b.txt"])
        )[:10]
        many = run_wordfreq(
            ["submit", "--api", url, "--aggregate", "--ngrams", "2", "--json", str(corpus)]
        )
        assert many.returncode == 0, many.stderr + log_path.read_text()
        assert [(w["word"], w["count"]) for w in json.loads(many.stdout)["words"]] == ranked(
            expected_sum()
        )[:10]
        refused = httpx.post(f"{url}/jobs", json={"size": 1, "mode": "seed", "ngrams": 2})
        assert refused.status_code == 422
        assert "ngrams applies to words mode only" in refused.text
        assert stop(proc) == 0


def test_the_worker_counts_ngrams_in_one_piece_and_says_why() -> None:
    head = b"plain text, big enough to be split"
    assert unsplittable(head, JobRequest.make()) is None
    why = unsplittable(head, JobRequest.make(ngrams=2))
    assert why == "phrases (ngrams above 1) cannot be split"


def test_the_worker_reads_ngrams_from_object_metadata_and_counts_a_big_object_whole(
    tmp_path: Path,
) -> None:
    # The compatible path end to end: an object put with the request's metadata, over a
    # (small) split threshold, counted by a worker.
    backend = _embedded(tmp_path)
    request = JobRequest.make(ngrams=2, top=1000)
    assert request.to_metadata()["ngrams"] == "2"
    text = "".join(FILES.values()) * (THRESHOLD // 100)
    assert len(text.encode()) > THRESHOLD
    backend.store.put("big.txt", io.BytesIO(text.encode()), request.to_metadata())
    assert drain(backend) == 1  # its event only: no range task
    [result] = results(backend)
    assert result["Status"] == "success", result
    assert result["StatusMessage"] == (
        "counted in one piece: phrases (ngrams above 1) cannot be split"
    )
    assert [(w["Word"], w["Count"]) for w in result["Words"]] == ranked(reference_counts(text))
