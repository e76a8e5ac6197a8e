"""Where the configuration lives; deliberately free of heavy imports (runs in every pytest session)."""

from __future__ import annotations

from pathlib import Path

CONFIG_FILENAMES = ("blissful.yaml", "blissful.yml")


class ConfigError(Exception):
    """A configuration problem a user can fix; the message says what, where and how."""


def find_config(rootdir: Path, explicit: Path | None) -> tuple[Path | None, str]:
    """Return the config path and its kind: an explicit path, blissful.yaml in rootdir, or [tool.blissful]."""
    if explicit is not None:
        if not explicit.is_file():
            raise ConfigError(f"--blissful-config: no such file: {explicit}")
        return explicit, "pyproject" if explicit.suffix == ".toml" else "file"
    for name in CONFIG_FILENAMES:
        candidate = rootdir / name
        if candidate.is_file():
            return candidate, "file"
    pyproject = rootdir / "pyproject.toml"
    if pyproject.is_file() and b"[tool.blissful" in pyproject.read_bytes():
        return pyproject, "pyproject"
    return None, "default"
