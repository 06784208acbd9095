"""ECS task scale-in protection while the worker is busy.

Inside an ECS task the agent's endpoint is in ``ECS_AGENT_URI``. The worker switches
protection on when it goes from idle to busy and off when it goes back to idle, and only
on those transitions, to stay well inside the agent's rate limits. A failure is logged
and survived: losing protection risks a scale-in, losing the worker loses jobs.
"""

from __future__ import annotations

import json
import os
import urllib.error
import urllib.request

import structlog

log = structlog.get_logger("wordfreq.task_protection")

ENV = "ECS_AGENT_URI"
#: Protection lapses on its own if the worker dies without switching it off.
EXPIRES_IN_MINUTES = 60


class TaskProtection:
    def __init__(self, agent_uri: str, timeout: float = 5.0) -> None:
        self.url = agent_uri.rstrip("/") + "/task-protection/v1/state"
        self.timeout = timeout
        self.calls = 0

    @classmethod
    def from_env(cls) -> TaskProtection | None:
        uri = os.environ.get(ENV)
        return cls(uri) if uri else None

    def busy(self) -> None:
        self._put({"ProtectionEnabled": True, "ExpiresInMinutes": EXPIRES_IN_MINUTES})

    def idle(self) -> None:
        self._put({"ProtectionEnabled": False})

    def _put(self, body: dict[str, object]) -> None:
        self.calls += 1
        request = urllib.request.Request(
            self.url,
            data=json.dumps(body).encode(),
            method="PUT",
            headers={"Content-Type": "application/json"},
        )
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:
                response.read()
            log.info("task protection set", enabled=body["ProtectionEnabled"])
        except (urllib.error.URLError, OSError, ValueError) as exc:
            log.warning(
                "task protection call failed", enabled=body["ProtectionEnabled"], error=str(exc)
            )


def hook_from_env() -> TaskProtection | None:
    """Module-level so worker processes can build their own (picklable by name)."""
    return TaskProtection.from_env()
