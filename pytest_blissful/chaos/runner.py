"""Run a Chaos Toolkit experiment through chaoslib, with Chaos Toolkit's traps closed.

- rollbacks always played (rollback strategy ``always``), also after Ctrl-C / SIGTERM, and then the fault ledger
  removes whatever this run's rollbacks missed;
- ``timeout`` of Python activities enforced (chaoslib enforces it only for process/HTTP providers);
- a steady state already missed *before* the method, a failed method action, an aborted or interrupted run, a
  run without any fault action, a failed rollback, and a dry run are **inconclusive**, never a pass;
- the exact fault window (injection start/end, removal start/end; epoch and monotonic seconds) is recorded
  from chaoslib's run events;
- every injection action is checked in place right after it returns, and again just before removal
  (:mod:`pytest_blissful.chaos.verify`); a fault not in effect makes the run inconclusive. The hold counts from the
  moment the fault was applied, so checks do not lengthen the fault;
- the configuration is bound to the stack (``blissful_stack``, ``blissful_base_url``, ``blissful_project``,
  ``blissful_toxiproxy_url``...), so experiment files target any stack.

chaoslib is imported here only, when an experiment runs.
"""

from __future__ import annotations

import copy
import json
import os
import re
import signal
import sys
import threading
import time
import uuid
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Literal

import pytest_blissful.chaos.safety as safety
from pytest_blissful.chaos.actions import hold as hold_action
from pytest_blissful.chaos.errors import ChaosError
from pytest_blissful.chaos.ledger import RUN_ID_KEY, remove_all_faults
from pytest_blissful.chaos.verify import HOLD, Check, FaultChecks
from pytest_blissful.stack.model import Stack

Status = Literal["passed", "deviated", "inconclusive"]
TOXIPROXY_API_PORT = 8474


@dataclass(frozen=True)
class FaultWindow:
    """When the fault was there. ``injected_at``: the first method action started; ``injection_done_at`` and
    ``applied_at``: the last injection action (any method action but the hold) returned, before its check: the
    fault is fully in place from here;
    ``removal_started_at``/``removed_at``: the first rollback started / the last one ended (None without
    rollbacks). Epoch seconds (``time.time()``), and the same instants on ``time.monotonic()``'s clock in the
    ``*_mono`` fields."""

    injected_at: float | None = None
    injection_done_at: float | None = None
    removal_started_at: float | None = None
    removed_at: float | None = None
    injected_at_mono: float | None = None
    injection_done_at_mono: float | None = None
    removal_started_at_mono: float | None = None
    removed_at_mono: float | None = None
    applied_at: float | None = None
    applied_at_mono: float | None = None

    @property
    def injected(self) -> bool:
        return self.injected_at is not None

    @property
    def in_place_s(self) -> float | None:
        """From the fault being fully applied to the start of its removal: the hold the experiment asked for."""
        start = self.applied_at if self.applied_at is not None else self.injection_done_at
        if start is None or self.removal_started_at is None:
            return None
        return self.removal_started_at - start

    @property
    def duration_s(self) -> float | None:
        """From the start of injection to the end of removal."""
        if self.injected_at is None or self.removed_at is None:
            return None
        return self.removed_at - self.injected_at


@dataclass(frozen=True)
class ActivityRecord:
    phase: str  # "before" | "method" | "after" | "during" | "rollbacks"
    name: str
    type: str  # "action" | "probe"
    status: str  # "succeeded" | "failed"
    started_at: float
    ended_at: float
    error: str | None = None


@dataclass(frozen=True)
class ChaosResult:
    experiment: str
    status: Status
    journal_status: str
    deviated: bool
    reason: str | None
    window: FaultWindow
    journal_path: Path | None
    started_at: float
    ended_at: float
    activities: tuple[ActivityRecord, ...] = ()
    leftovers_removed: tuple[str, ...] = ()
    interrupted_by: str | None = None
    checks: tuple[Check, ...] = ()  # the fault checks: after injection and before removal

    @property
    def verified(self) -> bool:
        """Every injection action was checked and found in effect, after injection and (when held) before removal."""
        return bool(self.checks) and all(c.in_effect for c in self.checks)

    @property
    def unverified_actions(self) -> tuple[str, ...]:
        """Injection actions whose effect no check could confirm (custom actions)."""
        return tuple(c.action for c in self.checks if c.in_effect is None)

    @property
    def passed(self) -> bool:
        return self.status == "passed"

    @property
    def inconclusive(self) -> bool:
        return self.status == "inconclusive"

    def explain(self) -> str:
        lines = [f"experiment {self.experiment!r}: {self.status.upper()}"
                 + (f" - {self.reason}" if self.reason else "")]
        w = self.window
        if w.injected_at is not None:
            removal = (f"removal {w.removal_started_at - w.injected_at:+.3f} s .. "
                       f"{(w.removed_at or w.removal_started_at) - w.injected_at:+.3f} s"
                       if w.removal_started_at is not None else "no rollback")
            done = (w.injection_done_at or w.injected_at) - w.injected_at
            lines.append(f"fault window: injected in {done:.3f} s, {removal} (relative to injection)")
            if w.in_place_s is not None:
                lines.append(f"fault in place {w.in_place_s:.3f} s (applied → removal started)")
        else:
            lines.append("fault window: nothing was injected")
        for check in self.checks:
            mark = {True: "in effect", False: "NOT in effect", None: "not verifiable"}[check.in_effect]
            lines.append(f"check {check.when} {check.action}: {mark} - {check.evidence}")
        if self.leftovers_removed:
            lines.append(f"faults the rollbacks missed, removed from the ledger: {', '.join(self.leftovers_removed)}")
        lines.append(f"chaoslib status: {self.journal_status}; journal: {self.journal_path or 'not saved'}")
        return "\n".join(lines)

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["journal_path"] = str(self.journal_path) if self.journal_path else None
        data["passed"] = self.passed
        data["inconclusive"] = self.inconclusive
        return data


def stack_configuration(stack: Stack | None, allow_remote: bool = False, run_id: str | None = None) -> dict[str, Any]:
    """The configuration keys the runner binds (experiments reference them as ``${blissful_base_url}`` etc.)."""
    config: dict[str, Any] = {safety.ALLOW_KEY: bool(allow_remote)}
    if run_id:
        config[RUN_ID_KEY] = run_id
    if stack is None:
        return config
    config["blissful_stack"] = stack.to_dict()
    config["blissful_base_url"] = stack.base_url
    if stack.project:
        config["blissful_project"] = stack.project
    for handles in stack.services.values():
        for handle in handles:
            if TOXIPROXY_API_PORT in handle.published:
                config["blissful_toxiproxy_url"] = handle.url(TOXIPROXY_API_PORT)
                break
    return config


def load(experiment: str | os.PathLike[str] | Mapping[str, Any]) -> dict[str, Any]:
    """An experiment (JSON/YAML file or dict) loaded and validated by chaoslib (a deep copy for dicts)."""
    from chaoslib.exceptions import ChaosException
    from chaoslib.experiment import ensure_experiment_is_valid
    from chaoslib.loader import load_experiment

    source = experiment if isinstance(experiment, Mapping) else Path(experiment)
    try:
        loaded = copy.deepcopy(dict(source)) if isinstance(source, Mapping) else dict(load_experiment(str(source)))
        ensure_experiment_is_valid(loaded)
    except ChaosException as exc:
        where = f" ({source})" if isinstance(source, Path) else ""
        raise ChaosError(f"invalid experiment{where}: {exc}") from None
    return loaded


def run_experiment(
    experiment: str | os.PathLike[str] | Mapping[str, Any],
    *,
    stack: Stack | None = None,
    configuration: Mapping[str, Any] | None = None,
    secrets: Mapping[str, Any] | None = None,
    report_dir: str | os.PathLike[str] = "reports",
    strategy: str = "default",
    allow_remote: bool = False,
    dry: bool = False,
    default_timeout_s: float | None = None,
    event_handlers: Sequence[Any] = (),
    reraise_interrupt: bool = True,
) -> ChaosResult:
    """Run ``experiment`` against ``stack`` and return its :class:`ChaosResult` (the journal is saved under
    ``report_dir/chaos/``). ``configuration`` entries override the experiment's and the stack's;
    ``default_timeout_s`` bounds Python activities that declare no ``timeout``. A Ctrl-C (or SIGTERM) during the
    run plays the rollbacks, removes the run's remaining faults, then raises KeyboardInterrupt (unless
    ``reraise_interrupt`` is False). Must run in the main thread (chaoslib installs signal handlers)."""
    if threading.current_thread() is not threading.main_thread():
        raise ChaosError("Chaos Toolkit experiments must run in the main thread (chaoslib installs signal handlers)")
    if stack is not None and stack.kind == "external" and not allow_remote:
        safety.check_url(stack.base_url, f"the external target {stack.name!r}", configuration)
    if stack is not None and stack.kind == "kubernetes" and not stack.kubernetes.get("local") and not allow_remote:
        # its URLs are local port-forwards, but the faults land in a cluster elsewhere
        safety.check_url(str(stack.kubernetes.get("server")), f"the Kubernetes cluster of {stack.name!r}",
                         configuration)

    from chaoslib.experiment import run_experiment as chaoslib_run
    from chaoslib.types import Dry, Strategy

    loaded = load(experiment)
    name = _experiment_name(experiment, loaded)
    run_id = f"{name}-{uuid.uuid4().hex[:8]}"
    loaded["configuration"] = {
        **(loaded.get("configuration") or {}),
        **stack_configuration(stack, allow_remote, run_id),
        **(configuration or {}),
    }
    if secrets:
        loaded["secrets"] = {**(loaded.get("secrets") or {}), **secrets}
    declared_dry = loaded.get("dry")
    if isinstance(declared_dry, str):
        declared_dry = Dry.from_string(declared_dry)
    if dry:
        declared_dry = Dry.ACTIVITIES
    if declared_dry is not None:
        loaded["dry"] = declared_dry
    else:
        loaded.pop("dry", None)

    checks = FaultChecks()
    recorder = _Recorder(checks)
    settings = {"runtime": {"rollbacks": {"strategy": "always"}}}
    started = time.time()
    journal: dict[str, Any] = {}
    leftovers: list[str] = []
    try:
        hold_action.mark_applied(None)
        hold_action.before_end(None)
        with _enforced_python_timeouts(default_timeout_s, after=recorder.after_python_activity):
            journal = chaoslib_run(loaded, settings=settings, strategy=Strategy.from_string(strategy),
                                   event_handlers=[recorder, *event_handlers])
    except KeyboardInterrupt:  # outside chaoslib's own handling (configuration, controls): nothing was rolled back
        recorder.interrupted_by = recorder.interrupted_by or "KeyboardInterrupt"
        raise
    finally:
        hold_action.before_end(None)
        # The safety net: whatever this run injected and its rollbacks did not remove.
        leftovers = remove_all_faults(run_id=run_id)
    ended = time.time()

    journal_path = _save_journal(journal, Path(report_dir), name)
    result = _result(name, journal, loaded, recorder, journal_path, started, ended, tuple(leftovers),
                     dry=declared_dry is not None)
    if recorder.interrupted_by and reraise_interrupt:
        raise KeyboardInterrupt(f"chaos experiment {name!r} interrupted ({recorder.interrupted_by}); "
                                "rollbacks played and faults removed")
    return result


# --- result ------------------------------------------------------------------------------------------------------

def _result(name: str, journal: Mapping[str, Any], experiment: Mapping[str, Any], recorder: _Recorder,
            journal_path: Path | None, started: float, ended: float, leftovers: tuple[str, ...],
            dry: bool) -> ChaosResult:
    status, reason = _verdict(journal, experiment, recorder, dry)
    return ChaosResult(
        experiment=name, status=status, journal_status=str(journal.get("status")),
        deviated=bool(journal.get("deviated")), reason=reason, window=FaultWindow() if dry else recorder.window(),
        journal_path=journal_path, started_at=started, ended_at=ended, activities=tuple(recorder.activities),
        leftovers_removed=leftovers, interrupted_by=recorder.interrupted_by, checks=tuple(recorder.checks.checks),
    )


def _verdict(journal: Mapping[str, Any], experiment: Mapping[str, Any], recorder: _Recorder,
             dry: bool) -> tuple[Status, str | None]:
    if dry:
        return "inconclusive", "dry run: no fault was injected"
    before = (journal.get("steady_states") or {}).get("before")
    if before is not None and not before.get("steady_state_met"):
        return "inconclusive", "steady state not met before the fault: " + _failed_probes(before)
    if recorder.interrupted_by:
        return "inconclusive", f"run interrupted ({recorder.interrupted_by})"
    for run in journal.get("run") or []:
        if run.get("activity", {}).get("type") == "action" and run.get("status") == "failed":
            return "inconclusive", f"method action {run['activity'].get('name')!r} failed: {_error(run)}"
    if journal.get("status") in {"aborted", "interrupted"}:
        return "inconclusive", f"run {journal.get('status')} (see the journal)"
    if not any(a.phase == "method" and a.type == "action" for a in recorder.activities):
        return "inconclusive", "the method injected no fault (it has no action)"
    if (not_in_place := recorder.checks.reason()) is not None:
        return "inconclusive", not_in_place
    for run in journal.get("rollbacks") or []:
        if run.get("status") == "failed":
            return "inconclusive", f"rollback {run['activity'].get('name')!r} failed: {_error(run)}"
    if journal.get("deviated"):
        after = (journal.get("steady_states") or {}).get("after") or {}
        return "deviated", "steady state not met after the fault: " + _failed_probes(after)
    if journal.get("status") != "completed":
        return "inconclusive", f"chaoslib status {journal.get('status')!r}"
    return "passed", None


def _failed_probes(state: Mapping[str, Any]) -> str:
    failed = []
    for probe in state.get("probes") or []:
        if probe.get("tolerance_met") is False or probe.get("status") != "succeeded":
            detail = _error(probe) if probe.get("status") == "failed" else f"got {probe.get('output')!r}"
            failed.append(f"{probe.get('activity', {}).get('name')!r} ({detail})")
    return ", ".join(failed) or "see the journal"


def _error(run: Mapping[str, Any]) -> str:
    exception = run.get("exception") or []
    return str(exception[-1]).strip() if exception else "no error message"


def _experiment_name(source: object, experiment: Mapping[str, Any]) -> str:
    from_file = isinstance(source, str | os.PathLike)
    raw = Path(source).stem if from_file else str(experiment.get("title") or "experiment")  # type: ignore[arg-type]
    return re.sub(r"[^A-Za-z0-9_.-]+", "-", raw).strip("-").lower()[:60] or "experiment"


def _save_journal(journal: Mapping[str, Any], report_dir: Path, name: str) -> Path | None:
    if not journal:
        return None
    directory = report_dir / "chaos"
    directory.mkdir(parents=True, exist_ok=True)
    stamp = time.strftime("%Y%m%dT%H%M%S") + f"-{uuid.uuid4().hex[:6]}"
    path = directory / f"{name}-{stamp}.json"
    path.write_text(json.dumps(journal, indent=2, default=str))
    return path


# --- the event handler -------------------------------------------------------------------------------------------

class _Recorder:
    """Records phases and activity times. Duck-typed as chaoslib's ``RunEventHandler`` (it only calls methods)."""

    def __init__(self, checks: FaultChecks | None = None) -> None:
        self._lock = threading.Lock()
        self.checks = checks or FaultChecks()
        self._applied: tuple[float, float] | None = None
        self.phase = "start"
        self.activities: list[ActivityRecord] = []
        self._starts: dict[int, tuple[float, float, str]] = {}
        self._method_actions: list[tuple[float, float, float, float]] = []  # start, start_mono, end, end_mono
        self._rollbacks: list[tuple[float, float, float, float]] = []
        self._injections: list[tuple[float, float, float, float]] = []  # method actions but the hold
        self.interrupted_by: str | None = None
        self._status_at_rollbacks: str | None = None

    # phases
    def start_hypothesis_before(self, experiment: Any) -> None:
        self.phase = "before"

    def start_method(self, experiment: Any) -> None:
        self.phase = "method"

    def method_completed(self, experiment: Any, state: Any = None) -> None:
        self.phase = "method-done"

    def start_hypothesis_after(self, experiment: Any) -> None:
        self.phase = "after"

    def start_rollbacks(self, experiment: Any) -> None:
        # the "still in place?" check, if the hold did not run it (no hold action) and nothing was aborted
        if self.phase in {"method-done", "after"} and hold_action.abort_reason() is None:
            self.checks.before_removal()
        self.phase = "rollbacks"

    def after_python_activity(self, activity: Any, configuration: Any, secrets: Any, output: Any) -> None:
        """Called in the main thread right after a Python activity returned: check a fault action in place."""
        provider = activity.get("provider") or {}
        if (self.phase != "method" or activity.get("type") != "action" or activity.get("background")
                or threading.current_thread() is not threading.main_thread() or provider.get("module") == HOLD):
            return
        now, now_mono = time.time(), time.monotonic()
        self._applied = (now, now_mono)
        hold_action.mark_applied(now_mono)
        from chaoslib import substitute

        arguments = substitute(dict(provider.get("arguments") or {}), configuration, secrets)
        self.checks.injected(str(activity.get("name")), str(provider.get("module")), str(provider.get("func")),
                             arguments, output, configuration)
        # the last check runs inside the hold, ahead of its end by what the checks cost so far, and at least a
        # second ahead: a check reading more data than the first one (the overload's figures) takes longer on a
        # busy machine, and one that ends after the removal was due confirms nothing (the hold keeps it in the
        # fault's second half)
        hold_action.before_end(self.checks.before_removal, lead_s=max(1.0, 0.3 + 2.0 * self.checks.cost_s))

    def rollbacks_completed(self, experiment: Any, journal: Any) -> None:
        if journal.get("status") == "interrupted" and self.interrupted_by is None:
            self.interrupted_by = "interrupt during rollbacks"

    def signal_exit(self) -> None:
        exc = sys.exc_info()[1]
        self.interrupted_by = type(exc).__name__ if exc is not None else "signal"

    def interrupted(self, experiment: Any, journal: Any) -> None:
        exc = sys.exc_info()[1]
        if exc is not None and "SIGTERM" in str(exc):
            self.interrupted_by = "SIGTERM"

    # activities
    def start_activity(self, activity: Any) -> None:
        phase = self.phase
        if phase == "method" and activity.get("type") == "probe" and threading.current_thread() is not (
                threading.main_thread()) and not activity.get("background"):
            phase = "during"  # continuous steady-state probes run in their own thread
        with self._lock:
            self._starts[id(activity)] = (time.time(), time.monotonic(), phase)

    def activity_completed(self, activity: Any, run: Any) -> None:
        end, end_mono = time.time(), time.monotonic()
        with self._lock:
            start, start_mono, phase = self._starts.pop(id(activity), (end, end_mono, self.phase))
            record = ActivityRecord(phase=phase, name=str(activity.get("name")), type=str(activity.get("type")),
                                    status=str(run.get("status")), started_at=start, ended_at=end,
                                    error=_error(run) if run.get("status") == "failed" else None)
            self.activities.append(record)
            is_hold = (activity.get("provider") or {}).get("module") == HOLD
            if phase == "method" and record.type == "action":
                self._method_actions.append((start, start_mono, end, end_mono))
                if not is_hold:
                    self._injections.append((start, start_mono, end, end_mono))
            elif phase == "rollbacks":
                self._rollbacks.append((start, start_mono, end, end_mono))

    def window(self) -> FaultWindow:
        def span(items: list[tuple[float, float, float, float]]) -> tuple[float | None, ...]:
            if not items:
                return (None, None, None, None)
            return (min(i[0] for i in items), min(i[1] for i in items),
                    max(i[2] for i in items), max(i[3] for i in items))

        inj, inj_m, inj_done, inj_done_m = span(self._injections or self._method_actions)
        rem, rem_m, removed, removed_m = span(self._rollbacks)
        applied, applied_m = self._applied if self._applied is not None else (inj_done, inj_done_m)
        if self._applied is not None:  # the injection is done when its action returned, not when it was checked
            inj_done, inj_done_m = applied, applied_m
        return FaultWindow(inj, inj_done, rem, removed, inj_m, inj_done_m, rem_m, removed_m, applied, applied_m)

    def __getattr__(self, name: str) -> Any:
        # Every other RunEventHandler callback (started, running, finish, cooldown...): nothing to record.
        if name.startswith("_"):
            raise AttributeError(name)
        return lambda *args, **kwargs: None


# --- enforced timeouts for Python activities ---------------------------------------------------------------------

class ActivityTimeout(Exception):
    """A Python activity ran past its ``timeout``."""


@contextmanager
def _enforced_python_timeouts(default_timeout_s: float | None, after: Any = None) -> Iterator[None]:
    """Make chaoslib honour ``timeout`` for Python providers during the run.

    In the main thread a SIGALRM timer raises inside the activity (it interrupts sleeps and subprocess waits;
    an interrupted ``subprocess.run`` kills its child). Background activities run in pool threads, which a
    signal cannot interrupt: there the activity runs in a helper thread and is abandoned on timeout (reported
    failed; its fault, if it ever lands, is still in the ledger and removed after the run).
    """
    import chaoslib.activity as chaoslib_activity
    from chaoslib.exceptions import ActivityFailed

    original = chaoslib_activity.run_python_activity

    def run_checked(activity: Any, configuration: Any, secrets: Any) -> Any:
        output = run_with_timeout(activity, configuration, secrets)
        if after is not None:
            after(activity, configuration, secrets, output)
        return output

    def run_with_timeout(activity: Any, configuration: Any, secrets: Any) -> Any:
        timeout = activity.get("timeout", default_timeout_s)
        if not timeout or timeout <= 0:
            return original(activity, configuration, secrets)
        message = f"activity {activity.get('name')!r} timed out after {timeout:g} s"
        if threading.current_thread() is threading.main_thread() and hasattr(signal, "setitimer"):
            return _with_alarm(lambda: original(activity, configuration, secrets), float(timeout),
                               lambda: ActivityTimeout(message))  # raised inside the provider: chaoslib wraps it
        return _with_thread(lambda: original(activity, configuration, secrets), float(timeout),
                            lambda: ActivityFailed(message))

    chaoslib_activity.run_python_activity = run_checked
    try:
        yield
    finally:
        chaoslib_activity.run_python_activity = original


def _with_alarm(call: Any, timeout: float, error: Any) -> Any:
    def on_alarm(signum: int, frame: object) -> None:
        raise error()

    previous_handler = signal.signal(signal.SIGALRM, on_alarm)
    previous_delay, _ = signal.setitimer(signal.ITIMER_REAL, timeout)
    started = time.monotonic()
    try:
        return call()
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous_handler)
        if previous_delay:  # someone else's alarm (e.g. pytest-timeout): give it back what is left of it
            signal.setitimer(signal.ITIMER_REAL, max(0.001, previous_delay - (time.monotonic() - started)))


def _with_thread(call: Any, timeout: float, error: Any) -> Any:
    outcome: dict[str, Any] = {}

    def target() -> None:
        try:
            outcome["value"] = call()
        except BaseException as exc:
            outcome["error"] = exc

    worker = threading.Thread(target=target, name="blissful-activity", daemon=True)
    worker.start()
    worker.join(timeout)
    if worker.is_alive():
        raise error()
    if "error" in outcome:
        raise outcome["error"]
    return outcome.get("value")


__all__ = ["ActivityRecord", "ChaosResult", "FaultWindow", "load", "run_experiment", "stack_configuration"]
