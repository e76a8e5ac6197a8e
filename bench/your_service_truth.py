"""Load truth and chaos truth on a service that is not the demo: the guide's example service (docs/example-service).

Runs pytest in a temporary service repo (outside the project) and prints:
- load truth: p50 of GET /api/slow (the service sleeps 200 ms; target: within 5% of 200 ms) and the error rate of
  GET /api/flaky (exactly every tenth request fails; target: 10% ± 2 points);
- chaos truth: the inventory-slow FMEA verdict with the timeout protection on (DEP_TIMEOUT_S=0.3, expected pass)
  and switched off (DEP_TIMEOUT_S=0, expected fail): the grade must change with the mechanism.

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
def test_fault(fmea):
    result = fmea.run("inventory-slow")
    print("FAULT " + json.dumps({"verdict": result.verdict, "reason": result.reason,
                                 "p99_fault_ms": result.impact.p99_fault_ms if result.impact else None}))
'''


def run(repo: Path, marker: str, env_extra: dict[str, str]) -> dict[str, object]:
    env = {**os.environ, "PYTHONPATH": str(REPO), "BLISSFUL_STATE_DIR": str(repo / ".state"), **env_extra}
    completed = subprocess.run([sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-p", "no:base_url",
                                "-s", "-q", "-m", marker], cwd=repo, env=env, capture_output=True, text=True,
                               timeout=900, check=False)
    tag = "TRUTH " if marker == "perf" else "FAULT "
    for line in completed.stdout.splitlines():
        if line.startswith(tag):
            return dict(json.loads(line[len(tag):]))
    raise SystemExit(completed.stdout[-4000:] + completed.stderr[-2000:])


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="blissful-truth-") as tmp:
        repo = Path(tmp) / "orders"
        shutil.copytree(REPO / "docs" / "example-service", repo)
        (repo / "test_truth.py").write_text(TESTS)
        config = (repo / "blissful.yaml").read_text()
        print(f"load average before: {os.getloadavg()}")
        truth = run(repo, "perf", {})
        p50 = float(truth["slow_p50_ms"])  # type: ignore[arg-type]
        errors = 100 * float(truth["flaky_error_rate"])  # type: ignore[arg-type]
        p50_ok = "ok" if abs(p50 - 200) <= 10 else "OFF"
        errors_ok = "ok" if abs(errors - 10) <= 2 else "OFF"
        print(f"load truth: GET /api/slow p50 {p50:.1f} ms (target 200 ± 10 ms: {p50_ok}), "
              f"{truth['slow_requests']} requests")
        print(f"            GET /api/flaky error rate {errors:.2f}% (target 10 ± 2 points: {errors_ok}), "
              f"{truth['flaky_requests']} requests; generator CPU {truth['generator_cpu']}")
        on = run(repo, "chaos", {})
        (repo / "blissful.yaml").write_text(config.replace("stack:\n", "stack:\n  env: {DEP_TIMEOUT_S: \"0\"}\n", 1))
        off = run(repo, "chaos", {})
        print(f"chaos truth: inventory-slow with the timeout on: {on['verdict']} "
              f"(p99 under fault {on['p99_fault_ms']} ms)")
        print(f"             with the timeout off (DEP_TIMEOUT_S=0): {off['verdict']} ({off['reason']})")
        print(f"grade changes with the mechanism: {on['verdict'] != off['verdict']}")
        print(f"load average after: {os.getloadavg()}")


if __name__ == "__main__":
    main()
