"""Toxiproxy's HTTP API, the few calls the chaos layer makes (like ``_docker.py`` for the Docker CLI).

Used by the fault actions (``actions/toxiproxy.py``) and by the fault ledger, which removes a SIGKILLed run's
toxics and disabled proxies with these calls alone, without the actions module (no import cycle).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

from pytest_blissful.chaos.errors import ChaosError, ToxiproxyNotListening, ToxiproxyUnreachable
from pytest_blissful.chaos.safety import is_loopback_host

URL_KEY = "blissful_toxiproxy_url"
URL_ENV = "BLISSFUL_TOXIPROXY_URL"
DEFAULT_URL = "http://127.0.0.1:8474"
_TIMEOUT_S = 5.0


def api_url_of(api_url: str | None, configuration: Mapping[str, Any] | None) -> str:
    """``api_url`` if given, else the configuration's ``blissful_toxiproxy_url``, else ``$BLISSFUL_TOXIPROXY_URL``,
    else ``http://127.0.0.1:8474``."""
    url = api_url or (configuration or {}).get(URL_KEY) or os.environ.get(URL_ENV) or DEFAULT_URL
    return str(url).rstrip("/")


def _unreachable(api: str, exc: Exception) -> ToxiproxyUnreachable:
    import httpx

    kind = (ToxiproxyNotListening if isinstance(exc, httpx.ConnectError) and is_loopback_host(urlsplit(api).hostname)
            else ToxiproxyUnreachable)
    return kind(f"Toxiproxy not reachable at {api} (is the toxiproxy service in the stack?): "
                                f"{type(exc).__name__}: {exc}")


def request(method: str, api: str, path: str, body: dict[str, Any] | None = None) -> Any:
    """One API call; its JSON answer (None when empty). Errors name the API, the call and the known proxies."""
    import httpx

    try:
        response = httpx.request(method, api + path, json=body, timeout=_TIMEOUT_S)
    except httpx.HTTPError as exc:
        raise _unreachable(api, exc) from None
    if response.status_code == 404 and path.startswith("/proxies/"):
        raise ChaosError(f"Toxiproxy at {api}: {method} {path} -> 404 {response.text.strip()} "
                         f"(proxies: {', '.join(proxy_names(api)) or 'none'})")
    if response.status_code >= 400:
        raise ChaosError(f"Toxiproxy at {api}: {method} {path} -> {response.status_code} {response.text.strip()}")
    return response.json() if response.content else None


def proxy_names(api: str) -> list[str]:
    """The proxies' names, or [] when they cannot be listed (for error messages)."""
    try:
        return sorted(request("GET", api, "/proxies"))
    except ChaosError:
        return []


def proxy_names_strict(api: str) -> list[str]:
    return sorted(request("GET", api, "/proxies"))


def delete_toxic_at(api: str, proxy: str, toxic: str) -> None:
    """Delete a toxic; one already gone (or a proxy already gone) counts as deleted."""
    import httpx

    try:
        response = httpx.delete(f"{api}/proxies/{proxy}/toxics/{toxic}", timeout=_TIMEOUT_S)
    except httpx.HTTPError as exc:
        raise _unreachable(api, exc) from None
    if response.status_code not in {200, 204, 404}:
        raise ChaosError(f"Toxiproxy at {api}: DELETE toxic {toxic} of {proxy} -> {response.status_code} "
                         f"{response.text.strip()}")


def set_proxy_enabled_at(api: str, proxy: str, enabled: bool) -> None:
    request("POST", api, f"/proxies/{proxy}", {"enabled": enabled})
