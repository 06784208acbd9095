"""Seed mode against a Go oracle: ``tests/seedgo`` counts like the original Go worker
(``bufio.ScanWords``, ``strings.ToLower``, the 4-byte skip, ``strings.Trim``), built with
the local Go toolchain (stdlib only, offline). Skipped when ``go`` is not installed."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from wordfreq_service._core import Counter

from tests.helpers import CORPUS, ROOT, SEED_SAMPLE, build_go_program

ORACLE_SOURCE = ROOT / "tests" / "seedgo" / "main.go"


@pytest.fixture(scope="module")
def oracle(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_go_program(ORACLE_SOURCE, tmp_path_factory, "the seed-mode oracle")


def go_counts(oracle: Path, data: bytes) -> dict[str, int]:
    proc = subprocess.run([str(oracle)], input=data, capture_output=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    result: dict[str, int] = json.loads(proc.stdout)
    return result


def native_counts(data: bytes, cuts: list[int] | None = None) -> dict[str, int]:
    counter = Counter("seed")
    start = 0
    for cut in sorted(cuts or []):
        cut = min(cut, len(data))
        counter.feed(data[start:cut])
        start = max(start, cut)
    counter.feed(data[start:])
    return counter.counts()


# Fragments that exercise ScanWords and ToLower: Go's spaces (ASCII and multi-byte),
# near-misses of multi-byte spaces, invalid UTF-8, letters whose lowercase changes
# length, the trim set, and plain words.
FRAGMENTS = [
    " ", "\t", "\n", "\r\n", "\v", "\f", "\u0085", "\u00a0", "\u1680", "\u2000", "\u2007",
    "\u200a", "\u2028", "\u2029", "\u202f", "\u205f", "\u3000", "\u200b", "\u180e",
    "\ufeff", "\x00", "\x1c", ".", ",", '"', "'", "?", "!", "...", "'tis", "Don't",
    "HELLO", "World", "abcd", "ABCDE", "İ", "\u212a", "Σ", "ẞ", "Ⱥ", "ǅ", "Ⓐ", "ΟΔΟΣ",
    "Straße", "ÀÉÎ", "😀", "日本語", "x",
]  # fmt: skip
RAW_FRAGMENTS = [
    b"\xff", b"\xfe", b"\xc2", b"\xe2\x80", b"\xe2\x81", b"\xe1\x9a", b"\xe3\x80", b"\x80",
    b"\xc0\xaf", b"\xed\xa0\x80", b"\xf4\x90\x80\x80", b"\xf0\x9f\x98", b"\xe2\x80\xe2",
]  # fmt: skip
fragment = st.one_of(
    st.sampled_from([f.encode() for f in FRAGMENTS]),
    st.sampled_from(RAW_FRAGMENTS),
    st.text(max_size=6).map(str.encode),
)
mixed_bytes = st.lists(fragment, max_size=40).map(b"".join)
cut_lists = st.lists(st.integers(min_value=0, max_value=400), max_size=4)
# WORDFREQ_PROPERTY_EXAMPLES=5000 for a deeper search than the default run's.
SETTINGS = settings(
    max_examples=int(os.environ.get("WORDFREQ_PROPERTY_EXAMPLES", "120")),
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)


@SETTINGS
@given(data=mixed_bytes, cuts=cut_lists)
def test_seed_matches_go_on_mixed_text(oracle: Path, data: bytes, cuts: list[int]) -> None:
    assert native_counts(data, cuts) == go_counts(oracle, data)


@SETTINGS
@given(data=st.binary(max_size=300), cuts=cut_lists)
def test_seed_matches_go_on_random_bytes(oracle: Path, data: bytes, cuts: list[int]) -> None:
    assert native_counts(data, cuts) == go_counts(oracle, data)


def test_seed_matches_go_on_every_code_point(oracle: Path) -> None:
    # Every code point, uppercase-prefixed and long enough to be kept: checks the whole
    # lowercase table and the space set against Go's own Unicode tables.
    # (Sixteen code points a token: any one lowercased differently changes the token.)
    cps = [chr(cp) for cp in range(0x110000) if not 0xD800 <= cp <= 0xDFFF]
    data = " ".join("AB" + "".join(cps[i : i + 16]) for i in range(0, len(cps), 16)).encode()
    assert native_counts(data, [len(data) // 3]) == go_counts(oracle, data)


def test_seed_matches_go_on_the_corpus(oracle: Path) -> None:
    files = [*sorted(CORPUS.glob("*.txt")), SEED_SAMPLE]
    data = b"".join(p.read_bytes() for p in files)
    want = go_counts(oracle, data)
    assert native_counts(data) == want  # one chunk: the parallel path
    chunk = 1 << 16
    assert native_counts(data, list(range(chunk, len(data), chunk))) == want
