"""The plugin as Argo Rollouts' ``web`` metric provider: a small HTTP endpoint on 127.0.0.1 that answers an
AnalysisTemplate's metric query with what the plugin measured.

An AnalysisTemplate written for it names the figure in the URL and reads ``value``::

    provider:
      web:
        url: "{{args.blissful-metrics-url}}/figure/error_rate"
        jsonPath: "{$.value}"

``GET /figure/<figure>`` answers ``{"figure": ..., "value": ...}`` with the value of ``source(figure)``; ``null``
when the plugin has no value (Argo then records an Error measurement: no data, never a pass).  Every answer is
kept (:attr:`MetricServer.answers`) so the driver can show which value the controller was given and when.

The Argo Rollouts controller of the local cluster runs on the host, so 127.0.0.1 reaches this server; a
controller inside a remote cluster cannot, and the driver says so instead of sending it there.
"""

from __future__ import annotations

import json
import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Final

from pytest_blissful.config.argo import FIGURE_PATH, METRICS_URL_ARG

__all__ = ["FIGURE_PATH", "METRICS_URL_ARG", "FigureAnswer", "MetricServer"]

_PREFIX: Final = FIGURE_PATH

FigureSource = Callable[[str], Any]


@dataclass(frozen=True)
class FigureAnswer:
    """One answer given to the controller: when (monotonic), which figure, which value (None: no data)."""

    at_monotonic: float
    figure: str
    value: Any


class MetricServer:
    """A threaded HTTP server on 127.0.0.1 (an ephemeral port) answering figures from ``source``.

    Use as a context manager; the server thread is a daemon and is shut down on exit."""

    def __init__(self, source: FigureSource, host: str = "127.0.0.1") -> None:
        self.source = source
        self.host = host
        self.answers: list[FigureAnswer] = []
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        if self._server is None:
            raise RuntimeError("the metric server is not started")
        return f"http://{self.host}:{self._server.server_address[1]}"

    def __enter__(self) -> MetricServer:
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                if not self.path.startswith(_PREFIX):
                    self._send(404, {"error": f"unknown path {self.path}; use {_PREFIX}<figure>"})
                    return
                figure = self.path[len(_PREFIX):].split("?", 1)[0]
                try:
                    value = owner.source(figure)
                except Exception as exc:  # the controller records an Error measurement with this message
                    self._send(500, {"figure": figure, "error": f"{type(exc).__name__}: {exc}"})
                    return
                if isinstance(value, float) and not math.isfinite(value):
                    value = None
                with owner._lock:
                    owner.answers.append(FigureAnswer(time.monotonic(), figure, value))
                self._send(200, {"figure": figure, "value": value})

            def _send(self, status: int, body: dict[str, Any]) -> None:
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, format: str, *args: Any) -> None:
                return

        self._server = ThreadingHTTPServer((self.host, 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.2},
                                        name="blissful-metric-server", daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        if self._thread is not None:
            self._thread.join(5)
        self._server = self._thread = None

    def answers_for(self, figure: str) -> list[FigureAnswer]:
        with self._lock:
            return [a for a in self.answers if a.figure == figure]
