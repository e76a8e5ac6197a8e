"""Is the fault really in place? Checks run right after each injection action and again just before removal.

A fault action that returned without error has not necessarily taken effect: a paused container may have been
unpaused by someone else, a toxic may sit on the wrong proxy, an iptables rule may match nothing, a stress process
may have died or got no CPU, a DNS rule may miss the resolver the target uses. Each built-in fault action has a
check that looks at the effect itself:

========================================  =====================================================================
action                                    in effect when
========================================  =====================================================================
``pause_container``                       every container acted on is ``paused``
``kill_container`` / ``stop_container``   every container acted on is down, or was restarted after the action
                                          (its restart policy); a kill is an event, so not re-checked later
``add_packet_loss`` / ``add_partition``   our tagged rules are in the target's namespace; before removal their
                                          packet counters must have grown (the rules really dropped packets)
``add_dns_failure``                       the rules are there and a name lookup from the target's namespace fails
``add_bandwidth_limit`` / ``add_latency`` our qdisc is on the target's interfaces
``add_cpu_stress``                        the stress processes run and use at least a tenth of the CPU asked
                                          for (``workers`` × ``load_percent``, capped by the container's CPU
                                          limit and the host's cores; they compete with the load generator)
``add_memory_stress``                     the stress processes run and hold at least half the memory asked for
Toxiproxy ``create_*_toxic``              the toxic is on the proxy
Toxiproxy ``disable_proxy``               the proxy is disabled
Kubernetes ``kill_pod``                   every pod it deleted is gone or terminating (an event: not re-checked)
Chaos Mesh ``network_chaos`` /            Chaos Mesh's controller reports the resource injected: at least one
``stress_chaos`` / ``dns_chaos``          container record and every record ``Injected`` (``AllInjected``), not
                                          paused (waited for up to 5 s); before removal, still so. No status at
                                          all: no Chaos Mesh controller acted on it (is Chaos Mesh running?)
``start_overload``                        the overload generator runs and is sending; before removal, the
                                          service visibly could not keep up with it: it sheds (429/503 for at
                                          least 10% of the overload), 20% fail, or their p95 reached 3 × the
                                          baseline's (and 500 ms more); otherwise it was not an overload
========================================  =====================================================================

A fault whose check fails makes the run inconclusive, with the check's evidence as the reason. An action without a
check (a custom one) is reported as *not verifiable*; the FMEA flow treats that as not verified (inconclusive).
"""

from __future__ import annotations

import os
import re
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Literal

import pytest_blissful.chaos._docker as _docker
from pytest_blissful.chaos.errors import ChaosError

When = Literal["injected", "before-removal"]
DOCKER = "pytest_blissful.chaos.actions.docker"
TOXIPROXY = "pytest_blissful.chaos.actions.toxiproxy"
HOLD = "pytest_blissful.chaos.actions.hold"
KUBERNETES = "pytest_blissful.chaos.actions.kubernetes"
OVERLOAD = "pytest_blissful.chaos.actions.overload"
CHAOS_MESH = "pytest_blissful.chaos.actions.chaos_mesh"
CHAOS_MESH_WAIT_S = 5.0  # how long the controller gets to report a Chaos Mesh resource injected
MIN_SHARE = 0.5  # a memory stress must hold at least this share of the memory it asked for
MIN_CPU_SHARE = 0.1  # a CPU stress must get at least this share of the CPU it asked for (it competes with the load
# generator and the service: on a busy 2-core machine a 2-worker stress got 0.34 cores)


@dataclass(frozen=True)
class Check:
    """One verification of one injection action."""

    action: str  # the activity's name
    func: str  # module.func of its provider
    when: When
    in_effect: bool | None  # None: no check exists for this action
    evidence: str
    at: float  # epoch seconds when the check finished
    took_s: float = 0.0


@dataclass
class _Outcome:
    in_effect: bool
    evidence: str
    state: Any = None  # what a later check compares with (e.g. packet counters)


Checker = Callable[[Mapping[str, Any], Any, Mapping[str, Any] | None, When, Any], _Outcome]


class FaultChecks:
    """The checks of one experiment run: ``injected()`` after each injection action, ``before_removal()`` once."""

    def __init__(self) -> None:
        self.checks: list[Check] = []
        self._pending: list[tuple[str, str, Checker, Mapping[str, Any], Any, Mapping[str, Any] | None, Any]] = []
        self._removal_checked = False
        self.cost_s = 0.0  # how long the injection checks took: the lead the hold leaves for the last check

    def injected(self, name: str, module: str, func: str, arguments: Mapping[str, Any], output: Any,
                 configuration: Mapping[str, Any] | None) -> Check | None:
        """Check one method action right after it returned (None for the hold itself)."""
        if module == HOLD:
            return None
        checker = CHECKERS.get((module, func))
        if checker is None:
            if module in (DOCKER, TOXIPROXY) and _is_probe_like(func):
                return None  # a probe-like helper (http_ok, container_status...) run as an action: no fault
            check = Check(name, f"{module}.{func}", "injected", None,
                          f"no check exists for {module}.{func}: its effect cannot be verified", time.time())
            self.checks.append(check)
            return check
        started = time.monotonic()
        outcome = _run(checker, arguments, output, configuration, "injected", None)
        took = time.monotonic() - started
        self.cost_s += took
        check = Check(name, f"{module}.{func}", "injected", outcome.in_effect, outcome.evidence, time.time(), took)
        self.checks.append(check)
        if outcome.in_effect:
            self._pending.append((name, f"{module}.{func}", checker, arguments, output, configuration,
                                  outcome.state))
        return check

    def before_removal(self, due_mono: float | None = None) -> list[Check]:
        """Check every fault still in place, once, just before the rollbacks remove them. A check that ends after
        ``due_mono`` (``time.monotonic()``, when the removal is due) and finds the fault missing proves nothing (the
        removal may have started under it): it is recorded as not confirmed (``in_effect`` None), not as a fault
        gone. One that found the fault in place still counts."""
        if self._removal_checked:
            return []
        self._removal_checked = True
        done = []
        for name, func, checker, arguments, output, configuration, state in self._pending:
            started = time.monotonic()
            outcome = _run(checker, arguments, output, configuration, "before-removal", state)
            took = time.monotonic() - started
            if due_mono is not None and time.monotonic() > due_mono and not outcome.in_effect:
                # the removal may have started under the check: what it found missing proves nothing
                check = Check(name, func, "before-removal", None,
                              f"not confirmed: the check took {took:.2f} s and ended after the removal was due "
                              f"({outcome.evidence})", time.time(), took)
            else:
                check = Check(name, func, "before-removal", outcome.in_effect, outcome.evidence, time.time(), took)
            self.checks.append(check)
            done.append(check)
        return done

    @property
    def failed(self) -> list[Check]:
        return [c for c in self.checks if c.in_effect is False]

    @property
    def unverifiable(self) -> list[Check]:
        return [c for c in self.checks if c.in_effect is None]

    def reason(self) -> str | None:
        """Why the fault cannot be trusted to have been in place (None when every check passed)."""
        failed = self.failed
        if not failed:
            return None
        first = failed[0]
        moment = "after injection" if first.when == "injected" else "before removal"
        return f"fault not in effect ({first.action}, checked {moment}): {first.evidence}"


def _is_probe_like(func: str) -> bool:
    return func.startswith(("http_", "container_", "list_", "proxy_")) or func in {
        "fault_rules", "stress_running", "netem_supported"}


def _run(checker: Checker, arguments: Mapping[str, Any], output: Any, configuration: Mapping[str, Any] | None,
         when: When, state: Any) -> _Outcome:
    try:
        return checker(arguments, output, configuration, when, state)
    except (ChaosError, OSError, ValueError, KeyError, TypeError) as exc:
        return _Outcome(False, f"the check itself failed: {type(exc).__name__}: {exc}")


# --- containers ---------------------------------------------------------------------------------------------------

def _containers(arguments: Mapping[str, Any], output: Any, configuration: Mapping[str, Any] | None) -> list[str]:
    """The containers the action acted on: its return value (names), else the target resolved again."""
    if isinstance(output, list) and output and all(isinstance(o, str) for o in output):
        return list(output)
    from pytest_blissful.chaos.targets import resolve

    config = dict(configuration) if configuration is not None else None
    return [c.id for c in resolve(str(arguments["target"]), config, arguments.get("replicas", "all"))]


def _check_paused(arguments: Mapping[str, Any], output: Any, configuration: Mapping[str, Any] | None, when: When,
                  state: Any) -> _Outcome:
    states = {name: _docker.state(name) or "missing" for name in _containers(arguments, output, configuration)}
    ok = bool(states) and all(s == "paused" for s in states.values())
    return _Outcome(ok, ", ".join(f"{n} is {s}" for n, s in states.items()) or "no container acted on")


def _check_down(arguments: Mapping[str, Any], output: Any, configuration: Mapping[str, Any] | None, when: When,
                state: Any) -> _Outcome:
    if when == "before-removal":
        return _Outcome(True, "a kill/stop is an event: the target may be restarted while the fault is held")
    found = []
    ok = True
    for name in _containers(arguments, output, configuration):
        info = _docker.inspect(name)
        if info is None:
            found.append(f"{name} is gone")
            continue
        status = str(info["State"]["Status"])
        started = str(info["State"].get("StartedAt", ""))
        if status in {"exited", "dead", "restarting", "created"}:
            found.append(f"{name} is {status} (exit code {info['State'].get('ExitCode')})")
        elif status == "running" and _recent(started, 30.0):
            found.append(f"{name} was restarted at {started} (its restart policy)")
        else:
            ok = False
            found.append(f"{name} is still {status} (started {started})")
    return _Outcome(ok and bool(found), "; ".join(found) or "no container acted on")


def _recent(docker_time: str, within_s: float) -> bool:
    """Whether a Docker timestamp (RFC 3339, nanoseconds) lies within the last ``within_s`` seconds."""
    match = re.match(r"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(\.\d+)?Z", docker_time)
    if not match:
        return False
    import calendar

    epoch = calendar.timegm(time.strptime(match.group(1), "%Y-%m-%dT%H:%M:%S")) + float(match.group(2) or 0)
    return time.time() - epoch <= within_s


# --- network rules ------------------------------------------------------------------------------------------------

_FAULT_OF = {"add_packet_loss": "packet-loss", "add_partition": "partition", "add_dns_failure": "dns-failure"}


def _rule_counters(container: str, fault: str) -> tuple[int, int]:
    """(rules, packets they matched) of our tagged rules of ``fault`` in the container's namespace."""
    script = ("for t in filter raw; do iptables -w -t $t -L -v -x -n 2>/dev/null; done")
    lines = _docker.in_netns(container, script).stdout.splitlines()
    ours = [line for line in lines if f"blissful:{fault}-" in line]
    packets = 0
    for line in ours:
        fields = line.split()
        if fields and fields[0].isdigit():
            packets += int(fields[0])
    return len(ours), packets


def _peer_name(configuration: Mapping[str, Any] | None, target: str) -> str | None:
    """A service name of the stack other than the target: a lookup that normally succeeds."""
    stack = (configuration or {}).get("blissful_stack") or {}
    services = stack.get("services") if isinstance(stack, Mapping) else None
    names = sorted(str(s) for s in (services or {}) if str(s) != target)
    return names[0] if names else None


def _check_rules(func: str) -> Checker:
    fault = _FAULT_OF[func]

    def check(arguments: Mapping[str, Any], output: Any, configuration: Mapping[str, Any] | None, when: When,
              state: Any) -> _Outcome:
        counters: dict[str, int] = {}
        notes = []
        ok = True
        for name in _containers(arguments, output, configuration):
            rules, packets = _rule_counters(name, fault)
            counters[name] = packets
            if not rules:
                ok = False
                notes.append(f"{name}: no {fault} rule in its namespace")
                continue
            if when == "before-removal":
                before = (state or {}).get(name, 0)
                if packets <= before:
                    ok = False
                    notes.append(f"{name}: {rules} {fault} rule(s) matched no packet while the fault was held")
                else:
                    notes.append(f"{name}: {rules} {fault} rule(s) dropped {packets - before} packets")
            else:
                notes.append(f"{name}: {rules} {fault} rule(s) in place")
            if fault == "dns-failure" and when == "injected":
                peer = _peer_name(configuration, str(arguments.get("target", "")))
                if peer is not None:
                    lookup = _docker.in_netns(name, f"timeout 1 getent hosts {peer}; echo rc=$?", check=False)
                    resolved = "rc=0" in lookup.stdout
                    ok = ok and not resolved
                    notes.append(f"lookup of {peer!r} from its namespace "
                                 + ("still resolves" if resolved else "fails"))
        return _Outcome(ok, "; ".join(notes) or "no container acted on", counters)

    return check


def _check_qdisc(handle: str) -> Checker:
    def check(arguments: Mapping[str, Any], output: Any, configuration: Mapping[str, Any] | None, when: When,
              state: Any) -> _Outcome:
        from pytest_blissful.chaos.ledger import DEVICES

        notes, ok = [], True
        for name in _containers(arguments, output, configuration):
            shown = _docker.in_netns(name, f"for dev in {DEVICES}; do tc qdisc show dev $dev root; done").stdout
            present = f" {handle} " in shown
            ok = ok and present
            notes.append(f"{name}: qdisc {handle} " + ("present" if present else "missing"))
        return _Outcome(ok, "; ".join(notes) or "no container acted on")

    return check


# --- stress -------------------------------------------------------------------------------------------------------

_STRESS_SCRIPT = r"""
pids=""; for p in /proc/[0-9]*; do
  tr '\0' '\n' < $p/environ 2>/dev/null | grep -q '^BLISSFUL_FAULT=' && pids="$pids ${p#/proc/}"; done
# their descendants too (stress-ng workers overwrite their environment with their process titles)
for depth in 1 2 3; do for p in /proc/[0-9]*; do
  q=${p#/proc/}; set -- $(cut -d')' -f2 $p/stat 2>/dev/null)
  case " $pids " in *" $q "*) ;; *) case " $pids " in *" ${2:-x} "*) pids="$pids $q";; esac;; esac
done; done
ticks() { t=0; for p in $pids; do
  set -- $(cut -d')' -f2 /proc/$p/stat 2>/dev/null); t=$((t + ${12:-0} + ${13:-0})); done; echo $t; }
rss() { r=0; for p in $pids; do
  k=$(awk '/^VmRSS:/ {print $2}' /proc/$p/status 2>/dev/null); r=$((r + ${k:-0})); done; echo $r; }
a=$(ticks); sleep 0.5; b=$(ticks)
echo "pids=$(echo $pids | wc -w) ticks=$((b - a)) hz=$(getconf CLK_TCK 2>/dev/null || echo 100) rss_kb=$(rss)"
"""


def _stress_sample(container: str) -> dict[str, int]:
    out = _docker.exec_in(container, _STRESS_SCRIPT).stdout.strip().splitlines()
    fields = dict(item.split("=", 1) for item in (out[-1] if out else "").split() if "=" in item)
    return {k: int(v) for k, v in fields.items() if v.lstrip("-").isdigit()}


def _cpu_limit(container: str) -> float:
    info = _docker.inspect(container) or {}
    host = info.get("HostConfig") or {}
    nano = int(host.get("NanoCpus") or 0)
    quota, period = int(host.get("CpuQuota") or 0), int(host.get("CpuPeriod") or 0)
    limits = [float(os.cpu_count() or 1)]
    if nano > 0:
        limits.append(nano / 1e9)
    if quota > 0 and period > 0:
        limits.append(quota / period)
    return min(limits)


def _check_cpu_stress(arguments: Mapping[str, Any], output: Any, configuration: Mapping[str, Any] | None,
                      when: When, state: Any) -> _Outcome:
    asked = int(arguments.get("workers", 1)) * int(arguments.get("load_percent", 100)) / 100
    notes, ok = [], True
    for name in _containers(arguments, output, configuration):
        want = min(asked, _cpu_limit(name))
        deadline = time.monotonic() + 2.0  # stress-ng starts its workers after a moment
        while True:
            sample = _stress_sample(name)
            used = sample.get("ticks", 0) / max(sample.get("hz", 100), 1) / 0.5
            good = sample.get("pids", 0) > 0 and used >= MIN_CPU_SHARE * want
            if good or time.monotonic() > deadline:
                break
        ok = ok and good
        notes.append(f"{name}: {sample.get('pids', 0)} stress process(es) using {used:.2f} CPU "
                     f"(asked {want:.2f}, at least {MIN_CPU_SHARE * want:.2f} needed)")
    return _Outcome(ok, "; ".join(notes) or "no container acted on")


def _size_bytes(size: str) -> float | None:
    match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([kKmMgG]?)[bB]?\s*", str(size))
    if not match:
        return None  # a percentage: the amount depends on what was free
    return float(match.group(1)) * {"": 1, "k": 2**10, "m": 2**20, "g": 2**30}[match.group(2).lower()]


def _check_memory_stress(arguments: Mapping[str, Any], output: Any, configuration: Mapping[str, Any] | None,
                         when: When, state: Any) -> _Outcome:
    per_worker = _size_bytes(str(arguments.get("size", "256M")))
    asked = per_worker * int(arguments.get("workers", 1)) if per_worker is not None else None
    notes, ok = [], True
    for name in _containers(arguments, output, configuration):
        deadline = time.monotonic() + 3.0  # stress-ng needs a moment to fill its memory
        while True:
            sample = _stress_sample(name)
            held = sample.get("rss_kb", 0) * 1024
            good = sample.get("pids", 0) > 0 and (held > 0 if asked is None else held >= MIN_SHARE * asked)
            if good or time.monotonic() > deadline:
                break
        ok = ok and good
        wanted = "some" if asked is None else f"{asked / 2**20:.0f} MiB asked"
        notes.append(f"{name}: {sample.get('pids', 0)} stress process(es) holding {held / 2**20:.0f} MiB ({wanted})")
    return _Outcome(ok, "; ".join(notes) or "no container acted on")


# --- Toxiproxy ----------------------------------------------------------------------------------------------------

_TOXIC_DEFAULTS = {"create_latency_toxic": "blissful-latency", "create_jitter_toxic": "blissful-jitter",
                   "create_timeout_toxic": "blissful-timeout", "create_reset_peer_toxic": "blissful-reset-peer",
                   "create_bandwidth_toxic": "blissful-bandwidth", "create_limiter_toxic": "blissful-limit-data"}


def _check_toxic(func: str) -> Checker:
    def check(arguments: Mapping[str, Any], output: Any, configuration: Mapping[str, Any] | None, when: When,
              state: Any) -> _Outcome:
        from pytest_blissful.chaos.actions.toxiproxy import list_toxics

        proxy = str(arguments["for_proxy"])
        name = str(arguments.get("toxic_name") or _TOXIC_DEFAULTS.get(func, ""))
        config = dict(configuration) if configuration is not None else None
        toxics = list_toxics(proxy, arguments.get("api_url"), config)
        found = [t for t in toxics if t.get("name") == name]
        if not found:
            return _Outcome(False, f"toxic {name!r} is not on proxy {proxy!r} "
                                   f"(its toxics: {', '.join(t.get('name', '?') for t in toxics) or 'none'})")
        toxic = found[0]
        return _Outcome(True, f"toxic {name!r} ({toxic.get('type')}, {toxic.get('attributes')}) on proxy {proxy!r}")

    return check


def _check_proxy_disabled(arguments: Mapping[str, Any], output: Any, configuration: Mapping[str, Any] | None,
                          when: When, state: Any) -> _Outcome:
    from pytest_blissful.chaos.actions.toxiproxy import proxy_enabled

    proxy = str(arguments["proxy_name"])
    config = dict(configuration) if configuration is not None else None
    enabled = proxy_enabled(proxy, arguments.get("api_url"), config)
    return _Outcome(not enabled, f"proxy {proxy!r} is {'still enabled' if enabled else 'disabled'}")


# --- Kubernetes ---------------------------------------------------------------------------------------------------

def _check_pods_deleted(arguments: Mapping[str, Any], output: Any, configuration: Mapping[str, Any] | None,
                        when: When, state: Any) -> _Outcome:
    if when == "before-removal":
        return _Outcome(True, "a pod kill is an event: its controller replaces the pod while the fault is held")
    pods = [str(p) for p in (output or {}).get("pods", [])] if isinstance(output, Mapping) else []
    if not pods:
        return _Outcome(False, "the action reported no deleted pod")
    from pytest_blissful.chaos.actions.kubernetes import pod_states

    states = pod_states(pods, dict(configuration) if configuration is not None else None)
    ok = all(s in {"gone", "terminating", "Succeeded", "Failed"} for s in states.values())
    return _Outcome(ok, ", ".join(f"pod {name} is {s}" for name, s in states.items()))


# --- Chaos Mesh ---------------------------------------------------------------------------------------------------

NO_CONTROLLER = ("not verified: no Chaos Mesh controller reported the fault injected (is Chaos Mesh running in the "
                 "cluster?)")


def _check_chaos_mesh(arguments: Mapping[str, Any], output: Any, configuration: Mapping[str, Any] | None,
                      when: When, state: Any) -> _Outcome:
    """Wait (bounded) for Chaos Mesh's controller to report the resource injected; before removal, read it once."""
    from tenacity import RetryError, Retrying, retry_if_result, stop_after_delay, wait_fixed

    import pytest_blissful.chaos.chaos_mesh as chaos_mesh
    from pytest_blissful.chaos.actions.kubernetes import kubernetes_stack
    from pytest_blissful.stack.kubernetes_client import cluster_of

    if not isinstance(output, Mapping) or not output.get("name"):
        return _Outcome(False, "the action reported no Chaos Mesh resource")
    kind, name, namespace = str(output["kind"]), str(output["name"]), str(output["namespace"])
    stack = kubernetes_stack(dict(configuration) if configuration is not None else None)
    cluster = cluster_of(stack.kubernetes)
    what = f"{kind} {namespace}/{name}"

    def look() -> chaos_mesh.Injection:
        return chaos_mesh.injection_state(chaos_mesh.read(cluster, namespace, kind, name))

    if when == "before-removal":
        seen = look()
        if seen.injected:
            return _Outcome(True, f"{what} still injected: {seen.evidence}")
        return _Outcome(False, f"{what} no longer injected before removal: {seen.evidence}")
    started = time.monotonic()
    try:
        seen = Retrying(stop=stop_after_delay(CHAOS_MESH_WAIT_S), wait=wait_fixed(0.25),
                        retry=retry_if_result(lambda s: not s.injected))(look)
    except RetryError as exc:
        seen = exc.last_attempt.result()
    took = time.monotonic() - started
    if seen.injected:
        return _Outcome(True, f"{what} injected by Chaos Mesh after {took:.1f} s: {seen.evidence}")
    if seen.exists and not seen.acted:
        return _Outcome(False, f"{NO_CONTROLLER}: {what} created, still without a status after {took:.1f} s "
                               f"({seen.evidence})")
    return _Outcome(False, f"{what} not injected {took:.1f} s after its creation: {seen.evidence}")


# --- overload -----------------------------------------------------------------------------------------------------

OVERLOAD_SHED = 0.1  # the service could not keep up: it turned away this share (429/503) ...
OVERLOAD_FAILING = 0.2  # ... this share failed ...
OVERLOAD_SLOWER = 3.0  # ... or the overload's p95 reached this many times the baseline's (and 500 ms more)


def _check_overload(arguments: Mapping[str, Any], output: Any, configuration: Mapping[str, Any] | None,
                    when: When, state: Any) -> _Outcome:
    from pytest_blissful.chaos.actions.overload import progress

    config = configuration or {}
    capacity = float(config.get("overload_capacity", 0.0))
    baseline_p95 = float(config.get("overload_baseline_p95_ms", 0.0))
    if not capacity > 0:
        return _Outcome(False, "the service's capacity was not measured before the overload (overload_capacity "
                               "missing or 0): an arrival rate above it cannot be shown")
    deadline = time.monotonic() + 3.0  # the generator's first batch arrives about a second after its start
    while True:
        seen = progress()
        if seen is None or not seen.running or seen.requests > 0 or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    if seen is None or not seen.running:
        return _Outcome(False, "the overload generator is not running")
    facts = (f"the overload generator runs: {seen.requests} requests answered in {seen.elapsed_s:.1f} s "
             f"({seen.rps:.0f}/s of {seen.offered_rps:.0f}/s offered; baseline {capacity:.0f}/s, p95 "
             f"{baseline_p95:.0f} ms), p95 {seen.p95_ms:.0f} ms, {seen.shed_rate:.0%} shed (429/503), "
             f"{seen.error_rate:.0%} failed")
    if seen.requests == 0:
        return _Outcome(False, facts + ": nothing answered yet")
    if when == "injected":
        return _Outcome(True, facts)  # still ramping up: judged on what it did by the removal
    # An arrival rate "above the capacity" measured by a few closed-model users may still be within what the
    # service can do: only a service that visibly could not keep up was overloaded.
    slow_at = max(OVERLOAD_SLOWER * baseline_p95, baseline_p95 + 500.0)
    saturated = (seen.shed_rate >= OVERLOAD_SHED or seen.error_rate >= OVERLOAD_FAILING or seen.p95_ms >= slow_at)
    return _Outcome(saturated, facts + ("" if saturated else
                                        f": the service kept up (no shedding, failures or p95 ≥ {slow_at:.0f} ms), "
                                        "so it was not overloaded; raise the scenario's overload_factor"))


CHECKERS: dict[tuple[str, str], Checker] = {
    (DOCKER, "pause_container"): _check_paused,
    (DOCKER, "kill_container"): _check_down,
    (DOCKER, "stop_container"): _check_down,
    (DOCKER, "restart_container"): _check_down,
    **{(DOCKER, func): _check_rules(func) for func in _FAULT_OF},
    (DOCKER, "add_bandwidth_limit"): _check_qdisc("b1f1:"),
    (DOCKER, "add_latency"): _check_qdisc("b1f2:"),
    (DOCKER, "add_cpu_stress"): _check_cpu_stress,
    (DOCKER, "add_memory_stress"): _check_memory_stress,
    **{(TOXIPROXY, func): _check_toxic(func) for func in (*_TOXIC_DEFAULTS, "create_toxic")},
    (TOXIPROXY, "disable_proxy"): _check_proxy_disabled,
    (KUBERNETES, "kill_pod"): _check_pods_deleted,
    (OVERLOAD, "start_overload"): _check_overload,
    **{(CHAOS_MESH, func): _check_chaos_mesh for func in ("network_chaos", "stress_chaos", "dns_chaos")},
}

__all__ = ["CHECKERS", "NO_CONTROLLER", "Check", "FaultChecks"]
