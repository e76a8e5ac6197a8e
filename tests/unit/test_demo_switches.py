"""The demo's resilience switches really switch their mechanism, and its load balancer never replays a POST.

The demo service's settings module has no third-party imports, so it is loaded here straight from its file.
"""

from __future__ import annotations

import importlib.util
import re
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
import yaml

DEMO = Path(__file__).resolve().parents[2] / "fixtures" / "demo"


def _config_module() -> ModuleType:
    spec = importlib.util.spec_from_file_location("demo_config", DEMO / "app" / "demo" / "config.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module


def _settings(**env: str) -> Any:
    return _config_module().Settings.from_env({"INSTANCE_NAME": "t", **env})


def test_the_resilient_profile_has_every_mechanism_on() -> None:
    s = _settings()
    assert (s.circuit_breaker, s.cache_fallback, s.graceful_shutdown, s.bulkheads, s.readiness_checks) == (
        True, True, True, True, True)
    assert s.retries == 2 and s.dep_timeout_s < 1 and s.dep_deadline_s > 0
    assert s.max_concurrent == 16 and s.rate_limit is None


def test_the_fragile_profile_has_every_mechanism_off() -> None:
    s = _settings(BLISSFUL_PROFILE="fragile")
    assert not (s.circuit_breaker or s.cache_fallback or s.graceful_shutdown or s.bulkheads or s.readiness_checks)
    assert s.retries == 0 and s.dep_timeout_s >= 30 and s.dep_deadline_s == 0
    assert s.max_concurrent == 0 and s.rate_limit is None and s.event_queue_max == 0


@pytest.mark.parametrize(("env", "attribute", "off"), [
    ({"RATE_LIMIT": "off"}, "max_concurrent", 0),
    ({"GRACEFUL_SHUTDOWN": "off"}, "graceful_shutdown", False),
    ({"CIRCUIT_BREAKER": "off"}, "circuit_breaker", False),
    ({"RETRIES": "0"}, "retries", 0),
    ({"CACHE_FALLBACK": "off"}, "cache_fallback", False),
    ({"DEP_TIMEOUT_S": "30", "DEP_DEADLINE_S": "0"}, "dep_deadline_s", 0.0),
    ({"BULKHEADS": "off"}, "bulkheads", False),
    ({"READINESS_CHECKS": "off"}, "readiness_checks", False),
])
def test_each_switch_turns_only_its_mechanism_off(env: dict[str, str], attribute: str, off: object) -> None:
    resilient, switched = _settings(), _settings(**env)
    assert getattr(switched, attribute) == off
    assert getattr(resilient, attribute) != off
    changed = {k for k, v in vars(switched).items() if vars(resilient)[k] != v}
    assert changed <= {attribute, "dep_timeout_s", "rate_limit"}, changed


def test_a_rate_limit_can_still_be_a_rate() -> None:
    s = _settings(RATE_LIMIT="100/second")
    assert s.rate_limit == "100/second" and s.max_concurrent == 0


def test_compose_passes_every_switch_through_to_the_replicas() -> None:
    compose = yaml.safe_load((DEMO / "compose.yaml").read_text())
    env = compose["x-app-env"]
    for switch in ("DEP_TIMEOUT_S", "DEP_DEADLINE_S", "RETRIES", "CIRCUIT_BREAKER", "CACHE_FALLBACK", "RATE_LIMIT",
                   "GRACEFUL_SHUTDOWN", "BULKHEADS", "READINESS_CHECKS"):
        assert env[switch] == f"${{{switch}:-}}", switch
    assert compose["services"]["app1"]["ports"] == ["127.0.0.1::8000"]


def test_the_load_balancer_never_retries_non_idempotent_requests() -> None:
    conf = (DEMO / "lb" / "nginx.conf").read_text()
    directives = re.findall(r"^\s*proxy_next_upstream\s+([^;]*);", conf, flags=re.MULTILINE)
    assert directives, "the balancer has failover directives"
    assert all("non_idempotent" not in d for d in directives)
