"""`wordfreq count --aggregate`: a corpus of files and directories counted file by file,
the counts summed exactly; the JSON object's shape; failures and exit statuses."""

from __future__ import annotations

import csv
import io
import json
from collections import Counter as Tally
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from wordfreq_service.counting.aggregate import count_corpus, split_threads
from wordfreq_service.counting.corpus import find_corpus
from wordfreq_service.counting.engine import Counter
from wordfreq_service.counting.inputs import CHUNK_SIZE
from wordfreq_service.formats.job_request import JobRequest

from tests.corpus_fixtures import corpus_files, make_mixed_corpus, ordered, per_file_sum
from tests.helpers import run_wordfreq

JSON_KEYS = ["total", "unique", "words", "files"]
FILE_KEYS = ["file", "status", "status_message"]
CORRUPT_GZIP = b"\x1f\x8b\x08\x00" + b"not really gzip" * 10


@pytest.fixture(scope="module")
def mixed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_mixed_corpus(tmp_path_factory.mktemp("mixed") / "corpus")


def csv_words(text: str) -> list[tuple[str, int]]:
    rows = list(csv.reader(io.StringIO(text)))
    assert rows[0] == ["word", "count"]
    return [(w, int(c)) for w, c in rows[1:]]


def test_the_aggregate_is_the_sum_of_each_files_own_count(mixed: Path) -> None:
    expected = per_file_sum(corpus_files(mixed), JobRequest.make())
    proc = run_wordfreq(["count", "--aggregate", "--csv", str(mixed)])
    assert proc.returncode == 0, proc.stderr
    assert csv_words(proc.stdout) == ordered(expected)
    # The UTF-16 file, the Windows-1252 quotes and the compressed file all counted...
    assert expected["whale's"] == 1 and expected["whale"] == 2 and expected["packed"] == 100
    assert any("'" in w for w in expected if w not in {"whale's"})  # cp1252 don’t & co
    # ...and no word joins two files, however they end and begin.
    assert "hello" not in expected and expected["hel"] == 1 and expected["lo"] == 1


def test_json_is_exactly_one_object_with_the_files_in_walk_order(mixed: Path) -> None:
    request = JobRequest.make(top=5, stopwords=None)
    expected = per_file_sum(corpus_files(mixed), request)
    proc = run_wordfreq(["count", "--aggregate", "--json", "--top", "5", str(mixed)])
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.count("\n") == 1
    body = json.loads(proc.stdout)
    assert list(body) == JSON_KEYS
    assert body["total"] == sum(expected.values())
    assert body["unique"] == len(expected)
    assert [(w["word"], w["count"]) for w in body["words"]] == ordered(expected, 5)
    assert all(list(w) == ["word", "count"] for w in body["words"])
    assert all(list(f) == FILE_KEYS for f in body["files"])
    assert [f["file"] for f in body["files"]] == [str(p) for p in _walk_order(mixed)]
    assert {(f["status"], f["status_message"]) for f in body["files"]} == {("success", "Success")}


def _walk_order(root: Path) -> list[Path]:
    return [Path(p) for p in find_corpus([str(root)]).files]


def test_counting_options_apply_to_every_file(mixed: Path) -> None:
    request = JobRequest.make(min_length=4, stopwords=None, top=3)
    expected = per_file_sum(corpus_files(mixed), request)
    proc = run_wordfreq(
        ["count", "--aggregate", "--json", "--top", "3", "--min-length", "4", str(mixed)]
    )
    body = json.loads(proc.stdout)
    assert [(w["word"], w["count"]) for w in body["words"]] == ordered(expected, 3)
    assert all(len(w["word"]) >= 4 for w in body["words"])


def test_a_failing_file_is_reported_and_the_rest_still_counted(tmp_path: Path, mixed: Path) -> None:
    corpus = tmp_path / "with-bad"
    make_mixed_corpus(corpus)
    (corpus / "broken.gz").write_bytes(CORRUPT_GZIP)
    good = [p for p in corpus_files(corpus) if p.name != "broken.gz"]
    expected = per_file_sum(good, JobRequest.make())

    failing = run_wordfreq(["count", "--aggregate", "--json", "--top", "100000", str(corpus)])
    assert failing.returncode == 1
    body = json.loads(failing.stdout)
    assert [(w["word"], w["count"]) for w in body["words"]] == ordered(expected)
    statuses = {Path(f["file"]).name: f for f in body["files"]}
    broken = statuses["broken.gz"]
    assert broken["status"] == "failure"
    # The entry names the file; its message says what is wrong, not the name again.
    assert "gzip" in broken["status_message"] and "broken.gz" not in broken["status_message"]
    assert sum(f["status"] == "success" for f in body["files"]) == len(good)
    errors = [line for line in failing.stderr.splitlines() if line.startswith("wordfreq: error:")]
    assert errors == [f"wordfreq: error: {broken['file']}: {broken['status_message']}"]

    allowed = run_wordfreq(["count", "--aggregate", "--allow-failures", str(corpus)])
    assert allowed.returncode == 0, allowed.stderr
    assert allowed.stdout.startswith("Top Words:\n")
    assert "broken.gz" in allowed.stderr

    missing = run_wordfreq(["count", "--aggregate", str(tmp_path / "nowhere"), str(mixed / "sub")])
    assert missing.returncode == 1
    assert "nowhere" in missing.stderr and "- café" in missing.stdout


def test_glob_picks_files_by_name(mixed: Path) -> None:
    proc = run_wordfreq(["count", "--aggregate", "--json", "--glob", "*.gz", str(mixed)])
    body = json.loads(proc.stdout)
    assert [Path(f["file"]).name for f in body["files"]] == ["packed.txt.gz"]
    assert body["total"] == 250


def test_no_files_and_misused_flags_are_clear_errors(tmp_path: Path, mixed: Path) -> None:
    (tmp_path / "empty").mkdir()
    none = run_wordfreq(["count", "--aggregate", str(tmp_path / "empty")])
    assert none.returncode == 1 and "no files found" in none.stderr
    unmatched = run_wordfreq(["count", "--aggregate", "--glob", "*.pdf", str(mixed)])
    assert unmatched.returncode == 1 and "'*.pdf'" in unmatched.stderr
    lone_glob = run_wordfreq(["count", "--glob", "*.txt", str(mixed / "empty.txt")])
    assert lone_glob.returncode == 2 and "--glob needs --aggregate" in lone_glob.stderr


def test_threads_are_shared_between_files_and_their_counters() -> None:
    assert split_threads(8, 100) == (8, 1)
    assert split_threads(8, 2) == (2, 4)
    assert split_threads(2, 1) == (1, 2)
    assert split_threads(0, 5) == (1, 1)


texts = st.lists(
    st.text(alphabet=st.sampled_from("ab’' \n.Éé\u0301z"), max_size=40), min_size=1, max_size=6
)


@settings(
    max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(texts=texts, threads=st.integers(1, 4))
def test_any_corpus_sums_exactly_whatever_the_threads(
    tmp_path: Path, texts: list[str], threads: int
) -> None:
    root = tmp_path / f"h{abs(hash((tuple(texts), threads)))}"
    root.mkdir()
    paths = []
    for i, text in enumerate(texts):
        path = root / f"{i:02}.txt"
        path.write_text(text, encoding="utf-8")
        paths.append(path)
    request = JobRequest.make()
    summed = count_corpus(find_corpus([str(root)]), request, threads=threads)
    _, _, words = summed.counter.report(None, 1, frozenset())
    assert Tally(dict(words)) == per_file_sum(paths, request)
    assert [f.file for f in summed.files] == [str(p) for p in paths]


def test_a_file_over_one_chunk_is_counted_in_ranges_and_summed_alike(tmp_path: Path) -> None:
    big = tmp_path / "big.txt"
    line = "Ranges of a large file: don’t split words, café CAFÉ.\n".encode()
    big.write_bytes(line * (CHUNK_SIZE // len(line) + 2))
    (tmp_path / "small.txt").write_text("words words")
    request = JobRequest.make()
    summed = count_corpus(find_corpus([str(tmp_path)]), request, threads=2)
    _, _, words = summed.counter.report(None, 1, frozenset())
    expected = per_file_sum([big, tmp_path / "small.txt"], request)
    assert Tally(dict(words)) == expected and expected["don't"] == CHUNK_SIZE // len(line) + 2


@pytest.mark.parametrize("error", [RuntimeError("panicked at the core"), MemoryError()])
def test_a_core_error_on_one_file_is_that_files_failure(
    mixed: Path, monkeypatch: pytest.MonkeyPatch, error: BaseException
) -> None:
    """What the core raises beyond bad input (a panic as RuntimeError, an allocation it
    could not make) fails its file, as in the worker, and the rest are still summed."""
    from wordfreq_service.counting.engine import count_file as real

    corpus = find_corpus([str(mixed)])
    victim = corpus.files[0]

    def count_file(path: str, request: JobRequest, **kwargs: Any) -> Counter:
        if path == victim:
            raise error
        return real(path, request, **kwargs)

    monkeypatch.setattr("wordfreq_service.counting.aggregate.count_file", count_file)
    result = count_corpus(corpus, JobRequest.make(), threads=2)
    assert [(f.file, f.ok) for f in result.files] == [(p, p != victim) for p in corpus.files]
    assert result.failed[0].status_message == (str(error) or type(error).__name__)
    expected = per_file_sum([Path(p) for p in corpus.files[1:]], JobRequest.make())
    assert result.counter.report(None, 0, None)[2] == ordered(expected)
