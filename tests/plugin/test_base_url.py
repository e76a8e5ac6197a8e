"""``base_url`` with and without pytest-base-url (installed in the dev environment, as pytest-playwright does)."""

from __future__ import annotations

import functools
import threading
from collections.abc import Iterator
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

pytest.importorskip("pytest_base_url", reason="pytest-base-url is part of the dev extra")


@pytest.fixture
def target(tmp_path: Path) -> Iterator[str]:
    """A real HTTP server on loopback with /health and /page."""
    root = tmp_path / "site"
    root.mkdir()
    (root / "health").write_text("ok")
    (root / "page").write_text("hello from the target")
    handler = functools.partial(SimpleHTTPRequestHandler, directory=str(root))
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


USES_TARGET = """
def test_everything_points_at_the_target(base_url, http, blissful_config, stack, pytestconfig):
    assert base_url == {url!r}
    assert stack.kind == "external" and stack.base_url == {url!r}
    assert str(blissful_config.stack.url).rstrip("/") == {url!r}
    assert http.get("/page").text == "hello from the target"
"""


def test_base_url_option_of_pytest_base_url_is_the_target(pytester: pytest.Pytester, target: str) -> None:
    pytester.makepyfile(USES_TARGET.format(url=target))
    pytester.runpytest_subprocess("-p", "no:cacheprovider", "--base-url", target).assert_outcomes(passed=1)


def test_ini_base_url_is_the_target_under_xdist(pytester: pytest.Pytester, target: str) -> None:
    pytester.makepyfile(USES_TARGET.format(url=target))
    pytester.makeini(f"[pytest]\nbase_url = {target}\n")
    pytester.runpytest_subprocess("-p", "no:cacheprovider", "-n", "2").assert_outcomes(passed=1)


def test_blissful_url_is_provided_to_pytest_base_url(pytester: pytest.Pytester, target: str) -> None:
    pytester.makepyfile(f"""
        def test_provided(base_url, stack, pytestconfig):
            assert base_url == stack.base_url == {target!r}
            assert pytestconfig.option.base_url == {target!r}  # what pytest-base-url's users read
    """)
    pytester.runpytest_subprocess("-p", "no:cacheprovider", "--blissful-url", target).assert_outcomes(passed=1)


def test_unrelated_session_gets_pytest_base_url_behaviour(pytester: pytest.Pytester) -> None:
    pytester.makepyfile("""
        def test_none(base_url, pytestconfig):
            assert base_url is None
            assert pytestconfig.pluginmanager.get_plugin("blissful-base-url") is not None
    """)
    # no config, no option, no blissful fixture: no stack may be started (it would fail without Docker images)
    pytester.runpytest_subprocess("-p", "no:cacheprovider").assert_outcomes(passed=1)


def test_without_pytest_base_url_base_url_is_the_stack(pytester: pytest.Pytester, target: str) -> None:
    pytester.makepyfile(f"""
        def test_stack_url(base_url, pytestconfig):
            assert not pytestconfig.pluginmanager.hasplugin("base_url")
            assert base_url == {target!r}
    """)
    pytester.runpytest_subprocess("-p", "no:cacheprovider", "-p", "no:base_url", "--blissful-url",
                                  target).assert_outcomes(passed=1)


def test_tests_that_do_not_ask_for_base_url_start_nothing(pytester: pytest.Pytester) -> None:
    pytester.makefile(".yaml", blissful="stack:\n  url: http://127.0.0.1:9\n  startup_timeout: 1s\n")
    pytester.makepyfile("""
        def test_plain():  # pytest-base-url's autouse check must not pull the (unreachable) stack in
            pass
    """)
    pytester.runpytest_subprocess("-p", "no:cacheprovider").assert_outcomes(passed=1)


def test_verify_base_url_checks_the_given_url(pytester: pytest.Pytester, target: str) -> None:
    pytester.makepyfile("def test_plain(): pass")
    pytester.runpytest_subprocess("-p", "no:cacheprovider", "--base-url", target,
                                  "--verify-base-url").assert_outcomes(passed=1)
    failed = pytester.runpytest_subprocess("-p", "no:cacheprovider", "--base-url", "http://127.0.0.1:9",
                                           "--verify-base-url")
    failed.assert_outcomes(errors=1)
