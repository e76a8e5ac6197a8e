"""Load and faults against one stack take turns across xdist workers; different stacks do not wait."""

from __future__ import annotations

import functools
import json
import threading
from collections.abc import Iterator
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from pytest_blissful._session import traffic_lock_path

pytestmark = pytest.mark.usefixtures("isolated_state")


@pytest.fixture
def target(tmp_path: Path) -> Iterator[str]:
    root = tmp_path / "site"
    root.mkdir()
    (root / "health").write_text("ok")
    (root / "item").write_text("an item")
    server = ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(SimpleHTTPRequestHandler, directory=str(root)))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def test_one_lock_per_stack() -> None:
    assert traffic_lock_path("http://127.0.0.1:8001") == traffic_lock_path("http://127.0.0.1:8001")
    assert traffic_lock_path("http://127.0.0.1:8001") != traffic_lock_path("http://127.0.0.1:8002")


def test_load_tests_on_one_stack_take_turns_across_workers(pytester: pytest.Pytester, target: str) -> None:
    pytester.makefile(".yaml", blissful="load:\n  mix:\n    'GET /item': 1\nslos: []\n")
    pytester.makepyfile("""
        import json, os, pytest

        @pytest.mark.parametrize("n", [0, 1])
        def test_load(load_test, n):
            result = load_test(users=2, duration="2s")
            assert result.totals.requests > 0
            start = result.timeline.start_epoch
            line = {"worker": os.environ.get("PYTEST_XDIST_WORKER"), "start": start, "end": start + result.duration_s}
            with open(f"window-{n}.json", "w") as f:
                json.dump(line, f)
    """)
    pytester.runpytest_subprocess("-p", "no:cacheprovider", "-n", "2", "--blissful-url",
                                  target).assert_outcomes(passed=2)
    first, second = sorted((json.loads((pytester.path / f"window-{n}.json").read_text()) for n in (0, 1)),
                           key=lambda w: w["start"])
    assert first["worker"] != second["worker"], "both ran on one worker: nothing shown about taking turns"
    assert second["start"] >= first["end"] - 0.05, f"load windows overlap: {first} {second}"


def test_a_stack_without_a_mix_names_the_key_to_set(pytester: pytest.Pytester, target: str) -> None:
    pytester.makefile(".yaml", blissful=f"stack:\n  url: {target}\n")
    pytester.makepyfile("def test_load(load_test):\n    load_test(duration='1s')\n")
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*blissful: no traffic mix for this stack: set load.mix in *blissful.yaml*"])
    assert "Traceback" not in result.stdout.str()
