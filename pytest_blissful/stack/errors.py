"""The stack layer's error: every target (compose, external URL, Kubernetes) raises it, so it lives apart from all."""

from __future__ import annotations


class StackError(Exception):
    """The stack could not be brought up or down; the message says which step and why."""
