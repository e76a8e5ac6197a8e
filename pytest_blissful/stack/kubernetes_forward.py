"""Port-forwards to Services on 127.0.0.1 that survive pod restarts.

``kubectl port-forward`` is tied to one pod, and may take half a minute to notice that the pod is gone (a
pod-kill, a rollout). A small supervisor process forwards to one ready pod of the Service, watches that pod
through the API (every 0.25 s), and when it goes away (or kubectl exits) starts a new kubectl on the same local
port to another ready pod, until the run that owns it is gone: the stack's URL stays valid. The supervisor runs
in its own session (its pid is recorded in the stack state and the ledger) and exits by itself within a second
of its owner's death, taking kubectl with it: nothing outlives a SIGKILLed run.

    python -m pytest_blissful.stack.kubernetes_forward --owner-pid PID --kubectl K --kubeconfig F \\
        [--context C] --namespace NS --service NAME LOCAL:REMOTE [LOCAL:REMOTE ...]
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from pytest_blissful.stack.errors import StackError

MAX_RESTARTS = 100_000  # a bound on the loop; the owner's lifetime is the real one
# supervisors started by this process: kept referenced so that Popen does not warn "still running" when
# collected (they are meant to outlive the call that started them), and reaped by stop_forward
_STARTED: dict[int, subprocess.Popen[bytes]] = {}


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _alive(pid: int) -> bool:
    """Running (a zombie, killed but not yet reaped, counts as gone)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return True
    return stat.rsplit(")", 1)[-1].split()[0] != "Z"


def start_forward(kubectl: str, kubeconfig: str, context: str | None, namespace: str, service: str,
                  ports: dict[int, int], owner_pid: int, log_dir: Path, timeout_s: float = 30.0,
                  follow_pods: bool = False) -> int:
    """Start a supervisor forwarding 127.0.0.1:LOCAL -> svc/service:REMOTE for each ``ports`` item
    (remote -> local); return its pid once every local port accepts connections."""
    log_dir.mkdir(parents=True, exist_ok=True)
    log = log_dir / f"port-forward-{namespace}-{service}.log"
    command = [sys.executable, "-m", "pytest_blissful.stack.kubernetes_forward", "--owner-pid", str(owner_pid),
               "--kubectl", kubectl, "--kubeconfig", kubeconfig, "--namespace", namespace, "--service", service]
    if context:
        command += ["--context", context]
    if follow_pods:
        command.append("--follow-pods")
    command += [f"{local}:{remote}" for remote, local in ports.items()]
    with log.open("ab") as out:
        process = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                   start_new_session=True)
    _STARTED[process.pid] = process
    deadline = time.monotonic() + timeout_s
    pending = set(ports.values())
    while pending and time.monotonic() < deadline:
        if process.poll() is not None:
            break
        for port in sorted(pending):
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=0.5):
                pending.discard(port)
        if pending:
            time.sleep(0.1)
    if pending:
        stop_forward(process.pid)
        tail = "\n".join(log.read_text(errors="replace").splitlines()[-5:]) if log.exists() else ""
        raise StackError(f"port-forward to service {service} in namespace {namespace} did not open "
                         f"127.0.0.1:{', '.join(map(str, sorted(pending)))} within {timeout_s:.0f} s: {tail}")
    return process.pid


def stop_forward(pid: int) -> None:
    """Stop a supervisor and its kubectl (its whole session), by pid."""
    process = _STARTED.pop(pid, None)
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, signal.SIGTERM)
    for _ in range(30):
        if process is not None and process.poll() is not None:
            return
        if process is None and not _alive(pid):
            return
        time.sleep(0.1)
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, signal.SIGKILL)
    if process is not None:
        with contextlib.suppress(subprocess.TimeoutExpired):
            process.wait(timeout=5)


def is_forwarder(pid: int) -> bool:
    """True when ``pid`` is one of our supervisors (guards against a reused pid)."""
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return False
    return b"pytest_blissful.stack.kubernetes_forward" in cmdline


def _pod_target(args: argparse.Namespace) -> tuple[str, list[str]] | None:
    """A Ready, not terminating pod behind the Service, and the LOCAL:CONTAINER_PORT pairs for it (Service ports
    resolved through their targetPort, by number or by name); None when no pod is ready yet."""
    core = _core_api(args.kubeconfig, args.context)
    service = core.read_namespaced_service(args.service, args.namespace)
    selector = ",".join(f"{k}={v}" for k, v in sorted((service.spec.selector or {}).items()))
    for pod in sorted(core.list_namespaced_pod(args.namespace, label_selector=selector).items,
                      key=lambda p: p.metadata.name):
        ready = any(c.type == "Ready" and c.status == "True" for c in (pod.status.conditions or []))
        if not ready or pod.metadata.deletion_timestamp is not None:
            continue
        named = {port.name: port.container_port for c in pod.spec.containers for port in (c.ports or []) if port.name}
        pairs = []
        for pair in args.ports:
            local, remote = pair.split(":")
            spec = next(p for p in service.spec.ports if int(p.port) == int(remote))
            target = spec.target_port if spec.target_port is not None else spec.port
            pairs.append(f"{local}:{named.get(target, target)}")
        return str(pod.metadata.name), pairs
    return None


@functools.lru_cache(maxsize=1)
def _core_api(kubeconfig: str, context: str | None) -> Any:
    from kubernetes import client, config

    api = config.new_client_from_config(config_file=kubeconfig, context=context, persist_config=False)
    return client.CoreV1Api(api)


def _pod_alive(args: argparse.Namespace, pod: str) -> bool:
    """False once the pod is gone or terminating; True while it is there or the API does not answer."""
    from kubernetes.client.rest import ApiException

    try:
        found = _core_api(args.kubeconfig, args.context).read_namespaced_pod(pod, args.namespace, _request_timeout=2)
    except ApiException as exc:
        return bool(exc.status != 404)
    except Exception:  # a slow or restarting API server is no reason to drop working connections
        return True
    return bool(found.metadata.deletion_timestamp is None)


def _supervise(args: argparse.Namespace) -> int:
    base = [args.kubectl, "--kubeconfig", args.kubeconfig, "--namespace", args.namespace]
    if args.context:
        base += ["--context", args.context]
    child: subprocess.Popen[bytes] | None = None

    def stop(signum: int, frame: object) -> None:
        if child is not None and child.poll() is None:
            child.terminate()
        raise SystemExit(0)

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    for attempt in range(MAX_RESTARTS):
        if not _alive(args.owner_pid):
            return 0
        pod: str | None = None
        if args.follow_pods:
            # forward to one pod and watch it: kubectl may take many seconds to notice that its pod is gone
            try:
                found = _pod_target(args)
            except Exception as exc:  # the API is briefly unavailable: try again
                print(f"[{time.strftime('%H:%M:%S')}] looking up the pods of {args.service}: {exc}", flush=True)
                found = None
            if found is None:
                time.sleep(0.25)
                continue
            pod, ports = found
            command = [*base, "port-forward", "--address", "127.0.0.1", f"pod/{pod}", *ports]
        else:
            command = [*base, "port-forward", "--address", "127.0.0.1", f"svc/{args.service}", *args.ports]
        child = subprocess.Popen(command)
        checked = time.monotonic()
        while child.poll() is None:
            if not _alive(args.owner_pid):
                child.terminate()
                child.wait(timeout=5)
                return 0
            if pod is not None and time.monotonic() - checked > 0.25:
                checked = time.monotonic()
                if not _pod_alive(args, pod):
                    print(f"[{time.strftime('%H:%M:%S')}] pod {pod} is going away: forwarding to another", flush=True)
                    child.terminate()
                    child.wait(timeout=5)
                    break
            time.sleep(0.1)
        print(f"[{time.strftime('%H:%M:%S')}] kubectl port-forward exited {child.returncode} (restart {attempt + 1})",
              flush=True)
        time.sleep(0.1)
    return 1


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--owner-pid", type=int, required=True)
    parser.add_argument("--kubectl", required=True)
    parser.add_argument("--kubeconfig", required=True)
    parser.add_argument("--context")
    parser.add_argument("--namespace", required=True)
    parser.add_argument("--service", required=True)
    parser.add_argument("--follow-pods", action="store_true",
                        help="forward to one ready pod of the Service and move to another when it goes away")
    parser.add_argument("ports", nargs="+", help="LOCAL:SERVICE_PORT")
    return _supervise(parser.parse_args(argv))


if __name__ == "__main__":
    raise SystemExit(main())
