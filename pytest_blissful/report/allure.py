"""Allure output: labels, attachments (FMEA table, timeline chart, load CSV, Chaos Toolkit journal), session files.

Called from the fixtures and the plugin's hooks; every function is a no-op when allure-pytest is not recording.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import pytest

    from pytest_blissful.chaos.fmea_run import FmeaRun
    from pytest_blissful.grading.scorecard import Scorecard
    from pytest_blissful.load._result import LoadResult


def apply_labels(item: pytest.Item) -> None:
    """Stage as epic/parent suite, scenario as feature, severity from the FMEA severity, tags."""


def attach_fmea_run(run: FmeaRun) -> None:
    """FMEA row (HTML), timeline chart with the fault window shaded, load CSV, Chaos Toolkit journal."""


def attach_load_result(result: LoadResult) -> None:
    """Per-endpoint load stats (CSV), the load table and a latency chart."""


def write_session_files(config: pytest.Config, scorecard: Scorecard | None) -> None:
    """Controller only, at session finish: environment.properties, executor.json, categories.json and a
    synthetic "Resilience scorecard" result carrying the score and the capability table."""
