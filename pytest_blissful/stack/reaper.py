"""Removes the compose projects (and Kubernetes namespaces) of runs that were killed before they could clean up
(cheap to import)."""

from __future__ import annotations

from collections.abc import Callable

from pytest_blissful.stack.compose import compose_down
from pytest_blissful.stack.ledger import LEDGER_KIND, Ledger

Progress = Callable[[str], None]


def reap_orphans(ledger: Ledger | None = None, progress: Progress | None = None) -> list[str]:
    """Remove the compose projects of runs that were killed before they could clean up."""
    ledger = ledger or Ledger()
    removed = []
    for project, entry in ledger.orphans(LEDGER_KIND).items():
        if entry.get("target") == "kubernetes":
            import pytest_blissful.stack.kubernetes as kubernetes
            from pytest_blissful.stack.errors import StackError

            try:
                kubernetes.reap(entry, progress)
            except StackError as exc:  # e.g. the cluster is gone: say so, keep the entry for a later run
                if progress:
                    progress(f"blissful: could not remove a killed run's Kubernetes namespace: {exc}")
                continue
            ledger.forget(project)
            removed.append(project)
            continue
        if progress:
            progress(f"blissful: removing leftovers of a killed run (compose project {project})")
        compose_down(project)
        ledger.forget(project)
        removed.append(project)
    return removed
