"""The fuzzer's checks (``fuzz/cases.py``) in the suite: every kept input (the seed corpus
and the inputs that once found a defect, ``fuzz/regressions``) replayed against the
reference, then a few hundred random ones. ``make fuzz`` runs the same checks under a
coverage-guided fuzzer for minutes."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fuzz import cases

FUZZ = Path(__file__).resolve().parent.parent / "fuzz"
REGRESSIONS = sorted((FUZZ / "regressions").iterdir())


def test_the_seed_corpus_agrees_with_the_reference() -> None:
    corpus = sorted((FUZZ / "corpus").iterdir())
    assert corpus, "the seed corpus is missing"
    for path in corpus:
        try:
            cases.check(path.read_bytes())
        except Exception as e:
            raise AssertionError(f"fuzz/corpus/{path.name}: {e}") from e


@pytest.mark.parametrize("path", REGRESSIONS, ids=[p.name for p in REGRESSIONS])
def test_a_kept_regression_agrees_with_the_reference(path: Path) -> None:
    cases.check(path.read_bytes())


# Header bytes drawn whole so that every kind, mode and encoding comes up.
header = st.tuples(
    st.integers(0, 255),
    st.sampled_from([0, 1, 2, 3, 5, 8]),
    st.integers(0, 255),
    st.integers(0, 255),
).map(bytes)
payload = st.one_of(
    st.binary(max_size=300),
    st.text(st.sampled_from("aZé’'Σς İ\n\r,\"0.!\ufeff语\u0301 \t"), max_size=200).map(str.encode),
)


@settings(max_examples=300, deadline=None)
@given(data=st.tuples(header, payload).map(b"".join))
def test_random_inputs_agree_with_the_reference(data: bytes) -> None:
    cases.check(data)
