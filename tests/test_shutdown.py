"""The worker's shutdown arithmetic (`service/shutdown.py`), which the stack's drain is
derived from: what it promises, for any figures."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st
from wordfreq_service.ports import MAX_LONG_POLL_S
from wordfreq_service.service.shutdown import (
    EXIT_MARGIN_S,
    kill_after,
    longest_drain,
    shutdown_bound,
)

SECONDS = st.floats(min_value=0, max_value=12 * 3600, allow_nan=False)
WAITS = st.floats(min_value=0, max_value=MAX_LONG_POLL_S, allow_nan=False)


@given(SECONDS, WAITS)
def test_the_kill_comes_a_margin_after_the_drain_or_the_receive_not_their_sum(
    drain: float, wait: float
) -> None:
    assert kill_after(drain, wait) == max(drain, wait) + EXIT_MARGIN_S
    assert kill_after(drain, wait) <= shutdown_bound(drain, wait)


@given(SECONDS, WAITS)
def test_the_longest_drain_fills_the_grace_period_and_no_more(grace: float, wait: float) -> None:
    if grace < shutdown_bound(0, wait):
        with pytest.raises(ValueError, match="too short"):
            longest_drain(grace, wait)
        return
    drain = longest_drain(grace, wait)
    assert drain >= wait
    assert shutdown_bound(drain, wait) == pytest.approx(grace)
    assert shutdown_bound(drain + 1, wait) > grace
