"""Fault actions and probes for Chaos Toolkit experiments (``provider: {type: python, module: ...}``).

- :mod:`pytest_blissful.chaos.actions.docker`: containers (kill/stop/pause/restart), iptables packet loss,
  partitions and DNS failure, tbf bandwidth, netem latency, CPU/memory stress, and probes.
- :mod:`pytest_blissful.chaos.actions.toxiproxy`: Toxiproxy toxics and proxies (latency, timeouts, outages).
- :mod:`pytest_blissful.chaos.actions.kubernetes`: pod kills through chaostoolkit-kubernetes, readiness probes.
- :mod:`pytest_blissful.chaos.actions.chaos_mesh`: Chaos Mesh NetworkChaos, StressChaos and DNSChaos resources.
"""
