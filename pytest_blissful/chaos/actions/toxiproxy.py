"""Proxy-level faults through Toxiproxy's HTTP API: latency, jitter, timeouts, resets, bandwidth, data limits,
and a disabled proxy (the dependency is down).

Names and arguments follow chaostoolkit-toxiproxy (``for_proxy``, ``toxic_name``, ``latency``, ``jitter``...),
plus what that extension lacks: a reset_peer toxic, the fault ledger (every toxic is written down before it is
created, so none outlives a run) and a clear error when Toxiproxy is not there. In an experiment::

    {"type": "action", "name": "slow-db",
     "provider": {"type": "python", "module": "pytest_blissful.chaos.actions.toxiproxy",
                  "func": "create_latency_toxic", "arguments": {"for_proxy": "postgres", "latency": 500}}}

The API is ``api_url`` if given, else the configuration's ``blissful_toxiproxy_url`` (bound by the runner when
the stack publishes port 8474), else ``$BLISSFUL_TOXIPROXY_URL``, else ``http://127.0.0.1:8474``. The HTTP calls
themselves live in ``pytest_blissful.chaos.toxiproxy_client`` (shared with the fault ledger).
"""

from __future__ import annotations

from typing import Any

import pytest_blissful.chaos.safety as safety
from pytest_blissful.chaos.errors import ChaosError
from pytest_blissful.chaos.ledger import find_faults, forget_fault, record_fault
from pytest_blissful.chaos.toxiproxy_client import (
    api_url_of,
    delete_toxic_at,
    proxy_names_strict,
    set_proxy_enabled_at,
)
from pytest_blissful.chaos.toxiproxy_client import request as _request

Configuration = dict[str, Any] | None

__all__ = [
    "create_bandwidth_toxic",
    "create_jitter_toxic",
    "create_latency_toxic",
    "create_limiter_toxic",
    "create_reset_peer_toxic",
    "create_timeout_toxic",
    "create_toxic",
    "delete_all_toxics",
    "delete_toxic",
    "disable_proxy",
    "enable_proxy",
    "list_toxics",
    "proxy_enabled",
    "proxy_exists",
]


def _api(api_url: str | None, configuration: Configuration) -> str:
    api = api_url_of(api_url, configuration)
    safety.check_url(api, "the Toxiproxy API", configuration)
    return api


# --- toxics ------------------------------------------------------------------------------------------------------

def create_toxic(for_proxy: str, toxic_name: str, toxic_type: str, attributes: dict[str, Any] | None = None,
                 stream: str = "downstream", toxicity: float = 1.0, api_url: str | None = None,
                 configuration: Configuration = None) -> dict[str, Any]:
    """Add any toxic (``latency``, ``timeout``, ``reset_peer``, ``bandwidth``, ``limit_data``, ``slicer``...).
    ``stream``: ``downstream`` (dependency → client) or ``upstream`` (client → dependency)."""
    if stream not in {"downstream", "upstream"}:
        raise ChaosError(f"stream must be 'downstream' or 'upstream', got {stream!r}")
    api = _api(api_url, configuration)
    body = {"name": toxic_name, "type": toxic_type, "stream": stream, "toxicity": float(toxicity),
            "attributes": attributes or {}}
    key = record_fault("toxic", configuration, fault=f"toxic-{toxic_type}", api=api, proxy=for_proxy,
                       toxic=toxic_name)
    try:
        created: dict[str, Any] = _request("POST", api, f"/proxies/{for_proxy}/toxics", body)
    except ChaosError:
        forget_fault(key)
        raise
    return created


def create_latency_toxic(for_proxy: str, latency: int, jitter: int = 0, toxic_name: str = "blissful-latency",
                         stream: str = "downstream", toxicity: float = 1.0, api_url: str | None = None,
                         configuration: Configuration = None) -> dict[str, Any]:
    """Delay data by ``latency`` ± ``jitter`` milliseconds."""
    return create_toxic(for_proxy, toxic_name, "latency", {"latency": int(latency), "jitter": int(jitter)},
                        stream, toxicity, api_url, configuration)


def create_jitter_toxic(for_proxy: str, jitter: int, latency: int = 0, toxic_name: str = "blissful-jitter",
                        stream: str = "downstream", toxicity: float = 1.0, api_url: str | None = None,
                        configuration: Configuration = None) -> dict[str, Any]:
    """Random delays of 0..``jitter`` ms on top of ``latency`` (a latency toxic named for what it tests)."""
    return create_toxic(for_proxy, toxic_name, "latency", {"latency": int(latency), "jitter": int(jitter)},
                        stream, toxicity, api_url, configuration)


def create_timeout_toxic(for_proxy: str, timeout: int = 0, toxic_name: str = "blissful-timeout",
                         stream: str = "downstream", toxicity: float = 1.0, api_url: str | None = None,
                         configuration: Configuration = None) -> dict[str, Any]:
    """Stop all data and close the connection after ``timeout`` ms (0: hold it open forever - a hung peer)."""
    return create_toxic(for_proxy, toxic_name, "timeout", {"timeout": int(timeout)}, stream, toxicity, api_url,
                        configuration)


def create_reset_peer_toxic(for_proxy: str, timeout: int = 0, toxic_name: str = "blissful-reset-peer",
                            stream: str = "downstream", toxicity: float = 1.0, api_url: str | None = None,
                            configuration: Configuration = None) -> dict[str, Any]:
    """Reset connections (TCP RST) after ``timeout`` ms."""
    return create_toxic(for_proxy, toxic_name, "reset_peer", {"timeout": int(timeout)}, stream, toxicity,
                        api_url, configuration)


def create_bandwidth_toxic(for_proxy: str, rate: int, toxic_name: str = "blissful-bandwidth",
                           stream: str = "downstream", toxicity: float = 1.0, api_url: str | None = None,
                           configuration: Configuration = None) -> dict[str, Any]:
    """Limit throughput to ``rate`` KB/s."""
    return create_toxic(for_proxy, toxic_name, "bandwidth", {"rate": int(rate)}, stream, toxicity, api_url,
                        configuration)


def create_limiter_toxic(for_proxy: str, bytes_limit: int, toxic_name: str = "blissful-limit-data",
                         stream: str = "downstream", toxicity: float = 1.0, api_url: str | None = None,
                         configuration: Configuration = None) -> dict[str, Any]:
    """Close each connection once ``bytes_limit`` bytes went through (Toxiproxy's ``limit_data``)."""
    return create_toxic(for_proxy, toxic_name, "limit_data", {"bytes": int(bytes_limit)}, stream, toxicity,
                        api_url, configuration)


def delete_toxic(for_proxy: str, toxic_name: str, api_url: str | None = None,
                 configuration: Configuration = None) -> None:
    api = _api(api_url, configuration)
    delete_toxic_at(api, for_proxy, toxic_name)
    for key in find_faults(family="toxic", api=api, proxy=for_proxy, toxic=toxic_name):
        forget_fault(key)


def delete_all_toxics(for_proxy: str, api_url: str | None = None, configuration: Configuration = None) -> list[str]:
    """Remove every toxic of ``for_proxy`` (ours or not); returns their names."""
    names = [t["name"] for t in list_toxics(for_proxy, api_url, configuration)]
    for name in names:
        delete_toxic(for_proxy, name, api_url, configuration)
    return names


# --- proxies -----------------------------------------------------------------------------------------------------

def disable_proxy(proxy_name: str, api_url: str | None = None, configuration: Configuration = None) -> None:
    """Close the proxy's listener and connections: the dependency behind it is down for its clients."""
    api = _api(api_url, configuration)
    key = record_fault("proxy-disabled", configuration, fault="proxy-disabled", api=api, proxy=proxy_name)
    try:
        set_proxy_enabled_at(api, proxy_name, False)
    except ChaosError:
        forget_fault(key)
        raise


def enable_proxy(proxy_name: str, api_url: str | None = None, configuration: Configuration = None) -> None:
    api = _api(api_url, configuration)
    set_proxy_enabled_at(api, proxy_name, True)
    for key in find_faults(family="proxy-disabled", api=api, proxy=proxy_name):
        forget_fault(key)


# --- probes ------------------------------------------------------------------------------------------------------

def list_toxics(for_proxy: str, api_url: str | None = None,
                configuration: Configuration = None) -> list[dict[str, Any]]:
    api = api_url_of(api_url, configuration)
    toxics: list[dict[str, Any]] = _request("GET", api, f"/proxies/{for_proxy}/toxics")
    return toxics


def proxy_exists(proxy_name: str, api_url: str | None = None, configuration: Configuration = None) -> bool:
    return proxy_name in proxy_names_strict(api_url_of(api_url, configuration))


def proxy_enabled(proxy_name: str, api_url: str | None = None, configuration: Configuration = None) -> bool:
    proxy: dict[str, Any] = _request("GET", api_url_of(api_url, configuration), f"/proxies/{proxy_name}")
    return bool(proxy["enabled"])
