"""The safe condition evaluator: Argo's common forms, clear errors, and (hypothesis) it never runs code."""

from __future__ import annotations

import ast
import math
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pytest_blissful.grading import expressions
from pytest_blissful.grading.expressions import (
    ExpressionError,
    ExpressionEvalError,
    ExpressionSyntaxError,
    evaluate_condition,
    parse_expression,
)


@pytest.mark.parametrize(
    ("text", "result", "expected"),
    [
        ("result[0] < 1", [0.5], True),
        ("result[0] < 1", [1.5], False),
        ("result < 0.95", 0.9, True),
        ("isNaN(result)", math.nan, True),
        ("isNaN(result[0]) || result[0] < 1", [math.nan], True),
        ("!isNaN(result[0]) && result[0] < 1", [math.nan], False),
        ("len(result) == 0 || result[0] < 1", [], True),
        ("all(result, {# < 1})", [0.1, 0.9], True),
        ("all(result, # < 1)", [0.1, 1.9], False),
        ("any(result, {# >= 1})", [0.1, 1.9], True),
        ("none(result, {# > 5})", [1, 2], True),
        ("default(result, 0) < 1", None, True),
        ("isNil(result)", None, True),
        ("default(result, [0])[0] < 1", [0.2], True),
        ("result[0] >= 0.99 and result[0] <= 1", [0.995], True),
        ("not (result[0] > 2)", [1], True),
        ("result[-1] == 3", [1, 2, 3], True),
        ("asInt(result) == 3", "3", True),
        ("asFloat(result) > 2.5", "2.75", True),
        ("sum(result) / len(result) < 2", [1, 2], True),
        ("max(result) < 2", [1, 2], False),
        ("result.status == 'ok'", {"status": "ok"}, True),
        ("result?.missing == nil", {"status": "ok"}, True),
        ("result[0] * 100 < 1", [0.005], True),
        ("result[0] < 1e-2", [0.005], True),
        ("isInf(result[0] / 0)", [1.0], True),
        ("result[0] in [1, 2]", [2], True),
        ("result[0] > 1 ? true : false", [2], True),
    ],
)
def test_argo_forms(text: str, result: object, expected: bool) -> None:
    assert evaluate_condition(text, result) is expected


@pytest.mark.parametrize(
    ("text", "column", "fragment"),
    [
        ("result[0] <", 11, "unexpected 'end of expression'"),
        ("result[0] < < 1", 12, "unexpected '<'"),
        ("__import__('os')", 0, "unknown function '__import__'"),
        ("os.system('x')", 0, "unknown name 'os'"),
        ("x < 1", 0, "unknown name 'x'"),
        ("len(result, 2)", 0, "len() takes 1"),
        ("all(result)", 0, "all() takes 2"),
        ("result[0] < 1 ;", 14, "unexpected character ';'"),
        ("# < 1", 0, "'#' is only defined inside a predicate"),
        ("", 0, "empty condition"),
        ("1 < result < 2", 11, "chained comparisons"),
        ("isNaN", 0, "must be called"),
    ],
)
def test_syntax_errors_name_the_column(text: str, column: int, fragment: str) -> None:
    with pytest.raises(ExpressionSyntaxError) as info:
        parse_expression(text)
    assert info.value.column == column
    assert fragment in str(info.value)


@pytest.mark.parametrize(
    ("text", "result", "fragment"),
    [
        ("result[0] < 1", [], "out of range"),
        ("result[0] < 1", None, "cannot index nil"),
        ("result < 1", [1], "expects a number"),
        ("result[0] + 1", [1], "expected a bool"),
        ("result.__class__ == 1", [1], "cannot read field '__class__'"),
        ("result.__class__ == 1", {"a": 1}, "no field '__class__'"),
        ("asInt(result) == 1", "x", "cannot parse"),
        ("result[0] && true", [1], "expects a bool"),
    ],
)
def test_evaluation_errors(text: str, result: object, fragment: str) -> None:
    with pytest.raises(ExpressionEvalError) as info:
        parse_expression(text).condition(result)
    assert fragment in str(info.value)


def test_module_never_calls_eval_exec_compile_or_getattr() -> None:
    tree = ast.parse(Path(expressions.__file__).read_text(encoding="utf-8"))
    called = {n.func.id for n in ast.walk(tree) if isinstance(n, ast.Call) and isinstance(n.func, ast.Name)}
    assert not called & {"eval", "exec", "compile", "getattr", "__import__", "setattr", "globals", "locals"}


_ALPHABET = st.sampled_from([*"result[]0123456789.<>=!&|()#{},'\"+-*/%?: ",
    "result", "len(", "all(", "isNaN(", "default(", "__import__", "os", "__class__", ".__", "eval(", "open(",
    "lambda", "import", "&&", "||", " and ", " or ", " not "])


@settings(max_examples=200, deadline=None)
@given(text=st.lists(_ALPHABET, max_size=30).map("".join),
       result=st.one_of(st.none(), st.floats(), st.lists(st.floats(), max_size=4)))
def test_never_executes_code_and_only_raises_its_own_errors(text: str, result: object) -> None:
    """Whatever the text: a bool or a value, or an ExpressionError — and no import, eval or exec happens."""
    import builtins

    calls: list[str] = []
    monkeypatch = pytest.MonkeyPatch()
    for name in ("eval", "exec", "compile", "open", "__import__"):  # __import__ last: undone first
        original = getattr(builtins, name)

        def spy(*args: object, _name: str = name, _original: object = original, **kwargs: object) -> object:
            calls.append(_name)
            return _original(*args, **kwargs)  # type: ignore[operator]

        monkeypatch.setattr(builtins, name, spy)
    try:
        parse_expression(text).evaluate(result)
    except ExpressionError:
        pass
    finally:
        monkeypatch.undo()
    assert calls == []


@settings(max_examples=200, deadline=None)
@given(st.floats(allow_nan=True), st.floats(allow_nan=False, allow_infinity=False))
def test_comparisons_match_python_floats(value: float, limit: float) -> None:
    assert evaluate_condition(f"result[0] < {limit!r}", [value]) is (value < limit)
