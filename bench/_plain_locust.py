"""Plain Locust as a library (no pytest-blissful): FastHttpUser, Locust's own stats. Prints JSON."""
# ruff: noqa: TID251  -- runs only as its own process

from gevent import monkey

monkey.patch_all()

import json  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402

import gevent  # noqa: E402
from locust import FastHttpUser, constant, constant_throughput, task  # noqa: E402
from locust.env import Environment  # noqa: E402

url, users, duration, per_user = sys.argv[1], int(sys.argv[2]), float(sys.argv[3]), float(sys.argv[4])


class Plain(FastHttpUser):
    host = url
    wait_time = constant_throughput(per_user) if per_user > 0 else constant(0)

    @task
    def hello(self) -> None:
        self.client.get("/hello")


env = Environment(user_classes=[Plain], host=url)
runner = env.create_local_runner()
t0 = time.monotonic()
runner.start(users, spawn_rate=users * 100)
gevent.sleep(duration)
runner.stop()
elapsed = time.monotonic() - t0
total = env.stats.total
print(
    json.dumps(
        {
            "requests": total.num_requests,
            "rps": total.num_requests / elapsed,
            "p50_ms": total.get_response_time_percentile(0.5),
            "p99_ms": total.get_response_time_percentile(0.99),
            "max_ms": total.max_response_time,
            "duration_s": elapsed,
        }
    )
)
