"""The ``base_url`` fixture, with or without pytest-base-url (which pytest-playwright and pytest-selenium pull in).

Without pytest-base-url, ``base_url`` is the stack's entry URL. With it, there is one ``base_url`` fixture, ours,
registered after pytest-base-url's so that the outcome never depends on plugin load order, and it keeps
pytest-base-url's contract:

* ``--base-url URL`` (or ini ``base_url``, or ``PYTEST_BASE_URL``) is taken as the target, like
  ``--blissful-url``: no stack is started and every blissful fixture talks to that URL;
* otherwise, in a session that uses the plugin, it is the stack's URL, which is also written back to
  ``config.option.base_url`` for other plugins that read the option;
* in a session that does not use the plugin it is ``None``, as pytest-base-url's own fixture would return;
* pytest-base-url's autouse ``_verify_url`` is replaced by one that does the same check of a given
  ``--base-url`` (``--verify-base-url``) without asking for ``base_url``, so no test starts a stack it does not use.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from pytest_blissful.stack.model import Stack

_USES_PLUGIN_KEY = pytest.StashKey[bool]()


def session_uses_plugin(session: pytest.Session) -> bool:
    config = session.config
    if _USES_PLUGIN_KEY not in config.stash:
        from pytest_blissful._session import uses_plugin
        from pytest_blissful.report.allure_hooks import is_blissful_session

        config.stash[_USES_PLUGIN_KEY] = is_blissful_session(config) or any(uses_plugin(i) for i in session.items)
    return config.stash[_USES_PLUGIN_KEY]


class StandaloneBaseUrl:
    """Registered when pytest-base-url is not installed."""

    @pytest.fixture(scope="session")
    @classmethod
    def base_url(cls, stack: Stack) -> str:
        """Base URL of the stack's entry point, e.g. ``http://127.0.0.1:49153`` (pytest-blissful)."""
        return stack.base_url


class CooperatingBaseUrl:
    """Registered (after pytest-base-url) when pytest-base-url is installed."""

    @pytest.fixture(scope="session")
    @classmethod
    def base_url(cls, request: pytest.FixtureRequest) -> str | None:
        """Base URL of the application under test (pytest-blissful, compatible with pytest-base-url):
        ``--base-url`` if given, else the blissful stack's entry URL in sessions that use pytest-blissful."""
        given: str | None = request.config.getoption("base_url", None)
        if given:
            return given
        if not session_uses_plugin(request.session):
            return None
        stack: Stack = request.getfixturevalue("stack")
        request.config.option.base_url = stack.base_url
        return stack.base_url

    @pytest.fixture(scope="session", autouse=True)
    @classmethod
    def _verify_url(cls, request: pytest.FixtureRequest) -> None:
        """pytest-base-url's ``--verify-base-url`` check, without asking for ``base_url`` in every test (that
        would start the stack for tests that never use it): only a given ``--base-url`` is checked."""
        given = request.config.getoption("base_url", None)
        if not (given and request.config.option.verify_base_url):
            return
        import httpx
        from tenacity import retry, retry_if_exception_type, stop_after_attempt, wait_exponential

        @retry(retry=retry_if_exception_type(httpx.HTTPError), stop=stop_after_attempt(4),
               wait=wait_exponential(multiplier=0.1), reraise=True)
        def verify() -> None:
            response = httpx.get(given, timeout=10)
            if response.status_code in (500, 502, 503, 504):
                raise httpx.HTTPStatusError(f"HTTP {response.status_code}", request=response.request,
                                            response=response)

        verify()


def register(config: pytest.Config) -> None:
    plugin = CooperatingBaseUrl() if config.pluginmanager.hasplugin("base_url") else StandaloneBaseUrl()
    config.pluginmanager.register(plugin, "blissful-base-url")
