"""Latency of a sub-millisecond endpoint (nginx static file) reported in µs, next to Locust's own figures.

.venv/bin/python bench/load_microseconds.py
"""

from __future__ import annotations

from _target import nginx, plain_locust

from pytest_blissful.load import run_load


def main() -> None:
    with nginx() as target:
        r = run_load(target.url, users=1, duration_s=3.0, mix={"GET /hello": 1})
        w = r.timeline.window()
        print(f"# 1 user, 3 s, {r.totals.requests} requests to a static nginx file")
        print(
            "pytest-blissful (HDR, µs):  "
            + "  ".join(f"p{q:g}={w.percentile_us(q)}µs" for q in (50, 90, 99, 99.9))
            + f"  max={w.max_us}µs  min={round(w.min_ms * 1000)}µs"
        )
        plain = plain_locust(target.url, 1, 3.0)
        print(
            f"plain Locust (its stats):   p50={plain['p50_ms']}ms  p99={plain['p99_ms']}ms  max={plain['max_ms']:.3f}ms"
        )


if __name__ == "__main__":
    main()
