"""Configuration: ``blissful.yaml`` (or ``[tool.blissful]`` in pyproject.toml), validated.

The schema and loader (pydantic, PyYAML) are imported on first use, so that discovering whether a project
uses blissful at all stays cheap in every pytest session.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from pytest_blissful.config.discovery import ConfigError, find_config

if TYPE_CHECKING:
    from pytest_blissful.config.loader import load_config
    from pytest_blissful.config.schema import BlissfulConfig

__all__ = ["BlissfulConfig", "ConfigError", "find_config", "load_config"]


def __getattr__(name: str) -> Any:
    if name == "load_config":
        from pytest_blissful.config.loader import load_config

        return load_config
    if name == "BlissfulConfig":
        from pytest_blissful.config.schema import BlissfulConfig

        return BlissfulConfig
    raise AttributeError(name)
