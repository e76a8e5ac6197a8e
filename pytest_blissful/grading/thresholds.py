"""SLO thresholds as text: ``p95 < 200ms``, ``error_rate < 1%``, ``GET /hello: p99 <= 0.5s``, k6's ``p(95)<200``.

Grammar (whitespace between tokens is free)::

    threshold := [ENDPOINT ":"] METRIC OP NUMBER [UNIT]
    METRIC    := p50 | p75 | p90 | p95 | p99 | p99.9 | p999 | pN | p(N)      latency percentile
               | avg | mean | med | median | min | max                      latency
               | error_rate | rate                                          failed / all requests
               | rps | throughput                                            requests per second
               | requests | count                                            number of requests
    OP        := < | <= | > | >= | == | !=
    UNIT      := us | µs | ms | s        (latency; none means ms, as in k6)
               | %                     (error_rate; none means a fraction 0..1, as k6's rate)
               | /s | rps              (rps; optional)

Pure: parsing and evaluation only; evaluation reads any object shaped like
:class:`pytest_blissful.metrics.Window` (see :class:`MetricsSource`).
"""

from __future__ import annotations

import math
import operator
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Final, Literal, Protocol

__all__ = [
    "MetricsSource",
    "Threshold",
    "ThresholdError",
    "ThresholdReport",
    "ThresholdResult",
    "evaluate",
    "parse_threshold",
]

Kind = Literal["latency", "error_rate", "rps", "requests"]

EXAMPLES: Final = "'p95 < 200ms', 'p99 <= 0.5s', 'error_rate < 1%', 'rps > 1000', 'GET /hello: p95 < 50ms', 'p(95)<200'"

_OPS: Final[dict[str, Callable[[float, float], bool]]] = {
    "<": operator.lt,
    "<=": operator.le,
    ">": operator.gt,
    ">=": operator.ge,
    "==": operator.eq,
    "!=": operator.ne,
}
_LATENCY_UNITS: Final = {"us": 0.001, "µs": 0.001, "μs": 0.001, "ms": 1.0, "s": 1000.0}
_NAMED: Final[dict[str, tuple[Kind, str]]] = {
    "avg": ("latency", "avg"),
    "mean": ("latency", "avg"),
    "med": ("latency", "p50"),
    "median": ("latency", "p50"),
    "min": ("latency", "min"),
    "max": ("latency", "max"),
    "error_rate": ("error_rate", "error_rate"),
    "rate": ("error_rate", "error_rate"),
    "rps": ("rps", "rps"),
    "throughput": ("rps", "rps"),
    "requests": ("requests", "requests"),
    "count": ("requests", "requests"),
}
_NUMBER = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?")
_WORD = re.compile(r"[A-Za-z_]+")
_PCT = re.compile(r"p(\d+(?:\.\d+)?)|p\(\s*(\d+(?:\.\d+)?)\s*\)")


class ThresholdError(ValueError):
    """A threshold expression that cannot be parsed: says what, at which column, and shows valid syntax."""

    def __init__(self, expression: str, column: int, problem: str) -> None:
        self.expression = expression
        self.column = column  # 1-based
        self.problem = problem
        caret = " " * (max(column, 1) - 1) + "^"
        super().__init__(
            f"invalid threshold {expression!r}: {problem} (column {column})\n"
            f"    {expression}\n    {caret}\n"
            f"valid examples: {EXAMPLES}"
        )


class MetricsSource(Protocol):
    """What thresholds read: :class:`pytest_blissful.metrics.Window` has all of it."""

    @property
    def requests(self) -> int: ...
    @property
    def error_rate(self) -> float: ...
    @property
    def rps(self) -> float: ...
    @property
    def mean_ms(self) -> float: ...
    @property
    def min_ms(self) -> float: ...
    @property
    def max_ms(self) -> float: ...
    @property
    def endpoints(self) -> tuple[str, ...]: ...
    def percentile_ms(self, q: float) -> float: ...
    def endpoint(self, name: str) -> MetricsSource: ...


def _fmt_num(value: float) -> str:
    text = f"{value:.3f}".rstrip("0").rstrip(".")
    return text if text not in ("", "-0") else "0"


@dataclass(frozen=True)
class Threshold:
    """One parsed threshold.  ``limit`` is in canonical units: ms, a 0..1 fraction, req/s or a count."""

    expression: str
    metric: str  # "p95", "p99.9", "avg", "min", "max", "error_rate", "rps", "requests"
    kind: Kind
    op: str
    limit: float
    endpoint: str | None = None
    percentile: float | None = None

    def __str__(self) -> str:
        prefix = f"{self.endpoint}: " if self.endpoint else ""
        return f"{prefix}{self.metric} {self.op} {self.format_value(self.limit)}"

    def format_value(self, value: float) -> str:
        if self.kind == "latency":
            return f"{_fmt_num(value / 1000)}s" if value >= 1000 else f"{_fmt_num(value)}ms"
        if self.kind == "error_rate":
            return f"{_fmt_num(value * 100)}%"
        if self.kind == "rps":
            return f"{_fmt_num(value)}/s"
        return _fmt_num(value)

    def observe(self, source: MetricsSource) -> float:
        """The observed value of this threshold's metric in ``source`` (canonical units)."""
        if self.kind == "error_rate":
            return source.error_rate
        if self.kind == "rps":
            return source.rps
        if self.kind == "requests":
            return float(source.requests)
        if self.metric == "avg":
            return source.mean_ms
        if self.metric == "min":
            return source.min_ms
        if self.metric == "max":
            return source.max_ms
        assert self.percentile is not None
        return source.percentile_ms(self.percentile)

    def evaluate(self, source: MetricsSource) -> ThresholdResult:
        target = source
        if self.endpoint is not None:
            target = source.endpoint(self.endpoint)
        if target.requests == 0 and self.kind in ("latency", "error_rate"):
            where = f" to {self.endpoint}" if self.endpoint else ""
            note = f"no requests{where}: cannot be met"
            if self.endpoint is not None and source.endpoints:
                note += f" (endpoints seen: {', '.join(source.endpoints)})"
            return ThresholdResult(self, None, False, note)
        observed = self.observe(target)
        return ThresholdResult(self, observed, _OPS[self.op](observed, self.limit))


@dataclass(frozen=True)
class ThresholdResult:
    threshold: Threshold
    observed: float | None
    passed: bool
    note: str = ""

    @property
    def expression(self) -> str:
        return self.threshold.expression

    def __str__(self) -> str:
        mark = "✓" if self.passed else "✗"
        seen = self.note if self.observed is None else f"observed {self.threshold.format_value(self.observed)}"
        return f"{mark} {self.threshold}  ({seen})"

    def to_dict(self) -> dict[str, object]:
        t = self.threshold
        return {
            "expression": t.expression,
            "endpoint": t.endpoint,
            "metric": t.metric,
            "op": t.op,
            "limit": t.limit,
            "observed": self.observed,
            "passed": self.passed,
            "note": self.note,
        }


@dataclass(frozen=True)
class ThresholdReport:
    """All thresholds checked against one source.  Truthy when every one passed."""

    results: tuple[ThresholdResult, ...]

    @property
    def passed(self) -> bool:
        return all(r.passed for r in self.results)

    @property
    def failures(self) -> tuple[ThresholdResult, ...]:
        return tuple(r for r in self.results if not r.passed)

    def __bool__(self) -> bool:
        return self.passed

    def explain(self) -> str:
        if not self.results:
            return "no thresholds"
        return "\n".join(str(r) for r in self.results)

    def __repr__(self) -> str:
        head = "passed" if self.passed else f"{len(self.failures)} of {len(self.results)} failed"
        return f"ThresholdReport({head}:\n" + self.explain() + "\n)"

    def to_dict(self) -> dict[str, object]:
        return {"passed": self.passed, "results": [r.to_dict() for r in self.results]}


def _skip_ws(text: str, i: int) -> int:
    while i < len(text) and text[i].isspace():
        i += 1
    return i


def parse_threshold(expression: str) -> Threshold:
    """Parse one threshold; raises :class:`ThresholdError` with the column of the problem."""
    if not isinstance(expression, str):
        raise TypeError(f"a threshold is a string like 'p95 < 200ms', got {type(expression).__name__}")
    text = expression
    if not text.strip():
        raise ThresholdError(expression, 1, "empty threshold")
    endpoint: str | None = None
    i = 0
    colon = text.rfind(":")
    if colon >= 0:
        endpoint = text[:colon].strip()
        if not endpoint:
            raise ThresholdError(expression, colon + 1, "':' must follow an endpoint such as 'GET /hello'")
        i = colon + 1
    i = _skip_ws(text, i)
    if i >= len(text):
        raise ThresholdError(expression, i + 1, "missing metric after the endpoint")

    # metric
    percentile: float | None = None
    m = _PCT.match(text, i)
    if m and (m.end() >= len(text) or not (text[m.end()].isalnum() or text[m.end()] == "_")):
        raw = m.group(1) or m.group(2)
        q = float(raw)
        if m.group(1) is not None and raw == "999":
            q = 99.9
        if not 0.0 <= q <= 100.0:
            raise ThresholdError(expression, i + 1, f"percentile {raw} is outside 0..100")
        percentile = q
        kind: Kind = "latency"
        metric = f"p{_fmt_num(q)}"
        i = m.end()
    else:
        w = _WORD.match(text, i)
        if w is None:
            raise ThresholdError(expression, i + 1, f"expected a metric, found {text[i : i + 10]!r}")
        word = w.group(0)
        if word.lower() not in _NAMED:
            raise ThresholdError(
                expression,
                i + 1,
                f"unknown metric {word!r}; known: p50..p99.9, p(N), avg, min, max, error_rate, rate, rps, requests",
            )
        kind, metric = _NAMED[word.lower()]
        i = w.end()
    i = _skip_ws(text, i)

    # operator
    op = text[i : i + 2] if text[i : i + 2] in _OPS else text[i : i + 1]
    if op not in _OPS:
        found = text[i : i + 5] or "the end"
        raise ThresholdError(expression, i + 1, f"expected one of < <= > >= == != after {metric!r}, found {found!r}")
    i = _skip_ws(text, i + len(op))

    # number
    n = _NUMBER.match(text, i)
    if n is None:
        found = text[i : i + 8] or "the end"
        raise ThresholdError(expression, i + 1, f"expected a number after {op!r}, found {found!r}")
    value = float(n.group(0))
    if not math.isfinite(value):
        raise ThresholdError(expression, i + 1, "the limit must be a finite number")
    unit_at = _skip_ws(text, n.end())
    unit = text[unit_at:].rstrip()
    unit_col = unit_at + 1

    if kind == "latency":
        if unit == "":
            factor = 1.0
        elif unit in _LATENCY_UNITS:
            factor = _LATENCY_UNITS[unit]
        else:
            raise ThresholdError(expression, unit_col, f"unknown latency unit {unit!r}; use us, ms or s")
        limit = value * factor
        if limit < 0:
            raise ThresholdError(expression, i + 1, "a latency limit cannot be negative")
    elif kind == "error_rate":
        if unit == "%":
            limit = value / 100.0
        elif unit == "":
            limit = value
        else:
            raise ThresholdError(expression, unit_col, f"unknown unit {unit!r} for {metric}; use % or a fraction")
        if not 0.0 <= limit <= 1.0:
            hint = f"; did you mean {_fmt_num(value)}%?" if unit == "" and 0 < value <= 100 else ""
            raise ThresholdError(expression, i + 1, f"{metric} must be within 0..1 (or 0..100%){hint}")
    elif kind == "rps":
        if unit not in ("", "/s", "rps", "req/s"):
            raise ThresholdError(expression, unit_col, f"unknown unit {unit!r} for rps; use /s or nothing")
        limit = value
    else:
        if unit:
            raise ThresholdError(expression, unit_col, f"{metric} takes a plain count, found unit {unit!r}")
        limit = value
    return Threshold(
        expression=expression.strip(),
        metric=metric,
        kind=kind,
        op=op,
        limit=limit,
        endpoint=endpoint,
        percentile=percentile,
    )


def evaluate(thresholds: Iterable[str | Threshold], source: MetricsSource) -> ThresholdReport:
    """Check every threshold against ``source`` (all are parsed first, so a typo fails fast)."""
    parsed: Sequence[Threshold] = [t if isinstance(t, Threshold) else parse_threshold(t) for t in thresholds]
    return ThresholdReport(tuple(t.evaluate(source) for t in parsed))
