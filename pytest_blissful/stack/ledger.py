"""A crash-safe record of what this machine's runs started, so a killed run's leftovers are removed next time.

Each entry is written *before* the resource is created and removed after it is gone. An entry whose owning
process is dead belongs to a run that was killed: the next session removes what it names.
"""

from __future__ import annotations

import json
import os
import socket
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

LEDGER_KIND = "compose-project"


def state_file(state_dir: Path, run_id: str) -> Path:
    """Where a run's shared stack is described while it is up (read by xdist workers and the controller)."""
    return state_dir / f"stack-{run_id}.json"


def traffic_lock_file(state_dir: Path, base_url: str) -> Path:
    """One lock file per stack (by its entry URL): traffic and faults against one stack take turns."""
    import hashlib

    return state_dir / f"traffic-{hashlib.sha256(base_url.encode()).hexdigest()[:16]}.lock"


def ledger_dir() -> Path:
    base = os.environ.get("BLISSFUL_STATE_DIR") or os.environ.get("XDG_STATE_HOME")
    root = Path(base) if base else Path.home() / ".local" / "state"
    if not os.environ.get("BLISSFUL_STATE_DIR"):
        root = root / "pytest-blissful"
    root.mkdir(parents=True, exist_ok=True)
    return root


def ledger_kinds(directory: Path | None = None) -> set[str]:
    """Which kinds of entries the ledger holds: a quick look without the lock (and without importing it),
    so that every pytest session can afford it; decisions are taken under the lock afterwards."""
    try:
        entries = json.loads(((directory or ledger_dir()) / "ledger.json").read_text())
        return {str(entry.get("kind", "")) for entry in entries.values()}
    except (FileNotFoundError, json.JSONDecodeError, AttributeError):
        return set()


class Ledger:
    def __init__(self, directory: Path | None = None) -> None:
        from filelock import FileLock

        self.path = (directory or ledger_dir()) / "ledger.json"
        self._lock = FileLock(str(self.path) + ".lock")

    @contextmanager
    def _entries(self) -> Iterator[dict[str, dict[str, Any]]]:
        with self._lock:
            try:
                entries: dict[str, dict[str, Any]] = json.loads(self.path.read_text())
            except (FileNotFoundError, json.JSONDecodeError):
                entries = {}
            yield entries
            tmp = self.path.with_suffix(".tmp")
            tmp.write_text(json.dumps(entries, indent=2, sort_keys=True))
            tmp.replace(self.path)

    def record(self, key: str, kind: str, owner_pid: int, **details: Any) -> None:
        with self._entries() as entries:
            entries[key] = {"kind": kind, "owner_pid": owner_pid, "host": socket.gethostname(), **details}

    def forget(self, key: str) -> None:
        with self._entries() as entries:
            entries.pop(key, None)

    def orphans(self, kind: str) -> dict[str, dict[str, Any]]:
        """Entries of ``kind`` on this host whose owning process is gone."""
        if not self.path.exists():
            return {}
        with self._entries() as entries:
            return {
                key: entry
                for key, entry in entries.items()
                if entry["kind"] == kind
                and entry.get("host") == socket.gethostname()
                and not _alive(int(entry["owner_pid"]))
            }


    def foreign(self) -> dict[str, list[str]]:
        """Entries recorded by other hosts sharing this state directory, by host: never touched from here (their
        processes cannot be checked, and their resources are not on this machine)."""
        if not self.path.exists():
            return {}
        here = socket.gethostname()
        hosts: dict[str, list[str]] = {}
        with self._entries() as entries:
            for key, entry in entries.items():
                if entry.get("host", here) != here:
                    hosts.setdefault(str(entry["host"]), []).append(key)
        return hosts


def on_this_host(entry: Mapping[str, Any]) -> bool:
    return bool(entry.get("host", socket.gethostname()) == socket.gethostname())


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
