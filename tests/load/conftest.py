"""A real HTTP target for load tests: a threaded stdlib server in a thread of the test process."""

from __future__ import annotations

import http.server
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass

import pytest


class _Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    wbufsize = 65536  # one write per response (no Nagle/delayed-ACK stalls)
    server: _Server

    def _reply(self, code: int, body: bytes = b"hello") -> None:
        with self.server.lock:
            self.server.count += 1
        if self.path.startswith("/slow"):
            time.sleep(0.25)
        self.send_response(code)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self) -> None:
        self._reply(500 if self.path.startswith("/fail") else 200)

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        self._reply(200, body)

    def log_message(self, format: str, *args: object) -> None:
        pass


class _Server(http.server.ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.lock = threading.Lock()
        self.count = 0


@dataclass
class Target:
    url: str
    server: _Server


@pytest.fixture(scope="module")
def target() -> Iterator[Target]:
    """A threaded HTTP server living in a thread of the test process (so a live thread exists)."""
    server = _Server()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield Target(f"http://127.0.0.1:{server.server_address[1]}", server)
    server.shutdown()
    server.server_close()
