"""Stop-time error over 10 runs (requested duration vs how long load actually ran).

.venv/bin/python bench/load_stop_time.py [RUNS] [SECONDS]
"""

from __future__ import annotations

import statistics
import sys
import time

from _target import nginx

from pytest_blissful.load import run_load


def main() -> None:
    runs = int(sys.argv[1]) if len(sys.argv) > 1 else 10
    seconds = float(sys.argv[2]) if len(sys.argv) > 2 else 3.0
    errors, overheads = [], []
    with nginx() as target:
        for i in range(runs):
            workers = 1 if i % 2 == 0 else 2
            t0 = time.monotonic()
            r = run_load(target.url, users=10, duration_s=seconds, workers=workers, mix={"GET /hello": 1})
            wall = time.monotonic() - t0
            errors.append(r.stop_error_s)
            overheads.append(wall - seconds)
            print(
                f"run {i + 1:2d} workers={workers}  load ran {r.duration_s:.4f}s  "
                f"error {r.stop_error_s * 1000:+7.1f} ms   call took {wall:.2f}s"
            )
    print(
        f"# stop error: mean {statistics.mean(errors) * 1000:+.1f} ms, "
        f"worst {max(errors, key=abs) * 1000:+.1f} ms (goal ±100 ms); "
        f"startup+teardown overhead mean {statistics.mean(overheads):.2f}s"
    )


if __name__ == "__main__":
    main()
