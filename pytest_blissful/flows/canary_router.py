"""The weighted router of the local canary: nginx in a container, its upstream rewritten and reloaded.

``set_weight(w)`` writes ``/run/weights.conf`` (smooth weighted round robin: ``server stable weight=100-w;
server canary weight=w;``; a server at 0% is left out, so a stopped canary is never resolved) and runs
``nginx -s reload``: the new workers take new connections with the new weights, the old workers finish their
requests.  Returns once nginx has accepted the new configuration.
"""

from __future__ import annotations

import subprocess
import time
from dataclasses import dataclass

__all__ = ["NginxRouter", "RouterError"]


class RouterError(RuntimeError):
    """The router did not take the new weights."""


@dataclass
class NginxRouter:
    container: str
    stable: str = "stable:8000"
    canary: str = "canary:8000"
    weight: int = 0

    def config(self, weight: int) -> str:
        if not 0 <= weight <= 100:
            raise RouterError(f"canary weight {weight} is outside 0..100")
        lines = []
        if weight < 100:
            lines.append(f"server {self.stable} weight={100 - weight};")
        if weight > 0:
            lines.append(f"server {self.canary} weight={weight};")
        return "\n".join(lines) + "\n"

    def set_weight(self, weight: int, timeout_s: float = 30.0) -> float:
        """Apply ``weight`` (percent of requests to the canary); returns the monotonic time it took effect."""
        script = f"printf '%s' '{self.config(weight)}' > /run/weights.conf.new && mv /run/weights.conf.new " \
                 "/run/weights.conf && nginx -t -q && nginx -s reload"
        try:
            done = subprocess.run(["docker", "exec", self.container, "sh", "-c", script], capture_output=True,
                                  text=True, timeout=timeout_s, check=False)
        except subprocess.TimeoutExpired:
            raise RouterError(f"router {self.container}: reload did not finish within {timeout_s:g} s") from None
        if done.returncode != 0:
            raise RouterError(f"router {self.container}: setting canary weight {weight}% failed: "
                              f"{(done.stderr or done.stdout).strip()[-400:]}")
        self.weight = weight
        return time.monotonic()
