"""Load truth and chaos truth on a service that is not the demo: the guide's example service (docs/example-service).

Runs pytest in a temporary service repo (outside the project) and prints:
- load truth: p50 of GET /api/slow (the service sleeps 200 ms; target: within 5% of 200 ms) and the error rate of
  GET /api/flaky (exactly every tenth request fails; target: 10% ± 2 points);
- chaos truth: a kill of the only orders instance (the outage is seen; inconclusive, because the instance comes
  back on another ephemeral host port, where the run cannot observe its recovery); the inventory-slow FMEA
  verdict with the timeout protection on (DEP_TIMEOUT_S=0.3, expected pass)
  and switched off (DEP_TIMEOUT_S=0, expected fail): the grade must change with the mechanism;
- the verdicts with ``-n 0`` and ``-n 2`` under both spellings of ``--blissful-report-dir``: identical.

    .venv/bin/python bench/your_service_truth.py        # needs ./scripts/setup.sh example-service

Figures measured while the machine is busy are noisy: the script prints the load average with them.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
TESTS = '''
import json, os, pytest

@pytest.mark.perf
def test_truth(load_test):
    slow = load_test(users=10, duration="20s", mix={"GET /api/slow": 1})
    flaky = load_test(users=5, duration="20s", mix={"GET /api/flaky": 1})
    print("TRUTH " + json.dumps({"slow_p50_ms": slow.totals.p50_ms, "slow_requests": slow.totals.requests,
                                 "flaky_error_rate": flaky.totals.error_rate, "flaky_requests": flaky.totals.requests,
                                 "generator_cpu": [slow.generator_cpu_percent, flaky.generator_cpu_percent]}))

@pytest.mark.chaos
@pytest.mark.parametrize("scenario", ["inventory-slow", "pod-kill"])
def test_fault(fmea, scenario):
    result = fmea.run(scenario)
    print("FAULT " + json.dumps({"scenario": scenario, "verdict": result.verdict, "reason": result.reason,
                                 "p99_fault_ms": result.impact.p99_fault_ms if result.impact else None,
                                 "error_rate_fault":
                                     result.impact.error_rate_fault_percent if result.impact else None}))
'''


def _pytest(repo: Path, marker: str, options: list[str]) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(REPO), "BLISSFUL_STATE_DIR": str(repo / ".state")}
    return subprocess.run([sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-p", "no:base_url",
                           "-s", "-q", "-m", marker, *options], cwd=repo, env=env, capture_output=True, text=True,
                          timeout=900, check=False)


def run(repo: Path, marker: str) -> dict[str, object]:
    completed = _pytest(repo, marker, [])
    for line in completed.stdout.splitlines():
        if line.startswith("TRUTH "):
            return dict(json.loads(line[len("TRUTH "):]))
    raise SystemExit(completed.stdout[-4000:] + completed.stderr[-2000:])


def faults(repo: Path, options: list[str]) -> dict[str, dict[str, object]]:
    """Each scenario's printed figures, or (under xdist, where prints are not shown) its verdict from
    the scorecard the run wrote."""
    completed = _pytest(repo, "chaos", options)
    found = {}
    for line in completed.stdout.splitlines():
        if "FAULT {" in line:  # pytest's progress dot may precede it
            figures = json.loads(line[line.index("FAULT {") + len("FAULT "):])
            found[figures["scenario"]] = figures
    if not found and "-n" not in options:
        raise SystemExit(completed.stdout[-4000:] + completed.stderr[-2000:])
    if not found:
        report_dir = Path(options[options.index("--blissful-report-dir") + 1]) if "--blissful-report-dir" in options \
            else next((Path(o.split("=", 1)[1]) for o in options if o.startswith("--blissful-report-dir=")),
                      repo / "reports")
        scorecard = report_dir / "scorecard.json"
        if not scorecard.exists():
            raise SystemExit(completed.stdout[-4000:] + completed.stderr[-2000:])
        for row in json.loads(scorecard.read_text())["scenarios"]:
            found[row["name"]] = {"scenario": row["name"], "verdict": row["verdict"],
                                      "reason": row.get("reason")}
    return found


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="blissful-truth-") as tmp:
        repo = Path(tmp) / "orders"
        shutil.copytree(REPO / "docs" / "example-service", repo)
        (repo / "test_truth.py").write_text(TESTS)
        config = (repo / "blissful.yaml").read_text()
        print(f"load average before: {os.getloadavg()}")
        truth = run(repo, "perf")
        p50 = float(truth["slow_p50_ms"])  # type: ignore[arg-type]
        errors = 100 * float(truth["flaky_error_rate"])  # type: ignore[arg-type]
        p50_ok = "ok" if abs(p50 - 200) <= 10 else "OFF"
        errors_ok = "ok" if abs(errors - 10) <= 2 else "OFF"
        print(f"load truth: GET /api/slow p50 {p50:.1f} ms (target 200 ± 10 ms: {p50_ok}), "
              f"{truth['slow_requests']} requests")
        print(f"            GET /api/flaky error rate {errors:.2f}% (target 10 ± 2 points: {errors_ok}), "
              f"{truth['flaky_requests']} requests; generator CPU {truth['generator_cpu']}")
        on = faults(repo, [])
        kill = on["pod-kill"]
        print(f"chaos truth: pod-kill of the only orders instance: {kill['verdict']} ({kill['reason']}; "
              f"error rate under the fault {kill['error_rate_fault']:.1f}%) — expected: the outage seen (100% "
              "errors), then inconclusive: the instance comes back on another ephemeral host port")
        spellings = [["-n", "2", "--blissful-report-dir", str(repo / "r1")],
                     ["-n", "2", f"--blissful-report-dir={repo / 'r2'}"], ["-n", "0"]]
        verdicts = {" ".join(options): {name: f["verdict"] for name, f in faults(repo, options).items()}
                    for options in spellings}
        verdicts["(plain)"] = {name: f["verdict"] for name, f in on.items()}
        for spelling, found in verdicts.items():
            print(f"             verdicts with {spelling}: {found}")
        distinct = {json.dumps(v, sort_keys=True) for v in verdicts.values()}
        print(f"             identical under every spelling: {len(distinct) == 1}")
        (repo / "blissful.yaml").write_text(config.replace("stack:\n", "stack:\n  env: {DEP_TIMEOUT_S: \"0\"}\n", 1))
        off = faults(repo, ["-k", "inventory"])["inventory-slow"]
        slow = on["inventory-slow"]
        print(f"chaos truth: inventory-slow with the timeout on: {slow['verdict']} "
              f"(p99 under fault {slow['p99_fault_ms']} ms)")
        print(f"             with the timeout off (DEP_TIMEOUT_S=0): {off['verdict']} ({off['reason']})")
        print(f"grade changes with the mechanism: {slow['verdict'] != off['verdict']}")
        print(f"load average after: {os.getloadavg()}")


if __name__ == "__main__":
    main()
