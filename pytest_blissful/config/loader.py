"""Find, parse and validate the configuration; every error names the file, the key and the line."""

from __future__ import annotations

import tomllib
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from pytest_blissful.config.discovery import ConfigError, find_config
from pytest_blissful.config.schema import BlissfulConfig


def load_config(rootdir: Path | Sequence[Path], explicit: Path | None = None) -> BlissfulConfig:
    path, kind = find_config(rootdir, explicit)
    return load_config_at(path, kind)


def load_config_at(path: Path | None, kind: str) -> BlissfulConfig:
    """Load the configuration found by :func:`find_config` (``None``: the built-in defaults, the demo stack)."""
    if path is None:
        return BlissfulConfig()
    if kind == "pyproject":
        return _load_pyproject(path)
    return _load_yaml(path)


def _load_yaml(path: Path) -> BlissfulConfig:
    text = path.read_text(encoding="utf-8")
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
        data = yaml.safe_load(text)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        where = f"{path}:{mark.line + 1}:{mark.column + 1}" if mark else str(path)
        raise ConfigError(f"{where}: invalid YAML: {exc.problem or exc.context}") from None
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: invalid YAML: {exc}") from None
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ConfigError(f"{path}:1: the top level must be a mapping of sections (stack:, load:, slos:, chaos: ...)")
    return _validate(data, path, "file", lambda loc: _line_of(root, loc))


def _load_pyproject(path: Path) -> BlissfulConfig:
    try:
        document = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: invalid TOML: {exc}") from None
    data = document.get("tool", {}).get("blissful", {})
    return _validate(data, path, "pyproject", lambda loc: None, key_prefix="tool.blissful.")


def _validate(data: dict[str, Any], path: Path, kind: str, line_of: Any, key_prefix: str = "") -> BlissfulConfig:
    try:
        config = BlissfulConfig.model_validate(data)
    except ValidationError as exc:
        problems = []
        for error in exc.errors(include_url=False):
            loc = tuple(error["loc"])
            line = line_of(loc)
            where = f"{path}:{line}" if line else str(path)
            key = key_prefix + ".".join(str(part) for part in loc) if loc else "(top level)"
            problems.append(f"{where}: {key}: {_describe(error)}")
        raise ConfigError("invalid blissful configuration:\n  " + "\n  ".join(problems)) from None
    if found := config.problems():
        lines = []
        for loc, message in found:
            line = line_of(loc)
            lines.append(f"{path}:{line}: {key_prefix}{'.'.join(str(p) for p in loc)}: {message}" if line
                         else f"{path}: {key_prefix}{'.'.join(str(p) for p in loc)}: {message}")
        raise ConfigError("invalid blissful configuration:\n  " + "\n  ".join(lines))
    return config.model_copy(update={"source": path.resolve(), "kind": kind})


def _describe(error: Any) -> str:
    if error["type"] == "extra_forbidden":
        return "unknown key (check the spelling; see the configuration reference in docs/configuration.md)"
    message = str(error["msg"])
    return message.removeprefix("Value error, ")


def _line_of(node: yaml.Node | None, loc: Sequence[int | str]) -> int | None:
    """1-based line of the YAML node at ``loc`` (the deepest existing ancestor when the key is missing)."""
    line = node.start_mark.line + 1 if node is not None else None
    for part in loc:
        if isinstance(node, yaml.MappingNode):
            match = next((pair for pair in node.value if pair[0].value == part), None)
            if match is None:
                break
            key_node, node = match
            line = key_node.start_mark.line + 1
        elif isinstance(node, yaml.SequenceNode) and isinstance(part, int) and part < len(node.value):
            node = node.value[part]
            line = node.start_mark.line + 1
        else:
            break
    return line
