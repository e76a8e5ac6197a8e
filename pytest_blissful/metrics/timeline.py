"""HDR histograms of request latency in 100 ms buckets, per endpoint and in total.

A :class:`Timeline` is the record of one load run: for every bucket of ``resolution_s`` (100 ms by default)
since the run started and every endpoint (``"GET /hello"``), a HDR histogram of latencies in microseconds plus
request, error, status and error-kind counts.  A request belongs to the bucket in which it *started* (or, under
an arrival rate, was due).  Times are seconds from ``start_epoch`` (``time.time()`` when the load started);
``start_monotonic`` is the same instant on the parent process's ``time.monotonic()`` clock, so fault-injection
times taken with either clock can be mapped onto the timeline.

Windows are exact to one bucket: :meth:`Timeline.window` takes every bucket *overlapping* the range (the
default), or with ``edges="inside"`` only the buckets lying entirely inside it: the FMEA grading uses that for a
baseline strictly before the injection and a fault window that holds only requests sent while the fault was in
place.

Pure: no I/O, no pytest.  Histograms are kept HDR-encoded (compressed, ~100-400 bytes) and decoded only when a
:class:`Window` is asked for, so hour-long runs stay bounded in memory (see ``bench/verdict_accuracy.py``).
"""

from __future__ import annotations

import json
import math
from array import array
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, Final, Literal

from hdrh.histogram import HdrHistogram

__all__ = [
    "HIGHEST_US",
    "PERCENTILES",
    "RESOLUTION_S",
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

#: Width of one timeline bucket, seconds (window edges are exact to this).
RESOLUTION_S: Final = 0.1
#: Tolerance when mapping instants onto bucket edges (float noise, not time).
_EPS: Final = 1e-6

Edges = Literal["overlap", "inside"]

_FORMAT: Final = "blissful-timeline/2"
_FORMAT_V1: Final = "blissful-timeline/1"


def new_histogram() -> HdrHistogram:
    """An empty latency histogram: 1 µs .. 1 h, 3 significant digits."""
    return HdrHistogram(1, HIGHEST_US, SIGNIFICANT_FIGURES)


def _encode_hist(hist: HdrHistogram) -> str:
    raw: bytes | str = hist.encode()
    return raw.decode("ascii") if isinstance(raw, bytes) else raw


def _decode_hist(blob: str) -> HdrHistogram:
    hist: HdrHistogram = HdrHistogram.decode(blob.encode("ascii"))
    return hist


#: A cell keeps up to this many samples as exact raw values (4 bytes each) before switching to a HDR histogram:
#: a 100 ms bucket usually holds a few dozen requests, and raw values are smaller and faster to merge than HDR.
RAW_MAX: Final = 64


class _Cell:
    """One endpoint in one bucket (mutable while a recorder or builder owns it, frozen afterwards).

    Latencies are held as raw values (``array('I')``, µs) while there are at most :data:`RAW_MAX` of them, else as
    a HDR histogram: live while recording, HDR-encoded (``blob``) once sealed.
    """

    __slots__ = ("blob", "dropped", "errors", "hist", "kinds", "raw", "requests", "statuses")

    def __init__(self) -> None:
        self.hist: HdrHistogram | None = None
        self.blob: str | None = None
        self.raw: array[int] | None = None
        self.requests = 0
        self.errors = 0
        self.dropped = 0
        self.statuses: dict[int, int] = {}
        self.kinds: dict[str, int] = {}

    def record(self, value: int, status: int, error: str | None) -> None:
        if self.hist is None and self.blob is None:
            if self.raw is None:
                self.raw = array("I")
            self.raw.append(value)
            if len(self.raw) > RAW_MAX:
                self._to_hist()
        else:
            self._to_hist().record_value(value)
        self.requests += 1
        self.statuses[status] = self.statuses.get(status, 0) + 1
        if error is not None:
            self.errors += 1
            self.kinds[error] = self.kinds.get(error, 0) + 1

    def _to_hist(self) -> HdrHistogram:
        """Switch to (and return) a live histogram holding every sample of the cell."""
        if self.hist is None:
            self.hist = _decode_hist(self.blob) if self.blob is not None else new_histogram()
            self.blob = None
            for value in self.raw or ():
                self.hist.record_value(value)
            self.raw = None
        return self.hist

    def add_to(self, hist: HdrHistogram) -> None:
        """Add this cell's latencies to ``hist``."""
        if self.raw is not None:
            for value in self.raw:
                hist.record_value(value)
        elif self.hist is not None:
            if self.hist.get_total_count():
                hist.add(self.hist)
        elif self.blob is not None:
            hist.decode_and_add(self.blob.encode("ascii"))

    @property
    def has_samples(self) -> bool:
        return bool(self.raw) or self.blob is not None or (self.hist is not None and self.hist.get_total_count() > 0)

    def seal(self) -> None:
        """Keep only a compact form (raw values, or the encoded histogram)."""
        if self.hist is not None:
            self.blob = _encode_hist(self.hist) if self.hist.get_total_count() else None
            self.hist = None

    def add(self, other: _Cell) -> None:
        if other.raw is not None and self.hist is None and self.blob is None:
            if self.raw is None:
                self.raw = array("I", other.raw)
            else:
                self.raw.extend(other.raw)
            if len(self.raw) > RAW_MAX:
                self._to_hist()
        elif not self.has_samples and self.hist is None and other.hist is None and other.blob is not None:
            self.blob = other.blob  # nothing to add to: share the immutable encoded form
            self.raw = None
        elif other.has_samples:
            other.add_to(self._to_hist())
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
        elif self.raw:
            out["v"] = self.raw.tolist()
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
        if blob is None and data.get("v"):
            cell.raw = array("I", (min(max(int(v), 0), HIGHEST_US) for v in data["v"]))
        cell.errors = int(data.get("e", 0))
        cell.dropped = int(data.get("d", 0))
        cell.statuses = {int(k): int(v) for k, v in dict(data.get("s", {})).items()}
        cell.kinds = {str(k): int(v) for k, v in dict(data.get("k", {})).items()}
        return cell


def _buckets_per_second(resolution_s: float) -> int:
    """How many buckets make one second (0 when they do not tile a second: no per-second level then)."""
    per = round(1.0 / resolution_s)
    return per if per > 1 and abs(per * resolution_s - 1.0) < _EPS else 0


def _bucket_of(offset_s: float, resolution_s: float) -> int:
    """The bucket holding the instant ``offset_s`` seconds after the start (bucket k: ``[k*r, (k+1)*r)``)."""
    return max(0, math.floor(offset_s / resolution_s + _EPS))


class Recorder:
    """Records single samples into bucketed histograms (used inside load-generator processes).

    ``flush()`` hands over everything recorded since the previous flush as a :class:`Timeline`
    fragment; fragments add up, so a late sample for an already-flushed bucket is simply sent again
    in the next fragment.  Each sample goes into its endpoint's cell and the bucket's total at once
    (recording is ~1 µs; merging histograms later would cost far more).
    """

    def __init__(self, start_epoch: float, resolution_s: float = RESOLUTION_S) -> None:
        if not resolution_s > 0:
            raise ValueError(f"resolution_s must be positive, got {resolution_s}")
        self.start_epoch = start_epoch
        self.resolution_s = float(resolution_s)
        self._per_second = _buckets_per_second(self.resolution_s)
        self._cells: dict[tuple[int, str], _Cell] = {}
        self._seconds: dict[tuple[int, str], _Cell] = {}

    @staticmethod
    def _cell(cells: dict[tuple[int, str], _Cell], key: tuple[int, str]) -> _Cell:
        cell = cells.get(key)
        if cell is None:
            cell = cells[key] = _Cell()
        return cell

    def bucket_of(self, at_epoch: float) -> int:
        return _bucket_of(at_epoch - self.start_epoch, self.resolution_s)

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
        bucket = self.bucket_of(at_epoch)
        value = min(max(int(latency_us), 0), HIGHEST_US)
        keys = [(self._cells, (bucket, endpoint)), (self._cells, (bucket, TOTAL))]
        if self._per_second:
            second = bucket // self._per_second
            keys += [(self._seconds, (second, endpoint)), (self._seconds, (second, TOTAL))]
        for cells, key in keys:
            self._cell(cells, key).record(value, status, error)

    def record_dropped(self, at_epoch: float, count: int = 1) -> None:
        """``count`` requests due at ``at_epoch`` that could not be sent in time."""
        if count > 0:
            bucket = self.bucket_of(at_epoch)
            keys = [(self._cells, (bucket, TOTAL))]
            if self._per_second:
                keys.append((self._seconds, (bucket // self._per_second, TOTAL)))
            for cells, key in keys:
                cell = cells.get(key)
                if cell is None:
                    cell = cells[key] = _Cell()
                cell.dropped += count

    def flush(self) -> Timeline:
        """Everything recorded since the last flush (a fragment; totals per bucket included)."""
        cells, self._cells = self._cells, {}
        seconds, self._seconds = self._seconds, {}
        for cell in (*cells.values(), *seconds.values()):
            cell.seal()
        return Timeline(self.start_epoch, cells=cells, resolution_s=self.resolution_s,
                        seconds=seconds if self._per_second else None)


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
    """Latency, errors and throughput of one endpoint (or all) over the buckets of ``[start_s, end_s)``.

    ``covered_s`` is the span of whole buckets really counted (``edges``: ``overlap`` takes every bucket the
    range touches, ``inside`` only those entirely within it); ``duration_s`` is its length (clipped to the run).
    """

    start_s: float
    end_s: float
    duration_s: float
    requests: int
    errors: int
    dropped: int
    statuses: Mapping[int, int]
    error_kinds: Mapping[str, int]
    endpoint_name: str = TOTAL
    edges: Edges = "overlap"
    covered_s: tuple[float, float] = (0.0, 0.0)
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
        mean = self.mean_below_us(HIGHEST_US)
        return 0.0 if mean is None else mean / 1000.0

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
        return self._timeline.window(self.start_s, self.end_s, endpoint=name, edges=self.edges)

    def _below(self, threshold_us: int) -> tuple[int, float]:
        """Count and sum (µs, HDR mid-values) of the samples of at most ``threshold_us``, from the counts array."""
        hist = self._hist
        if hist is None or not hist.get_total_count():
            return 0, 0.0
        index = hist.get_counts_array_index(min(max(int(threshold_us), 0), HIGHEST_US))
        counts = hist.counts[: index + 1]
        count = total = 0
        for i, n in enumerate(counts):
            if n:
                count += n
                total += n * hist._hdr_median_equiv_value(hist.get_value_from_index(i))
        return count, float(total)

    def count_above_us(self, threshold_us: int) -> int:
        """How many samples took longer than ``threshold_us`` (HDR precision: 3 significant digits)."""
        return self.requests_recorded - self._below(threshold_us)[0]

    def time_above_us(self, threshold_us: int) -> float:
        """Summed latency (µs, HDR mid-values) of the samples that took longer than ``threshold_us``."""
        count, total = self._below(HIGHEST_US)
        below_count, below_total = self._below(threshold_us)
        return max(0.0, total - below_total) if count > below_count else 0.0

    def mean_below_us(self, threshold_us: int) -> float | None:
        """Mean latency of the samples that took at most ``threshold_us`` (None when there are none)."""
        count, total = self._below(threshold_us)
        return total / count if count else None

    @property
    def requests_recorded(self) -> int:
        """Samples in the latency histogram (``requests``, unless a cell was built from counts alone)."""
        return int(self._hist.get_total_count()) if self._hist is not None else 0


class Timeline:
    """Immutable bucketed record of a load run (see module docstring)."""

    __slots__ = ("_cells", "_per_second", "_seconds", "duration_s", "resolution_s", "start_epoch",
                 "start_monotonic")

    def __init__(
        self,
        start_epoch: float,
        *,
        start_monotonic: float | None = None,
        duration_s: float | None = None,
        cells: Mapping[tuple[int, str], _Cell] | None = None,
        resolution_s: float = RESOLUTION_S,
        seconds: Mapping[tuple[int, str], _Cell] | None = None,
    ) -> None:
        """``seconds``: the same samples summed per whole second (an index that keeps long windows fast);
        without it windows sum the buckets."""
        if not resolution_s > 0:
            raise ValueError(f"resolution_s must be positive, got {resolution_s}")
        self.start_epoch = float(start_epoch)
        self._per_second = _buckets_per_second(float(resolution_s)) if seconds is not None else 0
        self._seconds: dict[tuple[int, str], _Cell] = dict(seconds or {}) if self._per_second else {}
        #: Width of one bucket in seconds.
        self.resolution_s = float(resolution_s)
        #: ``time.monotonic()`` of the parent process at ``start_epoch`` (NaN if unknown).
        self.start_monotonic = float("nan") if start_monotonic is None else float(start_monotonic)
        self._cells: dict[tuple[int, str], _Cell] = dict(cells or {})
        last = max((b for b, _ in self._cells), default=-1) + 1
        #: Length of the run in seconds (defaults to the end of the last bucket holding data).
        self.duration_s = last * self.resolution_s if duration_s is None else float(duration_s)

    def __repr__(self) -> str:
        total = sum(c.requests for (_, e), c in self._cells.items() if e == TOTAL)
        return (
            f"Timeline(start_epoch={self.start_epoch:.3f}, duration_s={self.duration_s:.3f}, "
            f"resolution_s={self.resolution_s:g}, seconds={len(self.seconds)}, endpoints={list(self.endpoints)}, "
            f"requests={total})"
        )

    # -- shape --------------------------------------------------------------------------------
    @property
    def endpoints(self) -> tuple[str, ...]:
        return tuple(sorted({e for _, e in self._cells if e != TOTAL}))

    @property
    def seconds(self) -> tuple[int, ...]:
        """The whole seconds holding data."""
        return tuple(sorted({math.floor(b * self.resolution_s + _EPS) for b, _ in self._cells}))

    @property
    def buckets(self) -> int:
        """Number of (bucket, endpoint) cells held: what memory grows with."""
        return len(self._cells)

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
    def bucket_span(self, start_s: float, end_s: float, edges: Edges = "overlap") -> tuple[int, int]:
        """The buckets ``[lo, hi)`` that a window over ``[start_s, end_s)`` counts."""
        r = self.resolution_s
        if edges == "inside":
            lo = math.ceil(start_s / r - _EPS)
            hi = math.floor(end_s / r + _EPS)
        elif edges == "overlap":
            lo = math.floor(start_s / r + _EPS)
            hi = math.ceil(end_s / r - _EPS)
            if hi <= lo and end_s > start_s:
                hi = lo + 1
        else:
            raise ValueError(f"edges must be 'overlap' or 'inside', got {edges!r}")
        return max(lo, 0), max(hi, max(lo, 0))

    def _cells_in(self, lo: int, hi: int, name: str) -> Iterator[_Cell]:
        """The cells of buckets ``[lo, hi)``: whole seconds from the per-second index, the edges bucket by bucket."""
        hi = min(hi, max((b + 1 for b, _ in self._cells), default=0)) if hi - lo > 4096 else hi
        per = self._per_second
        first_second, last_second = (-(-lo // per), hi // per) if per else (0, 0)
        if per and last_second > first_second:
            spans = [(lo, first_second * per), (last_second * per, hi)]
            for second in range(first_second, last_second):
                if (cell := self._seconds.get((second, name))) is not None:
                    yield cell
        else:
            spans = [(lo, hi)]
        for a, b in spans:
            for bucket in range(a, b):
                if (cell := self._cells.get((bucket, name))) is not None:
                    yield cell

    def window(self, start_s: float = 0.0, end_s: float | None = None, *, endpoint: str | None = None,
               edges: Edges = "overlap") -> Window:
        """Figures over the buckets of ``[start_s, end_s)`` (seconds since the start; see :class:`Window`)."""
        end = self.duration_s if end_s is None else end_s
        if math.isnan(start_s) or math.isnan(end):
            raise ValueError("window bounds must be numbers, got NaN")
        if end < start_s:
            raise ValueError(f"window end {end} is before its start {start_s}")
        name = TOTAL if endpoint is None else endpoint
        lo, hi = self.bucket_span(start_s, end, edges)
        merged: HdrHistogram | None = None
        acc = _Cell()
        for cell in self._cells_in(lo, hi, name):
            if cell.has_samples:
                merged = merged or new_histogram()
                cell.add_to(merged)
            acc.requests += cell.requests
            acc.errors += cell.errors
            acc.dropped += cell.dropped
            for code, n in cell.statuses.items():
                acc.statuses[code] = acc.statuses.get(code, 0) + n
            for kind, n in cell.kinds.items():
                acc.kinds[kind] = acc.kinds.get(kind, 0) + n
        first, last = lo * self.resolution_s, hi * self.resolution_s
        if self.duration_s > 0:
            last = max(min(last, self.duration_s), first)
        return Window(
            start_s=start_s,
            end_s=end,
            duration_s=max(last - first, 0.0),
            requests=acc.requests,
            errors=acc.errors,
            dropped=acc.dropped,
            statuses=dict(sorted(acc.statuses.items())),
            error_kinds=dict(sorted(acc.kinds.items(), key=lambda kv: (-kv[1], kv[0]))),
            endpoint_name=name,
            edges=edges,
            covered_s=(first, last),
            _hist=merged,
            _timeline=self,
        )

    def window_epoch(self, start: float, end: float, *, endpoint: str | None = None,
                     edges: Edges = "overlap") -> Window:
        """Like :meth:`window` with ``time.time()`` instants."""
        return self.window(self.second_at_epoch(start), self.second_at_epoch(end), endpoint=endpoint, edges=edges)

    def per_second(self, *, endpoint: str | None = None) -> tuple[SecondPoint, ...]:
        """One point per second from 0 to the end of the run (empty seconds included)."""
        return self.series(1.0, endpoint=endpoint)

    def series(self, step_s: float, *, endpoint: str | None = None) -> tuple[SecondPoint, ...]:
        """One point per ``step_s`` (a multiple of the resolution) from 0 to the end of the run."""
        name = TOTAL if endpoint is None else endpoint
        per = max(1, round(step_s / self.resolution_s))
        end_bucket = max((b + 1 for b, _ in self._cells), default=0)
        end_bucket = max(end_bucket, math.ceil(self.duration_s / self.resolution_s - _EPS))
        points = []
        for index in range(math.ceil(end_bucket / per)):
            start = index * per * self.resolution_s
            w = self.window(start, start + per * self.resolution_s, endpoint=name)
            points.append(
                SecondPoint(
                    second=index,
                    epoch=self.epoch_of(start),
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
        """A new timeline with the samples of ``self`` and ``others`` (other starts and resolutions are
        re-bucketed onto this one's buckets)."""
        builder = TimelineBuilder(self.start_epoch, resolution_s=self.resolution_s)
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
            resolution_s=self.resolution_s,
            seconds=self._seconds if self._per_second else None,
        )

    # -- crossing processes -------------------------------------------------------------------
    def encode(self) -> str:
        """A JSON string (HDR histograms as base64 V2 blobs) that :meth:`decode` reads back."""
        buckets: dict[str, dict[str, Any]] = {}
        for (bucket, endpoint), cell in sorted(self._cells.items()):
            buckets.setdefault(str(bucket), {})[endpoint] = cell.to_json()
        payload: dict[str, Any] = {
            "format": _FORMAT,
            "start_epoch": self.start_epoch,
            "duration_s": self.duration_s,
            "resolution_s": self.resolution_s,
            "buckets": buckets,
        }
        if self._per_second:
            seconds: dict[str, dict[str, Any]] = {}
            for (second, endpoint), cell in sorted(self._seconds.items()):
                seconds.setdefault(str(second), {})[endpoint] = cell.to_json()
            payload["seconds"] = seconds
        if not math.isnan(self.start_monotonic):
            payload["start_monotonic"] = self.start_monotonic
        return json.dumps(payload, separators=(",", ":"))

    @classmethod
    def decode(cls, text: str | bytes) -> Timeline:
        """Read :meth:`encode`'s output back (also the per-second ``blissful-timeline/1`` of older evidence files)."""
        data = json.loads(text)
        if not isinstance(data, dict) or data.get("format") not in (_FORMAT, _FORMAT_V1):
            raise ValueError(f"not an encoded timeline (expected format {_FORMAT!r})")
        v1 = data["format"] == _FORMAT_V1
        def cells_of(raw: Any) -> dict[tuple[int, str], _Cell]:
            return {(int(bucket), str(endpoint)): _Cell.from_json(cell)
                    for bucket, endpoints in dict(raw).items() for endpoint, cell in dict(endpoints).items()}

        cells = cells_of(data["seconds" if v1 else "buckets"])
        seconds = cells_of(data["seconds"]) if not v1 and "seconds" in data else None
        return cls(
            float(data["start_epoch"]),
            start_monotonic=data.get("start_monotonic"),
            duration_s=float(data["duration_s"]),
            cells=cells,
            resolution_s=1.0 if v1 else float(data["resolution_s"]),
            seconds=seconds,
        )

    def _items(self) -> Iterable[tuple[tuple[int, str], _Cell]]:
        return self._cells.items()

    def _second_items(self) -> Iterable[tuple[tuple[int, str], _Cell]] | None:
        return self._seconds.items() if self._per_second else None


class TimelineBuilder:
    """Accumulates timeline fragments (from several processes, over time) into one timeline."""

    def __init__(self, start_epoch: float, resolution_s: float = RESOLUTION_S) -> None:
        self.start_epoch = start_epoch
        self.resolution_s = float(resolution_s)
        self._cells: dict[tuple[int, str], _Cell] = {}
        self._seconds: dict[tuple[int, str], _Cell] | None = {} if _buckets_per_second(self.resolution_s) else None
        self._last_bucket = -1

    @staticmethod
    def _add_cell(cells: dict[tuple[int, str], _Cell], key: tuple[int, str], cell: _Cell) -> None:
        mine = cells.get(key)
        if mine is None:
            mine = cells[key] = _Cell()
        mine.add(cell)
        mine.seal()

    def add(self, fragment: Timeline | str | bytes) -> None:
        part = Timeline.decode(fragment) if isinstance(fragment, str | bytes) else fragment
        offset = part.start_epoch - self.start_epoch
        for (bucket, endpoint), cell in part._items():
            # the fragment's bucket start, on this timeline's buckets (a fragment of another start or resolution
            # lands in the bucket holding its bucket's start)
            mine_bucket = _bucket_of(offset + bucket * part.resolution_s, self.resolution_s)
            self._add_cell(self._cells, (mine_bucket, endpoint), cell)
            self._last_bucket = max(self._last_bucket, mine_bucket)
        if self._seconds is not None:
            seconds = part._second_items()
            shift = round(offset)
            if seconds is None or abs(offset - shift) > _EPS or part.resolution_s != self.resolution_s:
                self._seconds = None  # no exact per-second index for this timeline: windows sum the buckets
            else:
                for (second, endpoint), cell in seconds:
                    self._add_cell(self._seconds, (max(second + shift, 0), endpoint), cell)

    @property
    def last_second(self) -> int:
        """The latest whole second holding data (-1 if none)."""
        if self._last_bucket < 0:
            return -1
        return math.floor(self._last_bucket * self.resolution_s + _EPS)

    def build(self, *, start_monotonic: float | None = None, duration_s: float | None = None) -> Timeline:
        def copied(cells: dict[tuple[int, str], _Cell]) -> dict[tuple[int, str], _Cell]:
            out = {}
            for key, cell in cells.items():
                copy = _Cell()
                copy.add(cell)
                copy.seal()
                out[key] = copy
            return out

        return Timeline(self.start_epoch, start_monotonic=start_monotonic, duration_s=duration_s,
                        cells=copied(self._cells), resolution_s=self.resolution_s,
                        seconds=copied(self._seconds) if self._seconds is not None else None)
