from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pytest_blissful.config import ConfigError, load_config


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "blissful.yaml"
    path.write_text(text)
    return path


def test_nested_error_points_at_the_offending_line(tmp_path: Path) -> None:
    path = _write(tmp_path, "canary:\n  steps:\n    - {weight: 10}\n    - {weight: 150}\n")
    with pytest.raises(ConfigError, match=r"blissful\.yaml:4: canary\.steps\.1\.weight: .*less than or equal to 100"):
        load_config(tmp_path, path)


def test_every_problem_is_listed_at_once(tmp_path: Path) -> None:
    path = _write(tmp_path, "load:\n  users: 0\n  workers: 0\nslos: 3\n")
    with pytest.raises(ConfigError) as info:
        load_config(tmp_path, path)
    message = str(info.value)
    assert "blissful.yaml:2: load.users" in message
    assert "blissful.yaml:3: load.workers" in message
    assert "blissful.yaml:4: slos" in message


def test_relative_compose_paths_resolve_against_the_config_file(tmp_path: Path) -> None:
    path = _write(tmp_path, "stack:\n  compose: [deploy/compose.yaml]\n")
    config = load_config(Path("/"), path)
    assert config.base_dir == tmp_path.resolve()
    assert not config.uses_demo_stack


def test_empty_file_means_defaults(tmp_path: Path) -> None:
    config = load_config(tmp_path, _write(tmp_path, ""))
    assert config.uses_demo_stack
    assert config.load.users == 10


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=200))
def test_arbitrary_text_gives_a_config_or_a_config_error(tmp_path_factory: pytest.TempPathFactory, text: str) -> None:
    directory = tmp_path_factory.mktemp("fuzz")
    path = directory / "blissful.yaml"
    path.write_text(text, encoding="utf-8")
    try:
        load_config(directory, path)
    except ConfigError as exc:
        message = str(exc)
    else:
        return
    assert str(path) in message


def test_an_unknown_tool_names_file_line_key_and_the_tools(tmp_path: Path) -> None:
    path = _write(tmp_path, "chaos:\n  scenarios: [pod-kill]\n  tool: litmus\n")
    with pytest.raises(ConfigError, match=r"blissful\.yaml:3: chaos\.tool: Input should be 'chaostoolkit' or "
                                          r"'chaos-mesh'"):
        load_config(tmp_path, path)


@pytest.mark.parametrize("stack", ["", "stack:\n  compose: [compose.yaml]\n", "stack:\n  url: http://127.0.0.1:9\n"])
def test_chaos_mesh_without_a_kubernetes_stack_names_the_key(tmp_path: Path, stack: str) -> None:
    path = _write(tmp_path, stack + "chaos:\n  tool: chaos-mesh\n")
    line = stack.count("\n") + 2
    with pytest.raises(ConfigError, match=rf"blissful\.yaml:{line}: chaos\.tool: chaos-mesh needs a Kubernetes "
                                          r"stack \(stack\.kubernetes\)"):
        load_config(tmp_path, path)


def test_chaos_mesh_on_a_kubernetes_stack_is_accepted(tmp_path: Path) -> None:
    path = _write(tmp_path, "stack:\n  kubernetes: {manifests: [k8s]}\nchaos:\n  tool: chaos-mesh\n")
    assert load_config(tmp_path, path).chaos.tool == "chaos-mesh"
