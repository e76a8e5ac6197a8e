"""Systems under test: compose stacks (default: the embedded demo) or already-running targets.

Submodules are imported on first use: the plugin consults the ledger in every session and must stay cheap.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from pytest_blissful.stack.errors import StackError
    from pytest_blissful.stack.health import TargetUnreachable
    from pytest_blissful.stack.model import ServiceHandle, Stack

_EXPORTS = {
    "StackError": "pytest_blissful.stack.errors",
    "TargetUnreachable": "pytest_blissful.stack.health",
    "ServiceHandle": "pytest_blissful.stack.model",
    "Stack": "pytest_blissful.stack.model",
}

__all__ = ["ServiceHandle", "Stack", "StackError", "TargetUnreachable"]


def __getattr__(name: str) -> Any:
    try:
        return getattr(importlib.import_module(_EXPORTS[name]), name)
    except KeyError:
        raise AttributeError(name) from None
