"""The runner's verdicts and guarantees with in-process Python activities (chaoslib, no Docker)."""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from pytest_blissful.chaos import ChaosError, run_experiment
from pytest_blissful.chaos.runner import stack_configuration
from pytest_blissful.stack.model import ServiceHandle, Stack

pytestmark = pytest.mark.usefixtures("isolated_state")
CALLS: list[str] = []


def ok() -> bool:
    CALLS.append("ok")
    return True


def undo() -> None:
    CALLS.append("undo")


def bad() -> bool:
    return False


def slow(seconds: float = 5.0) -> bool:
    time.sleep(seconds)
    return True


def boom() -> None:
    raise RuntimeError("boom")


def ctrl_c() -> None:
    raise KeyboardInterrupt


def seen(configuration: dict[str, Any]) -> dict[str, Any]:
    CALLS.append(json.dumps({k: v for k, v in configuration.items() if k != "blissful_stack"}, sort_keys=True))
    return configuration


def activity(func: str, kind: str = "action", **arguments: Any) -> dict[str, Any]:
    return {"type": kind, "name": func,
            "provider": {"type": "python", "module": __name__, "func": func, "arguments": arguments}}


def experiment(method: list[dict[str, Any]], before: str = "ok",
               rollbacks: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    probe = activity(before, "probe")
    probe["tolerance"] = True
    return {"title": "Unit experiment", "description": "d",
            "steady-state-hypothesis": {"title": "h", "probes": [probe]},
            "method": method, "rollbacks": rollbacks or []}


@pytest.fixture(autouse=True)
def _clear_calls() -> None:
    CALLS.clear()


def test_pass(tmp_path: Path) -> None:
    result = run_experiment(experiment([activity("ok")], rollbacks=[activity("ok")]), report_dir=tmp_path)
    assert result.passed
    assert result.status == "passed"
    assert result.reason is None
    assert [(a.phase, a.type) for a in result.activities] == [
        ("before", "probe"), ("method", "action"), ("after", "probe"), ("rollbacks", "action")]
    assert result.journal_path is not None
    assert result.journal_path.name.startswith("unit-experiment-")
    assert "PASSED" in result.explain()


def test_baseline_not_met_is_inconclusive_and_nothing_is_injected(tmp_path: Path) -> None:
    result = run_experiment(experiment([activity("ok")], before="bad"), report_dir=tmp_path)
    assert result.inconclusive
    assert not result.passed
    assert result.journal_status == "completed"  # chaoslib's own verdict: a false pass
    assert result.reason == "steady state not met before the fault: 'bad' (got False)"
    assert not result.window.injected
    assert CALLS == []


def test_failed_method_action_is_inconclusive(tmp_path: Path) -> None:
    result = run_experiment(experiment([activity("boom")]), report_dir=tmp_path)
    assert result.inconclusive
    assert "method action 'boom' failed" in (result.reason or "")
    assert "RuntimeError: boom" in (result.reason or "")


def test_dry_run_is_inconclusive(tmp_path: Path) -> None:
    result = run_experiment(experiment([activity("ok")]), report_dir=tmp_path, dry=True)
    assert result.inconclusive
    assert result.reason == "dry run: no fault was injected"
    assert not result.window.injected


def test_method_without_action_is_inconclusive(tmp_path: Path) -> None:
    result = run_experiment(experiment([activity("ok", "probe")]), report_dir=tmp_path)
    assert result.inconclusive
    assert "no action" in (result.reason or "")


def test_python_activity_timeout_is_enforced(tmp_path: Path) -> None:
    slow_action = activity("slow", seconds=10)
    slow_action["timeout"] = 0.5
    started = time.monotonic()
    result = run_experiment(experiment([slow_action]), report_dir=tmp_path)
    assert time.monotonic() - started < 3
    assert result.inconclusive
    assert "timed out after 0.5 s" in (result.reason or "")


def test_default_timeout_bounds_background_activities_too(tmp_path: Path) -> None:
    slow_action = activity("slow", seconds=10)
    slow_action["background"] = True
    started = time.monotonic()
    result = run_experiment(experiment([slow_action]), report_dir=tmp_path, default_timeout_s=0.5)
    assert time.monotonic() - started < 3
    assert "timed out" in (result.reason or "")


def test_ctrl_c_plays_rollbacks_then_reraises(tmp_path: Path) -> None:
    with pytest.raises(KeyboardInterrupt, match="rollbacks played"):
        run_experiment(experiment([activity("ctrl_c")], rollbacks=[activity("undo")]), report_dir=tmp_path)
    assert CALLS[-1] == "undo"  # the rollback ran (chaoslib's default strategy would skip it)
    result = run_experiment(experiment([activity("ctrl_c")], rollbacks=[activity("ok")]), report_dir=tmp_path,
                            reraise_interrupt=False)
    assert result.inconclusive
    assert result.interrupted_by == "KeyboardInterrupt"


def test_configuration_is_bound_to_the_stack(tmp_path: Path) -> None:
    stack = Stack(name="demo", kind="compose", base_url="http://127.0.0.1:8080", project="blissful-x",
                  services={"toxiproxy": (ServiceHandle("toxiproxy", "c1", "n1", {8474: 18474}),)})
    exp = experiment([activity("seen")])
    exp["configuration"] = {"blissful_base_url": "http://elsewhere", "mine": 1}
    run_experiment(exp, stack=stack, report_dir=tmp_path, configuration={"extra": "x"})
    [bound] = [json.loads(c) for c in CALLS if c.startswith("{")]
    assert bound["blissful_base_url"] == "http://127.0.0.1:8080"
    assert bound["blissful_toxiproxy_url"] == "http://127.0.0.1:18474"
    assert bound["blissful_project"] == "blissful-x"
    assert bound["mine"] == 1
    assert bound["extra"] == "x"
    assert bound["blissful_allow_remote"] is False
    assert bound["blissful_run_id"].startswith("unit-experiment-")
    assert stack_configuration(None) == {"blissful_allow_remote": False}


def test_external_remote_target_is_refused(tmp_path: Path) -> None:
    stack = Stack(name="staging", kind="external", base_url="https://staging.example.com")
    with pytest.raises(ChaosError, match="refusing chaos against the external target 'staging'"):
        run_experiment(experiment([activity("ok")]), stack=stack, report_dir=tmp_path)
    assert CALLS == []
    result = run_experiment(experiment([activity("ok")]), stack=stack, report_dir=tmp_path, allow_remote=True)
    assert result.passed


def test_invalid_experiment_is_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "broken.json"
    path.write_text(json.dumps({"title": "t", "description": "d", "method": [
        {"type": "action", "name": "x", "provider": {"type": "python", "module": "no.such.module", "func": "f"}}]}))
    with pytest.raises(ChaosError, match=r"invalid experiment \(.*broken.json\).*no.such.module"):
        run_experiment(path, report_dir=tmp_path)


def test_chaoslib_is_not_imported_by_the_package() -> None:
    import subprocess

    code = ("import sys, pytest_blissful.chaos, pytest_blissful.chaos.actions.docker, "
            "pytest_blissful.chaos.actions.toxiproxy, pytest_blissful.chaos.ledger, pytest_blissful.plugin; "
            "print(any(m.startswith('chaoslib') for m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
