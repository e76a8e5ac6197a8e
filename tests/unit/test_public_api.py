"""What a service repo imports from ``pytest_blissful`` (loaded lazily, so importing the package stays cheap)."""

from __future__ import annotations

import subprocess
import sys

import pytest

import pytest_blissful


@pytest.mark.parametrize("name", [n for n in pytest_blissful.__all__ if n not in ("__version__", "STAGES")])
def test_every_public_result_type_resolves(name: str) -> None:
    exported = getattr(pytest_blissful, name)
    assert exported.__name__ == name


def test_result_types_share_the_result_protocol() -> None:
    for result_type in (pytest_blissful.LoadResult, pytest_blissful.FmeaResult, pytest_blissful.Scorecard,
                        pytest_blissful.ChaosResult):
        for member in ("passed", "explain", "to_dict"):
            assert hasattr(result_type, member), f"{result_type.__name__} lacks .{member}"


def test_importing_the_package_and_the_plugin_loads_nothing_heavy() -> None:
    probe = ("import sys, pytest_blissful, pytest_blissful.plugin; "
             "heavy = [m for m in ('locust', 'gevent', 'chaoslib', 'kubernetes', 'testcontainers', 'matplotlib', "
             "'pydantic', 'httpx') if m in sys.modules]; print(','.join(heavy))")
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True).stdout.strip()
    assert out == ""
