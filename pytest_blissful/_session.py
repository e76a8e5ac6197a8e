"""Session state shared by the hooks (``plugin.py``), the fixtures and the renderers (``report/*``).

A leaf module: stash keys, report-section names and the accessors built on them. It imports only the standard
library, pytest and the configuration's discovery (itself light), so that every layer may import it and nothing
below ``plugin.py`` ever imports ``plugin.py``.
"""

from __future__ import annotations

import contextlib
import time
from pathlib import Path
from typing import TYPE_CHECKING, Final

import pytest

from pytest_blissful.config.discovery import ConfigError, find_config, search_dirs

if TYPE_CHECKING:
    from pytest_blissful.config.schema import BlissfulConfig
    from pytest_blissful.stack.manager import StackManager

# report sections that carry results from the process that ran a test (an xdist worker) to the controller
LOAD_SECTION: Final = "blissful load"
FMEA_SECTION: Final = "blissful fmea"

# fixtures whose use makes a test one of the plugin's own (``base_url`` alone does not: pytest-base-url has it too)
BLISSFUL_FIXTURES: Final = frozenset({
    "blissful_config", "stack", "http", "load_test", "fmea", "chaos_experiment", "scorecard", "compare_versions",
    "canary",
})

RUN_ID_KEY = pytest.StashKey[str]()
OWNER_PID_KEY = pytest.StashKey[int]()
CONFIG_KEY = pytest.StashKey["BlissfulConfig"]()
MANAGER_KEY = pytest.StashKey["StackManager"]()
STAGES_KEY = pytest.StashKey[list[str]]()
SESSION_START_KEY = pytest.StashKey[float]()  # epoch s of pytest_sessionstart (the Allure scorecard's start)
_LAST_LINE_KEY = pytest.StashKey[float]()
_LOCATION_KEY = pytest.StashKey[tuple["Path | None", str]]()
_REPORT_DIR_KEY = pytest.StashKey[Path]()

# what the controller hands every xdist worker (``node.workerinput``): the configuration it resolved, by path and
# content hash, and the absolute report directory, so that a worker never resolves either on its own
WORKER_CONFIG_PATH: Final = "blissful_config_path"
WORKER_CONFIG_KIND: Final = "blissful_config_kind"
WORKER_CONFIG_SHA256: Final = "blissful_config_sha256"
WORKER_REPORT_DIR: Final = "blissful_report_dir"


def uses_plugin(item: pytest.Item) -> bool:
    """Whether a test is one of the plugin's own: it uses one of its fixtures, or comes from the shipped suites."""
    if BLISSFUL_FIXTURES & set(getattr(item, "fixturenames", ())):
        return True
    module = getattr(item, "module", None)
    return module is not None and module.__name__.startswith("pytest_blissful.suites.")


def explicit_config(config: pytest.Config) -> Path | None:
    """``--blissful-config`` (relative to the invocation directory), else ini ``blissful_config``."""
    option = config.getoption("blissful_config")
    if option:
        path = Path(option)
        return path if path.is_absolute() else config.invocation_params.dir / path
    ini = config.getini("blissful_config")
    if ini:
        path = Path(ini)
        base = config.inipath.parent if config.inipath else config.rootpath
        return path if path.is_absolute() else base / path
    return None


def config_location(config: pytest.Config) -> tuple[Path | None, str]:
    """The configuration file of this session and its kind (``file``, ``pyproject`` or ``default``).

    Resolved once, by the controller; an xdist worker takes the controller's answer from its ``workerinput``.
    """
    if _LOCATION_KEY not in config.stash:
        workerinput = getattr(config, "workerinput", None)
        if workerinput is not None and WORKER_CONFIG_KIND in workerinput:
            path = workerinput[WORKER_CONFIG_PATH]
            config.stash[_LOCATION_KEY] = (Path(path) if path else None, workerinput[WORKER_CONFIG_KIND])
        else:
            try:
                config.stash[_LOCATION_KEY] = find_config(
                    search_dirs(config.invocation_params.dir, config.rootpath), explicit_config(config))
            except ConfigError as exc:
                raise pytest.UsageError(str(exc)) from None
    return config.stash[_LOCATION_KEY]


def blissful_config(config: pytest.Config) -> BlissfulConfig:
    """The validated configuration of this session (loaded once per process)."""
    if CONFIG_KEY not in config.stash:
        from pytest_blissful.config.loader import load_config_at

        try:
            loaded = load_config_at(*config_location(config))
        except ConfigError as exc:
            raise pytest.UsageError(str(exc)) from None
        url = config.getoption("blissful_url") or taken_base_url(config)
        if url:
            from pytest_blissful.config.schema import StackConfig

            try:
                stack = StackConfig.model_validate({**loaded.stack.model_dump(), "url": url})
            except ValueError as exc:
                option = "--blissful-url" if config.getoption("blissful_url") else "--base-url"
                raise pytest.UsageError(f"{option} {url!r}: {exc}") from None
            loaded = loaded.model_copy(update={"stack": stack})
        config.stash[CONFIG_KEY] = loaded
    return config.stash[CONFIG_KEY]


def taken_base_url(config: pytest.Config) -> str | None:
    """pytest-base-url's ``--base-url`` / ini ``base_url`` when that plugin is installed: the target, as with
    ``--blissful-url`` (see ``pytest_blissful._base_url``)."""
    if not config.pluginmanager.hasplugin("base_url"):
        return None
    value = config.getoption("base_url", None) or config.getini("base_url")
    return str(value) if value else None


def report_dir(config: pytest.Config) -> Path:
    """Where results land: ``--blissful-report-dir``, else ini ``blissful_report_dir``; relative to the rootdir.

    Resolved once, by the controller; xdist workers take the controller's absolute path.
    """
    if _REPORT_DIR_KEY not in config.stash:
        workerinput = getattr(config, "workerinput", None)
        if workerinput is not None and WORKER_REPORT_DIR in workerinput:
            config.stash[_REPORT_DIR_KEY] = Path(workerinput[WORKER_REPORT_DIR])
        else:
            value = config.getoption("blissful_report_dir") or config.getini("blissful_report_dir")
            path = Path(value)
            config.stash[_REPORT_DIR_KEY] = path if path.is_absolute() else config.rootpath / path
    return config.stash[_REPORT_DIR_KEY]


def stack_manager(config: pytest.Config) -> StackManager:
    """The process-wide handle on this run's shared stack."""
    if MANAGER_KEY not in config.stash:
        from pytest_blissful.stack.ledger import ledger_dir
        from pytest_blissful.stack.manager import StackManager

        config.stash[MANAGER_KEY] = StackManager(
            blissful_config(config), config.stash[RUN_ID_KEY], ledger_dir(), config.stash[OWNER_PID_KEY],
            progress=lambda message: say(config, message),
        )
    return config.stash[MANAGER_KEY]


def say(config: pytest.Config, message: str) -> None:
    """Print a progress line on the terminal, past output capturing; silent in xdist workers and under -q."""
    reporter = config.pluginmanager.get_plugin("terminalreporter")
    if reporter is None or hasattr(config, "workerinput") or config.get_verbosity() < 0:
        return
    capture = config.pluginmanager.get_plugin("capturemanager")
    if capture is None:
        reporter.write_line(message)
        return
    with capture.global_and_fixture_disabled():
        reporter.write_line(message)


def live_line(config: pytest.Config, line: str | None) -> None:
    """Rewrite one status line in place (progress of long steps); ``None`` ends it. Quiet where ``say`` is."""
    reporter = config.pluginmanager.get_plugin("terminalreporter")
    if reporter is None or hasattr(config, "workerinput") or config.get_verbosity() < 0:
        return
    if not reporter.isatty():  # CI logs: a plain line every 10 s instead of a rewritten one
        now = time.monotonic()
        if line is not None and now - config.stash.get(_LAST_LINE_KEY, 0.0) >= 10:
            config.stash[_LAST_LINE_KEY] = now
            say(config, line)
        return
    capture = config.pluginmanager.get_plugin("capturemanager")
    with capture.global_and_fixture_disabled() if capture else contextlib.nullcontext():
        if line is None:
            reporter.write("\n")
        else:
            reporter.rewrite(line, erase=True)


# ------------------------------------------------------------------------------------- traffic lock, signals
TRAFFIC_LOCK_TIMEOUT_S: Final = 3600.0
_SIGNALS_KEY = pytest.StashKey[object]()


def traffic_lock_path(base_url: str) -> Path:
    """One lock file per stack (by its entry URL): load tests, FMEA runs and experiments against one stack take
    turns across xdist workers, while different stacks never wait for each other."""
    from pytest_blissful.stack.ledger import ledger_dir, traffic_lock_file

    return traffic_lock_file(ledger_dir(), base_url)


def hold_signals(config: pytest.Config) -> None:
    """While this process holds a stack, SIGTERM (how CI systems cancel) acts like Ctrl-C, so the stack and its
    faults are removed. Installed only then, only over the default handler; ``release_signals`` restores it."""
    import signal

    if _SIGNALS_KEY in config.stash or signal.getsignal(signal.SIGTERM) is not signal.SIG_DFL:
        return

    def handler(signum: int, frame: object) -> None:
        raise KeyboardInterrupt(f"signal {signum}")

    with contextlib.suppress(ValueError):  # not the main thread
        signal.signal(signal.SIGTERM, handler)
        config.stash[_SIGNALS_KEY] = handler


def release_signals(config: pytest.Config) -> None:
    import signal

    handler = config.stash.get(_SIGNALS_KEY, None)
    if handler is None:
        return
    del config.stash[_SIGNALS_KEY]
    with contextlib.suppress(ValueError):
        if signal.getsignal(signal.SIGTERM) is handler:
            signal.signal(signal.SIGTERM, signal.SIG_DFL)
