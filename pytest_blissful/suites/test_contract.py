"""The contract suite. On any stack: the configured health and readiness paths answer. On the embedded demo (and
only there) the template's endpoints with their shapes; on another stack those are skipped, saying why."""

from __future__ import annotations

import json
import uuid
from datetime import datetime

import httpx
import pytest

from pytest_blissful.config.schema import BlissfulConfig

pytestmark = pytest.mark.smoke


@pytest.fixture
def demo(blissful_config: BlissfulConfig) -> None:
    """The template endpoints below are the demo's: another stack's contract is its own tests'."""
    if not blissful_config.uses_demo_stack:
        pytest.skip("the demo template's endpoint (this stack is not the embedded demo)")


def test_health_path_answers(http: httpx.Client, blissful_config: BlissfulConfig) -> None:
    path = blissful_config.stack.health_path
    assert http.get(path).is_success, f"{path} (stack.health_path) did not answer 2xx"


def test_readiness_path_answers(http: httpx.Client, blissful_config: BlissfulConfig) -> None:
    path = blissful_config.stack.readiness_path
    if path is None:
        pytest.skip("no stack.readiness_path configured in blissful.yaml")
    assert http.get(path).is_success, f"{path} (stack.readiness_path) did not answer 2xx"


@pytest.mark.usefixtures("demo")
def test_health_reports_healthy_with_a_timestamp(http: httpx.Client) -> None:
    response = http.get("/health")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "healthy"
    datetime.fromisoformat(body["timestamp"].replace("Z", "+00:00"))


@pytest.mark.usefixtures("demo")
def test_hello_greets_the_world(http: httpx.Client) -> None:
    response = http.get("/hello")
    assert response.status_code == 200
    assert response.json() == {"message": "Hello, World!"}


@pytest.mark.usefixtures("demo")
@pytest.mark.parametrize("name", ["Ada", "Grace-Hopper", "Zoë"])
def test_hello_greets_by_name(http: httpx.Client, name: str) -> None:
    response = http.get(f"/hello/{name}")
    assert response.status_code == 200
    assert response.json() == {"message": f"Hello, {name}!"}


@pytest.mark.usefixtures("demo")
def test_echo_returns_the_body(http: httpx.Client) -> None:
    payload = {"id": str(uuid.uuid4()), "nested": {"list": [1, 2, 3]}}
    response = http.post("/echo", content=json.dumps(payload), headers={"content-type": "application/json"})
    assert response.status_code == 200
    assert response.json() == payload


@pytest.mark.usefixtures("demo")
def test_liveness_answers(http: httpx.Client) -> None:
    assert http.get("/live").status_code == 200


@pytest.mark.usefixtures("demo")
def test_readiness_answers_when_dependencies_are_up(http: httpx.Client) -> None:
    assert http.get("/ready").status_code == 200


@pytest.mark.usefixtures("demo")
def test_metrics_expose_request_duration_and_status_counts(http: httpx.Client) -> None:
    http.get("/hello")
    response = http.get("/metrics")
    assert response.status_code == 200
    text = response.text
    assert "http_request_duration_seconds_bucket" in text, "no request-duration histogram in /metrics"
    assert "http_requests_total" in text, "no request counter in /metrics"


@pytest.mark.usefixtures("demo")
def test_responses_carry_the_service_version(http: httpx.Client) -> None:
    assert http.get("/hello").headers.get("x-app-version"), "no X-App-Version header"
