"""`wordfreq count` from the outside: output formats, inputs, and one-line errors."""

from __future__ import annotations

import bz2
import gzip
import json
import lzma
import os
from pathlib import Path

import pytest
import zstandard
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.helpers import CORPUS, ROOT, SEED_SAMPLE, SEED_TOP_TEN, parse_top_words, run_wordfreq

SAMPLE = ROOT / "samples" / "snelling-photography.txt"


def assert_one_line_error(proc: object, *needles: str) -> None:
    rc, err = proc.returncode, proc.stderr  # type: ignore[attr-defined]
    assert rc != 0
    assert "Traceback" not in err
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    for needle in needles:
        assert needle in lines[0]


def test_seed_mode_prints_the_seed_readme_output_exactly() -> None:
    proc = run_wordfreq(["count", "--mode", "seed", str(SEED_SAMPLE)])
    assert proc.returncode == 0, proc.stderr
    # As the original uploader printed it: words over 5 bytes get one tab, not two.
    assert proc.stdout == (
        "Top Words:\n- which\t\t324\n- paper\t\t234\n- light\t\t212\n- plate\t\t147\n"
        "- silver\t117\n- picture\t114\n- solution\t113\n- should\t105\n- water\t\t98\n"
        "- project\t91\n"
    )
    assert parse_top_words(proc.stdout) == SEED_TOP_TEN


def test_default_output_mirrors_the_seed_uploader(tmp_path: Path) -> None:
    f = tmp_path / "t.txt"
    f.write_bytes(b"b a b c b a Don\x92t don't DON'T")
    proc = run_wordfreq(["count", "--top", "3", str(f)])
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == "Top Words:\n- b\t\t3\n- don't\t\t3\n- a\t\t2\n"


def test_json_is_exactly_one_object(tmp_path: Path) -> None:
    f = tmp_path / "t.txt"
    f.write_text("Café café CAFE\u0301 abc123def the the", encoding="utf-8")
    proc = run_wordfreq(["count", "--json", "--top", "2", str(f)])
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout) == {
        "total": 7,
        "unique": 4,
        "skipped": 0,
        "words": [{"word": "café", "count": 3}, {"word": "the", "count": 2}],
    }
    assert proc.stdout.count("\n") == 1


def test_csv_lists_every_word_unless_top_is_given(tmp_path: Path) -> None:
    f = tmp_path / "t.txt"
    f.write_text("one two two three three three, four " + " ".join(f"w{c}" for c in "abcdefghijk"))
    proc = run_wordfreq(["count", "--csv", str(f)])
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.splitlines()[:5] == ["word,count", "three,3", "two,2", "four,1", "one,1"]
    assert len(proc.stdout.splitlines()) == 1 + 4 + 11  # every word, not the default 10
    proc = run_wordfreq(["count", "--csv", "--top", "2", str(f)])
    assert proc.stdout == "word,count\nthree,3\ntwo,2\n"


def test_text_output_aligns_as_the_go_uploader(tmp_path: Path) -> None:
    f = tmp_path / "t.txt"
    f.write_text("photography photography naïve café café")
    proc = run_wordfreq(["count", str(f)])
    # More than 5 UTF-8 bytes: one tab; 5 or fewer: two (naïve is 6 bytes, café 5).
    assert proc.stdout == "Top Words:\n- café\t\t2\n- photography\t2\n- naïve\t1\n"


def test_skipped_long_words_are_reported(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from wordfreq_service.cli import main

    f = tmp_path / "t.txt"
    f.write_text("a b " + " ".join(["x" * 1001] * 3))
    for args, code in ((["count", "--json", str(f)], 0), (["count", str(f)], 0)):
        with pytest.raises(SystemExit) as exit_info:
            main(args)
        assert exit_info.value.code == code
    out, err = capsys.readouterr()
    assert json.loads(out.splitlines()[0])["skipped"] == 3
    assert err == "wordfreq: note: 3 runs longer than the maximum word length were not counted\n"


def test_several_files_are_counted_together_without_joining_words(tmp_path: Path) -> None:
    a, b = tmp_path / "a.txt", tmp_path / "b.txt"
    a.write_bytes(b"alpha beta")  # no trailing newline: beta must not join gamma
    b.write_bytes(b"\xef\xbb\xbfgamma alpha")  # its own BOM
    proc = run_wordfreq(["count", "--json", str(a), str(b)])
    words = {w["word"]: w["count"] for w in json.loads(proc.stdout)["words"]}
    assert words == {"alpha": 2, "beta": 1, "gamma": 1}


def test_stdin_dash(tmp_path: Path) -> None:
    proc = run_wordfreq(["count", "--json", "-"], input=b"x y x")
    assert json.loads(proc.stdout)["words"][0] == {"word": "x", "count": 2}


def test_empty_file_is_zero_words(tmp_path: Path) -> None:
    f = tmp_path / "empty.txt"
    f.write_bytes(b"")
    proc = run_wordfreq(["count", "--json", str(f)])
    assert proc.returncode == 0
    assert json.loads(proc.stdout) == {"total": 0, "unique": 0, "skipped": 0, "words": []}
    assert run_wordfreq(["count", str(f)]).stdout == "Top Words:\n"


@pytest.mark.parametrize(
    "compress",
    [gzip.compress, bz2.compress, lzma.compress, zstandard.ZstdCompressor().compress],
    ids=["gzip", "bzip2", "xz", "zstd"],
)
def test_compressed_input_counts_like_plain(tmp_path: Path, compress: object) -> None:
    plain = (CORPUS / "pg2641.txt").read_bytes()
    packed = tmp_path / "book.bin"  # the name says nothing: detection is by magic bytes
    packed.write_bytes(compress(plain))  # type: ignore[operator]
    raw = tmp_path / "book.txt"
    raw.write_bytes(plain)
    want = run_wordfreq(["count", "--json", "--top", "25", str(raw)])
    got = run_wordfreq(["count", "--json", "--top", "25", str(packed)])
    assert got.returncode == 0, got.stderr
    assert json.loads(got.stdout) == json.loads(want.stdout)


def test_stopwords_and_min_length(tmp_path: Path) -> None:
    f = tmp_path / "t.txt"
    f.write_text("The cat and the hat. A cat! I am", encoding="utf-8")
    proc = run_wordfreq(["count", "--json", "--stopwords", "english", str(f)])
    assert json.loads(proc.stdout) == {
        "total": 3,
        "unique": 2,
        "skipped": 0,
        "words": [{"word": "cat", "count": 2}, {"word": "hat", "count": 1}],
    }
    stop = tmp_path / "stop.txt"
    stop.write_text("# mine\nCAT\n\n", encoding="utf-8")
    proc = run_wordfreq(["count", "--json", "--stopwords", str(stop), "--min-length", "3", str(f)])
    assert [w["word"] for w in json.loads(proc.stdout)["words"]] == ["the", "and", "hat"]


def test_forced_encoding(tmp_path: Path) -> None:
    f = tmp_path / "t.txt"
    f.write_bytes("naïve NAÏVE".encode())
    latin = run_wordfreq(["count", "--json", "--encoding", "latin-1", str(f)])
    # As Latin-1 the two UTF-8 bytes of ï are two characters: Ã (a letter) and ¯ (a symbol).
    assert [w["word"] for w in json.loads(latin.stdout)["words"]] == ["naã", "ve"]
    utf16 = tmp_path / "u16.txt"
    utf16.write_bytes("Ωmega ωMEGA".encode("utf-16-le"))
    proc = run_wordfreq(["count", "--json", "--encoding", "utf-16", str(utf16)])
    assert json.loads(proc.stdout)["words"] == [{"word": "ωmega", "count": 2}]


def test_missing_file_is_one_line_error() -> None:
    proc = run_wordfreq(["count", "/nonexistent/book.txt"])
    assert_one_line_error(proc, "/nonexistent/book.txt", "No such file")


def test_directory_is_one_line_error(tmp_path: Path) -> None:
    assert_one_line_error(run_wordfreq(["count", str(tmp_path)]), str(tmp_path), "directory")


def test_unreadable_file_is_one_line_error(tmp_path: Path) -> None:
    if os.geteuid() != 0:
        f = tmp_path / "secret.txt"
        f.write_text("x")
        f.chmod(0)
        target = str(f)
    else:
        # Root reads through permission bits; /proc/self/mem fails to read at offset 0.
        target = "/proc/self/mem"
    assert_one_line_error(run_wordfreq(["count", target]), target)


def test_corrupt_compressed_stream_is_one_line_error(tmp_path: Path) -> None:
    f = tmp_path / "bad.gz"
    f.write_bytes(gzip.compress(b"hello world " * 1000)[:-40] + b"\x00garbage")
    assert_one_line_error(run_wordfreq(["count", str(f)]), str(f), "gzip")


def test_bad_options_are_usage_errors(tmp_path: Path) -> None:
    f = tmp_path / "t.txt"
    f.write_text("x")
    proc = run_wordfreq(["count", "--mode", "seed", "--encoding", "cp1252", str(f)])
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr
    assert run_wordfreq(["count", "--top", "-1", str(f)]).returncode == 2
    missing_stop = run_wordfreq(["count", "--stopwords", "/nope/stop.txt", str(f)])
    assert_one_line_error(missing_stop, "/nope/stop.txt")


@settings(
    max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(data=st.binary(min_size=0, max_size=4096))
def test_random_binary_never_crashes(tmp_path: Path, data: bytes) -> None:
    f = tmp_path / "blob.bin"
    f.write_bytes(data)
    for mode in ("words", "seed"):
        proc = run_wordfreq(["count", "--json", "--mode", mode, str(f)])
        if proc.returncode != 0:
            # Binary that happens to start with a compression magic is a corrupt stream.
            assert_one_line_error(proc, str(f))
        else:
            assert json.loads(proc.stdout)["total"] >= 0


def test_demo_sample_is_small_and_counts() -> None:
    assert SAMPLE.stat().st_size < 200_000
    proc = run_wordfreq(["count", str(SAMPLE)])
    assert proc.returncode == 0
    assert parse_top_words(proc.stdout)[0][0] == "the"
