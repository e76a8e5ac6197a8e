"""Systems under test: compose stacks (default: the embedded demo) or already-running targets."""

from pytest_blissful.stack.compose import StackError
from pytest_blissful.stack.health import TargetUnreachable
from pytest_blissful.stack.model import ServiceHandle, Stack

__all__ = ["ServiceHandle", "Stack", "StackError", "TargetUnreachable"]
