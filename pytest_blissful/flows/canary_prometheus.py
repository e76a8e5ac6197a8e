"""The Prometheus metric provider: an instant query, the result shaped as Argo's provider shapes it.

A vector or matrix becomes a list of floats (``result[0]``), a scalar a float.  Any problem (Prometheus
unreachable, a PromQL error, an unsupported result type) raises :class:`MeasurementError`: the measurement is
an ``Error``, which counts toward ``consecutiveErrorLimit`` and never crashes the run.
"""

from __future__ import annotations

import math
from typing import Any

__all__ = ["MeasurementError", "PrometheusProvider", "format_value"]


class MeasurementError(RuntimeError):
    """A provider could not take a measurement (the measurement is an Error)."""


def format_value(value: Any) -> str:
    """As Argo stores a measurement's value: ``[0.53]``, ``0.53``."""
    if isinstance(value, list):
        return "[" + ",".join(format_value(v) for v in value) + "]"
    if isinstance(value, float):
        return "NaN" if math.isnan(value) else f"{value:.6g}"
    return "" if value is None else str(value)


class PrometheusProvider:
    def __init__(self, base_url: str, timeout_s: float = 3.0) -> None:
        self.base_url = base_url.rstrip("/")
        self.timeout_s = timeout_s

    def query(self, promql: str) -> Any:
        import httpx

        try:
            response = httpx.post(f"{self.base_url}/api/v1/query", data={"query": promql}, timeout=self.timeout_s)
        except httpx.HTTPError as exc:
            raise MeasurementError(f"Prometheus at {self.base_url} unreachable: {type(exc).__name__}: {exc}") from None
        try:
            body = response.json()
        except ValueError:
            raise MeasurementError(f"Prometheus answered HTTP {response.status_code} without JSON") from None
        if body.get("status") != "success":
            raise MeasurementError(f"PromQL error ({body.get('errorType', 'error')}): {body.get('error', body)}")
        data = body.get("data") or {}
        kind = data.get("resultType")
        result: Any = data.get("result") or []
        if kind == "scalar":
            return float(result[1])
        if kind == "vector":
            return [float(sample["value"][1]) for sample in result]
        if kind == "matrix":
            return [float(v[1]) for series in result for v in series.get("values", [])]
        raise MeasurementError(f"Prometheus metric type not supported: {kind}")
