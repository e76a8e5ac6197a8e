"""Where the configuration lives; deliberately free of heavy imports (runs in every pytest session)."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from pathlib import Path

CONFIG_FILENAMES = ("blissful.yaml", "blissful.yml")
DEFAULT_DIGEST = "built-in defaults"


class ConfigError(Exception):
    """A configuration problem a user can fix; the message says what, where and how."""


def search_dirs(invocation_dir: Path, rootdir: Path) -> list[Path]:
    """Where to look for a configuration, nearest first: the directory pytest runs in and its parents up to the
    rootdir, then the rootdir. (Without an ini file pytest takes the rootdir from the command-line arguments, so
    an option value such as ``--blissful-report-dir /elsewhere`` can move it: the invocation dir comes first.)"""
    invocation_dir, rootdir = invocation_dir.resolve(), rootdir.resolve()
    dirs = [invocation_dir]
    if invocation_dir.is_relative_to(rootdir):
        dirs += [parent for parent in invocation_dir.parents if parent.is_relative_to(rootdir)]
    if rootdir not in dirs:
        dirs.append(rootdir)
    return dirs


def find_config(rootdir: Path | Sequence[Path], explicit: Path | None) -> tuple[Path | None, str]:
    """Return the config path and its kind: an explicit path, else the nearest ``blissful.yaml`` or
    ``[tool.blissful]`` in ``rootdir`` (one directory or several, nearest first), else ``(None, "default")``."""
    if explicit is not None:
        if not explicit.is_file():
            raise ConfigError(f"--blissful-config: no such file: {explicit}")
        return explicit.resolve(), "pyproject" if explicit.suffix == ".toml" else "file"
    for directory in [rootdir] if isinstance(rootdir, Path) else rootdir:
        for name in CONFIG_FILENAMES:
            candidate = directory / name
            if candidate.is_file():
                return candidate.resolve(), "file"
        pyproject = directory / "pyproject.toml"
        if pyproject.is_file() and b"[tool.blissful" in pyproject.read_bytes():
            return pyproject.resolve(), "pyproject"
    return None, "default"


def config_digest(path: Path | None) -> str:
    """sha256 of the configuration file's bytes (what xdist workers check against the controller's)."""
    if path is None:
        return DEFAULT_DIGEST
    try:
        return hashlib.sha256(path.read_bytes()).hexdigest()
    except OSError as exc:
        return f"unreadable ({exc.strerror})"
