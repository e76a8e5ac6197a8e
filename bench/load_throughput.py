"""Requests/s against one local nginx: wrk, plain Locust FastHttpUser, our runner with 1 and 2 workers.

    .venv/bin/python bench/load_throughput.py [SECONDS] [USERS]

Prints figures; asserts nothing.  Needs nginx (apt-get install -y nginx-light) and optionally wrk.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys

from _target import nginx, plain_locust

from pytest_blissful.load import run_load


def main() -> None:
    seconds = float(sys.argv[1]) if len(sys.argv) > 1 else 10.0
    users = int(sys.argv[2]) if len(sys.argv) > 2 else 10
    print(f"# throughput, {seconds:g}s each, {users} users, {os.cpu_count()} cores, nginx 1 worker on 127.0.0.1")
    with nginx() as target:
        url = target.url + "/hello"
        wrk = shutil.which("wrk")
        if wrk:
            out = subprocess.run(
                [wrk, "-t2", f"-c{users}", f"-d{int(seconds)}s", url], capture_output=True, text=True, check=True
            ).stdout
            m = re.search(r"Requests/sec:\s*([\d.]+)", out)
            print(f"wrk                         {float(m.group(1)) if m else float('nan'):>10,.0f} req/s")
        else:
            print("wrk                         (not installed: apt-get install -y wrk)")
        plain = plain_locust(target.url, users, seconds)
        print(f"plain Locust FastHttpUser   {plain['rps']:>10,.0f} req/s   (1 process)")
        for workers in (1, 2):
            r = run_load(target.url, users=users, duration_s=seconds, workers=workers, mix={"GET /hello": 1})
            per = r.totals.rps / workers
            cpu = ", ".join(f"{k} {v:.0f}%" for k, v in sorted(r.generator_cpu_by_process.items()))
            print(
                f"pytest-blissful workers={workers}  {r.totals.rps:>10,.0f} req/s   "
                f"({per:,.0f}/process = {per / plain['rps']:.2f} x plain; CPU {cpu})"
            )


if __name__ == "__main__":
    main()
