"""The guide's example service (docs/your-service.md): an "orders" API in front of an "inventory" service.

Standard library only. MODE=orders (default) or MODE=inventory; PORT; INVENTORY_URL; DEP_TIMEOUT_S (the
timeout of inventory calls; 0 = wait forever, i.e. the protection switched off).
"""

import itertools
import json
import os
import signal
import sys
import threading
import time
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

MODE = os.environ.get("MODE", "orders")
PORT = int(os.environ.get("PORT", "8081"))
INVENTORY_URL = os.environ.get("INVENTORY_URL", "http://inventory:8080")
DEP_TIMEOUT_S = float(os.environ.get("DEP_TIMEOUT_S", "0.3"))
_flaky = itertools.count()
_lock = threading.Lock()


def _inventory(path: str) -> dict:
    timeout = DEP_TIMEOUT_S if DEP_TIMEOUT_S > 0 else None
    with urllib.request.urlopen(INVENTORY_URL + path, timeout=timeout) as response:
        return json.loads(response.read())


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # headers and body go out in two writes: without TCP_NODELAY the body waits for the client's delayed ACK
    # (~40 ms on Linux), and a 200 ms endpoint answers in 240 ms
    disable_nagle_algorithm = True

    def log_message(self, format: str, *args: object) -> None:  # quiet: one line per request is noise
        pass

    def _send(self, status: int, body: dict) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self) -> None:
        path = self.path.split("?")[0]
        if path == "/healthz":
            return self._send(200, {"status": "ok", "service": MODE})
        if MODE == "inventory":
            if path.startswith("/stock/"):
                return self._send(200, {"item": path.rsplit("/", 1)[1], "stock": 7})
            return self._send(404, {"error": "not found"})
        if path == "/readyz":
            try:
                _inventory("/healthz")
            except OSError as exc:
                return self._send(503, {"status": "inventory unreachable", "error": str(exc)})
            return self._send(200, {"status": "ready"})
        if path.startswith("/api/orders/"):
            item = path.rsplit("/", 1)[1]
            try:
                stock = _inventory(f"/stock/{item}")["stock"]
            except OSError:  # timeout or refused: answer without the stock level (degraded, not failed)
                return self._send(200, {"order": item, "stock": None, "degraded": True})
            return self._send(200, {"order": item, "stock": stock, "degraded": False})
        if path == "/api/slow":  # a 200 ms endpoint: the load generator must measure p50 ~ 200 ms
            time.sleep(0.2)
            return self._send(200, {"slept_ms": 200})
        if path == "/api/flaky":  # exactly every tenth request fails: a 10% error rate
            with _lock:
                n = next(_flaky)
            return self._send(500 if n % 10 == 9 else 200, {"n": n})
        return self._send(404, {"error": "not found"})


def main() -> None:
    server = ThreadingHTTPServer(("0.0.0.0", PORT), Handler)
    server.daemon_threads = True
    signal.signal(signal.SIGTERM, lambda *_: threading.Thread(target=server.shutdown).start())
    print(f"{MODE} listening on {PORT}", flush=True)
    server.serve_forever()
    sys.exit(0)


if __name__ == "__main__":
    main()
