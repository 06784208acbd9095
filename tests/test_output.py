"""What the CLI prints: the original Go uploader's text byte for byte (against a Go
oracle when `go` is installed), JSON and CSV equal to the standard encoders' output, and
writes that either finish or fail loudly."""

from __future__ import annotations

import csv
import errno
import io
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from wordfreq_service.cli import main, output
from wordfreq_service.counting.engine import CountResult
from wordfreq_service.formats.results import JobResult

from tests.helpers import ROOT, SEED_SAMPLE, SEED_TOP_TEN, WORDFREQ, build_go_program

GO_PRINT_SOURCE = ROOT / "tests" / "goprint" / "main.go"
INT64 = st.integers(min_value=-(2**63), max_value=2**63 - 1)
# Words as foreign result messages may carry them: any text, lone surrogates included.
words_text = st.one_of(
    st.text(max_size=12),
    st.text(alphabet=st.characters(categories=["Cs", "Ll"]), max_size=4),
)
word_lists = st.lists(st.tuples(words_text, st.integers(min_value=0, max_value=2**40)), max_size=30)


@pytest.mark.parametrize(
    ("nanoseconds", "text"),
    [
        (0, "0s"),
        (1, "1ns"),
        (850, "850ns"),
        (999, "999ns"),
        (1_000, "1\u00b5s"),
        (1_200, "1.2\u00b5s"),
        (999_999, "999.999\u00b5s"),
        (1_000_000, "1ms"),
        (19_569_804, "19.569804ms"),
        (999_999_999, "999.999999ms"),
        (1_000_000_000, "1s"),
        (1_500_000_000, "1.5s"),
        (16_143_640_947, "16.143640947s"),
        (60_000_000_000, "1m0s"),
        (123_500_000_000, "2m3.5s"),
        (3_600_000_000_000, "1h0m0s"),
        (3_600_000_000_001, "1h0m0.000000001s"),
        (-1_500_000_000, "-1.5s"),
        (-850, "-850ns"),
        (2**63 - 1, "2562047h47m16.854775807s"),
        (-(2**63), "-2562047h47m16.854775808s"),
    ],
)
def test_go_duration_table(nanoseconds: int, text: str) -> None:
    assert output.go_duration(nanoseconds) == text


@pytest.fixture(scope="module")
def go_print(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_go_program(GO_PRINT_SOURCE, tmp_path_factory, "the Go uploader oracle")


GO_SETTINGS = settings(
    max_examples=int(os.environ.get("WORDFREQ_PROPERTY_EXAMPLES", "60")),
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)


@GO_SETTINGS
@given(durations=st.lists(INT64, min_size=1, max_size=200))
def test_go_duration_matches_go(go_print: Path, durations: list[int]) -> None:
    stdin = "".join(f"{d}\n" for d in durations).encode()
    proc = subprocess.run([str(go_print), "durations"], input=stdin, capture_output=True)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.decode().splitlines() == [output.go_duration(d) for d in durations]


job_results = st.builds(
    JobResult,
    file_key=st.just("k"),
    job_id=st.text(max_size=14),
    status=st.sampled_from(["success", "failure"]),
    status_message=st.text(max_size=20),
    words=word_lists,
    duration_ns=INT64,
)


@GO_SETTINGS
@given(results=st.lists(job_results, min_size=1, max_size=8))
def test_job_text_matches_the_go_uploader(go_print: Path, results: list[JobResult]) -> None:
    messages = [json.dumps(r.to_wire()) for r in results]
    stdin = ("[" + ",".join(messages) + "]").encode()
    proc = subprocess.run([str(go_print), "results"], input=stdin, capture_output=True)
    assert proc.returncode == 0, proc.stderr
    theirs, rest = [], proc.stdout
    while rest:
        length, rest = rest.split(b"\n", 1)
        theirs.append(rest[: int(length)])
        rest = rest[int(length) :]
    received = [JobResult.from_json(m) for m in messages]  # as `submit` reads them
    assert theirs == [output.utf8("".join(output.job_text(r))) for r in received]


def test_seed_sample_result_prints_as_the_original_readme() -> None:
    # The original sample's README published this run of its uploader.
    result = JobResult("k", "avsdmgqjsdts", "success", "Success", SEED_TOP_TEN, 16_143_640_947)
    assert "".join(output.job_text(result)) == (
        "Job Results completed in 16.143640947s for avsdmgqjsdts\n"
        "Top Words:\n- which\t\t324\n- paper\t\t234\n- light\t\t212\n- plate\t\t147\n"
        "- silver\t117\n- picture\t114\n- solution\t113\n- should\t105\n- water\t\t98\n"
        "- project\t91\n"
    )
    assert SEED_SAMPLE.exists()


def test_tab_rule_counts_utf8_bytes() -> None:
    text = "".join(output.top_words_text([("abcde", 1), ("abcdef", 2), ("café", 3), ("naïve", 4)]))
    # café is 5 bytes (two tabs), naïve is 6 (one), as Go's len() counts them.
    assert text == "Top Words:\n- abcde\t\t1\n- abcdef\t2\n- café\t\t3\n- naïve\t4\n"


def test_failure_prints_failed_line() -> None:
    result = JobResult("k", "j1", "failure", "cannot count: corrupt gzip stream", [], 2_500_000)
    assert "".join(output.job_text(result)) == (
        "Job Results completed in 2.5ms for j1\nFailed: cannot count: corrupt gzip stream\n"
    )


def test_only_a_failure_status_prints_failed() -> None:
    # The Go uploader tested Status == "failure"; any other status listed the words.
    odd = JobResult("k", "j1", "", "", [("which", 3)], 1_000)
    assert "".join(output.job_text(odd)) == (
        "Job Results completed in 1µs for j1\nTop Words:\n- which\t\t3\n"
    )


def test_closed_standard_output_is_a_one_line_error(tmp_path: Path) -> None:
    book = tmp_path / "book.txt"
    book.write_text("words")
    proc = subprocess.run(
        f"{WORDFREQ} count {book} >&-", shell=True, capture_output=True, text=True, check=False
    )
    assert proc.returncode == 1
    assert proc.stderr == "wordfreq: error: standard output is closed\n"


@settings(max_examples=200, deadline=None)
@given(
    words=word_lists,
    total=st.integers(min_value=0),
    unique=st.integers(min_value=0),
    skipped=st.integers(min_value=0),
)
def test_count_json_is_what_json_dumps_gives(
    words: list[tuple[str, int]], total: int, unique: int, skipped: int
) -> None:
    result = CountResult(total, unique, words, skipped)
    want = {
        "total": total,
        "unique": unique,
        "skipped": skipped,
        "words": [{"word": w, "count": c} for w, c in words],
    }
    text = "".join(output.count_json(result))
    assert text == json.dumps(want, ensure_ascii=False) + "\n"


@settings(max_examples=100, deadline=None)
@given(words=st.lists(st.tuples(st.text(max_size=8), st.integers(0, 10**6)), max_size=3000))
def test_csv_is_what_the_csv_module_gives(words: list[tuple[str, int]]) -> None:
    want = io.StringIO()
    writer = csv.writer(want, lineterminator="\n")
    writer.writerow(("word", "count"))
    writer.writerows(words)
    assert "".join(output.words_csv(words)) == want.getvalue()


# --- writing: everything or an error ------------------------------------------------


class TrickleStream:
    """Takes at most `step` bytes a write, as a raw file or a pipe may; after `limit`
    bytes it takes nothing more (returns 0), or raises `error`."""

    def __init__(self, step: int, limit: int | None = None, error: OSError | None = None):
        self.data = bytearray()
        self.step, self.limit, self.error = step, limit, error
        self.largest_write = 0

    def write(self, data: bytes) -> int:
        self.largest_write = max(self.largest_write, len(data))
        room = len(data) if self.limit is None else self.limit - len(self.data)
        n = min(self.step, len(data), room)
        if n <= 0 and self.error is not None:
            raise self.error
        self.data += data[:n]
        return n

    def flush(self) -> None:
        pass


class FakeStdout:
    def __init__(self, buffer: TrickleStream) -> None:
        self.buffer = buffer

    def write(self, text: str) -> int:
        return self.buffer.write(text.encode())

    def flush(self) -> None:
        pass


def many_pieces(count: int) -> Iterator[str]:
    for i in range(count):
        yield f"piece {i} "


def test_partial_writes_are_continued_to_the_end() -> None:
    stream = TrickleStream(step=777)
    output.write_pieces(many_pieces(50_000), stream)
    assert stream.data.decode() == "".join(many_pieces(50_000))
    assert stream.largest_write <= output.WRITE_CHUNK_BYTES * 2


def test_a_write_that_takes_nothing_is_an_error() -> None:
    stream = TrickleStream(step=4096, limit=100_000)
    with pytest.raises(output.OutputError, match="stopped accepting"):
        output.write_pieces(many_pieces(50_000), stream)


def run_main(argv: list[str], monkeypatch: pytest.MonkeyPatch, stream: TrickleStream) -> int:
    monkeypatch.setattr(sys, "stdout", FakeStdout(stream))
    with pytest.raises(SystemExit) as exit_info:
        main(argv)
    code = exit_info.value.code
    assert isinstance(code, int)
    return code


@pytest.fixture
def big_vocabulary(tmp_path: Path) -> Path:
    f = tmp_path / "many.txt"
    f.write_text(" ".join(letters(i) for i in range(40_000)))
    return f


def letters(i: int) -> str:
    """A distinct all-letter word for each number (digits would split a word)."""
    word = "w"
    while True:
        i, digit = divmod(i, 26)
        word += chr(ord("a") + digit)
        if not i:
            return word


@pytest.mark.parametrize("fmt", ["--json", "--csv", "--text"])
def test_count_output_survives_partial_writes(
    big_vocabulary: Path, fmt: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    args = ["count", "--top", "100000", str(big_vocabulary)]
    if fmt != "--text":
        args.insert(1, fmt)
    whole = TrickleStream(step=1 << 30)
    assert run_main(args, monkeypatch, whole) == 0
    trickled = TrickleStream(step=1000)
    assert run_main(args, monkeypatch, trickled) == 0
    assert trickled.data == whole.data and len(whole.data) > 250_000
    assert whole.largest_write <= output.WRITE_CHUNK_BYTES * 2  # never one giant write
    if fmt == "--json":
        assert len(json.loads(whole.data)["words"]) == 40_000


def test_count_output_cut_short_exits_1_with_one_line(
    big_vocabulary: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    stream = TrickleStream(step=1 << 30, limit=200_000)
    assert run_main(["count", "--json", str(big_vocabulary)], monkeypatch, stream) == 0  # top 10
    assert run_main(["count", "--csv", str(big_vocabulary)], monkeypatch, stream) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "standard output" in err and "Traceback" not in err


def test_a_full_disk_exits_1_with_one_line(
    big_vocabulary: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    full = OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
    stream = TrickleStream(step=1 << 30, limit=70_000, error=full)
    assert run_main(["count", "--csv", str(big_vocabulary)], monkeypatch, stream) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "No space left on device" in err


@pytest.mark.skipif(
    os.environ.get("WORDFREQ_BIG_OUTPUT") != "1",
    reason="writes 2.2 GB to a file; run with `make test-big-output`",
)
def test_output_over_2_gib_is_written_whole(tmp_path: Path) -> None:
    # Python's own `sys.stdout.write` of one string over 2 GiB stops at 0x7ffff000 bytes
    # and exits 0; pieces through write_pieces must all arrive.
    pieces, size = 2200, 1_000_001
    script = (
        "from wordfreq_service.cli.output import write_pieces\n"
        f"write_pieces('x' * {size - 1} + '\\n' for _ in range({pieces}))\n"
    )
    target = tmp_path / "big.out"
    with open(target, "wb") as out:
        proc = subprocess.run([sys.executable, "-c", script], stdout=out, timeout=600)
    assert proc.returncode == 0
    assert target.stat().st_size == pieces * size > 2**31
