"""Faults verified in place: checked right after injection and again just before removal, against real containers
and a real Toxiproxy; a fault that is not in effect makes the run inconclusive; the hold lasts what was asked.

Holds are a few seconds: the last check must end before the removal is due (a helper container takes ~1 s to run
in the target's namespace), or it confirms nothing."""

from __future__ import annotations

import subprocess
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from pytest_blissful.chaos import run_experiment
from pytest_blissful.chaos.actions import docker as d
from pytest_blissful.stack.model import ServiceHandle, Stack
from tests.integration.conftest import start_container

pytestmark = pytest.mark.usefixtures("isolated_state")
DOCKER = "pytest_blissful.chaos.actions.docker"
TOXIPROXY = "pytest_blissful.chaos.actions.toxiproxy"
HOLD = "pytest_blissful.chaos.actions.hold"
TOXIPROXY_IMAGE = "ghcr.io/shopify/toxiproxy:2.5.0"


def _port(container: str, port: int) -> int:
    out = subprocess.run(["docker", "port", container, str(port)], capture_output=True, text=True, check=True)
    return int(out.stdout.split()[0].rsplit(":", 1)[1])


@pytest.fixture
def two(network: str) -> Stack:
    """Two idle containers of our own, ``web`` and ``other``, on one network (names resolve through Docker's DNS)."""
    web = start_container(network, f"{network}-web", label_target=False)
    other = start_container(network, f"{network}-other", label_target=False)
    return Stack(name="t", kind="compose", base_url="http://127.0.0.1:9", project="blissful-test",
                 services={"web": (ServiceHandle("web", web, f"{network}-web"),),
                           "other": (ServiceHandle("other", other, f"{network}-other"),)})


def act(func: str, module: str = DOCKER, **arguments: Any) -> dict[str, Any]:
    return {"type": "action", "name": func,
            "provider": {"type": "python", "module": module, "func": func, "arguments": arguments}}


def held(method: list[dict[str, Any]], rollbacks: list[dict[str, Any]], seconds: float) -> dict[str, Any]:
    return {"title": "checked fault", "description": "test",
            "method": [*method, act("hold", HOLD, seconds=seconds)], "rollbacks": rollbacks}


def test_a_pause_is_checked_twice_and_in_place_exactly_as_long_as_asked(two: Stack, tmp_path: Path) -> None:
    result = run_experiment(held([act("pause_container", target="web")], [act("unpause_container", target="web")],
                                 2.0), stack=two, report_dir=tmp_path, strategy="before-method-only")
    assert result.passed, result.explain()
    assert [(c.when, c.in_effect) for c in result.checks] == [("injected", True), ("before-removal", True)]
    assert "is paused" in result.checks[0].evidence
    assert result.verified
    in_place = result.window.in_place_s
    assert in_place is not None and abs(in_place - 2.0) <= 0.2, result.explain()
    assert d.container_status("web", configuration={"blissful_stack": two.to_dict()}) == ["running"]


def test_a_fault_undone_while_held_is_inconclusive_with_the_evidence(two: Stack, tmp_path: Path) -> None:
    someone_else = act("unpause_container", target="web")  # the fault is gone long before its removal
    result = run_experiment(held([act("pause_container", target="web"), someone_else],
                                 [act("unpause_container", target="web")], 2.0),
                            stack=two, report_dir=tmp_path, strategy="before-method-only")
    assert result.inconclusive
    assert result.reason is not None
    assert "fault not in effect (pause_container, checked before removal)" in result.reason
    assert "is running" in result.reason


def test_dns_failure_is_checked_by_a_failing_lookup_and_a_rule_that_drops(two: Stack, tmp_path: Path) -> None:
    result = run_experiment(held([act("add_dns_failure", target="web")], [act("remove_dns_failure", target="web")],
                                 5.0), stack=two, report_dir=tmp_path, strategy="before-method-only")
    assert result.passed, result.explain()
    injected, before_removal = result.checks
    assert injected.in_effect and "lookup of 'other' from its namespace fails" in injected.evidence
    assert before_removal.in_effect and "dropped" in before_removal.evidence


def test_a_rule_that_matches_nothing_is_not_in_effect(two: Stack, tmp_path: Path) -> None:
    """A partition of a container nobody talks to drops nothing: the fault was not exercised."""
    result = run_experiment(held([act("add_partition", target="other")], [act("remove_partition", target="other")],
                                 6.0), stack=two, report_dir=tmp_path, strategy="before-method-only")
    assert result.inconclusive
    assert "matched no packet while the fault was held" in (result.reason or "")


def test_cpu_stress_is_checked_for_the_cpu_it_uses(two: Stack, tmp_path: Path) -> None:
    result = run_experiment(held([act("add_cpu_stress", target="web", workers=1, duration_s=30)],
                                 [act("remove_cpu_stress", target="web")], 3.0),
                            stack=two, report_dir=tmp_path, strategy="before-method-only")
    assert result.checks, result.explain()
    assert "stress process(es) using" in result.checks[0].evidence
    assert result.passed, result.explain()


def test_toxics_and_a_disabled_proxy_are_checked_in_toxiproxy(network: str, tmp_path: Path) -> None:
    proxy = subprocess.run(
        ["docker", "run", "-d", "--network", network, "--name", f"{network}-toxiproxy", "--label",
         "io.blissful.test=chaos", "-p", "127.0.0.1::8474", TOXIPROXY_IMAGE],
        capture_output=True, text=True, check=True).stdout.strip()
    api = f"http://127.0.0.1:{_port(proxy, 8474)}"
    deadline = time.monotonic() + 30
    while True:
        try:
            httpx.post(f"{api}/proxies", json={"name": "db", "listen": "0.0.0.0:9000",
                                               "upstream": "127.0.0.1:1"}).raise_for_status()
            break
        except httpx.HTTPError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)
    config = {"blissful_toxiproxy_url": api}
    ok = run_experiment(held([act("create_latency_toxic", TOXIPROXY, for_proxy="db", latency=500),
                              act("disable_proxy", TOXIPROXY, proxy_name="db")],
                             [act("delete_toxic", TOXIPROXY, for_proxy="db", toxic_name="blissful-latency"),
                              act("enable_proxy", TOXIPROXY, proxy_name="db")], 2.0),
                        configuration=config, report_dir=tmp_path, strategy="before-method-only")
    assert ok.passed, ok.explain()
    assert [c.in_effect for c in ok.checks] == [True, True, True, True]
    assert "toxic 'blissful-latency' (latency" in ok.checks[0].evidence
    assert "proxy 'db' is disabled" in ok.checks[1].evidence
    wrong = run_experiment(held([act("create_latency_toxic", TOXIPROXY, for_proxy="db", latency=500,
                                     toxic_name="mine"),
                                 act("delete_toxic", TOXIPROXY, for_proxy="db", toxic_name="mine")], [], 1.0),
                           configuration=config, report_dir=tmp_path, strategy="before-method-only")
    assert wrong.inconclusive
    assert "toxic 'mine' is not on proxy 'db'" in (wrong.reason or "")
