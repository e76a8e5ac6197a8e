"""The fixtures a test (or a service repo's own tests) asks for."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    import httpx

    from pytest_blissful.config.schema import BlissfulConfig
    from pytest_blissful.stack.model import Stack


@pytest.fixture(scope="session")
def blissful_config(pytestconfig: pytest.Config) -> BlissfulConfig:
    """The validated ``blissful.yaml`` (or ``[tool.blissful]``, or built-in defaults for the demo stack)."""
    from pytest_blissful.plugin import blissful_config as load

    return load(pytestconfig)


@pytest.fixture(scope="session")
def stack(pytestconfig: pytest.Config) -> Stack:
    """The system under test, up and healthy: ``.base_url``, ``.service(name)`` handles, ``.logs(name)``.

    Started once per run (shared by all xdist workers) from the configured compose files, the embedded
    demo stack, or ``--blissful-url``; removed at session end unless ``--blissful-keep-stack``.
    """
    from pytest_blissful.plugin import stack_manager
    from pytest_blissful.stack import StackError

    try:
        return stack_manager(pytestconfig).get()
    except StackError as exc:
        pytest.fail(f"blissful: the stack could not be started:\n{exc}", pytrace=False)


@pytest.fixture(scope="session")
def base_url(stack: Stack) -> str:
    """Base URL of the stack's entry point, e.g. ``http://127.0.0.1:49153``."""
    return stack.base_url


@pytest.fixture
def http(base_url: str) -> Iterator[httpx.Client]:
    """An ``httpx.Client`` bound to ``base_url`` (10 s timeout)."""
    import httpx

    with httpx.Client(base_url=base_url, timeout=10.0) as client:
        yield client
