"""A tiny HTTP service with a switchable regression: /hello waits DELAY_MS more (compare tests).

With DEP_URL set, /hello also asks that dependency (0.3 s timeout): when it does not answer, FALLBACK=1 serves a
cached greeting (200) and otherwise the request fails (503) — a resilience regression for include_chaos tests.
"""

import http.server
import os
import sys
import time
import urllib.request

if os.environ.get("FAIL"):
    sys.exit("FAIL is set: this version does not start")
DELAY_S = float(os.environ.get("DELAY_MS") or 0) / 1000.0
DEP_URL = os.environ.get("DEP_URL") or ""
FALLBACK = os.environ.get("FALLBACK") == "1"


def dependency_answers() -> bool:
    try:
        with urllib.request.urlopen(DEP_URL, timeout=0.3) as answer:
            return bool(answer.status == 200)
    except OSError:
        return False


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_GET(self) -> None:
        if self.path == "/hello" and DELAY_S:
            time.sleep(DELAY_S)
        body = b'{"status":"healthy"}' if self.path == "/health" else b'{"message":"Hello, World!"}'
        status = 200
        if self.path == "/hello" and DEP_URL and not dependency_answers():
            status, body = (200, b'{"message":"Hello (cached)"}') if FALLBACK else (503, b'{"error":"dep down"}')
        self.send_response(status)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


http.server.ThreadingHTTPServer.request_queue_size = 512
print("tiny compare service started", flush=True)
http.server.ThreadingHTTPServer(("0.0.0.0", 8000), Handler).serve_forever()
