"""Logging set-up: JSON lines for services, readable lines for the CLI.

Both go to standard error through structlog, so every module just calls
``structlog.get_logger()`` and passes fields (job ID, key, timings) as keywords.
"""

from __future__ import annotations

import logging
import os
import sys
from typing import Any

import structlog


def debug_from_env() -> bool:
    return os.environ.get("WORKER_DEBUG", "").lower() in {"1", "true", "yes", "on"}


def configure(*, service: bool, debug: bool = False, quiet: bool = False) -> None:
    """``service``: one JSON object a line; otherwise ``level: event key=value``.

    ``quiet`` (the CLI's default) shows warnings and errors only, so a command's own
    output is not buried under the in-process workers' job log."""
    if debug or debug_from_env():
        level = logging.DEBUG
    else:
        level = logging.WARNING if quiet else logging.INFO
    processors: list[Any] = [
        structlog.contextvars.merge_contextvars,
        structlog.processors.add_log_level,
    ]
    if service:
        processors += [
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            structlog.processors.dict_tracebacks,
            structlog.processors.JSONRenderer(),
        ]
    else:
        processors += [_human]
    structlog.configure(
        processors=processors,
        wrapper_class=structlog.make_filtering_bound_logger(level),
        logger_factory=structlog.PrintLoggerFactory(file=sys.stderr),
        cache_logger_on_first_use=False,
    )
    # boto and friends log through the standard library; keep them quiet unless asked.
    logging.basicConfig(level=logging.DEBUG if level == logging.DEBUG else logging.WARNING)


def _human(_logger: Any, method: str, event: dict[str, Any]) -> str:
    message = str(event.pop("event", ""))
    level = event.pop("level", method)
    extras = " ".join(f"{k}={v}" for k, v in event.items() if k != "exc_info")
    prefix = "wordfreq" if level == "info" else f"wordfreq: {level}"
    return f"{prefix}: {message}" + (f" ({extras})" if extras else "")
