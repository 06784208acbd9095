"""Logging set-up: JSON lines for services, readable lines for the CLI.

Both go to standard error through structlog, so every module just calls
``structlog.get_logger()`` and passes fields (job ID, key, timings) as keywords; the
standard library's loggers (boto's) are rendered the same way.

Every line reaches standard error whole, whatever its length: ``write_line`` writes it
in one ``write()`` under a lock, so threads never interleave, and worker processes do not
write to the service's standard error at all: each sends its own over a pipe to the
parent, which writes their lines through ``write_line`` too (``service.pool``). A pipe
only keeps a write whole up to 4 KiB (PIPE_BUF), and a key or an error message can make a
line longer than that.
"""

from __future__ import annotations

import logging
import os
import threading
from typing import Any

import structlog

from wordfreq_service.errors import ConfigError

STDERR = 2
DEBUG_ENV = "WORKER_DEBUG"
# Go's strconv.ParseBool, which the original worker applied to WORKER_DEBUG.
_TRUE = ("1", "t", "T", "TRUE", "true", "True")
_FALSE = ("0", "f", "F", "FALSE", "false", "False")

_write_lock = threading.Lock()


def debug_from_env() -> bool:
    """``WORKER_DEBUG`` read as Go's ``strconv.ParseBool``; unset or empty is off.

    The original worker turned debug on for an empty value (ParseBool rejects it, and it
    fell back to on); here empty means unset, as an empty variable does for every other
    setting. A value ParseBool rejects is a configuration error, not a guess."""
    text = os.environ.get(DEBUG_ENV, "")
    if text in _TRUE:
        return True
    if text in _FALSE or not text:
        return False
    raise ConfigError(
        f"{DEBUG_ENV}={text!r} is not a boolean: use one of {', '.join(_TRUE + _FALSE)}"
    )


def write_line(line: bytes) -> None:
    """Write ``line`` (newline included) to standard error in one piece."""
    with _write_lock:
        view = memoryview(line)
        try:
            while view:  # more than one write only if a signal interrupts a long one
                view = view[os.write(STDERR, view) :]
        except OSError:
            # Nobody reads our standard error any more (a parent that died): the line
            # is lost, but a log line must never take a worker down.
            pass


def send_stderr_to(fd: int) -> int:
    """Point standard error at ``fd``; return a descriptor for the previous one."""
    with _write_lock:
        previous = os.dup(STDERR)
        os.dup2(fd, STDERR)
    return previous


def restore_stderr(previous: int) -> None:
    with _write_lock:
        os.dup2(previous, STDERR)


class _LineLogger:
    """structlog's output: each rendered event is one ``write_line``."""

    def msg(self, message: str) -> None:
        write_line(message.encode("utf-8", "backslashreplace") + b"\n")

    log = debug = info = warn = warning = error = err = critical = exception = fatal = msg


class _LineHandler(logging.Handler):
    def emit(self, record: logging.LogRecord) -> None:
        try:
            _LineLogger().msg(self.format(record))
        except Exception:
            self.handleError(record)


def configure(*, service: bool, debug: bool = False, quiet: bool = False) -> None:
    """``service``: one JSON object a line; otherwise ``level: event key=value``.

    ``quiet`` (the CLI's default) shows warnings and errors only, so a command's own
    output is not buried under the in-process workers' job log."""
    if debug or debug_from_env():
        level = logging.DEBUG
    else:
        level = logging.WARNING if quiet else logging.INFO
    shared: list[Any] = [structlog.processors.add_log_level]
    if service:
        shared.append(structlog.processors.TimeStamper(fmt="iso", utc=True))
        render: list[Any] = [
            # A traceback's frames without their locals: a frame's locals hold job
            # tokens, API keys and request bodies, which must never reach a log.
            structlog.processors.ExceptionRenderer(
                structlog.tracebacks.ExceptionDictTransformer(show_locals=False)
            ),
            structlog.processors.JSONRenderer(),
        ]
    else:
        render = [_human]
    structlog.configure(
        processors=[structlog.contextvars.merge_contextvars, *shared, *render],
        wrapper_class=structlog.make_filtering_bound_logger(level),
        logger_factory=lambda *_args: _LineLogger(),
        cache_logger_on_first_use=False,
    )
    # boto and friends log through the standard library: rendered like our own lines,
    # and kept quiet unless debug logs are asked for.
    handler = _LineHandler()
    handler.setFormatter(
        structlog.stdlib.ProcessorFormatter(
            foreign_pre_chain=[structlog.stdlib.add_logger_name, *shared],
            processors=[structlog.stdlib.ProcessorFormatter.remove_processors_meta, *render],
        )
    )
    root = logging.getLogger()
    for previous in [h for h in root.handlers if isinstance(h, _LineHandler)]:
        root.removeHandler(previous)
    root.addHandler(handler)
    root.setLevel(logging.DEBUG if level == logging.DEBUG else logging.WARNING)


def _human(_logger: Any, method: str, event: dict[str, Any]) -> str:
    message = str(event.pop("event", ""))
    level = event.pop("level", method)
    extras = " ".join(f"{k}={v}" for k, v in event.items() if k != "exc_info")
    prefix = "wordfreq" if level == "info" else f"wordfreq: {level}"
    return f"{prefix}: {message}" + (f" ({extras})" if extras else "")
