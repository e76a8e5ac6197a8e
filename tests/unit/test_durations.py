from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pytest_blissful._durations import parse_duration


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("30s", 30), ("2m", 120), ("500ms", 0.5), ("1h30m", 5400), ("1.5s", 1.5), ("45", 45), (7, 7), (0.25, 0.25)],
)
def test_parses_the_usual_forms(text: str | float, seconds: float) -> None:
    assert parse_duration(text) == pytest.approx(seconds)


@pytest.mark.parametrize("text", ["2 minutes", "s", "", "10x", "-5s", "5s5", "nan", "inf", True, None, [1]])
def test_rejects_anything_else_with_an_example(text: object) -> None:
    with pytest.raises(ValueError, match="duration"):
        parse_duration(text)


@given(st.integers(min_value=0, max_value=10_000), st.sampled_from(["ms", "s", "m", "h"]))
def test_round_trips_every_unit(number: int, unit: str) -> None:
    factor = {"ms": 0.001, "s": 1, "m": 60, "h": 3600}[unit]
    assert parse_duration(f"{number}{unit}") == pytest.approx(number * factor)


@given(st.text(max_size=12))
def test_never_raises_anything_but_value_error(text: str) -> None:
    try:
        seconds = parse_duration(text)
    except ValueError:
        return
    assert seconds >= 0
