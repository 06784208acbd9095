"""ECS task scale-in protection: the calls to the ECS agent.

Inside an ECS task the agent's endpoint is in ``ECS_AGENT_URI``. Which state to ask for,
and when, is the worker pool's business (``service.pool``): one owner per task, however
many worker processes it runs. A failed call is logged and reported, never raised:
losing protection risks a scale-in, losing the worker loses jobs.
"""

from __future__ import annotations

import json
import os
import urllib.error
import urllib.request

import structlog

log = structlog.get_logger("wordfreq.task_protection")

ENV = "ECS_AGENT_URI"
#: Protection lapses on its own this long after it was last set, so a task that dies
#: protected does not block scale-in for good; the owner renews it well before.
EXPIRES_IN_MINUTES = 60


class TaskProtection:
    def __init__(
        self, agent_uri: str, *, expires_in_minutes: int = EXPIRES_IN_MINUTES, timeout: float = 5.0
    ) -> None:
        self.url = agent_uri.rstrip("/") + "/task-protection/v1/state"
        self.expires_in_minutes = expires_in_minutes
        self.timeout = timeout

    @classmethod
    def from_env(cls) -> TaskProtection | None:
        uri = os.environ.get(ENV)
        return cls(uri) if uri else None

    def set(self, enabled: bool) -> bool:
        """Ask the agent to protect the task (for ``expires_in_minutes``) or not; True
        if it accepted."""
        body: dict[str, object] = {"ProtectionEnabled": enabled}
        if enabled:
            body["ExpiresInMinutes"] = self.expires_in_minutes
        request = urllib.request.Request(
            self.url,
            data=json.dumps(body).encode(),
            method="PUT",
            headers={"Content-Type": "application/json"},
        )
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:
                response.read()
        except (urllib.error.URLError, OSError, ValueError) as exc:
            log.warning("task protection call failed", enabled=enabled, error=str(exc))
            return False
        log.info("task protection set", enabled=enabled)
        return True
