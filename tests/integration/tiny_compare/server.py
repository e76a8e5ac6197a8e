"""A tiny HTTP service with a switchable regression: /hello waits DELAY_MS more (compare tests)."""

import http.server
import os
import sys
import time

if os.environ.get("FAIL"):
    sys.exit("FAIL is set: this version does not start")
DELAY_S = float(os.environ.get("DELAY_MS") or 0) / 1000.0


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_GET(self) -> None:
        if self.path == "/hello" and DELAY_S:
            time.sleep(DELAY_S)
        body = b'{"status":"healthy"}' if self.path == "/health" else b'{"message":"Hello, World!"}'
        self.send_response(200)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


http.server.ThreadingHTTPServer.request_queue_size = 512
print("tiny compare service started", flush=True)
http.server.ThreadingHTTPServer(("0.0.0.0", 8000), Handler).serve_forever()
