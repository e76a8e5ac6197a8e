"""What installing the plugin costs a project that does not use it: ``pytest --collect-only`` of a trivial project.

Prints the median wall time with the plugin enabled and disabled (``-p no:blissful``), and which heavy modules
got imported. Goal: the difference stays within 50 ms.

    .venv/bin/python bench/collect_overhead.py [--runs 15]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HEAVY = ("locust", "gevent", "chaoslib", "kubernetes", "testcontainers", "matplotlib", "pydantic", "httpx", "allure")
PROBE = """
import sys
def pytest_unconfigure(config):
    heavy = sorted(m for m in {heavy!r} if m in sys.modules)
    print("HEAVY=" + ",".join(heavy))
"""


# Other installed plugins (locust's, hypothesis', allure's...) cost seconds here and would drown the figure:
# both runs disable plugin autoload; the measured run loads only ours.
# A private, empty state dir: this machine's own ledger may list stacks of runs going on right now.
ENV = {**os.environ, "PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1",
       "BLISSFUL_STATE_DIR": tempfile.mkdtemp(prefix="blissful-bench-state-")}


def run(project: Path, extra: list[str]) -> float:
    started = time.perf_counter()
    subprocess.run([sys.executable, "-m", "pytest", "--collect-only", "-q", "-p", "no:cacheprovider", *extra],
                   cwd=project, check=True, capture_output=True, env=ENV)
    return time.perf_counter() - started


PLUGIN = ["-p", "pytest_blissful.plugin"]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=15)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as directory:
        project = Path(directory)
        (project / "test_trivial.py").write_text("def test_one():\n    assert 1 + 1 == 2\n")
        (project / "conftest.py").write_text(PROBE.format(heavy=HEAVY))
        for _ in range(2):  # warm the file cache
            run(project, PLUGIN)
        with_plugin, without = [], []
        for _ in range(args.runs):
            with_plugin.append(run(project, PLUGIN))
            without.append(run(project, []))
        probe = subprocess.run([sys.executable, "-m", "pytest", "--collect-only", "-q", "-s", *PLUGIN],
                               cwd=project, capture_output=True, text=True, check=True, env=ENV).stdout
        heavy = next((line.split("=", 1)[1] for line in probe.splitlines() if line.startswith("HEAVY=")), "?")
    a, b = statistics.median(with_plugin), statistics.median(without)
    print(f"pytest --collect-only, trivial project, median of {args.runs} runs")
    print(f"  with pytest-blissful : {a * 1000:7.1f} ms")
    print(f"  without              : {b * 1000:7.1f} ms")
    print(f"  plugin cost          : {(a - b) * 1000:7.1f} ms   (goal <= 50 ms)")
    print(f"  heavy modules imported with the plugin: {heavy or 'none'}")


if __name__ == "__main__":
    main()
