"""The stack fixture against a real Docker engine: up, shared, handles, logs, and nothing left behind.

Each test runs an inner pytest session (as a user would) against a one-service compose stack, and checks
the engine afterwards for containers, networks and volumes of that session's compose project.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.integration.conftest import TINY_COMPOSE, assert_nothing_left, project_resources
from tests.processes import end, restore_ctrl_c

pytestmark = pytest.mark.usefixtures("isolated_state")

RECORD_PROJECT = """
import pathlib
def test_records_project(stack):
    pathlib.Path("project.txt").write_text(stack.project)
"""


@pytest.fixture
def tiny(pytester: pytest.Pytester) -> pytest.Pytester:
    pytester.makefile(".yaml", blissful=f"stack:\n  compose: [{TINY_COMPOSE}]\n  entry_service: web\n"
                                        "  entry_port: 8000\n  startup_timeout: 60s\n")
    return pytester


def _project(pytester: pytest.Pytester) -> str:
    return (pytester.path / "project.txt").read_text()


def test_stack_is_up_healthy_with_handles_and_logs(tiny: pytest.Pytester) -> None:
    tiny.makepyfile(
        """
        import pathlib, httpx
        def test_stack(stack, base_url, http):
            pathlib.Path("project.txt").write_text(stack.project)
            assert base_url.startswith("http://127.0.0.1:")
            assert http.get("/health").json() == {"status": "healthy"}
            (web,) = stack.service("web")
            assert len(web.container_id) >= 12 and web.container_name
            assert web.published[8000] == int(base_url.rsplit(":", 1)[1])
            assert "tiny service started" in stack.logs("web")
        """
    )
    result = tiny.runpytest_subprocess()
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines(["*bringing up stack*", "*healthy in *s at http://127.0.0.1:*"])
    assert_nothing_left(_project(tiny))


def test_entry_point_defaults_to_the_only_published_port(pytester: pytest.Pytester) -> None:
    """A stack that is not the demo: no entry_service/entry_port, no demo defaults (port 80, /ready, /hello)."""
    pytester.makefile(".yaml", blissful=f"stack:\n  compose: [{TINY_COMPOSE}]\n  startup_timeout: 90s\n")
    pytester.makepyfile(
        """
        import pathlib
        def test_entry(stack, base_url, blissful_config):
            pathlib.Path("project.txt").write_text(stack.project)
            assert base_url == stack.service("web")[0].url(8000)
            assert blissful_config.chaos.probe_paths == ["/health"]
        """
    )
    pytester.runpytest_subprocess("-p", "no:cacheprovider").assert_outcomes(passed=1)
    assert_nothing_left(_project(pytester))


def test_failing_run_leaves_nothing(tiny: pytest.Pytester) -> None:
    tiny.makepyfile(RECORD_PROJECT + "\ndef test_fails(stack):\n    assert False\n")
    tiny.runpytest_subprocess().assert_outcomes(passed=1, failed=1)
    assert_nothing_left(_project(tiny))


def test_xdist_workers_share_one_stack_and_the_controller_removes_it(tiny: pytest.Pytester) -> None:
    tiny.makepyfile(
        """
        import os, pathlib, pytest
        @pytest.mark.parametrize("n", range(6))
        def test_share(stack, n):
            pathlib.Path(f"project-{n}.txt").write_text(stack.project + " " + os.environ["PYTEST_XDIST_WORKER"])
        """
    )
    tiny.runpytest_subprocess("-n", "2").assert_outcomes(passed=6)
    records = [(tiny.path / f"project-{n}.txt").read_text().split() for n in range(6)]
    projects = {project for project, _ in records}
    workers = {worker for _, worker in records}
    assert len(projects) == 1, f"workers brought up separate stacks: {projects}"
    assert workers == {"gw0", "gw1"}
    assert_nothing_left(projects.pop())


def test_xdist_without_a_config_file_removes_the_demo_stack(pytester: pytest.Pytester) -> None:
    """No blissful.yaml: the controller never loads a config itself, yet it must remove the workers' stack."""
    pytester.makepyfile(
        """
        import pathlib, pytest
        @pytest.mark.parametrize("n", range(2))
        def test_share(stack, n):
            pathlib.Path(f"project-{n}.txt").write_text(stack.project)
        """
    )
    pytester.runpytest_subprocess("-n", "2").assert_outcomes(passed=2)
    projects = {(pytester.path / f"project-{n}.txt").read_text() for n in range(2)}
    assert len(projects) == 1
    assert_nothing_left(projects.pop())


def _start_and_wait(tiny: pytest.Pytester) -> subprocess.Popen[bytes]:
    tiny.makepyfile(
        test_hangs="""
        import pathlib, time
        def test_hangs(stack):
            pathlib.Path("project.txt").write_text(stack.project)
            time.sleep(120)
        """
    )
    with (tiny.path / "inner.log").open("wb") as log:
        process = subprocess.Popen([sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "test_hangs.py"],
                                   cwd=tiny.path, stdout=log, stderr=subprocess.STDOUT, env=os.environ.copy(),
                                   preexec_fn=restore_ctrl_c)
    deadline = time.monotonic() + 90
    while not (tiny.path / "project.txt").exists():
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            process.wait(timeout=10)
            pytest.fail(f"inner session never brought the stack up:\n{_output(tiny)}")
        time.sleep(0.2)
    return process


def _output(tiny: pytest.Pytester) -> str:
    return (tiny.path / "inner.log").read_text(errors="replace")


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM], ids=["ctrl-c", "sigterm"])
def test_interrupted_run_leaves_nothing(tiny: pytest.Pytester, signum: int) -> None:
    process = _start_and_wait(tiny)
    try:
        project = _project(tiny)
        assert project_resources(project)["containers"], "stack should be running while the test sleeps"
        process.send_signal(signum)
        process.wait(timeout=60)
        assert process.returncode == pytest.ExitCode.INTERRUPTED, _output(tiny)
    finally:
        end(process)
    assert_nothing_left(project)


def test_sigkilled_run_is_cleaned_up_by_the_next_run(tiny: pytest.Pytester) -> None:
    process = _start_and_wait(tiny)
    project = _project(tiny)
    process.kill()
    process.wait(timeout=30)
    assert project_resources(project)["containers"], "SIGKILL cannot clean up: the containers must still be there"
    (tiny.path / "test_hangs.py").unlink()
    tiny.makepyfile(test_next="def test_nothing(): pass")
    result = tiny.runpytest_subprocess()
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines([f"*removing leftovers of a killed run (compose project {project})*"])
    assert_nothing_left(project)


def test_keep_stack_leaves_it_running_and_says_how_to_remove_it(tiny: pytest.Pytester) -> None:
    tiny.makepyfile(RECORD_PROJECT)
    result = tiny.runpytest_subprocess("--blissful-keep-stack")
    result.assert_outcomes(passed=1)
    project = _project(tiny)
    try:
        result.stdout.fnmatch_lines([f"*kept stack*docker compose --project-name {project} down --volumes*"])
        assert project_resources(project)["containers"]
        # a kept stack is not a leftover: the next session must not remove it
        tiny.makepyfile(test_next="def test_nothing(): pass")
        tiny.runpytest_subprocess("test_next.py").assert_outcomes(passed=1)
        assert project_resources(project)["containers"]
    finally:
        subprocess.run(["docker", "compose", "--project-name", project, "down", "--volumes"], check=True,
                       capture_output=True, timeout=60)
    assert_nothing_left(project)


def test_broken_compose_file_fails_with_a_clear_message(pytester: pytest.Pytester) -> None:
    compose = pytester.makefile(".yaml", compose="services:\n  web:\n    image: x\n    portz: [1]\n")
    pytester.makefile(".yaml", blissful=f"stack:\n  compose: [{compose.name}]\n")
    pytester.makepyfile("def test_x(stack): pass")
    result = pytester.runpytest_subprocess()
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(["*the stack could not be started*", "*invalid compose file*compose.yaml*portz*"])
    assert "Traceback" not in result.stdout.str()


def test_missing_image_says_how_to_build_it(pytester: pytest.Pytester) -> None:
    compose = pytester.makefile(
        ".yaml", compose="services:\n  web:\n    image: blissful/does-not-exist:0\n    ports: ['127.0.0.1::80']\n"
    )
    pytester.makefile(".yaml", blissful=f"stack:\n  compose: [{compose.name}]\n  entry_service: web\n")
    pytester.makepyfile("def test_x(stack): pass")
    result = pytester.runpytest_subprocess()
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(
        ["*docker compose up*failed*", "*missing locally*blissful/does-not-exist:0*./scripts/setup.sh*"]
    )


def test_unreachable_url_fails_with_a_clear_message(pytester: pytest.Pytester) -> None:
    pytester.makefile(".yaml", blissful="stack:\n  startup_timeout: 1s\n")
    pytester.makepyfile("def test_a(base_url): pass\ndef test_b(base_url): pass")
    started = time.monotonic()
    result = pytester.runpytest_subprocess("--blissful-url", "http://127.0.0.1:9")
    result.assert_outcomes(errors=2)
    result.stdout.fnmatch_lines(["*target unreachable*http://127.0.0.1:9/health did not become healthy within 1 s*"])
    assert time.monotonic() - started < 30, "an unreachable target must not be retried per test"


def test_running_target_by_url_starts_nothing(pytester: pytest.Pytester, tmp_path: Path) -> None:
    (tmp_path / "health").write_text("ok")
    server = subprocess.Popen([sys.executable, "-m", "http.server", "0", "--bind", "127.0.0.1", "-d", str(tmp_path)],
                              stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    try:
        assert server.stdout is not None
        port = server.stdout.readline().split("port ")[1].split()[0]
        pytester.makepyfile(
            """
            def test_target(stack, http):
                assert stack.kind == "external" and stack.project is None
                assert http.get("/health").text == "ok"
            """
        )
        pytester.runpytest_subprocess("--blissful-url", f"http://127.0.0.1:{port}").assert_outcomes(passed=1)
    finally:
        server.terminate()
        server.communicate(timeout=10)
