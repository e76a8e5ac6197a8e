"""Reading the ``docker stats --format '{{json .}}'`` stream: the figures, and what is not a reading."""

from __future__ import annotations

import pytest

from pytest_blissful.flows.docker_stats import cpu_percent, memory_mb, parse_line

LINE = ('\x1b[H{"BlockIO":"0B / 0B","CPUPerc":"97.14%","Container":"x","ID":"d867282d2f97","MemPerc":"0.00%",'
        '"MemUsage":"86.5MiB / 23.54GiB","Name":"x","NetIO":"200B / 0B","PIDs":"2"}\x1b[K\n')


def test_a_redrawn_line_is_one_reading() -> None:
    reading = parse_line(LINE)
    assert reading is not None and reading["ID"] == "d867282d2f97"
    assert cpu_percent(reading) == pytest.approx(97.14)
    assert memory_mb(reading) == pytest.approx(86.5)


@pytest.mark.parametrize(("usage", "mb"), [("860KiB / 2GiB", 860 / 1024), ("1.5GiB / 8GiB", 1536.0),
                                           ("512B / 1GiB", 512 / 1024**2), ("12MB / 1GB", 12e6 / 1024**2)])
def test_memory_units(usage: str, mb: float) -> None:
    assert memory_mb({"MemUsage": usage}) == pytest.approx(mb)


@pytest.mark.parametrize("line", ["\x1b[J", "", " \x1b[K", "{not json", "CONTAINER ID   NAME"])
def test_screen_control_and_noise_are_not_readings(line: str) -> None:
    assert parse_line(line) is None


def test_missing_figures_are_none() -> None:
    assert cpu_percent({"CPUPerc": "--"}) is None
    assert memory_mb({"MemUsage": "-- / --"}) is None
