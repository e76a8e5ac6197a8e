"""The fault ledger: every fault is written down *before* it is injected, and crossed out after removal.

An entry holds what it takes to remove the fault without the experiment that injected it (container id, rule
tag and the helper image of network faults, Toxiproxy API and toxic name, ...). So faults never outlive a run:
the runner removes its run's leftovers after every experiment (pass, fail, exception, Ctrl-C), the plugin removes
everything of its process at session end (``remove_all_faults``), and the next session removes a SIGKILLed run's
(``remove_orphan_faults``).
Entries live in the stack ledger's file (kind ``"fault"``).
"""

from __future__ import annotations

import contextlib
import os
import time
import uuid
from collections.abc import Callable, Mapping
from typing import Any

import pytest_blissful.chaos._docker as _docker
import pytest_blissful.chaos.toxiproxy_client as toxiproxy_client
from pytest_blissful.chaos.errors import ChaosError, ToxiproxyNotListening
from pytest_blissful.stack.ledger import Ledger, _alive, on_this_host

KIND = "fault"
RUN_ID_KEY = "blissful_run_id"
Progress = Callable[[str], None]


class FaultLedger(Ledger):
    """The shared ledger, seen through its fault entries."""

    def faults(self) -> dict[str, dict[str, Any]]:
        if not self.path.exists():
            return {}
        with self._entries() as entries:
            return {key: dict(entry) for key, entry in entries.items() if entry.get("kind") == KIND}


def run_id_of(configuration: Mapping[str, Any] | None) -> str | None:
    value = (configuration or {}).get(RUN_ID_KEY)
    return str(value) if value else None


def record_fault(family: str, configuration: Mapping[str, Any] | None = None, **details: Any) -> str:
    """Write a fault down before injecting it; returns its key (``<fault>-<random>``, also used in rule tags)."""
    key = f"{details.get('fault') or family}-{uuid.uuid4().hex[:12]}"
    FaultLedger().record(key, KIND, os.getpid(), family=family, run_id=run_id_of(configuration),
                         recorded_at=time.time(), **details)
    return key


def update_fault(key: str, **details: Any) -> None:
    """Add details learnt during injection (e.g. a process id) to a recorded fault."""
    ledger = FaultLedger()
    with ledger._entries() as entries:
        if key in entries:
            entries[key].update(details)


def forget_fault(key: str) -> None:
    FaultLedger().forget(key)


def find_faults(**match: Any) -> dict[str, dict[str, Any]]:
    """Fault entries whose details equal every ``match`` item (e.g. ``family="pause", container_id=...``)."""
    return {key: entry for key, entry in FaultLedger().faults().items()
            if all(entry.get(name) == value for name, value in match.items())}


def remove_fault(key: str, entry: Mapping[str, Any]) -> None:
    """Remove one recorded fault (idempotent: a fault or container already gone counts as removed)."""
    family = str(entry.get("family"))
    try:
        remover = _REMOVERS[family]
    except KeyError:
        raise ChaosError(f"fault ledger entry {key} has an unknown family {family!r}") from None
    remover(key, entry)
    forget_fault(key)


def remove_faults(entries: Mapping[str, Mapping[str, Any]], progress: Progress | None = None) -> list[str]:
    """Remove each fault; try them all, then raise one error naming those that could not be removed."""
    removed, errors = [], []
    # Thaw and start containers first: a paused container cannot be exec'ed into to stop a stress process.
    for key, entry in sorted(entries.items(), key=lambda item: _ORDER.get(str(item[1].get("family")), 99)):
        if progress:
            progress(f"blissful: removing fault {key} ({_describe(entry)})")
        try:
            remove_fault(key, entry)
        except ChaosError as exc:
            errors.append(f"{key}: {exc}")
        else:
            removed.append(key)
    if errors:
        raise ChaosError("could not remove every fault (they stay in the ledger and are retried next session):\n  "
                         + "\n  ".join(errors))
    return removed


def remove_orphan_faults(progress: Progress | None = None) -> list[str]:
    """Remove the faults of runs whose process is gone (SIGKILL, OOM, a crashed CI agent)."""
    return remove_faults(FaultLedger().orphans(KIND), progress)


def remove_all_faults(owner_pid: int | None = None, run_id: str | None = None,
                      progress: Progress | None = None) -> list[str]:
    """Remove the faults of ``owner_pid`` (default: this process), optionally only those of one runner run,
    plus any orphans of this host. The end-of-session and end-of-experiment safety net. Entries recorded by
    another host (a state directory shared between machines) are left alone: their pids mean nothing here."""
    pid = os.getpid() if owner_pid is None else owner_pid
    chosen = {
        key: entry for key, entry in FaultLedger().faults().items()
        if on_this_host(entry)
        and ((int(entry["owner_pid"]) == pid and (run_id is None or entry.get("run_id") == run_id))
             or not _alive(int(entry["owner_pid"])))
    }
    return remove_faults(chosen, progress)


def _describe(entry: Mapping[str, Any]) -> str:
    where = (entry.get("container_name") or str(entry.get("container_id", ""))[:12] or entry.get("proxy", "")
             or (f"{entry.get('chaos_kind')} {entry.get('namespace')}/{entry.get('name')}" if entry.get("chaos_kind")
                 else ""))
    return f"{entry.get('family')} {entry.get('fault', '')} on {where}".replace("  ", " ")


# --- removal primitives, one per family ------------------------------------------------------------------------

def iptables_removal_script(tag: str) -> str:
    """Delete every rule carrying ``tag`` in its comment (filter and raw tables), then verify none is left."""
    return (
        "set -u; for t in filter raw; do "
        f"iptables -w -t $t -S | grep -F -- '{tag}' | sed 's/^-A /-D /' | "
        "while IFS= read -r rule; do eval \"iptables -w -t $t $rule\"; done; done; "
        f"! (iptables -w -t filter -S; iptables -w -t raw -S) | grep -qF -- '{tag}'"
    )


DEVICES = "$(ip -o link show | awk -F': ' '{print $2}' | cut -d@ -f1 | grep -vx lo)"


def qdisc_removal_script(handle: str) -> str:
    """Delete the root qdisc with ``handle`` (ours) from every interface of the namespace; others stay."""
    return (f"set -e; for dev in {DEVICES}; do "
            f"if tc qdisc show dev $dev root | grep -q ' {handle} '; then tc qdisc del dev $dev root; fi; done")


def stress_removal_script(marker: str, pid: int | None) -> str:
    kill_group = f"kill -KILL -- -{pid} 2>/dev/null; kill -KILL {pid} 2>/dev/null; " if pid else ""
    find = (f"for p in /proc/[0-9]*; do tr '\\0' '\\n' < $p/environ 2>/dev/null | grep -qx 'BLISSFUL_FAULT={marker}'"
            " && echo ${p#/proc/}; done")
    return (f"{kill_group}for pid in $({find}); do kill -KILL $pid 2>/dev/null; done; sleep 0.1; "
            f"left=$({find}); [ -z \"$left\" ] || {{ echo \"still running: $left\"; exit 1; }}")


def _helper_image(entry: Mapping[str, Any]) -> str | None:
    """The image the fault was injected with (its run's ``chaos.helper_image``), so that a killed run's faults are
    removed with an image known to work here. Entries without one (written by older versions), or whose image is
    gone since, get the current one (``$BLISSFUL_HELPER_IMAGE``, else the default)."""
    image = entry.get("helper_image")
    if not image:
        return None
    try:
        _docker.ensure_image(str(image))
    except ChaosError:
        return None
    return str(image)


def _gone(container_id: str) -> bool:
    return _docker.state(container_id) is None


def _remove_iptables(key: str, entry: Mapping[str, Any]) -> None:
    container_id = str(entry["container_id"])
    if _gone(container_id) or _docker.state(container_id) != "running":
        return  # no container, no namespace, no rule (a stopped container's netns is gone too)
    _docker.in_netns(container_id, iptables_removal_script(str(entry.get("tag", key))), image=_helper_image(entry))


def _remove_qdisc(key: str, entry: Mapping[str, Any]) -> None:
    container_id = str(entry["container_id"])
    if _docker.state(container_id) != "running":
        return
    _docker.in_netns(container_id, qdisc_removal_script(str(entry["handle"])), image=_helper_image(entry))


def _remove_pause(key: str, entry: Mapping[str, Any]) -> None:
    if _docker.state(str(entry["container_id"])) == "paused":
        _docker.docker("unpause", str(entry["container_id"]))


def _remove_stopped(key: str, entry: Mapping[str, Any]) -> None:
    container_id = str(entry["container_id"])
    current = _docker.state(container_id)
    if current == "paused":
        _docker.docker("unpause", container_id)
    elif current in {"exited", "created", "dead"}:
        _docker.docker("start", container_id)


def _remove_stress(key: str, entry: Mapping[str, Any]) -> None:
    container_id = str(entry["container_id"])
    current = _docker.state(container_id)
    if current == "paused":
        raise ChaosError(f"container {container_id[:12]} is paused: unpause it to stop its stress process")
    if current != "running":
        return  # a stopped container has no processes left
    pid = entry.get("pid")
    _docker.exec_in(container_id, stress_removal_script(str(entry.get("marker", key)), int(pid) if pid else None))


def _remove_toxic(key: str, entry: Mapping[str, Any]) -> None:
    # A toxic lives in its Toxiproxy process: when nothing listens at the (loopback) API any more, it is gone too.
    with contextlib.suppress(ToxiproxyNotListening):
        toxiproxy_client.delete_toxic_at(str(entry["api"]), str(entry["proxy"]), str(entry["toxic"]))


def _remove_proxy_disabled(key: str, entry: Mapping[str, Any]) -> None:
    with contextlib.suppress(ToxiproxyNotListening):
        toxiproxy_client.set_proxy_enabled_at(str(entry["api"]), str(entry["proxy"]), True)


def _remove_chaos_mesh(key: str, entry: Mapping[str, Any]) -> None:
    """Delete a Chaos Mesh resource and wait until it is gone (its controller recovers the fault first). One already
    gone, or in a namespace or cluster without its CRD (the API server answers 404), counts as removed; a cluster
    that cannot be reached is an error: the resource may still be there."""
    import pytest_blissful.chaos.chaos_mesh as chaos_mesh
    from pytest_blissful.stack.errors import StackError
    from pytest_blissful.stack.kubernetes_client import cluster_of

    try:
        cluster = cluster_of({"kubeconfig": entry["kubeconfig"], "context": entry.get("context")})
    except StackError as exc:
        where = f"{entry.get('chaos_kind')} {entry.get('name')} in namespace {entry.get('namespace')}"
        raise ChaosError(f"{where}: {exc}") from None
    chaos_mesh.delete(cluster, str(entry["namespace"]), str(entry["chaos_kind"]), str(entry["name"]),
                      float(entry.get("delete_timeout", 30.0)))


_ORDER = {"pause": 0, "stopped": 1, "proxy-disabled": 2, "toxic": 3, "iptables": 4, "qdisc": 5, "stress": 6}
_REMOVERS: dict[str, Callable[[str, Mapping[str, Any]], None]] = {
    "iptables": _remove_iptables,
    "qdisc": _remove_qdisc,
    "pause": _remove_pause,
    "stopped": _remove_stopped,
    "stress": _remove_stress,
    "toxic": _remove_toxic,
    "proxy-disabled": _remove_proxy_disabled,
    "chaos-mesh": _remove_chaos_mesh,
}
