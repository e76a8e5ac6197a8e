"""End of a session (controller only): the scorecard, its files, the CI outputs."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path
from typing import Any

import pytest

from pytest_blissful.grading.scorecard import Scorecard, build_scorecard
from pytest_blissful.report.scorecard_files import previous_scores, scorecard_document, write_scorecard
from pytest_blissful.report.step_summary import markdown


def finish_session(config: pytest.Config, rows: list[dict[str, Any]]) -> tuple[Scorecard, Path]:
    from pytest_blissful._session import RUN_ID_KEY, blissful_config, report_dir
    from pytest_blissful.flows.fmea import configured_weights

    directory = report_dir(config)
    history = previous_scores(directory)
    settings = blissful_config(config)
    scorecard = build_scorecard(rows, configured=configured_weights(settings), min_score=settings.chaos.min_score,
                                history=history, min_coverage=settings.chaos.min_coverage)
    run = {"run_id": config.stash[RUN_ID_KEY], "commit": _git_commit(config.rootpath), "ci": _ci_system()}
    path = write_scorecard(directory, scorecard_document(scorecard, run))
    summary_file = os.environ.get("GITHUB_STEP_SUMMARY")
    if summary_file:
        with open(summary_file, "a", encoding="utf-8") as summary:
            summary.write(markdown(scorecard, [*history, scorecard.resilience_score]))
    _junit_properties(config, scorecard)
    return scorecard, path


def _junit_properties(config: pytest.Config, scorecard: Scorecard) -> None:
    from _pytest.junitxml import xml_key

    xml = config.stash.get(xml_key, None)
    if xml is not None:
        xml.add_global_property("resilience_score", f"{scorecard.resilience_score:.1f}")
        xml.add_global_property("fmea_pass_rate", f"{scorecard.fmea_pass_rate:.1f}")
        xml.add_global_property("promotable", str(scorecard.promotable).lower())


def _ci_system() -> str | None:
    if os.environ.get("GITHUB_ACTIONS"):
        return "github"
    if os.environ.get("JENKINS_URL"):
        return "jenkins"
    return "ci" if os.environ.get("CI") else None


def _git_commit(root: Path) -> str | None:
    try:
        completed = subprocess.run(["git", "rev-parse", "HEAD"], cwd=root, capture_output=True, text=True,
                                   timeout=5, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return None
    return completed.stdout.strip() or None
