"""Allure output: labels, attachments (FMEA table, timeline chart, load CSV, Chaos Toolkit journal), session files.

Called from the fixtures and the plugin's hooks; every function is a no-op when allure-pytest is not recording
(no ``--alluredir`` and no default results dir, or ``-p no:allure_pytest``).

Labels: the pipeline stage is the **epic** and the **parent suite**; the scenario is the **feature** (its failure
mode the **story**); the FMEA severity maps to Allure's severity — Critical → ``blocker`` (it blocks promotion),
High → ``critical``, Medium → ``normal``, Low → ``minor`` — so the four FMEA levels stay four distinct Allure
levels; tags: ``blissful``, the stage markers (added by allure-pytest) and the capabilities a scenario exercises.

Session files (``environment.properties``, ``executor.json``, ``categories.json`` and the synthetic
"Resilience scorecard" result) are written once, by the controller at session end: xdist workers never touch them.
"""

from __future__ import annotations

import base64
import csv
import hashlib
import io
import json
import os
import platform
import socket
import time
import uuid
from collections.abc import Iterable, Mapping, Sequence
from html import escape
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

import pytest

from pytest_blissful._session import CONFIG_KEY, RUN_ID_KEY, SESSION_START_KEY
from pytest_blissful.stages import STAGES

if TYPE_CHECKING:
    from pytest_blissful.flows.fmea import FmeaRun
    from pytest_blissful.grading.scorecard import Scorecard
    from pytest_blissful.load._result import LatencyStats, LoadResult

SEVERITY: Final[dict[str, str]] = {"Critical": "blocker", "High": "critical", "Medium": "normal", "Low": "minor"}
SCORECARD_NAME: Final = "Resilience scorecard"
SCORECARD_FULL_NAME: Final = "pytest_blissful.scorecard#resilience_scorecard"
CHART_ALT: Final = "FMEA timeline chart"

# Failure categories (Allure 2 ``categories.json`` format; the report command hands the same list to Allure 3).
# Patterns are written so that they mean the same as a full match (Allure 2, Java) and as a search (Allure 3, JS).
CATEGORIES: Final[list[dict[str, Any]]] = [
    {"name": "Stack failed to start", "matchedStatuses": ["failed", "broken"],
     "messageRegex": r"[\s\S]*(the stack could not be started|StackError)[\s\S]*"},
    {"name": "Inconclusive: steady state not met", "matchedStatuses": ["failed", "broken"],
     "messageRegex": r"[\s\S]*(INCONCLUSIVE|inconclusive)[\s\S]*"},
    {"name": "Fault not tolerated", "matchedStatuses": ["failed"],
     "messageRegex": r"[\s\S]*FMEA \S+: FAIL[\s\S]*"},
    {"name": "Resilience score below the minimum", "matchedStatuses": ["failed"],
     "messageRegex": r"[\s\S]*Resilience score [\s\S]* below the minimum[\s\S]*"},
    {"name": "SLO breached", "matchedStatuses": ["failed"],
     "messageRegex": r"[\s\S]*(✗|SLO)[\s\S]*"},
    {"name": "Infrastructure problems", "matchedStatuses": ["broken"]},
]

_SESSION_FILES_WRITTEN = pytest.StashKey[bool]()
_TABLE_CSS = ("<style>table{border-collapse:collapse;font:13px Helvetica,Arial,sans-serif}"
              "th,td{border:1px solid #d4d4d4;padding:4px 8px;text-align:left;vertical-align:top}"
              "th{background:#f5f5f5}.pass{color:#15803d;font-weight:bold}.fail{color:#b91c1c;font-weight:bold}"
              ".inconclusive{color:#b45309;font-weight:bold}</style>")


# ------------------------------------------------------------------------------------------- recording state
def recording() -> bool:
    """True while allure-pytest writes results in this process (its listener takes attachments)."""
    try:
        import allure_commons
    except ImportError:  # pragma: no cover - allure-pytest is a dependency
        return False
    return bool(allure_commons.plugin_manager.hook.attach_data.get_hookimpls())


def results_dir(config: pytest.Config) -> Path | None:
    """The Allure results directory of this session, or None when allure-pytest is not recording."""
    value = getattr(config.option, "allure_report_dir", None)
    if not value:
        return None
    path = Path(value)
    return path if path.is_absolute() else config.invocation_params.dir / path


_labelled: dict[str, set[tuple[str, str]]] = {}
_descriptions: dict[str, list[str]] = {}


def _current_test() -> str:
    return os.environ.get("PYTEST_CURRENT_TEST", "").rsplit(" ", 1)[0]


def _label(name: str, value: str, nodeid: str | None = None) -> None:
    """Add a label to the running test once (the fixture and setup may both know the scenario)."""
    import allure

    seen = _labelled.setdefault(nodeid or _current_test(), set())
    if (name, value) in seen or (name == "severity" and any(n == "severity" for n, _ in seen)):
        return
    seen.add((name, value))
    allure.dynamic.label(name, value)  # type: ignore[no-untyped-call]


# ------------------------------------------------------------------------------------------------- labels
def apply_labels(item: pytest.Item) -> None:
    """Stage as epic/parent suite, scenario as feature, severity from the FMEA severity, tags.

    Called at the test's setup; the FMEA severity and the scenario's failure mode follow in ``attach_fmea_run``.
    """
    if not recording():
        return
    _labelled.clear()  # one test at a time per process: forget the previous test's labels
    _descriptions.clear()
    stages = [name for name in STAGES if item.get_closest_marker(name) is not None]
    for stage in stages:  # PYTEST_CURRENT_TEST may not be set yet: name the test
        _label("epic", stage, item.nodeid)
    if stages:
        _label("parentSuite", stages[0], item.nodeid)
    _label("tag", "blissful", item.nodeid)
    params: Mapping[str, object] = getattr(getattr(item, "callspec", None), "params", {})
    scenario = params.get("scenario")
    if isinstance(scenario, str):
        _label("feature", scenario, item.nodeid)


# -------------------------------------------------------------------------------------------- attachments
def attach_fmea_run(run: FmeaRun) -> None:
    """FMEA row (HTML), timeline chart with the fault window shaded, load CSV, Chaos Toolkit journal."""
    if not recording():
        return
    import allure

    result, name = run.result, run.scenario.name
    _label("feature", name)
    if run.scenario.failure:
        _label("story", run.scenario.failure)
    _label("severity", SEVERITY.get(result.severity, "normal"))
    for capability in run.scenario.capabilities:
        _label("tag", capability)
    chart = fmea_chart(run)
    _describe(f"<h3>FMEA {escape(name)}: {escape(result.verdict.upper())}</h3>"
              + html_table(list(result.row()), [list(result.row().values())]) + _img(chart, f"{CHART_ALT} {name}"))
    allure.attach(fmea_html(run), name=f"FMEA {name}", attachment_type=allure.attachment_type.HTML)
    allure.attach(chart, name=f"Timeline {name}: latency and errors, fault window shaded",
                  attachment_type=allure.attachment_type.SVG)
    allure.attach(endpoints_csv(run.load.totals, run.load.endpoints), name=f"Load per endpoint {name}",
                  attachment_type=allure.attachment_type.CSV)
    allure.attach(per_second_csv(run.load), name=f"Load per second {name}", attachment_type=allure.attachment_type.CSV)
    journal = run.chaos.journal_path
    if journal is not None and journal.is_file():
        allure.attach.file(str(journal), name=f"Chaos Toolkit journal {name}",  # type: ignore[no-untyped-call]
                           attachment_type=allure.attachment_type.JSON)


def attach_load_result(result: LoadResult) -> None:
    """Per-endpoint load stats (CSV), the load table and a latency chart."""
    if not recording():
        return
    import allure

    chart = load_chart(result)
    _describe(f"<h3>Load on {escape(result.target_url)}</h3><pre>{escape(result.table())}</pre>"
              + _img(chart, "load timeline chart"))
    allure.attach(result.table(), name="Load summary", attachment_type=allure.attachment_type.TEXT)
    allure.attach(chart, name="Load timeline: latency and errors", attachment_type=allure.attachment_type.SVG)
    allure.attach(endpoints_csv(result.totals, result.endpoints), name="Load per endpoint",
                  attachment_type=allure.attachment_type.CSV)
    allure.attach(per_second_csv(result), name="Load per second", attachment_type=allure.attachment_type.CSV)


def _describe(fragment: str) -> None:
    """Add to the running test's description: tables and charts visible on opening the test, without a click."""
    import allure

    parts = _descriptions.setdefault(_current_test(), [])
    parts.append(fragment)
    allure.dynamic.description_html("".join(parts))  # type: ignore[no-untyped-call]


def _img(svg: str, alt: str) -> str:
    # an <img> with a data: URI: the report's description sanitizer drops inline SVG but keeps data: images
    return (f'<p><img alt="{escape(alt)}" style="max-width:100%" '
            f'src="data:image/svg+xml;base64,{base64.b64encode(svg.encode()).decode()}"></p>')


# ----------------------------------------------------------------------------------------------- renderers
def fmea_chart(run: FmeaRun) -> str:
    from pytest_blissful.report.charts import Band, Marker, timeline_svg

    t0 = run.load.timeline.start_epoch
    timing, result = run.timing, run.result
    bands = [Band(timing.baseline_start - t0, timing.fault_start - t0, "baseline", "#22c55e"),
             Band(timing.fault_start - t0, timing.fault_end - t0, "fault", "#ef4444")]
    markers = []
    if result.detection_s is not None:
        markers.append(Marker(timing.fault_start + result.detection_s - t0, "detected", "#7c3aed"))
    if result.recovery_s is not None:
        markers.append(Marker(timing.fault_end + result.recovery_s - t0, "recovered", "#16a34a"))
    return timeline_svg(run.load.timeline.per_second(), start_epoch=t0, bands=bands, markers=markers,
                        title=f"{run.scenario.name}: {result.verdict.upper()} — p95/p99 latency and error rate")


def load_chart(result: LoadResult) -> str:
    from pytest_blissful.report.charts import timeline_svg

    return timeline_svg(result.timeline.per_second(), start_epoch=result.timeline.start_epoch,
                        title=f"load on {result.target_url}: p50/p95/p99 latency and error rate",
                        percentiles=("p50_ms", "p95_ms", "p99_ms"))


def html_table(header: Sequence[str], rows: Iterable[Sequence[object]], *, classes: Sequence[str] = ()) -> str:
    head = "".join(f"<th>{escape(str(h))}</th>" for h in header)
    body = []
    for index, row in enumerate(rows):
        css = f' class="{classes[index]}"' if index < len(classes) and classes[index] else ""
        body.append(f"<tr{css}>" + "".join(f"<td>{escape(str(c))}</td>" for c in row) + "</tr>")
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"


def fmea_html(run: FmeaRun) -> str:
    result, timing = run.result, run.timing
    row = result.row()
    impact = result.impact
    details = [
        ("reason", result.reason),
        ("expected behaviour", result.expected_behaviour),
        ("failure mode", run.scenario.failure),
        ("RPN", f"{result.rpn} = severity {result.severity_rating} × occurrence {result.occurrence_rating} × "
                f"detection {result.detection_rating} (action priority {result.action_priority})"),
        ("error rate", f"{impact.error_rate_baseline_percent:.2f}% baseline → {impact.error_rate_fault_percent:.2f}% "
                       "under fault"),
        ("p99 latency", f"{impact.p99_baseline_ms:.1f} ms baseline → {impact.p99_fault_ms:.1f} ms under fault"),
        ("requests lost", f"{impact.requests_lost:,}"),
        ("baseline / fault / observed", f"{timing.fault_start - timing.baseline_start:.1f} s / "
                                        f"{timing.fault_end - timing.fault_start:.1f} s / "
                                        f"{timing.observe_end - timing.fault_end:.1f} s after removal"),
        ("capabilities exercised", ", ".join(run.scenario.capabilities) or "—"),
        ("chaos experiment", f"{run.chaos.experiment}: {run.chaos.status}"
                             + (f" ({run.chaos.reason})" if run.chaos.reason else "")),
    ]
    if result.verdict == "fail" and result.mitigation:
        details.append(("suggestion", result.mitigation))
    verdict = escape(result.verdict)
    return (f"<!DOCTYPE html><html><head><meta charset='utf-8'>{_TABLE_CSS}</head><body>"
            f"<h3>FMEA {escape(run.scenario.name)}: <span class='{verdict}'>{verdict.upper()}</span></h3>"
            + html_table(list(row), [list(row.values())])
            + "<br>" + html_table(["", ""], details) + "</body></html>")


_STAT_FIELDS = ("requests", "errors", "rps", "error_rate", "p50_ms", "p90_ms", "p95_ms", "p99_ms", "p999_ms",
                "max_ms", "mean_ms")


def endpoints_csv(totals: LatencyStats, endpoints: Sequence[LatencyStats]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["endpoint", *_STAT_FIELDS])
    for stats in [*endpoints, totals]:
        data = stats.to_dict()
        writer.writerow([stats.name, *(_number(data[f]) for f in _STAT_FIELDS)])
    return out.getvalue()


def per_second_csv(result: LoadResult) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["second", "epoch", "requests", "errors", "dropped", "p50_ms", "p95_ms", "p99_ms", "max_ms"])
    for p in result.timeline.per_second():
        writer.writerow([p.second, f"{p.epoch:.3f}", p.requests, p.errors, p.dropped, _number(p.p50_ms),
                         _number(p.p95_ms), _number(p.p99_ms), _number(p.max_ms)])
    return out.getvalue()


def _number(value: object) -> object:
    return round(value, 3) if isinstance(value, float) else value


def scorecard_fragment(scorecard: Scorecard) -> str:
    """Score, pass rate, the capability table, the scenarios and the recommendations as an HTML fragment."""
    rows = [(f"{c.status} {_CAPABILITY_WORD.get(c.status, '')}".strip() if c.status != "not shown" else c.status,
             c.title, f"{c.note} (rule: {c.rule})" if c.rule else c.note, "; ".join(c.evidence) or "—")
            for c in scorecard.capabilities]
    scenario_rows = [(r.get("scenario"), r.get("verdict"), r.get("severity"), r.get("rpn"), r.get("reason"))
                     for r in scorecard.scenarios]
    recommendations = "".join(f"<li>{escape(item)}</li>" for item in scorecard.recommendations) or "<li>none</li>"
    verdict = "pass" if scorecard.passed else "fail"
    return (f"<h3>Resilience score <span class='{verdict}'>{scorecard.resilience_score:.1f}/100</span> "
            f"(minimum {scorecard.min_score:g}; {escape(scorecard.trend)})</h3>"
            f"<p>FMEA pass rate {scorecard.fmea_pass_rate:.0f}% · coverage {scorecard.coverage:.0f}% of "
            f"{len(scorecard.configured)} configured scenarios · promotable: "
            f"{escape(scorecard.promotion_reason)}</p>"
            "<h4>Capabilities</h4>" + html_table(["status", "capability", "note", "evidence"], rows)
            + "<h4>Scenarios</h4>" + html_table(["scenario", "verdict", "severity", "RPN", "reason"], scenario_rows,
                                                 classes=[str(r[1]) for r in scenario_rows])
            + f"<h4>Recommendations</h4><ul>{recommendations}</ul>")


def capability_html(scorecard: Scorecard) -> str:
    return (f"<!DOCTYPE html><html><head><meta charset='utf-8'>{_TABLE_CSS}</head><body>"
            f"{scorecard_fragment(scorecard)}</body></html>")


# ------------------------------------------------------------------------------------------- session files
def write_session_files(config: pytest.Config, scorecard: Scorecard | None) -> None:
    """Controller only, at session finish: environment.properties, executor.json, categories.json and a
    synthetic "Resilience scorecard" result carrying the score and the capability table.

    Idempotent per session (a second call does nothing); never runs in an xdist worker."""
    if hasattr(config, "workerinput") or config.stash.get(_SESSION_FILES_WRITTEN, False):
        return
    directory = results_dir(config)
    if directory is None or config.option.collectonly:
        return
    config.stash[_SESSION_FILES_WRITTEN] = True
    directory.mkdir(parents=True, exist_ok=True)
    _write(directory / "environment.properties", environment_properties(config, scorecard))
    _write(directory / "executor.json", json.dumps(executor_info(config), indent=2))
    _write(directory / "categories.json", json.dumps(CATEGORIES, indent=2, ensure_ascii=False))
    if scorecard is not None:
        write_scorecard_result(directory, scorecard, start=config.stash.get(SESSION_START_KEY, time.time()))


def _write(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)


def _properties_escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace("\n", " ").replace("=", "\\=").replace(":", "\\:")


def environment_properties(config: pytest.Config, scorecard: Scorecard | None) -> str:
    from pytest_blissful import __version__

    values: dict[str, str] = {
        "blissful.version": __version__,
        "python": platform.python_version(),
        "pytest": pytest.__version__,
        "platform": platform.platform(terse=True),
        "run.id": config.stash.get(RUN_ID_KEY, ""),
        "workers": str(getattr(config.option, "numprocesses", None) or 0),
    }
    if config.option.markexpr:
        values["marker.expression"] = config.option.markexpr
    if config.getoption("blissful_stage", None):
        values["stages"] = ",".join(config.getoption("blissful_stage"))
    if CONFIG_KEY in config.stash:
        stack = config.stash[CONFIG_KEY].stack
        values["target"] = str(stack.url) if stack.url else ", ".join(str(f) for f in stack.compose)
    if not values.get("target"):
        values["target"] = "embedded demo stack" if CONFIG_KEY in config.stash else "n/a"
    if scorecard is not None:
        values["resilience.score"] = f"{scorecard.resilience_score:.1f}"
        values["fmea.pass.rate"] = f"{scorecard.fmea_pass_rate:.0f}%"
        values["scenarios"] = ",".join(str(r.get("scenario")) for r in scorecard.scenarios)
    return "".join(f"{k}={_properties_escape(v)}\n" for k, v in values.items())


def executor_info(config: pytest.Config) -> dict[str, Any]:
    """Allure's executor.json: who ran this (GitHub Actions, Jenkins, or a local machine)."""
    env = os.environ
    if env.get("GITHUB_ACTIONS") == "true":
        server, repo = env.get("GITHUB_SERVER_URL", ""), env.get("GITHUB_REPOSITORY", "")
        number = env.get("GITHUB_RUN_NUMBER", "")
        return _drop_empty({
            "name": "GitHub Actions", "type": "github",
            "url": f"{server}/{repo}/actions" if server and repo else "",
            "buildOrder": int(number) if number.isdigit() else None,
            "buildName": f"{env.get('GITHUB_WORKFLOW', 'workflow')} #{number}",
            "buildUrl": f"{server}/{repo}/actions/runs/{env.get('GITHUB_RUN_ID', '')}" if server and repo else "",
            "reportName": "pytest-blissful",
        })
    if env.get("JENKINS_URL") or env.get("BUILD_URL"):
        number = env.get("BUILD_NUMBER", "")
        build_url = env.get("BUILD_URL", "")
        return _drop_empty({
            "name": "Jenkins", "type": "jenkins", "url": env.get("JENKINS_URL", ""),
            "buildOrder": int(number) if number.isdigit() else None,
            "buildName": env.get("BUILD_TAG") or f"{env.get('JOB_NAME', 'job')} #{number}",
            "buildUrl": build_url, "reportUrl": f"{build_url.rstrip('/')}/allure" if build_url else "",
            "reportName": "pytest-blissful",
        })
    return {"name": "local", "type": "local", "reportName": "pytest-blissful",
            "buildName": f"{socket.gethostname()} run {config.stash.get(RUN_ID_KEY, '')}"}


def _drop_empty(data: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in data.items() if v not in (None, "")}


def _md5(text: str) -> str:
    return hashlib.md5(text.encode(), usedforsecurity=False).hexdigest()


_CAPABILITY_STATUS = {"✅": "passed", "❌": "failed", "not shown": "skipped"}
_CAPABILITY_WORD = {"✅": "shown", "❌": "failed", "not shown": "not shown"}


def write_scorecard_result(directory: Path, scorecard: Scorecard, *, start: float) -> Path:
    """The synthetic "Resilience scorecard" test result (allure-python-commons' result schema), with the
    capability table (HTML), the scorecard JSON and one step per capability check."""
    stop_ms = int(time.time() * 1000)
    start_ms = min(int(start * 1000), stop_ms)
    result_uuid = str(uuid.uuid4())
    attachments = []
    for name, body, mime, ext in (
        ("Scorecard: capabilities, scenarios, recommendations", capability_html(scorecard), "text/html", "html"),
        ("Scorecard (text)", scorecard.explain(), "text/plain", "txt"),
        ("scorecard.json", json.dumps(scorecard.to_dict(), indent=2, default=str, ensure_ascii=False),
         "application/json", "json"),
    ):
        source = f"{uuid.uuid4()}-attachment.{ext}"
        _write(directory / source, body)
        attachments.append({"name": name, "source": source, "type": mime})
    steps = [{"name": f"{c.title}: {_CAPABILITY_WORD.get(c.status, c.status)} ({c.note})",
              "status": _CAPABILITY_STATUS.get(c.status, "unknown"),
              "stage": "finished", "start": stop_ms, "stop": stop_ms,
              "parameters": [{"name": "evidence", "value": "; ".join(c.evidence) or "none"}]}
             for c in scorecard.capabilities]
    summary = (f"Resilience score {scorecard.resilience_score:.1f}/100 (minimum {scorecard.min_score:g}, "
               f"{scorecard.trend}); FMEA pass rate {scorecard.fmea_pass_rate:.0f}%")
    message = summary if scorecard.passed else (
        f"Resilience score {scorecard.resilience_score:.1f}/100 is below the minimum {scorecard.min_score:g}"
        if scorecard.scenarios else "no chaos scenario ran: nothing was graded")
    recommendations = "\n".join(f"- {item}" for item in scorecard.recommendations) or "- none"
    result: dict[str, Any] = {
        "uuid": result_uuid,
        "historyId": _md5(SCORECARD_FULL_NAME),
        "testCaseId": _md5(SCORECARD_FULL_NAME),
        "fullName": SCORECARD_FULL_NAME,
        "name": SCORECARD_NAME,
        "status": "passed" if scorecard.passed else "failed",
        "statusDetails": {"message": message, "trace": scorecard.explain()},
        "stage": "finished",
        "description": f"**{summary}**\n\nRecommendations:\n\n{recommendations}\n",
        "descriptionHtml": scorecard_fragment(scorecard),
        "steps": steps,
        "attachments": attachments,
        "parameters": [
            {"name": "resilience score", "value": f"{scorecard.resilience_score:.1f}"},
            {"name": "FMEA pass rate", "value": f"{scorecard.fmea_pass_rate:.0f}%"},
            {"name": "coverage", "value": f"{scorecard.coverage:.0f}%"},
        ],
        "labels": [
            {"name": "parentSuite", "value": "blissful"},
            {"name": "suite", "value": "scorecard"},
            {"name": "epic", "value": "chaos"},
            {"name": "feature", "value": SCORECARD_NAME},
            {"name": "severity", "value": "critical"},
            {"name": "tag", "value": "blissful"},
            {"name": "framework", "value": "pytest-blissful"},
            {"name": "host", "value": socket.gethostname()},
        ],
        "links": [],
        "start": start_ms,
        "stop": stop_ms,
    }
    path = directory / f"{result_uuid}-result.json"
    _write(path, json.dumps(result, indent=2, ensure_ascii=False))
    return path
