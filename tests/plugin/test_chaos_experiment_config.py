"""``chaos_experiment`` binds blissful.yaml's ``chaos.toxiproxy`` and ``chaos.helper_image`` into a user's own
experiment exactly as the FMEA flow does for its scenarios (one code path: ``experiment_configuration``)."""

from __future__ import annotations

import functools
import json
import threading
from collections.abc import Iterator
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

pytestmark = pytest.mark.usefixtures("isolated_state")

RECORDER = """
import json

def record(configuration=None):
    keys = ("blissful_toxiproxy_url", "blissful_helper_image", "blissful_base_url")
    with open("bound.json", "w") as f:
        json.dump({key: (configuration or {}).get(key) for key in keys}, f)
"""

TEST_RECORD = """
def test_own_experiment(chaos_experiment):
    chaos_experiment({"title": "records its configuration", "description": "-", "method": [
        {"type": "action", "name": "record", "provider": {"type": "python", "module": "recorder", "func": "record"}}]})
"""

TEST_TOXIPROXY = """
def test_own_toxiproxy_experiment(chaos_experiment):
    chaos_experiment({"title": "slow dependency", "description": "-", "method": [
        {"type": "action", "name": "slow", "provider": {"type": "python",
         "module": "pytest_blissful.chaos.actions.toxiproxy", "func": "create_latency_toxic",
         "arguments": {"for_proxy": "db", "latency": 100}}}]})
"""


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


def test_toxiproxy_and_helper_image_settings_reach_a_users_experiment(pytester: pytest.Pytester, target: str,
                                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("BLISSFUL_TOXIPROXY_URL", raising=False)
    monkeypatch.delenv("BLISSFUL_HELPER_IMAGE", raising=False)
    pytester.makefile(".yaml", blissful="chaos:\n  toxiproxy: {url: 'http://127.0.0.1:9/'}\n"
                                        "  helper_image: my/netfault-helper:1\n")
    pytester.makepyfile(recorder=RECORDER, test_own=TEST_RECORD)
    pytester.runpytest_subprocess("-p", "no:cacheprovider", "--blissful-url", target).assert_outcomes(passed=1)
    bound = json.loads((pytester.path / "bound.json").read_text())
    assert bound == {"blissful_toxiproxy_url": "http://127.0.0.1:9", "blissful_helper_image": "my/netfault-helper:1",
                     "blissful_base_url": target}


def test_a_toxiproxy_experiment_without_toxiproxy_names_the_setting(pytester: pytest.Pytester, target: str,
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("BLISSFUL_TOXIPROXY_URL", raising=False)
    pytester.makefile(".yaml", blissful="chaos:\n  probe_paths: [/health]\n")
    pytester.makepyfile(test_own=TEST_TOXIPROXY)
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "--blissful-url", target)
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*chaos_experiment: the experiment needs Toxiproxy (*blissful.yaml): "
                                 "Toxiproxy not found*set chaos.toxiproxy in blissful.yaml*"])
    result.stdout.no_fnmatch_line("*Traceback*")
