"""Child processes of the plugin's own tests."""

from __future__ import annotations

import signal
import subprocess


def restore_ctrl_c() -> None:
    """``preexec_fn`` for an inner pytest that a test interrupts with SIGINT: a shell that starts a job in the
    background without job control (``cmd &`` in a script, as some CI runners do) makes it ignore SIGINT, and
    Python keeps an ignored SIGINT ignored (no KeyboardInterrupt). The child gets the default back."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def end(process: subprocess.Popen[bytes]) -> None:
    """Kill a child a failed test left running (and reap it, so no ResourceWarning lands on a later test)."""
    if process.poll() is None:
        process.kill()
    process.wait(timeout=30)
