"""Locust user of the canary flow: GET /hello, each request named after the version that answered it.

The ``X-App-Version`` response header becomes part of the request's name (``GET /hello @1.1.0``), so the load
timeline is split by version: the built-in ``blissful`` metric provider and the traffic chart read it.
Loaded only in the load generator's child process (never imported by pytest).
"""

from __future__ import annotations

import os

from locust import FastHttpUser, constant, task  # noqa: TID251 - loaded only by the load child process

PATH = os.environ.get("BLISSFUL_CANARY_PATH", "/hello")


class CanaryUser(FastHttpUser):
    wait_time = constant(0)
    network_timeout = connection_timeout = 5.0

    @task
    def request(self) -> None:
        with self.client.get(PATH, name=PATH, catch_response=True) as resp:
            version = resp.headers.get("X-App-Version") if resp.headers else None
            resp.request_meta["name"] = f"{PATH} @{version or 'unknown'}"
