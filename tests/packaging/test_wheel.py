"""The wheel a user installs: exactly the package, the demo recipes and the experiments; installed into a fresh
virtualenv, it runs a smoke test against a service that is not the demo, described in a temporary service repo
outside the project tree."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
EXAMPLE = REPO / "docs" / "example-service"
IMAGE = "blissful-example/orders:1"


def _tracked(path: str) -> set[str]:
    listed = subprocess.run(["git", "ls-files", "-z", "--", path], cwd=REPO, capture_output=True, text=True,
                            check=True).stdout.split("\0")
    return {name for name in listed if name and (REPO / name).is_file()}


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("dist")
    subprocess.run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "--no-build-isolation",
                    "--disable-pip-version-check", "-w", str(out), str(REPO)], check=True, timeout=300,
                   capture_output=True, text=True)
    (built,) = out.glob("pytest_blissful-*.whl")
    return built


def test_the_wheel_holds_exactly_the_package_the_demo_recipes_and_the_experiments(wheel: Path) -> None:
    names = {n for n in zipfile.ZipFile(wheel).namelist() if ".dist-info/" not in n}
    expected = ({n for n in _tracked("pytest_blissful")}
                | {"pytest_blissful/_demo/" + n.removeprefix("fixtures/demo/") for n in _tracked("fixtures/demo")}
                | {"pytest_blissful/_experiments/" + n.removeprefix("experiments/") for n in _tracked("experiments")})
    assert names == expected, {"unexpected": sorted(names - expected), "missing": sorted(expected - names)}
    assert wheel.stat().st_size < 1_000_000, f"{wheel.name} is {wheel.stat().st_size} bytes"


@pytest.mark.docker
def test_a_fresh_venv_from_the_wheel_runs_smoke_on_a_foreign_service(wheel: Path, tmp_path: Path,
                                                                      docker_engine: None) -> None:
    if subprocess.run(["docker", "image", "inspect", IMAGE], capture_output=True, check=False).returncode != 0:
        pytest.fail(f"{IMAGE} missing: run ./scripts/setup.sh example-service", pytrace=False)
    uv = shutil.which("uv", path=str(Path(sys.executable).parent)) or shutil.which("uv")
    assert uv, "uv missing: it is in the dev extra (pip install -e '.[dev]')"
    venv = tmp_path / "venv"
    env = {k: v for k, v in os.environ.items() if k not in {"PYTHONPATH", "VIRTUAL_ENV", "PYTEST_ADDOPTS"}}
    env["UV_CACHE_DIR"] = str(REPO / ".cache" / "uv")  # wheels are reused between runs
    subprocess.run([uv, "venv", "-q", "--python", sys.executable, str(venv)], env=env, check=True, timeout=120)
    install = subprocess.run([uv, "pip", "install", "-q", "--python", str(venv / "bin" / "python"), str(wheel)],
                             env=env, capture_output=True, text=True, timeout=600, check=False)
    assert install.returncode == 0, install.stderr[-3000:]

    repo = tmp_path / "service-repo"  # outside the project tree: nothing of the checkout is importable there
    shutil.copytree(EXAMPLE, repo)
    (repo / "test_smoke.py").write_text(
        "import pytest\n\n\n"
        "def test_the_plugin_comes_from_the_wheel():\n"
        "    import pytest_blissful\n"
        "    from pytest_blissful.chaos.scenarios import experiments_dir\n"
        "    from pytest_blissful.stack.compose import demo_compose_file\n"
        "    assert '/site-packages/pytest_blissful/' in pytest_blissful.__file__\n"
        "    assert (experiments_dir() / 'pod-kill.json').is_file() and demo_compose_file().is_file()\n"
        "    assert '_experiments' in str(experiments_dir()) and '_demo' in str(demo_compose_file())\n\n\n"
        "@pytest.mark.smoke\n"
        "def test_an_order(http, stack):\n"
        "    assert http.get('/api/orders/7').json() == {'order': '7', 'stock': 7, 'degraded': False}\n"
        "    assert sorted(stack.services) == ['inventory', 'orders', 'toxiproxy']\n")
    env["BLISSFUL_STATE_DIR"] = str(tmp_path / "state")
    completed = subprocess.run([str(venv / "bin" / "pytest"), "-p", "no:cacheprovider", "-rA"], cwd=repo, env=env,
                               capture_output=True, text=True, timeout=600, check=False)
    output = completed.stdout + completed.stderr
    assert completed.returncode == 0, output[-5000:]
    assert "2 passed" in output, output[-3000:]
