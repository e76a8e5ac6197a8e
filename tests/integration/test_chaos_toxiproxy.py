"""Toxiproxy faults through its HTTP API against a real Toxiproxy: visible in the API, measured through the proxy,
and gone afterwards."""

from __future__ import annotations

import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from pytest_blissful.chaos import ChaosRefused, ToxiproxyUnreachable
from pytest_blissful.chaos.actions import toxiproxy as tp
from pytest_blissful.chaos.ledger import FaultLedger, remove_all_faults
from tests.integration.conftest import start_container

pytestmark = pytest.mark.usefixtures("isolated_state")

TOXIPROXY_IMAGE = "ghcr.io/shopify/toxiproxy:2.5.0"


@dataclass
class Toxi:
    api: str
    proxied: str  # URL of the upstream through the proxy

    @property
    def configuration(self) -> dict[str, str]:
        return {"blissful_toxiproxy_url": self.api}


def _port(container: str, port: int) -> int:
    out = subprocess.run(["docker", "port", container, str(port)], capture_output=True, text=True, check=True)
    return int(out.stdout.split()[0].rsplit(":", 1)[1])


@pytest.fixture
def toxi(network: str) -> Toxi:
    start_container(network, f"{network}-upstream", command=(
        "sh", "-c", "head -c 100000 /dev/zero > /tmp/blob && cd /tmp && exec python3 -m http.server 8000"))
    proxy = subprocess.run(
        ["docker", "run", "-d", "--network", network, "--name", f"{network}-toxiproxy", "--label",
         "io.blissful.test=chaos", "-p", "127.0.0.1::8474", "-p", "127.0.0.1::9000", TOXIPROXY_IMAGE],
        capture_output=True, text=True, check=True).stdout.strip()
    api = f"http://127.0.0.1:{_port(proxy, 8474)}"
    deadline = time.monotonic() + 30
    while True:
        try:
            httpx.post(f"{api}/proxies", json={"name": "web", "listen": "0.0.0.0:9000",
                                               "upstream": f"{network}-upstream:8000"}).raise_for_status()
            break
        except httpx.HTTPError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)
    toxi = Toxi(api, f"http://127.0.0.1:{_port(proxy, 9000)}/blob")
    while time.monotonic() < deadline:
        try:
            httpx.get(toxi.proxied, timeout=2).raise_for_status()
            break
        except httpx.HTTPError:
            time.sleep(0.2)
    return toxi


def _elapsed(url: str, timeout: float = 5.0) -> float:
    started = time.monotonic()
    httpx.get(url, timeout=timeout).raise_for_status()
    return time.monotonic() - started


def test_latency_toxic_is_visible_measured_and_removed(toxi: Toxi) -> None:
    assert _elapsed(toxi.proxied) < 0.2
    tp.create_latency_toxic("web", latency=400, jitter=0, configuration=toxi.configuration)
    [entry] = FaultLedger().faults().values()
    assert (entry["family"], entry["proxy"], entry["toxic"]) == ("toxic", "web", "blissful-latency")
    assert [t["type"] for t in tp.list_toxics("web", configuration=toxi.configuration)] == ["latency"]
    assert _elapsed(toxi.proxied) >= 0.4
    tp.delete_toxic("web", "blissful-latency", configuration=toxi.configuration)
    assert tp.list_toxics("web", configuration=toxi.configuration) == []
    assert _elapsed(toxi.proxied) < 0.2
    assert FaultLedger().faults() == {}


def test_timeout_reset_peer_and_limit_data_break_requests(toxi: Toxi) -> None:
    cfg = toxi.configuration
    cases: list[tuple[Callable[..., Any], dict[str, Any]]] = [
        (tp.create_timeout_toxic, {"timeout": 0}), (tp.create_reset_peer_toxic, {}),
        (tp.create_limiter_toxic, {"bytes_limit": 1000})]
    for create, kwargs in cases:
        create("web", configuration=cfg, **kwargs)
        with pytest.raises(httpx.HTTPError):
            httpx.get(toxi.proxied, timeout=1.0).raise_for_status()
        tp.delete_all_toxics("web", configuration=cfg)
        assert _elapsed(toxi.proxied) < 0.5
    assert FaultLedger().faults() == {}


def test_bandwidth_and_jitter_toxics(toxi: Toxi) -> None:
    cfg = toxi.configuration
    tp.create_bandwidth_toxic("web", rate=50, configuration=cfg)  # 50 KB/s: 100 kB take ~2 s
    assert _elapsed(toxi.proxied, timeout=10) > 1.5
    tp.create_jitter_toxic("web", jitter=100, latency=100, configuration=cfg)
    assert {t["name"] for t in tp.list_toxics("web", configuration=cfg)} == {"blissful-bandwidth", "blissful-jitter"}
    recorded = set(FaultLedger().faults())
    assert len(recorded) == 2
    assert set(remove_all_faults()) == recorded  # the safety net removes them without the experiment
    assert tp.list_toxics("web", configuration=cfg) == []


def test_disabled_proxy_is_a_dependency_outage(toxi: Toxi) -> None:
    tp.disable_proxy("web", configuration=toxi.configuration)
    assert not tp.proxy_enabled("web", configuration=toxi.configuration)
    with pytest.raises(httpx.TransportError):  # refused or reset (Docker's port forwarder accepts first)
        httpx.get(toxi.proxied, timeout=1.0)
    tp.enable_proxy("web", configuration=toxi.configuration)
    assert _elapsed(toxi.proxied) < 0.5
    assert FaultLedger().faults() == {}


def test_unknown_proxy_names_the_known_ones(toxi: Toxi) -> None:
    with pytest.raises(Exception, match=r"404.*proxies: web"):
        tp.create_latency_toxic("nope", latency=10, configuration=toxi.configuration)
    assert FaultLedger().faults() == {}


def test_unreachable_api_and_remote_api() -> None:
    with pytest.raises(ToxiproxyUnreachable, match=r"Toxiproxy not reachable at http://127.0.0.1:9 \(is the "
                                                   r"toxiproxy service in the stack\?\)"):
        tp.create_latency_toxic("db", latency=10, api_url="http://127.0.0.1:9")
    with pytest.raises(ChaosRefused, match=r"refusing chaos against the Toxiproxy API at http://10\.1\.2\.3:8474"):
        tp.create_latency_toxic("db", latency=10, api_url="http://10.1.2.3:8474")
    assert FaultLedger().faults() == {}
