"""ECS task protection owned by the worker pool: on while any worker is busy, renewed
before it expires, off once all are idle, and a failing agent is survived and retried."""

from __future__ import annotations

import time
from collections.abc import Callable

from wordfreq_service.adapters.aws.task_protection import TaskProtection
from wordfreq_service.service.pool import BusyBoard, ProtectionOwner

from tests.fake_ecs_agent import FakeAgent


def wait_until(condition: Callable[[], object], timeout: float = 5) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.01)


def test_protection_follows_the_whole_board_and_is_renewed(
    fake_agent: tuple[str, type[FakeAgent]],
) -> None:
    uri, agent = fake_agent
    board = BusyBoard(2)
    owner = ProtectionOwner(TaskProtection(uri, expires_in_minutes=1), board, renew_seconds=0.3)
    try:
        time.sleep(0.2)
        assert agent.calls == []  # nothing to say while idle
        board.mark(0, True)
        wait_until(lambda: agent.states() == [True])
        board.mark(1, True)
        board.mark(0, False)  # one still busy: stays on, and is renewed
        wait_until(lambda: len(agent.calls) >= 3)
        assert set(agent.states()) == {True}
        assert all(
            body == {"ProtectionEnabled": True, "ExpiresInMinutes": 1} for _, body in agent.calls
        )
        board.mark(1, False)
        wait_until(lambda: agent.states()[-1] is False)
        time.sleep(0.5)
        assert agent.states().count(False) == 1  # off once, and no renewal while idle
    finally:
        owner.close()
    assert agent.states().count(False) == 1  # already off: closing says nothing more


def test_a_failing_agent_is_retried_until_it_accepts(
    fake_agent: tuple[str, type[FakeAgent]],
) -> None:
    uri, agent = fake_agent
    agent.status = 500
    board = BusyBoard(1)
    owner = ProtectionOwner(TaskProtection(uri), board, retry_seconds=0.1)
    try:
        board.mark(0, True)
        wait_until(lambda: len(agent.calls) >= 2)  # failed, asked again
        agent.status = 200
        count = len(agent.calls)
        wait_until(lambda: len(agent.calls) > count)
        time.sleep(1.0)
        accepted = len(agent.calls)
        time.sleep(0.5)
        assert len(agent.calls) == accepted  # accepted: no more calls until a change
        assert set(agent.states()) == {True}
    finally:
        board.mark(0, False)
        owner.close()
    assert agent.states()[-1] is False


def test_closing_switches_off_a_protection_in_an_unknown_state(
    fake_agent: tuple[str, type[FakeAgent]],
) -> None:
    uri, agent = fake_agent
    agent.status = 500
    board = BusyBoard(1)
    owner = ProtectionOwner(TaskProtection(uri), board)  # retries only after 10 s
    board.mark(0, True)
    wait_until(lambda: len(agent.calls) == 1)
    board.mark(0, False)
    owner.close()  # the "on" may have landed: one last "off", backoff or not
    assert agent.states() == [True, False]
