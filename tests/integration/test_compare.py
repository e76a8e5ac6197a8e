"""Old-vs-new comparison on real Docker: the grade follows the regression switch, bad input fails clearly and
leaves nothing behind, git refs are built and cached by commit, and the suite's outputs on the demo stack."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path
from typing import Any

import pytest

from pytest_blissful.config.schema import BlissfulConfig
from pytest_blissful.flows.compare import ComparisonSetupError, VersionComparison
from pytest_blissful.flows.versions import image_tag, resolve
from pytest_blissful.grading.comparison import KEEP, PROMOTE
from pytest_blissful.stack.ledger import Ledger

TINY = Path(__file__).parent / "tiny_compare" / "compose.yaml"
SCHEMA = Path(__file__).parents[2] / "pytest_blissful" / "report" / "comparison.schema.json"


def _config(tmp_path: Path, new: dict[str, Any], old: dict[str, Any] | None = None, **extra: Any) -> BlissfulConfig:
    data = {
        "stack": {"compose": [str(TINY)], "entry_service": "web", "entry_port": 8000, "startup_timeout": 60},
        "comparison": {
            "test_duration": 10, "warmup_duration": 2, "block_duration": 1, "concurrent_users": 4,
            "mix": {"GET /hello": 3, "GET /health": 1}, "services": ["web"],
            # generous: this test is about the switch, and shared CI machines can be slow
            "thresholds": {"min_throughput_rps": 5, "max_cpu_percent": 400, "p95_latency_ms": 3000,
                           "p99_latency_ms": 6000},
            "old": old or {"label": "tiny"}, "new": new, **extra,
        },
    }
    config = BlissfulConfig.model_validate(data)
    return config.model_copy(update={"source": tmp_path / "blissful.yaml"})


def _leftovers(prefix: str) -> list[str]:
    listed = subprocess.run(["docker", "ps", "-a", "--filter", f"label=com.docker.compose.project={prefix}-old",
                             "--filter", "label=io.blissful.test=tiny-compare", "-q"], capture_output=True, text=True,
                            check=True)
    also = subprocess.run(["docker", "ps", "-a", "--filter", f"label=com.docker.compose.project={prefix}-new", "-q"],
                          capture_output=True, text=True, check=True)
    return listed.stdout.split() + also.stdout.split()


def _run(config: BlissfulConfig, state: Path, name: str) -> Any:
    prefix = f"blissful-test-{name}-{os.getpid()}"
    try:
        return VersionComparison(config, project_prefix=prefix, owner_pid=os.getpid(), ledger=Ledger(state)).run()
    finally:
        assert _leftovers(prefix) == []
        assert json.loads((state / "ledger.json").read_text()) == {}


def test_the_grade_follows_the_regression_switch(tmp_path: Path, isolated_state: Path) -> None:
    same = _run(_config(tmp_path, {"label": "tiny again"}), isolated_state, "aa").result
    assert same.recommendation == PROMOTE, same.explain()
    assert same.metric("p95_latency_ms[GET /hello]").outcome == "no significant difference", same.explain()
    assert same.metric("cpu_percent").blocks[0] >= 2, same.explain()  # Docker stats: CPU % per 3 s block
    assert same.metric("memory_mb").new is not None and same.metric("memory_mb").new > 1

    slower = _run(_config(tmp_path, {"label": "tiny +200 ms", "env": {"DELAY_MS": "200"}}), isolated_state, "ab")
    result = slower.result
    assert result.recommendation == KEEP, result.explain()
    assert result.winner == "old", result.explain()
    hello = result.metric("p95_latency_ms[GET /hello]")
    assert hello.outcome == "worse" and hello.ci_low is not None and hello.ci_low > 0, result.explain()
    # the 200 ms is /hello's alone: /health is judged on its own requests. (Not "no difference": with the slow
    # version's threads asleep, /health's p95 was +7 ms worse in 3 of 4 CI runs, a small real effect.)
    health = result.metric("p95_latency_ms[GET /health]")
    assert health.shift is not None and hello.shift is not None and health.shift < hello.shift / 4, result.explain()
    old_requests, new_requests = slower.timelines["old"].requests, slower.timelines["new"].requests
    assert new_requests > 0 and abs(old_requests - new_requests) <= 4  # the same requests (the stop cuts ≤ 1 per user)


def test_include_chaos_keeps_the_old_version_when_the_new_one_loses_its_fallback(tmp_path: Path,
                                                                               isolated_state: Path) -> None:
    """comparison.include_chaos: the FMEA scenario runs on both versions; the version whose /hello fails while its
    dependency is paused loses on the resilience score, with the scenario's verdicts as the evidence. With the
    fallback on both sides the same run promotes."""
    chaos = {"scenarios": ["dep-down"], "experiments": {"dep-down": str(TINY.parent / "dep-down.json")},
             "targets": {"dep": "dep"}, "baseline_duration": 3, "default_duration": 3, "load_during_chaos": 4,
             "mix": {"GET /hello": 3, "GET /health": 1}}
    dep = {"DEP_URL": "http://dep:8000/health"}
    config = _config(tmp_path, {"label": "tiny without fallback", "env": dep},
                     old={"label": "tiny", "env": {**dep, "FALLBACK": "1"}}, include_chaos=True)
    config = config.model_copy(update={"chaos": config.chaos.model_validate(chaos)})
    regressed = _run(config, isolated_state, "chaos").result
    row = regressed.metric("resilience_score")
    assert (row.old, row.new) == (100.0, 0.0), regressed.explain()
    assert row.outcome == "worse" and "dep-down" in row.note, regressed.explain()
    assert regressed.recommendation == KEEP and regressed.winner == "old", regressed.explain()
    verdicts = regressed.details["resilience"]
    assert verdicts["old"]["verdicts"]["dep-down"]["verdict"] == "pass", verdicts
    assert "error rate under fault" in verdicts["new"]["verdicts"]["dep-down"]["reason"], verdicts

    both = _config(tmp_path, {"label": "tiny again", "env": {**dep, "FALLBACK": "1"}},
                   old={"label": "tiny", "env": {**dep, "FALLBACK": "1"}}, include_chaos=True)
    both = both.model_copy(update={"chaos": both.chaos.model_validate(chaos)})
    same = _run(both, isolated_state, "chaos2").result
    assert same.metric("resilience_score").outcome == "no significant difference", same.explain()
    assert same.metric("resilience_score").new == 100.0, same.explain()


def test_bad_input_fails_clearly_and_leaves_nothing(tmp_path: Path, isolated_state: Path) -> None:
    with pytest.raises(ComparisonSetupError, match=r"comparison\.new\.image: image 'blissful/no-such-image:0'"):
        _run(_config(tmp_path, {"image": "blissful/no-such-image:0"}), isolated_state, "img")
    with pytest.raises(ComparisonSetupError, match=r"the new version \(broken\) did not come up"):
        _run(_config(tmp_path, {"label": "broken", "env": {"FAIL": "1"}}), isolated_state, "up")
    repo = _git_repo(tmp_path)
    with pytest.raises(ComparisonSetupError, match=r"comparison\.old\.ref: unknown git ref 'no-such-branch'"):
        _run(_config(tmp_path, {"ref": "HEAD"}, old={"ref": "no-such-branch", "repo": str(repo)}),
             isolated_state, "ref")


def _git_repo(tmp_path: Path) -> Path:
    repo = tmp_path / "service"
    repo.mkdir()

    def git(*args: str) -> None:
        subprocess.run(["git", "-C", str(repo), "-c", "user.name=t", "-c", "user.email=t@t", *args], check=True,
                       capture_output=True)

    git("init", "-q")
    (repo / "Dockerfile").write_text("FROM blissful/base:bookworm\nCOPY version.txt /version.txt\n")
    (repo / "version.txt").write_text("1\n")
    git("add", "-A")
    git("commit", "-qm", "one")
    (repo / "Dockerfile").write_text("FROM blissful/base:bookworm\nRUN echo building && exit 3\n")
    git("commit", "-qam", "broken build")
    return repo


def _failed_build_steps() -> list[str]:
    listed = subprocess.run(["docker", "ps", "-a", "--no-trunc", "--format", "{{.ID}} {{.Command}}"],
                            capture_output=True, text=True, timeout=60, check=True).stdout
    return sorted(line.split()[0] for line in listed.splitlines() if "echo building && exit 3" in line)


def test_git_refs_are_built_once_per_commit_and_failed_builds_show_the_log(tmp_path: Path) -> None:
    from pytest_blissful.config.schema import VersionConfig
    from pytest_blissful.flows.versions import VersionError

    repo = _git_repo(tmp_path)
    config = BlissfulConfig().model_copy(update={"source": repo / "blissful.yaml"})
    commit = subprocess.run(["git", "-C", str(repo), "rev-parse", "HEAD~1"], capture_output=True, text=True,
                            check=True).stdout.strip()
    subprocess.run(["docker", "image", "rm", "-f", image_tag(repo, commit)], capture_output=True, check=False)
    try:
        first = resolve("old", VersionConfig(ref="HEAD~1"), config, lambda m: None)
        assert first.built and first.commit == commit and first.image == image_tag(repo, commit)
        again = resolve("old", VersionConfig(ref="HEAD~1"), config, lambda m: None)
        assert not again.built and again.image == first.image
        failed_steps_before = _failed_build_steps()
        with pytest.raises(VersionError, match=r"(?s)comparison\.new: docker build of HEAD .* failed.*building"):
            resolve("new", VersionConfig(ref="HEAD"), config, lambda m: None)
        assert _failed_build_steps() == failed_steps_before, "the failed build step's container was left behind"
        worktrees = subprocess.run(["git", "-C", str(repo), "worktree", "list"], capture_output=True, text=True,
                                   check=True).stdout
        assert len(worktrees.splitlines()) == 1, worktrees
    finally:
        subprocess.run(["docker", "image", "rm", "-f", image_tag(repo, commit)], capture_output=True, check=False)


def test_demo_suite_keeps_the_old_version_when_the_new_one_has_an_n_plus_1_query(
        pytester: pytest.Pytester, isolated_state: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    summary = tmp_path / "summary.md"
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(summary))
    pytester.makefile(".yaml", blissful="""
comparison:
  test_duration: 30s
  warmup_duration: 3s
  concurrent_users: 4
  new:
    label: demo with N+1
    env: {APP_VERSION: "1.1.0", REGRESSION_EXTRA_QUERIES: "80"}
""")
    # in a process of its own: an in-process inner session does not record Allure while this one does
    result = pytester.runpytest_subprocess("--pyargs", "pytest_blissful.suites", "-m", "compare", "-p",
                                           "no:cacheprovider", "--blissful-report-dir", str(tmp_path / "reports"))
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines([
        "*blissful: version comparison*",
        "*Metric*| Old*| New*| Change (98% CI)*| Winner*",
        "p95 latency [[]GET /greetings[]] [*]*| old ✓ (critical)*",
        "Recommendation: Keep old version — winner: old version, with 98% confidence*",
    ])
    import jsonschema

    document = json.loads((tmp_path / "reports" / "comparison.json").read_text())
    jsonschema.validate(document, json.loads(SCHEMA.read_text()))
    assert document["comparisons"][0]["recommendation"] == KEEP
    assert "| demo 1.0.0 | demo with N+1 | Keep old version | old |" in summary.read_text()
    svgs = [p for p in (tmp_path / "reports" / "allure-results").glob("*-attachment.svg")]
    assert any("series-new-p95" in p.read_text() for p in svgs)


KILLED_RUN = """
import os, sys
sys.path.insert(0, {root!r})
from pytest_blissful.config.schema import BlissfulConfig
from pytest_blissful.flows.compare import VersionComparison
from pytest_blissful.stack.ledger import Ledger
config = BlissfulConfig.model_validate({config!r})
VersionComparison(config, project_prefix={prefix!r}, owner_pid=os.getpid(), ledger=Ledger()).run()
"""


def test_a_sigkilled_comparison_is_cleaned_up_by_the_next_session(tmp_path: Path, isolated_state: Path) -> None:
    import signal
    import sys
    import time

    from pytest_blissful.stack.reaper import reap_orphans

    config = _config(tmp_path, {"label": "tiny again"}, test_duration=120)
    prefix = f"blissful-test-kill-{os.getpid()}"
    script = KILLED_RUN.format(root=str(Path(__file__).parents[2]), prefix=prefix,
                               config=config.model_dump(mode="json"))
    child = subprocess.Popen([sys.executable, "-c", script],
                             env={**os.environ, "BLISSFUL_STATE_DIR": str(isolated_state)})
    try:
        deadline = time.monotonic() + 120
        while len(_leftovers(prefix)) < 2:  # both versions up (they then get load for 2 minutes)
            assert child.poll() is None, "the comparison ended early"
            assert time.monotonic() < deadline, "the two stacks did not come up"
            time.sleep(0.5)
    finally:
        child.send_signal(signal.SIGKILL)
        child.wait(timeout=10)
    entries = json.loads((isolated_state / "ledger.json").read_text())
    assert sorted(entries) == [f"{prefix}-new", f"{prefix}-old"]
    removed = reap_orphans(Ledger(isolated_state))
    assert sorted(removed) == [f"{prefix}-new", f"{prefix}-old"]
    assert _leftovers(prefix) == []
