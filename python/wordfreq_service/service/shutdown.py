"""How long `wordfreq worker` takes to stop after SIGTERM.

A supervisor gives a stopping service a grace period and then kills it (ECS's
``stopTimeout``, at most 120 s on Fargate); the deployment sizes the worker's drain from
these figures so that the whole shutdown fits inside it. Light on purpose: the CDK app
imports it.

A stopping worker process does one of two things, never both: it finishes the receive it
is in (at most the long-poll wait; it starts no job on what that brings, it hands it
back) or it drains the job it is running (at most the drain). Then it hands back what it
still holds and exits, and its parent, last, switches ECS task protection off.
"""

from __future__ import annotations

#: The parent looks for a stop request this often.
STOP_POLL_S = 0.5
#: What a worker process needs after its drain (or its last receive) to hand back the
#: messages it holds and exit; the parent kills one still running after that.
EXIT_MARGIN_S = 5.0
#: The parent waits at most this long for the ECS agent to switch task protection off.
PROTECTION_OFF_S = 10.0


def kill_after(drain_seconds: float, wait_seconds: float) -> float:
    """Seconds after the parent passes a stop on to its worker processes when it kills
    one that is still running."""
    return max(drain_seconds, wait_seconds) + EXIT_MARGIN_S


def shutdown_bound(drain_seconds: float, wait_seconds: float) -> float:
    """The longest the worker takes from SIGTERM to exit, at any concurrency."""
    return STOP_POLL_S + kill_after(drain_seconds, wait_seconds) + PROTECTION_OFF_S


def longest_drain(grace_seconds: float, wait_seconds: float) -> float:
    """The longest drain whose shutdown still fits in ``grace_seconds``."""
    idle = shutdown_bound(0, wait_seconds)
    if grace_seconds < idle:
        raise ValueError(
            f"a grace period of {grace_seconds:g} s is too short: the worker needs "
            f"{idle:g} s to stop even when idle"
        )
    # A drain up to the wait costs nothing more; past it, the bound grows with it.
    return wait_seconds + grace_seconds - idle
