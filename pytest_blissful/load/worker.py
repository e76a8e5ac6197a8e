"""Join a running load test from another machine as a Locust worker.

    python -m pytest_blissful.load.worker --master-host HOST --master-port PORT [--locustfile FILE]

The master is started by ``run_load(..., remote_workers=N, master_bind="0.0.0.0", master_port=PORT)``
on the machine running pytest; it waits until ``workers + remote_workers`` workers have joined, then
tells every worker the start instant, duration and its share of the arrival rate.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m pytest_blissful.load.worker", description=__doc__)
    parser.add_argument("--master-host", required=True)
    parser.add_argument("--master-port", type=int, default=5557)
    parser.add_argument("--locustfile", default=None, help="same user classes as the master's (if any)")
    args = parser.parse_args(argv)
    cfg = {
        "role": "worker",
        "master_host": args.master_host,
        "master_port": args.master_port,
        "locustfile": str(Path(args.locustfile).resolve()) if args.locustfile else None,
        "users": 1,
        "duration_s": 0,
    }
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as f:
        json.dump(cfg, f)
    try:
        return subprocess.call([sys.executable, "-m", "pytest_blissful.load._child", f.name])
    finally:
        os.unlink(f.name)


if __name__ == "__main__":
    sys.exit(main())
