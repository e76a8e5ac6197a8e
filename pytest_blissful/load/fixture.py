"""The ``load_test`` fixture's callable: config defaults + per-call overrides, progress, results kept for reports."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Mapping, Sequence
from contextlib import AbstractContextManager
from pathlib import Path

from pytest_blissful._durations import parse_duration
from pytest_blissful.config.schema import BlissfulConfig
from pytest_blissful.load._result import LoadProgress, LoadResult
from pytest_blissful.load.runner import run_load


class LoadTest:
    """Call it to run load against the stack: ``load_test(users=10, duration="30s")`` → :class:`LoadResult`.

    Arguments left out come from the ``load:`` section of ``blissful.yaml``; ``slos`` default to its ``slos:``.
    ``lock`` makes the run take its turn with other traffic and faults against the same stack; a missing
    setting (no mix for a stack other than the demo) goes to ``on_config_error`` (default: ``ValueError``).
    """

    def __init__(self, base_url: str, config: BlissfulConfig, progress: Callable[[LoadProgress], None] | None,
                 on_result: Callable[[LoadResult], None], *,
                 lock: Callable[[], AbstractContextManager[object]] | None = None,
                 on_config_error: Callable[[str], None] | None = None) -> None:
        self.base_url = base_url
        self.config = config
        self._progress = progress
        self._on_result = on_result
        self._lock = lock or contextlib.nullcontext
        self._on_config_error = on_config_error
        self.results: list[LoadResult] = []

    def __call__(
        self,
        users: int | None = None,
        duration: str | float | None = None,
        spawn_rate: float | None = None,
        rate: float | None = None,
        workers: int | None = None,
        locustfile: str | Path | None = None,
        mix: Mapping[str, int] | None = None,
        slos: Sequence[str] | None = None,
        path: str = "",
    ) -> LoadResult:
        load = self.config.load
        configured_locustfile = self.config.base_dir / load.locustfile if load.locustfile else None
        if mix is None and locustfile is None:
            mix = self._configured_mix()
        with self._lock():
            result = self._run(users, duration, spawn_rate, rate, workers, locustfile, mix, slos, path,
                               configured_locustfile)
        self.results.append(result)
        self._on_result(result)
        return result

    def _configured_mix(self) -> Mapping[str, int] | None:
        try:
            return self.config.traffic_mix()
        except ValueError as exc:
            if self._on_config_error is None:
                raise
            self._on_config_error(str(exc))
            raise

    def _run(self, users: int | None, duration: str | float | None, spawn_rate: float | None, rate: float | None,
             workers: int | None, locustfile: str | Path | None, mix: Mapping[str, int] | None,
             slos: Sequence[str] | None, path: str, configured_locustfile: Path | None) -> LoadResult:
        load = self.config.load
        return run_load(
            self.base_url + path,
            users=users if users is not None else load.users,
            duration_s=parse_duration(duration) if duration is not None else load.duration,
            spawn_rate=spawn_rate if spawn_rate is not None else load.spawn_rate,
            rate=rate if rate is not None else load.rate,
            workers=workers if workers is not None else load.workers,
            locustfile=locustfile if locustfile is not None else configured_locustfile,
            mix=mix,
            slos=tuple(slos if slos is not None else self.config.slos),
            allowed_hosts=tuple(self.config.stack.allowed_hosts),
            progress=self._progress,
            request_timeout_s=load.request_timeout,
        )
