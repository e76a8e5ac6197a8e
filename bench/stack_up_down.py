"""Demo stack lifecycle with warm images: up→healthy and down, through the same code the `stack` fixture uses.

    .venv/bin/python bench/stack_up_down.py [--runs 3] [--config blissful.yaml]

Goals: up→healthy <= 10 s, down <= 3 s (warm images, this 2-core machine).
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from pathlib import Path

from pytest_blissful.config import load_config
from pytest_blissful.stack.ledger import Ledger
from pytest_blissful.stack.manager import StackManager


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--config", type=Path, default=None)
    args = parser.parse_args()
    config = load_config(Path.cwd(), args.config)
    ups, downs = [], []
    with tempfile.TemporaryDirectory() as state:
        for run in range(args.runs):
            manager = StackManager(config, f"bench{run}{os.getpid()}", Path(state), os.getpid(), Ledger(Path(state)))
            started = time.perf_counter()
            stack = manager.get()
            ups.append(time.perf_counter() - started)
            started = time.perf_counter()
            manager.teardown()
            downs.append(time.perf_counter() - started)
            print(f"run {run + 1}: up→healthy {ups[-1]:5.1f} s, down {downs[-1]:4.1f} s "
                  f"({stack.name}, {sum(len(v) for v in stack.services.values())} containers)")
    print(f"median up→healthy {statistics.median(ups):.1f} s (goal <= 10 s), "
          f"median down {statistics.median(downs):.1f} s (goal <= 3 s)")


if __name__ == "__main__":
    main()
