"""Per-second HDR histograms of request latency, per endpoint and in total.

A :class:`Timeline` is the record of one load run: for every whole second since the run started and
every endpoint (``"GET /hello"``), a HDR histogram of latencies in microseconds plus request, error,
status and error-kind counts.  Seconds are counted from ``start_epoch`` (``time.time()`` when the load
started); ``start_monotonic`` is the same instant on the parent process's ``time.monotonic()`` clock, so
fault-injection times taken with either clock can be mapped onto the timeline.

Pure: no I/O, no pytest.  Histograms are kept HDR-encoded (compressed, a few KB) and decoded only
when a :class:`Window` is asked for, so hour-long runs stay small in memory.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, Final

from hdrh.histogram import HdrHistogram

__all__ = [
    "HIGHEST_US",
    "PERCENTILES",
    "TOTAL",
    "Recorder",
    "SecondPoint",
    "Timeline",
    "TimelineBuilder",
    "Window",
    "new_histogram",
]

#: Key of the all-endpoints aggregate in a timeline.
TOTAL: Final = ""
#: Highest latency a histogram tracks (1 hour, in µs); larger values are clamped to it.
HIGHEST_US: Final = 3_600_000_000
#: Significant decimal digits kept by every histogram (values < 2048 µs are exact to 1 µs).
SIGNIFICANT_FIGURES: Final = 3
#: The percentiles every window reports.
PERCENTILES: Final = (50.0, 75.0, 90.0, 95.0, 99.0, 99.9)

_FORMAT: Final = "blissful-timeline/1"


def new_histogram() -> HdrHistogram:
    """An empty latency histogram: 1 µs .. 1 h, 3 significant digits."""
    return HdrHistogram(1, HIGHEST_US, SIGNIFICANT_FIGURES)


def _encode_hist(hist: HdrHistogram) -> str:
    raw: bytes | str = hist.encode()
    return raw.decode("ascii") if isinstance(raw, bytes) else raw


def _decode_hist(blob: str) -> HdrHistogram:
    hist: HdrHistogram = HdrHistogram.decode(blob.encode("ascii"))
    return hist


class _Cell:
    """One endpoint in one second (mutable while a builder owns it, frozen afterwards)."""

    __slots__ = ("blob", "dropped", "errors", "hist", "kinds", "requests", "statuses")

    def __init__(self) -> None:
        self.hist: HdrHistogram | None = None
        self.blob: str | None = None
        self.requests = 0
        self.errors = 0
        self.dropped = 0
        self.statuses: dict[int, int] = {}
        self.kinds: dict[str, int] = {}

    def histogram(self) -> HdrHistogram | None:
        if self.hist is not None:
            return self.hist
        if self.blob is not None:
            return _decode_hist(self.blob)
        return None

    def seal(self) -> None:
        """Keep only the compact encoded form."""
        if self.hist is not None:
            self.blob = _encode_hist(self.hist) if self.hist.get_total_count() else None
            self.hist = None

    def add(self, other: _Cell) -> None:
        if self.hist is None and self.blob is None and other.hist is None and other.blob is not None:
            self.blob = other.blob  # nothing to add to: share the immutable encoded form
        elif (other_hist := other.histogram()) is not None and other_hist.get_total_count():
            mine = self.histogram()
            if mine is None:
                mine = new_histogram()
            mine.add(other_hist)
            self.hist, self.blob = mine, None
        self.requests += other.requests
        self.errors += other.errors
        self.dropped += other.dropped
        for code, n in other.statuses.items():
            self.statuses[code] = self.statuses.get(code, 0) + n
        for kind, n in other.kinds.items():
            self.kinds[kind] = self.kinds.get(kind, 0) + n

    def to_json(self) -> dict[str, Any]:
        self.seal()
        out: dict[str, Any] = {"n": self.requests}
        if self.blob is not None:
            out["h"] = self.blob
        if self.errors:
            out["e"] = self.errors
        if self.dropped:
            out["d"] = self.dropped
        if self.statuses:
            out["s"] = {str(k): v for k, v in self.statuses.items()}
        if self.kinds:
            out["k"] = dict(self.kinds)
        return out

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> _Cell:
        cell = cls()
        cell.requests = int(data.get("n", 0))
        blob = data.get("h")
        cell.blob = str(blob) if blob is not None else None
        cell.errors = int(data.get("e", 0))
        cell.dropped = int(data.get("d", 0))
        cell.statuses = {int(k): int(v) for k, v in dict(data.get("s", {})).items()}
        cell.kinds = {str(k): int(v) for k, v in dict(data.get("k", {})).items()}
        return cell


class Recorder:
    """Records single samples into per-second histograms (used inside load-generator processes).

    ``flush()`` hands over everything recorded since the previous flush as a :class:`Timeline`
    fragment; fragments add up, so a late sample for an already-flushed second is simply sent again
    in the next fragment.
    """

    def __init__(self, start_epoch: float) -> None:
        self.start_epoch = start_epoch
        self._cells: dict[tuple[int, str], _Cell] = {}

    def _cell(self, second: int, endpoint: str) -> _Cell:
        key = (second, endpoint)
        cell = self._cells.get(key)
        if cell is None:
            cell = self._cells[key] = _Cell()
            cell.hist = new_histogram()
        return cell

    def second_of(self, at_epoch: float) -> int:
        return max(0, int(at_epoch - self.start_epoch))

    def record(
        self,
        endpoint: str,
        latency_us: int,
        at_epoch: float,
        *,
        status: int = 0,
        error: str | None = None,
    ) -> None:
        """One request to ``endpoint`` that started (or was due) at ``at_epoch`` and took ``latency_us``."""
        cell = self._cell(self.second_of(at_epoch), endpoint)
        hist = cell.hist
        assert hist is not None
        hist.record_value(min(max(int(latency_us), 0), HIGHEST_US))
        cell.requests += 1
        cell.statuses[status] = cell.statuses.get(status, 0) + 1
        if error is not None:
            cell.errors += 1
            cell.kinds[error] = cell.kinds.get(error, 0) + 1

    def record_dropped(self, at_epoch: float, count: int = 1) -> None:
        """``count`` requests due at ``at_epoch`` that could not be sent in time."""
        if count > 0:
            cell = self._cells.get((self.second_of(at_epoch), TOTAL))
            if cell is None:
                cell = self._cells[(self.second_of(at_epoch), TOTAL)] = _Cell()
            cell.dropped += count

    def flush(self) -> Timeline:
        """Everything recorded since the last flush (a fragment; totals per second included)."""
        cells, self._cells = self._cells, {}
        totals: dict[int, _Cell] = {}
        for (second, endpoint), cell in cells.items():
            if endpoint == TOTAL:
                continue
            total = totals.get(second)
            if total is None:
                total = totals[second] = _Cell()
            total.add(cell)
        for second, total in totals.items():
            dropped = cells.get((second, TOTAL))
            if dropped is not None:
                total.dropped += dropped.dropped
            cells[(second, TOTAL)] = total
        for cell in cells.values():
            cell.seal()
        return Timeline(self.start_epoch, cells=cells)


@dataclass(frozen=True)
class SecondPoint:
    """The figures of one second of one endpoint (or the total), for charts and FMEA."""

    second: int
    epoch: float
    requests: int
    errors: int
    dropped: int
    p50_ms: float
    p95_ms: float
    p99_ms: float
    max_ms: float


@dataclass(frozen=True, eq=False)
class Window:
    """Latency, errors and throughput of one endpoint (or all) over whole seconds ``[start_s, end_s)``."""

    start_s: float
    end_s: float
    duration_s: float
    requests: int
    errors: int
    dropped: int
    statuses: Mapping[int, int]
    error_kinds: Mapping[str, int]
    endpoint_name: str = TOTAL
    _hist: HdrHistogram | None = field(default=None, repr=False)
    _timeline: Timeline | None = field(default=None, repr=False)
    _cache: dict[float, int] = field(default_factory=dict, repr=False)

    # -- latency ------------------------------------------------------------------------------
    def percentile_us(self, q: float) -> int:
        """Latency at percentile ``q`` (0..100) in µs; 0 when there are no samples."""
        if not 0.0 <= q <= 100.0:
            raise ValueError(f"percentile must be within 0..100, got {q}")
        if self._hist is None or not self._hist.get_total_count():
            return 0
        if q not in self._cache:
            wanted = {q, *PERCENTILES} - set(self._cache)
            found = self._hist.get_percentile_to_value_dict(sorted(wanted))
            self._cache.update({float(k): int(v) for k, v in found.items()})
        return self._cache[q]

    def percentile_ms(self, q: float) -> float:
        return self.percentile_us(q) / 1000.0

    @property
    def p50_ms(self) -> float:
        return self.percentile_ms(50.0)

    @property
    def p90_ms(self) -> float:
        return self.percentile_ms(90.0)

    @property
    def p95_ms(self) -> float:
        return self.percentile_ms(95.0)

    @property
    def p99_ms(self) -> float:
        return self.percentile_ms(99.0)

    @property
    def p999_ms(self) -> float:
        return self.percentile_ms(99.9)

    @property
    def max_us(self) -> int:
        return int(self._hist.get_max_value()) if self._hist is not None and self.requests else 0

    @property
    def max_ms(self) -> float:
        return self.max_us / 1000.0

    @property
    def min_ms(self) -> float:
        if self._hist is None or not self._hist.get_total_count():
            return 0.0
        return int(self._hist.get_min_value()) / 1000.0

    @property
    def mean_ms(self) -> float:
        if self._hist is None or not self._hist.get_total_count():
            return 0.0
        return float(self._hist.get_mean_value()) / 1000.0

    # -- rates --------------------------------------------------------------------------------
    @property
    def error_rate(self) -> float:
        """Failed requests / requests (0.0 when there were none)."""
        return self.errors / self.requests if self.requests else 0.0

    @property
    def rps(self) -> float:
        """Requests per second over the window's duration."""
        return self.requests / self.duration_s if self.duration_s > 0 else 0.0

    # -- endpoints ----------------------------------------------------------------------------
    @property
    def endpoints(self) -> tuple[str, ...]:
        return self._timeline.endpoints if self._timeline is not None else ()

    def endpoint(self, name: str) -> Window:
        """The same time range for one endpoint (``"GET /hello"``); an empty window if never seen."""
        if self._timeline is None:
            raise LookupError("this window is not attached to a timeline")
        return self._timeline.window(self.start_s, self.end_s, endpoint=name)


class Timeline:
    """Immutable per-second record of a load run (see module docstring)."""

    __slots__ = ("_cells", "duration_s", "start_epoch", "start_monotonic")

    def __init__(
        self,
        start_epoch: float,
        *,
        start_monotonic: float | None = None,
        duration_s: float | None = None,
        cells: Mapping[tuple[int, str], _Cell] | None = None,
    ) -> None:
        self.start_epoch = float(start_epoch)
        #: ``time.monotonic()`` of the parent process at ``start_epoch`` (NaN if unknown).
        self.start_monotonic = float("nan") if start_monotonic is None else float(start_monotonic)
        self._cells: dict[tuple[int, str], _Cell] = dict(cells or {})
        last = max((s for s, _ in self._cells), default=-1) + 1
        #: Length of the run in seconds (defaults to the last second holding data).
        self.duration_s = float(last) if duration_s is None else float(duration_s)

    def __repr__(self) -> str:
        total = sum(c.requests for (_, e), c in self._cells.items() if e == TOTAL)
        return (
            f"Timeline(start_epoch={self.start_epoch:.3f}, duration_s={self.duration_s:.3f}, "
            f"seconds={len(self.seconds)}, endpoints={list(self.endpoints)}, requests={total})"
        )

    # -- shape --------------------------------------------------------------------------------
    @property
    def endpoints(self) -> tuple[str, ...]:
        return tuple(sorted({e for _, e in self._cells if e != TOTAL}))

    @property
    def seconds(self) -> tuple[int, ...]:
        return tuple(sorted({s for s, _ in self._cells}))

    @property
    def requests(self) -> int:
        return sum(c.requests for (_, e), c in self._cells.items() if e == TOTAL)

    def epoch_of(self, second: float) -> float:
        return self.start_epoch + second

    def second_at_epoch(self, epoch: float) -> float:
        return epoch - self.start_epoch

    def second_at_monotonic(self, monotonic: float) -> float:
        if math.isnan(self.start_monotonic):
            raise ValueError("this timeline has no monotonic start; use second_at_epoch()")
        return monotonic - self.start_monotonic

    # -- queries ------------------------------------------------------------------------------
    def _select(self, start_s: float, end_s: float, endpoint: str) -> Iterator[_Cell]:
        for (second, name), cell in self._cells.items():
            if name == endpoint and second < end_s and second + 1 > start_s:
                yield cell

    def window(self, start_s: float = 0.0, end_s: float | None = None, *, endpoint: str | None = None) -> Window:
        """Figures over the whole seconds overlapping ``[start_s, end_s)`` (seconds since the start)."""
        end = self.duration_s if end_s is None else end_s
        if end < start_s:
            raise ValueError(f"window end {end} is before its start {start_s}")
        name = TOTAL if endpoint is None else endpoint
        merged: HdrHistogram | None = None
        acc = _Cell()
        for cell in self._select(start_s, end, name):
            hist = cell.histogram()
            if hist is not None and hist.get_total_count():
                if merged is None:
                    merged = new_histogram()
                merged.add(hist)
            acc.requests += cell.requests
            acc.errors += cell.errors
            acc.dropped += cell.dropped
            for code, n in cell.statuses.items():
                acc.statuses[code] = acc.statuses.get(code, 0) + n
            for kind, n in cell.kinds.items():
                acc.kinds[kind] = acc.kinds.get(kind, 0) + n
        lo = max(math.floor(start_s), 0)
        hi = float(math.ceil(end))
        if self.duration_s > 0:
            hi = min(hi, self.duration_s)
        duration = max(hi - lo, 0.0)
        return Window(
            start_s=start_s,
            end_s=end,
            duration_s=duration,
            requests=acc.requests,
            errors=acc.errors,
            dropped=acc.dropped,
            statuses=dict(sorted(acc.statuses.items())),
            error_kinds=dict(sorted(acc.kinds.items(), key=lambda kv: (-kv[1], kv[0]))),
            endpoint_name=name,
            _hist=merged,
            _timeline=self,
        )

    def window_epoch(self, start: float, end: float, *, endpoint: str | None = None) -> Window:
        """Like :meth:`window` with ``time.time()`` instants."""
        return self.window(self.second_at_epoch(start), self.second_at_epoch(end), endpoint=endpoint)

    def per_second(self, *, endpoint: str | None = None) -> tuple[SecondPoint, ...]:
        """One point per second from 0 to the end of the run (empty seconds included)."""
        name = TOTAL if endpoint is None else endpoint
        last = max(math.ceil(self.duration_s), max((s + 1 for s, _ in self._cells), default=0))
        points = []
        for second in range(last):
            w = self.window(second, second + 1, endpoint=name)
            points.append(
                SecondPoint(
                    second=second,
                    epoch=self.epoch_of(second),
                    requests=w.requests,
                    errors=w.errors,
                    dropped=w.dropped,
                    p50_ms=w.p50_ms,
                    p95_ms=w.p95_ms,
                    p99_ms=w.p99_ms,
                    max_ms=w.max_ms,
                )
            )
        return tuple(points)

    # -- combination --------------------------------------------------------------------------
    def merge(self, *others: Timeline) -> Timeline:
        """A new timeline with the samples of ``self`` and ``others`` (same ``start_epoch`` expected;
        other starts are re-based onto whole seconds of this one)."""
        builder = TimelineBuilder(self.start_epoch)
        builder.add(self)
        for other in others:
            builder.add(other)
        return builder.build(
            start_monotonic=self.start_monotonic,
            duration_s=max([self.duration_s, *(o.duration_s for o in others)]),
        )

    def select_side(self, side: str) -> Timeline:
        """The requests recorded as ``"METHOD [side] /path"`` (load sent to several sides at once), renamed to
        ``"METHOD /path"``, with the totals of that side only. Dropped requests (arrival-rate mode) belong to no
        side and are left out."""
        tag = f"[{side}] "
        builder = TimelineBuilder(self.start_epoch)
        fragment: dict[tuple[int, str], _Cell] = {}
        for (second, endpoint), cell in self._cells.items():
            method, _, rest = endpoint.partition(" ")
            if endpoint == TOTAL or not rest.startswith(tag):
                continue
            fragment[(second, f"{method} {rest[len(tag):]}")] = cell
            total = fragment.get((second, TOTAL))
            if total is None:
                total = fragment[(second, TOTAL)] = _Cell()
            total.add(cell)
        for cell in fragment.values():
            cell.seal()
        builder.add(Timeline(self.start_epoch, cells=fragment))
        return builder.build(start_monotonic=None if math.isnan(self.start_monotonic) else self.start_monotonic,
                             duration_s=self.duration_s)

    def with_timing(self, *, start_monotonic: float | None = None, duration_s: float | None = None) -> Timeline:
        return Timeline(
            self.start_epoch,
            start_monotonic=self.start_monotonic if start_monotonic is None else start_monotonic,
            duration_s=self.duration_s if duration_s is None else duration_s,
            cells=self._cells,
        )

    # -- crossing processes -------------------------------------------------------------------
    def encode(self) -> str:
        """A JSON string (HDR histograms as base64 V2 blobs) that :meth:`decode` reads back."""
        seconds: dict[str, dict[str, Any]] = {}
        for (second, endpoint), cell in sorted(self._cells.items()):
            seconds.setdefault(str(second), {})[endpoint] = cell.to_json()
        payload: dict[str, Any] = {
            "format": _FORMAT,
            "start_epoch": self.start_epoch,
            "duration_s": self.duration_s,
            "seconds": seconds,
        }
        if not math.isnan(self.start_monotonic):
            payload["start_monotonic"] = self.start_monotonic
        return json.dumps(payload, separators=(",", ":"))

    @classmethod
    def decode(cls, text: str | bytes) -> Timeline:
        data = json.loads(text)
        if not isinstance(data, dict) or data.get("format") != _FORMAT:
            raise ValueError(f"not an encoded timeline (expected format {_FORMAT!r})")
        cells: dict[tuple[int, str], _Cell] = {}
        for second, endpoints in dict(data["seconds"]).items():
            for endpoint, cell in dict(endpoints).items():
                cells[(int(second), str(endpoint))] = _Cell.from_json(cell)
        return cls(
            float(data["start_epoch"]),
            start_monotonic=data.get("start_monotonic"),
            duration_s=float(data["duration_s"]),
            cells=cells,
        )

    def _items(self) -> Iterable[tuple[tuple[int, str], _Cell]]:
        return self._cells.items()


class TimelineBuilder:
    """Accumulates timeline fragments (from several processes, over time) into one timeline."""

    def __init__(self, start_epoch: float) -> None:
        self.start_epoch = start_epoch
        self._cells: dict[tuple[int, str], _Cell] = {}
        self._last_second = -1

    def add(self, fragment: Timeline | str | bytes) -> None:
        part = Timeline.decode(fragment) if isinstance(fragment, str | bytes) else fragment
        shift = round(part.start_epoch - self.start_epoch)
        for (second, endpoint), cell in part._items():
            key = (max(second + shift, 0), endpoint)
            mine = self._cells.get(key)
            if mine is None:
                mine = self._cells[key] = _Cell()
            mine.add(cell)
            mine.seal()
            self._last_second = max(self._last_second, key[0])

    @property
    def last_second(self) -> int:
        """The latest second holding data (-1 if none)."""
        return self._last_second

    def build(self, *, start_monotonic: float | None = None, duration_s: float | None = None) -> Timeline:
        cells = {}
        for key, cell in self._cells.items():
            copy = _Cell()
            copy.add(cell)
            copy.seal()
            cells[key] = copy
        return Timeline(self.start_epoch, start_monotonic=start_monotonic, duration_s=duration_s, cells=cells)
