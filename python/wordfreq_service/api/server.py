"""Serving the job API with uvicorn, for ``wordfreq api`` and ``wordfreq up``.

The socket is bound before anything else starts, so a port in use is one line of error
and a non-zero exit, not a log line from a thread while the workers run on. uvicorn runs
in a thread of its own: it then installs no signal handlers (the command's own handle
SIGTERM/SIGINT, ``service.pool``'s for ``up``) and is stopped by ``ServerThread.stop``.
Its log goes through the project's (``logs.py``: uvicorn's loggers reach the root
logger, and its own configuration is not applied); its access log is off, since the
app logs each request itself.
"""

from __future__ import annotations

import socket
import threading
from typing import Final

import uvicorn
from fastapi import FastAPI

from wordfreq_service.errors import ConfigError

#: How long a stopping server lets requests in flight (a ``?wait=`` of up to 20 s)
#: finish before it cancels them.
GRACEFUL_SHUTDOWN_S: Final = 3
#: How long ``stop`` waits for the server's thread after that.
STOP_MARGIN_S: Final = 5


def bind(host: str, port: int) -> socket.socket:
    """A listening socket on ``host``:``port`` (port 0: any free one)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    try:
        return socket.create_server((host, port), family=family)
    except OSError as exc:
        reason = exc.strerror or str(exc)
        raise ConfigError(f"cannot listen on {host}:{port}: {reason}") from None


def url_of(sock: socket.socket) -> str:
    host, port = sock.getsockname()[:2]
    shown = f"[{host}]" if ":" in host else host
    return f"http://{shown}:{port}/"


class ServerThread:
    """uvicorn serving ``app`` on ``sock`` in a thread; ``stop`` ends it."""

    def __init__(self, app: FastAPI, sock: socket.socket) -> None:
        config = uvicorn.Config(
            app,
            log_config=None,
            access_log=False,
            lifespan="off",
            timeout_graceful_shutdown=GRACEFUL_SHUTDOWN_S,
        )
        self._server = uvicorn.Server(config)
        self._sock = sock
        self._thread = threading.Thread(target=self._run, name="api-server", daemon=True)

    def _run(self) -> None:
        self._server.run(sockets=[self._sock])

    def start(self) -> ServerThread:
        self._thread.start()
        return self

    def is_alive(self) -> bool:
        return self._thread.is_alive()

    def stop(self) -> None:
        self._server.should_exit = True
        self._thread.join(GRACEFUL_SHUTDOWN_S + STOP_MARGIN_S)
        self._sock.close()
