"""Build the single-file Allure 3 HTML report from ``reports/allure-results``.

``python -m pytest_blissful.report html`` → ``reports/allure-report/index.html``: one self-contained file that
opens from ``file://`` (Allure 3's Awesome report with ``singleFile: true``). Allure's history (trend charts,
per-test history) is carried across runs in ``reports/allure-history.jsonl``: keep that file between CI runs
(cache or artifact) to see the trend there too.

The Allure 3 CLI (npm package ``allure``, no Java) is looked up in ``$BLISSFUL_ALLURE``, then
``.cache/node/node_modules/.bin/allure`` (installed by ``./scripts/setup.sh allure``) of the current directory
and of this checkout, then ``allure`` on ``PATH``.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from pytest_blissful.report.allure import CATEGORIES

ALLURE_VERSION = "3"
CLI_RELATIVE = Path(".cache/node/node_modules/.bin/allure")


class ReportError(Exception):
    """The report could not be built; the message says why and what to do."""


@dataclass(frozen=True)
class BuiltReport:
    index: Path
    history: Path
    history_runs: int
    results: int
    seconds: float


def find_allure() -> Path:
    candidates: list[Path] = []
    if os.environ.get("BLISSFUL_ALLURE"):
        candidates.append(Path(os.environ["BLISSFUL_ALLURE"]))
    candidates += [Path.cwd() / CLI_RELATIVE, Path(__file__).resolve().parents[2] / CLI_RELATIVE]
    on_path = shutil.which("allure")
    if on_path:
        candidates.append(Path(on_path))
    for candidate in candidates:
        if candidate.is_file() and os.access(candidate, os.X_OK):
            version = _version(candidate)
            if version.startswith(ALLURE_VERSION + "."):
                return candidate
    raise ReportError(
        "no Allure 3 CLI found (looked at $BLISSFUL_ALLURE, " + ", ".join(str(c) for c in candidates[-3:])
        + "): install it with ./scripts/setup.sh allure, or `npm install --prefix .cache/node allure@3`, "
        "or point BLISSFUL_ALLURE at it")


def _version(cli: Path) -> str:
    try:
        done = subprocess.run([str(cli), "--version"], capture_output=True, text=True, timeout=60, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return ""
    return done.stdout.strip()


def allure_config(output: Path, history: Path, name: str, history_limit: int) -> str:
    """An ``allurerc.mjs`` (plain ``export default {...}``: no import of the allure package needed)."""
    config = {
        "name": name,
        "output": str(output),
        "historyPath": str(history),
        "historyLimit": history_limit,
        "appendHistory": True,
        "categories": CATEGORIES,
        "plugins": {"awesome": {"options": {
            "singleFile": True, "reportName": name, "reportLanguage": "en",
            "groupBy": ["parentSuite", "suite", "subSuite"],  # the pipeline stage first
            "stepTreeExpansion": "expanded",  # charts and tables open without a click
        }}},
    }
    return "export default " + json.dumps(config, indent=2, ensure_ascii=False) + ";\n"


def build_report(results: Path, output: Path, *, history: Path | None = None, name: str = "pytest-blissful",
                 history_limit: int = 50, allure: Path | None = None) -> BuiltReport:
    """Generate ``output/index.html`` from ``results``; returns where it is and what it took."""
    results, output = results.resolve(), output.resolve()
    history = (history or output.parent / "allure-history.jsonl").resolve()
    found = sorted(results.glob("*-result.json")) if results.is_dir() else []
    if not found:
        raise ReportError(f"no Allure results in {results}: run pytest first (blissful sessions write them there, "
                          "or pass --alluredir)")
    cli = allure or find_allure()
    history.parent.mkdir(parents=True, exist_ok=True)
    if output.exists():
        shutil.rmtree(output)
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="blissful-allure-") as tmp:
        config = Path(tmp) / "allurerc.mjs"
        config.write_text(allure_config(output, history, name, history_limit), encoding="utf-8")
        done = subprocess.run([str(cli), "generate", str(results), "--config", str(config)], cwd=tmp,
                              capture_output=True, text=True, timeout=600, check=False)
    seconds = time.monotonic() - started
    index = output / "index.html"
    if done.returncode != 0 or not index.is_file():
        raise ReportError(f"allure generate failed (exit {done.returncode}):\n{done.stdout}\n{done.stderr}".strip())
    runs = sum(1 for line in history.read_text(encoding="utf-8").splitlines() if line.strip()) \
        if history.is_file() else 0
    return BuiltReport(index=index, history=history, history_runs=runs, results=len(found), seconds=seconds)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m pytest_blissful.report",
                                     description="Build reports from a blissful run's results.")
    commands = parser.add_subparsers(dest="command", required=True)
    html = commands.add_parser("html", help="single-file Allure 3 HTML report (opens from file://)")
    html.add_argument("--reports", type=Path, default=Path("reports"), metavar="DIR",
                      help="the run's report dir (default: reports)")
    html.add_argument("--results", type=Path, default=None, metavar="DIR",
                      help="Allure results (default: REPORTS/allure-results)")
    html.add_argument("--output", type=Path, default=None, metavar="DIR",
                      help="where index.html goes (default: REPORTS/allure-report)")
    html.add_argument("--history", type=Path, default=None, metavar="FILE",
                      help="Allure history carried across runs (default: REPORTS/allure-history.jsonl)")
    html.add_argument("--name", default="pytest-blissful", help="report name")
    args = parser.parse_args(argv)
    reports: Path = args.reports
    try:
        built = build_report(args.results or reports / "allure-results", args.output or reports / "allure-report",
                             history=args.history or reports / "allure-history.jsonl", name=args.name)
    except ReportError as exc:
        print(f"blissful report: {exc}", file=sys.stderr)
        return 1
    size_kb = built.index.stat().st_size / 1024
    print(f"Allure report: {built.index} ({size_kb:,.0f} KB, single file, opens from file://)\n"
          f"  {built.results} results, built in {built.seconds:.1f} s; history: {built.history} "
          f"({built.history_runs} runs)\n  open: {built.index.as_uri()}")
    return 0
