"""Root conftest of the pytest-blissful repository (the plugin itself loads through its entry point)."""

from __future__ import annotations

import os

from hypothesis import HealthCheck, settings

# CI machines are shared and slow: no per-example deadline there, and a fixed seed so a red run can be replayed.
settings.register_profile("ci", deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])
settings.register_profile("dev", deadline=None)
settings.load_profile("ci" if os.environ.get("CI") else "dev")
