"""The plugin's web metric endpoint (what the Argo Rollouts controller reads): figures as {"value": ...}, null
when the plugin has none, an error status when the source fails; every answer kept with its time."""

from __future__ import annotations

import math
import time

import httpx

from pytest_blissful.flows.canary_web import MetricServer


def test_answers_figures_and_keeps_them() -> None:
    figures = {"error_rate": 0.25, "p95": math.nan}

    def source(figure: str) -> float | None:
        if figure == "rps":
            raise RuntimeError("no load running")
        return figures.get(figure)

    with MetricServer(source) as server:
        assert server.url.startswith("http://127.0.0.1:")
        before = time.monotonic()
        assert httpx.get(f"{server.url}/figure/error_rate").json() == {"figure": "error_rate", "value": 0.25}
        assert httpx.get(f"{server.url}/figure/p95").json()["value"] is None  # NaN is no data, not a number
        assert httpx.get(f"{server.url}/figure/success_rate").json()["value"] is None
        failed = httpx.get(f"{server.url}/figure/rps")
        assert failed.status_code == 500 and "no load running" in failed.json()["error"]
        assert httpx.get(f"{server.url}/other").status_code == 404
        answers = server.answers_for("error_rate")
        assert len(answers) == 1 and answers[0].value == 0.25 and answers[0].at_monotonic >= before
        url = server.url
    try:
        httpx.get(f"{url}/figure/error_rate", timeout=1)
        stopped = False
    except httpx.TransportError:
        stopped = True
    assert stopped
