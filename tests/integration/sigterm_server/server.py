"""A service whose SIGTERM behaviour is switchable (instance observer tests).

GRACEFUL=1: /ready turns 503 at once, in-flight requests finish, the process exits 0 after DRAIN_S.
Otherwise the process dies at once on SIGTERM (exit 143), mid-request. /hello takes 0.3 s, so that requests are
always in flight.
"""

import http.server
import os
import signal
import threading
import time

GRACEFUL = os.environ.get("GRACEFUL") == "1"
DRAIN_S = float(os.environ.get("DRAIN_S") or 0.6)
draining = threading.Event()


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_GET(self) -> None:
        status, body = 200, b"ok"
        if self.path == "/hello":
            time.sleep(0.3)
        elif self.path == "/ready" and draining.is_set():
            status, body = 503, b"draining"
        self.send_response(status)
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


server = http.server.ThreadingHTTPServer(("0.0.0.0", 8000), Handler)


def on_sigterm(signum: int, frame: object) -> None:
    if not GRACEFUL:
        signal.signal(signum, signal.SIG_DFL)
        os.kill(os.getpid(), signum)
        return
    draining.set()

    def finish() -> None:
        time.sleep(DRAIN_S)  # requests accepted until now are answered (each takes 0.3 s)
        os._exit(0)

    threading.Thread(target=finish, daemon=True).start()


signal.signal(signal.SIGTERM, on_sigterm)
print("sigterm server started", flush=True)
server.serve_forever()
