"""Errors of the chaos layer. Each message says what failed, where, and how to fix it."""

from __future__ import annotations


class ChaosError(Exception):
    """A fault could not be injected, removed or observed."""


class ChaosRefused(ChaosError):
    """Chaos was aimed at something that is not this project's own, local target."""


class NetemUnsupported(ChaosError):
    """The kernel has no ``netem`` qdisc (e.g. some cloud VMs): use Toxiproxy for latency instead."""


class ToxiproxyUnreachable(ChaosError):
    """Toxiproxy's HTTP API did not answer."""


class ToxiproxyNotListening(ToxiproxyUnreachable):
    """Nothing listens at Toxiproxy's loopback API address (connection refused): the Toxiproxy process is gone,
    and its toxics and proxies went with it."""
