"""A stand-in for the ECS agent's task protection endpoint on loopback: it records every
PUT and answers with the status the test sets."""

from __future__ import annotations

import http.server
import json
import threading
from collections.abc import Iterator
from typing import Any, ClassVar

import pytest


class FakeAgent(http.server.BaseHTTPRequestHandler):
    calls: ClassVar[list[tuple[str, dict[str, Any]]]] = []
    status = 200

    def do_PUT(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        type(self).calls.append((self.path, body))
        self.send_response(type(self).status)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"{}")

    def log_message(self, *args: object) -> None:
        pass

    @classmethod
    def states(cls) -> list[bool]:
        return [body["ProtectionEnabled"] for _, body in list(cls.calls)]


@pytest.fixture
def fake_agent() -> Iterator[tuple[str, type[FakeAgent]]]:
    handler = type("Agent", (FakeAgent,), {"calls": [], "status": 200})
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}", handler
    server.shutdown()
