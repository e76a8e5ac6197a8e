"""Shared helpers for the load benches: a local nginx target on 127.0.0.1 and plain-Locust runs."""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent

_CONF = """
daemon off;
master_process on;
worker_processes {workers};
pid {prefix}/nginx.pid;
error_log {prefix}/error.log warn;
events {{ worker_connections 4096; }}
http {{
    access_log off;
    keepalive_requests 1000000;
    client_body_temp_path {prefix}/tmp;
    proxy_temp_path {prefix}/tmp;
    fastcgi_temp_path {prefix}/tmp;
    uwsgi_temp_path {prefix}/tmp;
    scgi_temp_path {prefix}/tmp;
    server {{
        listen 127.0.0.1:{port};
        root {prefix}/www;
        location / {{ try_files /hello.txt =404; }}
    }}
}}
"""


@dataclass
class Nginx:
    url: str
    master: subprocess.Popen[bytes]

    def pids(self) -> list[int]:
        """The master and its workers (for SIGSTOP/SIGCONT freezes)."""
        found = [self.master.pid]
        for entry in Path("/proc").iterdir():
            if entry.name.isdigit():
                try:
                    stat = (entry / "stat").read_text()
                except OSError:
                    continue
                if int(stat.rsplit(")", 1)[1].split()[1]) == self.master.pid:
                    found.append(int(entry.name))
        return found

    def freeze(self, seconds: float) -> float:
        """SIGSTOP the whole server for ``seconds``; returns the measured stall."""
        pids = self.pids()
        t0 = time.monotonic()
        for pid in pids:
            os.kill(pid, signal.SIGSTOP)
        time.sleep(seconds)
        for pid in pids:
            os.kill(pid, signal.SIGCONT)
        return time.monotonic() - t0


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def nginx(workers: int = 1) -> Iterator[Nginx]:
    binary = shutil.which("nginx") or "/usr/sbin/nginx"
    if not Path(binary).exists():
        sys.exit("nginx is not installed: apt-get install -y nginx-light")
    prefix = Path(tempfile.mkdtemp(prefix="blissful-bench-nginx-"))
    (prefix / "www").mkdir()
    (prefix / "tmp").mkdir()
    (prefix / "www" / "hello.txt").write_text("hello, world\n")
    port = _free_port()
    (prefix / "nginx.conf").write_text(_CONF.format(workers=workers, prefix=prefix, port=port))
    proc = subprocess.Popen([binary, "-c", str(prefix / "nginx.conf"), "-p", str(prefix)])
    url = f"http://127.0.0.1:{port}"
    for _ in range(100):
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            break
        except OSError:
            time.sleep(0.05)
    try:
        yield Nginx(url, proc)
    finally:
        for pid in Nginx(url, proc).pids():
            with suppress(ProcessLookupError):
                os.kill(pid, signal.SIGCONT)
        proc.terminate()
        proc.wait(timeout=10)
        shutil.rmtree(prefix, ignore_errors=True)


def plain_locust(url: str, users: int, duration_s: float, per_user_rps: float | None = None) -> dict[str, float]:
    """Plain Locust (FastHttpUser, Locust's own stats) in a child process; returns its figures."""
    args = [sys.executable, str(HERE / "_plain_locust.py"), url, str(users), str(duration_s), str(per_user_rps or 0)]
    out = subprocess.run(args, capture_output=True, text=True, check=True, timeout=duration_s + 60).stdout
    figures: dict[str, float] = json.loads(out.strip().splitlines()[-1])
    return figures
