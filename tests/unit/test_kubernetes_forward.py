"""The port-forward supervisor: kubectl is restarted on the same local port when it exits (the pod behind the
Service went away), and the supervisor exits with its owner. A stand-in kubectl serves one connection per life."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from pytest_blissful.stack.errors import StackError
from pytest_blissful.stack.kubernetes_forward import _STARTED, free_port, is_forwarder, start_forward, stop_forward

FAKE_KUBECTL = """#!{python}
import socket, sys
local = int(sys.argv[-1].split(":")[0])
server = socket.socket()
server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
server.bind(("127.0.0.1", local))
server.listen()
connection, _ = server.accept()
connection.sendall(b"hello from a pod\\n")
connection.close()
"""


def _read(port: int, timeout_s: float = 10) -> bytes:
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1) as sock:
                data = sock.recv(100)
                if data:
                    return data
        except OSError:
            pass
        if time.monotonic() > deadline:
            raise AssertionError(f"nothing answered on 127.0.0.1:{port}")
        time.sleep(0.1)


def _owner() -> subprocess.Popen[bytes]:
    return subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])


def test_forward_is_restarted_on_the_same_port_and_ends_with_its_owner(tmp_path: Path) -> None:
    kubectl = tmp_path / "kubectl"
    kubectl.write_text(FAKE_KUBECTL.format(python=sys.executable))
    kubectl.chmod(0o755)
    owner = _owner()
    port = free_port()
    pid = start_forward(str(kubectl), "kc", None, "ns", "web", {80: port}, owner.pid, tmp_path / "logs")
    try:
        assert is_forwarder(pid)
        assert _read(port) == b"hello from a pod\n"  # the first kubectl served one connection and exited
        assert _read(port) == b"hello from a pod\n"  # ... and a new one listens on the same port
        owner.kill()
        owner.wait()
        deadline = time.monotonic() + 5
        supervisor = _STARTED[pid]
        while supervisor.poll() is None and time.monotonic() < deadline:
            time.sleep(0.1)
        assert supervisor.poll() == 0, "the supervisor outlived its owner"
        assert "restart 1" in (tmp_path / "logs" / "port-forward-ns-web.log").read_text()
    finally:
        stop_forward(pid)
        owner.kill()


def test_a_forward_that_never_listens_is_a_clear_error(tmp_path: Path) -> None:
    kubectl = tmp_path / "kubectl"
    kubectl.write_text(f"#!{sys.executable}\nimport sys\nprint('error: services \"web\" not found')\n")
    kubectl.chmod(0o755)
    owner = _owner()
    try:
        with pytest.raises(StackError, match=r"port-forward to service web in namespace ns did not open"):
            start_forward(str(kubectl), "kc", None, "ns", "web", {80: free_port()}, owner.pid, tmp_path, timeout_s=2)
    finally:
        owner.kill()
        owner.wait()
