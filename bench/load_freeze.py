"""A 1 s freeze of the target at a constant 1000 req/s: our corrected p99 vs the true stall vs plain Locust.

    .venv/bin/python bench/load_freeze.py [--container NAME]

Freezes the local nginx with SIGSTOP/SIGCONT (or ``docker pause`` of ``--container NAME`` whose port
must then be given with ``--url``).  Prints figures; asserts nothing.
"""

from __future__ import annotations

import argparse
import subprocess
import time

from _target import nginx, plain_locust

from pytest_blissful.load import start_load

RATE = 1000.0
DURATION = 8.0
FREEZE_AT = 3.0
FREEZE_S = 1.0
USERS = 50


def _freezer(args: argparse.Namespace, target: object) -> float:
    if args.container:
        t0 = time.monotonic()
        subprocess.run(["docker", "pause", args.container], check=True)
        time.sleep(FREEZE_S)
        subprocess.run(["docker", "unpause", args.container], check=True)
        return time.monotonic() - t0
    return target.freeze(FREEZE_S)  # type: ignore[attr-defined,no-any-return]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--container")
    parser.add_argument("--url")
    args = parser.parse_args()
    with nginx() as local:
        url = args.url or local.url
        print(f"# {RATE:g} req/s for {DURATION:g}s, target frozen for {FREEZE_S:g}s at t={FREEZE_AT:g}s")

        handle = start_load(url, users=USERS, duration_s=DURATION, rate=RATE, mix={"GET /hello": 1})
        while handle.start_monotonic is None:
            handle.poll()
            time.sleep(0.01)
        time.sleep(max(0.0, handle.start_monotonic + FREEZE_AT - time.monotonic()))
        stall = _freezer(args, local)
        ours = handle.result()
        print(f"true stall                         {stall * 1000:>9.1f} ms")
        print(
            f"pytest-blissful corrected p99      {ours.totals.p99_ms:>9.1f} ms   "
            f"({ours.totals.p99_ms / (stall * 1000):.2f} x stall; max {ours.totals.max_ms:.1f} ms, "
            f"{ours.totals.requests} requests, {ours.dropped} dropped, {ours.totals.rps:.0f} req/s)"
        )

        # plain Locust: 50 users x constant_throughput(20/s) = 1000 req/s, Locust's own stats
        import threading

        timer = threading.Timer(FREEZE_AT + 1.5, lambda: _freezer(args, local))  # after Locust's startup
        timer.start()
        plain = plain_locust(url, USERS, DURATION, per_user_rps=RATE / USERS)
        timer.join()
        print(
            f"plain Locust p99                   {plain['p99_ms']:>9.1f} ms   "
            f"(max {plain['max_ms']:.1f} ms, {plain['requests']:.0f} requests, {plain['rps']:.0f} req/s)"
        )


if __name__ == "__main__":
    main()
