"""An FMEA run that raises while being graded is an inconclusive row with its reason, never a raw traceback.

The error is injected into the flow (its grading step raises what the issue saw on a service without ``/health``),
because the point is the fixture's guard, whatever the flow's bug of the day is.
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Iterator
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

pytestmark = pytest.mark.usefixtures("isolated_state")


@pytest.fixture
def target(tmp_path: Path) -> Iterator[str]:
    root = tmp_path / "site"
    root.mkdir()
    (root / "health").write_text("ok")
    server = ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(SimpleHTTPRequestHandler, directory=str(root)))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def test_a_grading_error_is_an_inconclusive_row(pytester: pytest.Pytester, target: str) -> None:
    pytester.makefile(".yaml", blissful=f"stack:\n  url: {target}\nload:\n  mix: {{'GET /health': 1}}\n")
    pytester.makeconftest("""
        import pytest
        from pytest_blissful.flows import fmea

        @pytest.fixture(autouse=True)
        def grading_breaks(monkeypatch):
            def broken(self, scenario, **kwargs):
                raise ValueError("window end 4.649 is before its start 4.652")
            monkeypatch.setattr(fmea.Fmea, "_run", broken)
    """)
    pytester.makepyfile("""
        def test_scenario(fmea):
            result = fmea.run("pod-kill")
            assert result.verdict == "inconclusive"
            assert "ValueError: window end 4.649 is before its start 4.652" in result.reason
            assert result.passed, result.explain()
    """)
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*blissful: FMEA*", "*pod-kill*inconclusive*"], consecutive=False)
    assert "raise ValueError" not in result.stdout.str()


def test_unknown_scenario_and_missing_mix_name_what_to_fix(pytester: pytest.Pytester, target: str) -> None:
    pytester.makefile(".yaml", blissful=f"stack:\n  url: {target}\n")
    pytester.makepyfile("""
        def test_no_mix(fmea):
            fmea.run("pod-kill")
    """)
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*fmea.run('pod-kill'): no traffic mix for this stack: set chaos.mix or load.mix*"])
    assert "Traceback" not in result.stdout.str()
