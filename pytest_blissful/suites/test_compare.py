"""Old vs new: both configured versions side by side under identical, interleaved load; the new version is promoted
only when no critical metric is significantly worse and every threshold holds (``comparison:`` in blissful.yaml;
the demo compares two builds of its service by default)."""

from __future__ import annotations

import pytest

from pytest_blissful.fixtures_compare import CompareVersions

pytestmark = pytest.mark.compare


def test_new_version_can_be_promoted(compare_versions: CompareVersions) -> None:
    result = compare_versions()
    assert result.passed, result.explain()
