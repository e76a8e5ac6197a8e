"""One stack per test run, shared by every xdist worker.

The first process that needs the stack brings it up under a file lock and writes it to a state file; the
others read that file. The controller process (the only process without xdist) tears it down at session end.
Before anything is created, a ledger entry names the compose project and the controller's pid, so a run that
was SIGKILLed is cleaned up by the next one (``reap_orphans``).
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path

from filelock import FileLock

from pytest_blissful.config import BlissfulConfig
from pytest_blissful.stack.compose import compose_down, compose_up, demo_compose_file
from pytest_blissful.stack.errors import StackError
from pytest_blissful.stack.health import TargetUnreachable, wait_healthy
from pytest_blissful.stack.ledger import LEDGER_KIND, Ledger, state_file, traffic_lock_file
from pytest_blissful.stack.model import Stack

Progress = Callable[[str], None]


class StackManager:
    def __init__(self, config: BlissfulConfig, run_id: str, state_dir: Path, owner_pid: int,
                 ledger: Ledger | None = None, progress: Progress | None = None) -> None:
        self.config = config
        self.run_id = run_id
        self.owner_pid = owner_pid
        self.state_dir = state_dir
        self.state_file = state_file(state_dir, run_id)
        self._lock = FileLock(str(self.state_file) + ".lock")
        self.ledger = ledger or Ledger()
        self.progress = progress or (lambda message: None)
        self._stack: Stack | None = None

    @property
    def project(self) -> str:
        return f"blissful-{self.run_id}"

    def get(self) -> Stack:
        if self._stack is None:
            with self._lock:
                if self.state_file.exists():
                    self._stack = Stack.from_dict(json.loads(self.state_file.read_text()))
                else:
                    self._stack = self._bring_up()
                    self.state_file.write_text(json.dumps(self._stack.to_dict()))
        return self._stack

    def _bring_up(self) -> Stack:
        stack_config = self.config.stack
        if stack_config.url is not None:
            url = str(stack_config.url).rstrip("/")
            self.progress(f"blissful: using the running target {url}")
            try:
                wait_healthy(url + stack_config.health_path, stack_config.startup_timeout)
            except TargetUnreachable as exc:
                raise StackError(f"target unreachable (stack.url in {self.config.source}): {exc}") from None
            return Stack(name=url, kind="external", base_url=url)
        if stack_config.kubernetes is not None:
            import pytest_blissful.stack.kubernetes as kubernetes

            return kubernetes.up(self.config, self.run_id, self.owner_pid, self.ledger, self.state_file.parent,
                                 self.progress)
        if self.config.uses_demo_stack:
            files, name = [demo_compose_file()], "demo"
        else:
            files = [(self.config.base_dir / f).resolve() for f in stack_config.compose]
            name = files[0].parent.name
        self.ledger.record(self.project, LEDGER_KIND, self.owner_pid, files=[str(f) for f in files])
        self.progress(f"blissful: bringing up stack {name!r} (compose project {self.project}) ...")
        started = time.monotonic()
        try:
            stack = compose_up(name, files, self.project, stack_config.env, stack_config.entry_service,
                               stack_config.entry_port, stack_config.startup_timeout)
            wait_healthy(stack.base_url + stack_config.health_path,
                         max(1.0, stack_config.startup_timeout - (time.monotonic() - started)))
        except TargetUnreachable as exc:
            self._down_quietly()
            raise TargetUnreachable(f"{exc} - stack.health_path is {stack_config.health_path!r}: set it in "
                                    f"{self.config.source or 'blissful.yaml'} to a path that answers 2xx") from None
        except StackError:
            self._down_quietly()
            raise
        self.progress(f"blissful: stack {name!r} healthy in {time.monotonic() - started:.1f} s at {stack.base_url}")
        return stack

    def teardown(self, keep: bool = False) -> str | None:
        """Remove the stack if this run started one; return a message for the user, if any."""
        with self._lock:
            if not self.state_file.exists():
                return None
            stack = Stack.from_dict(json.loads(self.state_file.read_text()))
            self.state_file.unlink()
        self._tidy(stack)
        if stack.project is None:
            return None
        if stack.kind == "kubernetes":
            return self._teardown_kubernetes(stack, keep)
        if keep:
            self.ledger.forget(stack.project)
            return (f"blissful: kept stack {stack.name!r} running at {stack.base_url} "
                    f"(remove it with: docker compose --project-name {stack.project} down --volumes)")
        compose_down(stack.project)
        self.ledger.forget(stack.project)
        return None

    def _teardown_kubernetes(self, stack: Stack, keep: bool) -> str | None:
        import pytest_blissful.stack.kubernetes as kubernetes

        assert stack.project is not None
        if keep:
            self.ledger.forget(stack.project)
            return (f"blissful: kept namespace {stack.namespace} (port-forwards stop with this run; remove it with: "
                    f"kubectl --kubeconfig {stack.kubernetes.get('kubeconfig')} delete namespace {stack.namespace})")
        timeout = self.config.stack.kubernetes.delete_timeout if self.config.stack.kubernetes else 60.0
        kubernetes.down(stack.kubernetes, timeout_s=timeout)
        self.ledger.forget(stack.project)
        return None

    def _tidy(self, stack: Stack) -> None:
        """Remove this run's lock files (every process of the run is done): none pile up in the state dir. An
        external target's traffic lock stays: other runs against the same URL may be using it."""
        files = [Path(self._lock.lock_file)]
        if stack.kind == "compose":
            files.append(traffic_lock_file(self.state_dir, stack.base_url))
        for file in files:
            file.unlink(missing_ok=True)

    def _down_quietly(self) -> None:
        try:
            compose_down(self.project)
        finally:
            self.ledger.forget(self.project)
