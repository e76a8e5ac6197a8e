"""A safe evaluator for Argo Rollouts' ``successCondition`` / ``failureCondition`` expressions.

Argo evaluates conditions with expr-lang over ``result`` (a float for a scalar, a list of floats for a vector)
and the helpers ``isNaN``, ``isInf``, ``isNil``, ``default``, ``asInt`` and ``asFloat``; expr-lang itself adds
``len``, ``all``, ``any``, ``none``, ``one``, ``filter``, ``map``, ``count``, ``sum``, ``min``, ``max``, ``abs``.
This module covers that common subset with a small hand-written Pratt parser over a closed set of node types:
nothing is ever handed to Python's ``eval``/``exec``/``compile``, attribute access on Python objects is impossible
(``a.b`` only reads a key of a mapping), and every name must be ``result``, ``#`` inside a predicate, or one of
the functions above.

Grammar (precedence low → high)::

    expr    := ternary
    ternary := or [ "?" expr ":" expr ]
    or      := and { ("||" | "or") and }
    and     := cmp { ("&&" | "and") cmp }
    cmp     := add [ ("<" | "<=" | ">" | ">=" | "==" | "!=" | "in" | "not in") add ]
    add     := mul { ("+" | "-") mul }
    mul     := unary { ("*" | "/" | "%") unary }
    unary   := ("!" | "not" | "-" | "+") unary | power
    power   := postfix [ ("**" | "^") unary ]
    postfix := atom { "[" expr "]" | "." NAME | "?." NAME }
    atom    := NUMBER | STRING | true | false | nil | NAME | "#" | NAME "(" args ")" | "(" expr ")"
             | "[" [expr {"," expr}] "]" | "{" expr "}"        (a predicate: ``all(result, {# < 1})``)

Errors: :class:`ExpressionSyntaxError` at parse time (config loading turns it into "file: key: ..."), and
:class:`ExpressionEvalError` at evaluation time (Argo: the measurement becomes ``Error``).
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final

__all__ = [
    "FUNCTIONS",
    "Expression",
    "ExpressionError",
    "ExpressionEvalError",
    "ExpressionSyntaxError",
    "evaluate_condition",
    "parse_expression",
]

_MAX_LENGTH: Final = 2000
_MAX_DEPTH: Final = 64
_MAX_STEPS: Final = 100_000


class ExpressionError(ValueError):
    """Base of the evaluator's errors."""


class ExpressionSyntaxError(ExpressionError):
    """The text is not a condition this evaluator understands; names the column."""

    def __init__(self, text: str, column: int, problem: str) -> None:
        self.text, self.column, self.problem = text, column, problem
        super().__init__(f"{problem} at column {column + 1} of {text!r}")


class ExpressionEvalError(ExpressionError):
    """Evaluation failed (index out of range, wrong type, ...): in Argo the measurement is an Error."""


# ------------------------------------------------------------------------------------------------ tokens
_TOKEN = re.compile(
    r"""\s*(?:
      (?P<num>(?:\d+\.\d*|\.\d+|\d+)(?:[eE][+-]?\d+)?)
    | (?P<str>"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*')
    | (?P<name>[A-Za-z_][A-Za-z_0-9]*)
    | (?P<op>\?\.|&&|\|\||==|!=|<=|>=|\*\*|[-+*/%<>!()\[\],.?:{}\#^])
    )""",
    re.VERBOSE,
)


@dataclass(frozen=True)
class _Tok:
    kind: str  # num, str, name, op, end
    text: str
    pos: int


def _tokenize(text: str) -> list[_Tok]:
    tokens: list[_Tok] = []
    pos = 0
    while True:
        while pos < len(text) and text[pos].isspace():
            pos += 1
        if pos >= len(text):
            break
        m = _TOKEN.match(text, pos)
        if m is None or m.end() == pos:
            raise ExpressionSyntaxError(text, pos, f"unexpected character {text[pos]!r}")
        kind = m.lastgroup or "op"
        tokens.append(_Tok(kind, m.group(kind), m.start(kind)))
        pos = m.end()
    tokens.append(_Tok("end", "", len(text)))
    return tokens


# ------------------------------------------------------------------------------------------------ nodes
@dataclass(frozen=True)
class _Node:
    pos: int


@dataclass(frozen=True)
class _Literal(_Node):
    value: Any


@dataclass(frozen=True)
class _Name(_Node):
    name: str  # "result" or "#"


@dataclass(frozen=True)
class _List(_Node):
    items: tuple[_Node, ...]


@dataclass(frozen=True)
class _Predicate(_Node):
    body: _Node


@dataclass(frozen=True)
class _Unary(_Node):
    op: str
    operand: _Node


@dataclass(frozen=True)
class _Binary(_Node):
    op: str
    left: _Node
    right: _Node


@dataclass(frozen=True)
class _Ternary(_Node):
    cond: _Node
    then: _Node
    other: _Node


@dataclass(frozen=True)
class _Index(_Node):
    target: _Node
    index: _Node


@dataclass(frozen=True)
class _Member(_Node):
    target: _Node
    key: str
    optional: bool


@dataclass(frozen=True)
class _Call(_Node):
    func: str
    args: tuple[_Node, ...]


_NODE_TYPES: Final = (_Literal, _Name, _List, _Predicate, _Unary, _Binary, _Ternary, _Index, _Member, _Call)


# ------------------------------------------------------------------------------------------------ parser
_COMPARE: Final = {"<", "<=", ">", ">=", "==", "!="}
_KEYWORDS: Final = {"true": True, "false": False, "nil": None}


class _Parser:
    def __init__(self, text: str) -> None:
        self.text = text
        self.tokens = _tokenize(text)
        self.i = 0
        self.depth = 0
        self.in_predicate = 0

    @property
    def tok(self) -> _Tok:
        return self.tokens[self.i]

    def error(self, problem: str, tok: _Tok | None = None) -> ExpressionSyntaxError:
        t = tok or self.tok
        return ExpressionSyntaxError(self.text, t.pos, problem)

    def take(self) -> _Tok:
        t = self.tok
        self.i += 1
        return t

    def at(self, *texts: str) -> bool:
        return self.tok.kind in ("op", "name") and self.tok.text in texts

    def expect(self, text: str) -> _Tok:
        if not self.at(text):
            found = self.tok.text or "end of expression"
            raise self.error(f"expected {text!r}, found {found!r}")
        return self.take()

    def parse(self) -> _Node:
        if not self.text.strip():
            raise ExpressionSyntaxError(self.text, 0, "empty condition")
        node = self.expr()
        if self.tok.kind != "end":
            raise self.error(f"unexpected {self.tok.text!r}")
        return node

    def expr(self) -> _Node:
        self.depth += 1
        if self.depth > _MAX_DEPTH:
            raise self.error("expression nested too deeply")
        try:
            return self.ternary()
        finally:
            self.depth -= 1

    def ternary(self) -> _Node:
        cond = self.or_()
        if self.at("?"):
            pos = self.take().pos
            then = self.expr()
            self.expect(":")
            other = self.expr()
            return _Ternary(pos, cond, then, other)
        return cond

    def or_(self) -> _Node:
        node = self.and_()
        while self.at("||", "or"):
            pos = self.take().pos
            node = _Binary(pos, "||", node, self.and_())
        return node

    def and_(self) -> _Node:
        node = self.cmp()
        while self.at("&&", "and"):
            pos = self.take().pos
            node = _Binary(pos, "&&", node, self.cmp())
        return node

    def cmp(self) -> _Node:
        node = self.add()
        if self.at(*_COMPARE) or self.at("in"):
            t = self.take()
            node = _Binary(t.pos, t.text, node, self.add())
        elif self.at("not") and self.tokens[self.i + 1].text == "in":
            t = self.take()
            self.take()
            node = _Unary(t.pos, "!", _Binary(t.pos, "in", node, self.add()))
        if self.at(*_COMPARE):
            raise self.error("chained comparisons are not supported: use '&&'")
        return node

    def add(self) -> _Node:
        node = self.mul()
        while self.at("+", "-"):
            t = self.take()
            node = _Binary(t.pos, t.text, node, self.mul())
        return node

    def mul(self) -> _Node:
        node = self.unary()
        while self.at("*", "/", "%"):
            t = self.take()
            node = _Binary(t.pos, t.text, node, self.unary())
        return node

    def unary(self) -> _Node:
        if self.at("!", "not", "-", "+"):
            t = self.take()
            self.depth += 1
            if self.depth > _MAX_DEPTH:
                raise self.error("expression nested too deeply")
            try:
                operand = self.unary()
            finally:
                self.depth -= 1
            return _Unary(t.pos, "!" if t.text == "not" else t.text, operand)
        return self.power()

    def power(self) -> _Node:
        node = self.postfix()
        if self.at("**", "^"):
            t = self.take()
            node = _Binary(t.pos, "**", node, self.unary())
        return node

    def postfix(self) -> _Node:
        node = self.atom()
        while True:
            if self.at("["):
                pos = self.take().pos
                index = self.expr()
                self.expect("]")
                node = _Index(pos, node, index)
            elif self.at(".", "?."):
                t = self.take()
                if self.tok.kind != "name":
                    raise self.error("expected a field name after '.'")
                node = _Member(t.pos, node, self.take().text, t.text == "?.")
            else:
                return node

    def atom(self) -> _Node:
        t = self.tok
        if t.kind == "num":
            self.take()
            value: float | int = float(t.text) if any(c in t.text for c in ".eE") else int(t.text)
            return _Literal(t.pos, value)
        if t.kind == "str":
            self.take()
            return _Literal(t.pos, _unquote(t.text))
        if t.kind == "name":
            self.take()
            if t.text in _KEYWORDS:
                return _Literal(t.pos, _KEYWORDS[t.text])
            if self.at("("):
                return self.call(t)
            if t.text == "result":
                return _Name(t.pos, "result")
            if t.text in FUNCTIONS:
                raise self.error(f"function {t.text!r} must be called, e.g. {t.text}(result)", t)
            raise self.error(f"unknown name {t.text!r} (only 'result' and the functions "
                             f"{', '.join(sorted(FUNCTIONS))} are defined)", t)
        if t.kind == "op":
            if t.text == "#":
                self.take()
                if not self.in_predicate:
                    raise self.error("'#' is only defined inside a predicate, e.g. all(result, {# < 1})", t)
                return _Name(t.pos, "#")
            if t.text == "(":
                self.take()
                node = self.expr()
                self.expect(")")
                return node
            if t.text == "[":
                self.take()
                items: list[_Node] = []
                while not self.at("]"):
                    items.append(self.expr())
                    if not self.at(","):
                        break
                    self.take()
                self.expect("]")
                return _List(t.pos, tuple(items))
            if t.text == "{":
                self.take()
                self.in_predicate += 1
                try:
                    body = self.expr()
                finally:
                    self.in_predicate -= 1
                self.expect("}")
                return _Predicate(t.pos, body)
        found = t.text or "end of expression"
        raise self.error(f"unexpected {found!r}")

    def call(self, name: _Tok) -> _Node:
        if name.text not in FUNCTIONS:
            raise self.error(f"unknown function {name.text!r} (known: {', '.join(sorted(FUNCTIONS))})", name)
        self.expect("(")
        arity = FUNCTIONS[name.text]
        args: list[_Node] = []
        while not self.at(")"):
            position = len(args)
            if name.text in _PREDICATE_FUNCS and position == 1 and not self.at("{"):
                self.in_predicate += 1  # expr-lang also takes a bare predicate: all(result, # < 1)
                try:
                    args.append(_Predicate(self.tok.pos, self.expr()))
                finally:
                    self.in_predicate -= 1
            else:
                args.append(self.expr())
            if not self.at(","):
                break
            self.take()
        self.expect(")")
        low, high = arity
        if not low <= len(args) <= high:
            want = str(low) if low == high else f"{low} to {high}"
            raise self.error(f"{name.text}() takes {want} argument(s), got {len(args)}", name)
        if name.text in _PREDICATE_FUNCS and not isinstance(args[1], _Predicate):
            raise self.error(f"{name.text}() takes a predicate as its second argument, e.g. "
                             f"{name.text}(result, {{# < 1}})", name)
        return _Call(name.pos, name.text, tuple(args))


def _unquote(token: str) -> str:
    body = token[1:-1]
    escapes = {"n": "\n", "t": "\t", "\\": "\\", '"': '"', "'": "'"}
    return re.sub(r"\\(.)", lambda m: escapes.get(m.group(1), m.group(1)), body)


# ------------------------------------------------------------------------------------------------ runtime
class _Missing:
    """expr-lang's nil: what ``result`` is when the provider returned nothing."""


def _num(value: Any, what: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ExpressionEvalError(f"{what} expects a number, got {_describe(value)}")
    return float(value)


def _seq(value: Any, what: str) -> Sequence[Any]:
    if isinstance(value, list | tuple):
        return value
    raise ExpressionEvalError(f"{what} expects an array, got {_describe(value)}")


def _describe(value: Any) -> str:
    if value is None:
        return "nil (no data)"
    if isinstance(value, bool):
        return f"bool {value}"
    if isinstance(value, int | float):
        return f"number {value:g}"
    if isinstance(value, str):
        return f"string {value!r}"
    if isinstance(value, list | tuple):
        return f"array of {len(value)}"
    if isinstance(value, Mapping):
        return "map"
    return type(value).__name__


def _as_int(value: Any) -> int:
    if isinstance(value, str):
        try:
            return int(value)
        except ValueError:
            raise ExpressionEvalError(f"asInt() cannot parse {value!r}") from None
    number = _num(value, "asInt()")
    if not math.isfinite(number):
        raise ExpressionEvalError(f"asInt() of {number}")
    return int(number)


def _as_float(value: Any) -> float:
    if isinstance(value, str):
        try:
            return float(value)
        except ValueError:
            raise ExpressionEvalError(f"asFloat() cannot parse {value!r}") from None
    return _num(value, "asFloat()")


def _len(value: Any) -> int:
    if isinstance(value, list | tuple | str | Mapping):
        return len(value)
    raise ExpressionEvalError(f"len() expects an array, string or map, got {_describe(value)}")


def _aggregate(name: str, values: Any) -> float:
    items = [_num(v, f"{name}()") for v in _seq(values, f"{name}()")]
    if name == "sum":
        return math.fsum(items)
    if not items:
        raise ExpressionEvalError(f"{name}() of an empty array")
    return min(items) if name == "min" else max(items)


#: name -> (min args, max args).  ``default``/``isNil`` look at the whole result, as Argo's do.
FUNCTIONS: Final[dict[str, tuple[int, int]]] = {
    "isNaN": (1, 1), "isInf": (1, 1), "isNil": (1, 1), "default": (2, 2), "asInt": (1, 1), "asFloat": (1, 1),
    "len": (1, 1), "all": (2, 2), "any": (2, 2), "none": (2, 2), "one": (2, 2), "filter": (2, 2),
    "map": (2, 2), "count": (2, 2), "sum": (1, 1), "min": (1, 1), "max": (1, 1), "abs": (1, 1),
}
_PREDICATE_FUNCS: Final = {"all", "any", "none", "one", "filter", "map", "count"}


class _Evaluator:
    def __init__(self, result: Any) -> None:
        self.result = result
        self.steps = 0

    def run(self, node: _Node, item: Any = None) -> Any:
        self.steps += 1
        if self.steps > _MAX_STEPS:
            raise ExpressionEvalError("evaluation took too many steps")
        if isinstance(node, _Literal):
            return node.value
        if isinstance(node, _Name):
            return self.result if node.name == "result" else item
        if isinstance(node, _List):
            return [self.run(n, item) for n in node.items]
        if isinstance(node, _Unary):
            value = self.run(node.operand, item)
            if node.op == "!":
                return not self.truth(value, "'!'")
            number = _num(value, f"unary '{node.op}'")
            return -number if node.op == "-" else number
        if isinstance(node, _Binary):
            return self.binary(node, item)
        if isinstance(node, _Ternary):
            return self.run(node.then if self.truth(self.run(node.cond, item), "'?:'") else node.other, item)
        if isinstance(node, _Index):
            return self.index(self.run(node.target, item), self.run(node.index, item))
        if isinstance(node, _Member):
            target = self.run(node.target, item)
            if isinstance(target, Mapping):
                if node.key in target:
                    return target[node.key]
                if node.optional:
                    return None
                raise ExpressionEvalError(f"no field {node.key!r} in the result")
            if target is None and node.optional:
                return None
            raise ExpressionEvalError(f"cannot read field {node.key!r} of {_describe(target)}")
        if isinstance(node, _Call):
            return self.call(node, item)
        raise ExpressionEvalError(f"unsupported node {type(node).__name__}")  # pragma: no cover

    @staticmethod
    def truth(value: Any, what: str) -> bool:
        if isinstance(value, bool):
            return value
        raise ExpressionEvalError(f"{what} expects a bool, got {_describe(value)}")

    @staticmethod
    def index(target: Any, index: Any) -> Any:
        if isinstance(target, list | tuple | str):
            if isinstance(index, bool) or not isinstance(index, int | float) or index != int(index):
                raise ExpressionEvalError(f"array index must be an integer, got {_describe(index)}")
            i = int(index)
            if i < 0:
                i += len(target)
            if not 0 <= i < len(target):
                raise ExpressionEvalError(f"index {int(index)} out of range (the result has {len(target)} "
                                          f"value(s){': no data returned' if not target else ''})")
            return target[i]
        if isinstance(target, Mapping):
            if not isinstance(index, str) or index not in target:
                raise ExpressionEvalError(f"no key {index!r} in the result")
            return target[index]
        raise ExpressionEvalError(f"cannot index {_describe(target)}")

    def binary(self, node: _Binary, item: Any) -> Any:
        op = node.op
        if op in ("&&", "||"):
            left = self.truth(self.run(node.left, item), f"'{op}'")
            if op == "&&" and not left:
                return False
            if op == "||" and left:
                return True
            return self.truth(self.run(node.right, item), f"'{op}'")
        left, right = self.run(node.left, item), self.run(node.right, item)
        if op in ("==", "!="):
            equal = _equal(left, right)
            return equal if op == "==" else not equal
        if op == "in":
            if isinstance(right, Mapping):
                return left in right
            return any(_equal(left, v) for v in _seq(right, "'in'"))
        if op == "+" and isinstance(left, str) and isinstance(right, str):
            return left + right
        if op in _COMPARE and isinstance(left, str) and isinstance(right, str):
            return _compare(op, left, right)
        a, b = _num(left, f"'{op}'"), _num(right, f"'{op}'")
        if op in _COMPARE:
            return _compare(op, a, b)
        if op == "+":
            return a + b
        if op == "-":
            return a - b
        if op == "*":
            return a * b
        if op == "/":
            if b == 0:
                return math.copysign(math.inf, a) if a else math.nan  # Go float division, as expr-lang
            return a / b
        if op == "%":
            if b == 0 or a != int(a) or b != int(b):
                raise ExpressionEvalError("'%' needs integers and a non-zero divisor")
            return float(math.fmod(a, b))
        if op == "**":
            try:
                return math.pow(a, b)
            except (OverflowError, ValueError):
                raise ExpressionEvalError(f"{a:g} ** {b:g} is out of range") from None
        raise ExpressionEvalError(f"unsupported operator {op!r}")  # pragma: no cover

    def call(self, node: _Call, item: Any) -> Any:
        name = node.func
        if name in ("isNil", "default"):
            # Argo's helpers look at the provider's value itself, whatever the first argument says.
            missing = self.result is None or isinstance(self.result, _Missing)
            if name == "isNil":
                return missing
            return self.run(node.args[1], item) if missing else self.result
        if name in _PREDICATE_FUNCS:
            values = _seq(self.run(node.args[0], item), f"{name}()")
            pred = node.args[1]
            assert isinstance(pred, _Predicate)
            if name == "map":
                return [self.run(pred.body, v) for v in values]
            hits = [v for v in values if self.truth(self.run(pred.body, v), f"{name}() predicate")]
            return _PREDICATE_RESULT[name](len(hits), len(values), hits)
        value = self.run(node.args[0], item)
        if name == "isNaN":
            return math.isnan(_num(value, "isNaN()"))
        if name == "isInf":
            return math.isinf(_num(value, "isInf()"))
        if name == "asInt":
            return _as_int(value)
        if name == "asFloat":
            return _as_float(value)
        if name == "len":
            return _len(value)
        if name == "abs":
            return abs(_num(value, "abs()"))
        return _aggregate(name, value)


_PREDICATE_RESULT: Final[dict[str, Callable[[int, int, list[Any]], Any]]] = {
    "all": lambda hits, total, _: hits == total,
    "any": lambda hits, total, _: hits > 0,
    "none": lambda hits, total, _: hits == 0,
    "one": lambda hits, total, _: hits == 1,
    "count": lambda hits, total, _: hits,
    "filter": lambda hits, total, items: items,
}


def _equal(a: Any, b: Any) -> bool:
    numbers = int | float
    if isinstance(a, numbers) and isinstance(b, numbers) and not isinstance(a, bool) and not isinstance(b, bool):
        return float(a) == float(b)
    return type(a) is type(b) and bool(a == b)


def _compare(op: str, a: Any, b: Any) -> bool:
    if op == "<":
        return bool(a < b)
    if op == "<=":
        return bool(a <= b)
    if op == ">":
        return bool(a > b)
    return bool(a >= b)


# ------------------------------------------------------------------------------------------------ API
@dataclass(frozen=True)
class Expression:
    """A parsed condition; :meth:`evaluate` returns its value for one measurement's ``result``."""

    text: str
    root: _Node

    def evaluate(self, result: Any) -> Any:
        return _Evaluator(_normalise(result)).run(self.root)

    def condition(self, result: Any) -> bool:
        """Evaluate as a condition: must give a bool (Argo: "expected bool, but got ...")."""
        value = self.evaluate(result)
        if not isinstance(value, bool):
            raise ExpressionEvalError(f"condition {self.text!r} gave {_describe(value)}, expected a bool")
        return value


def _normalise(value: Any) -> Any:
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return value
    if isinstance(value, int | float):
        return float(value) if isinstance(value, float) else value
    if isinstance(value, Mapping):
        return {str(k): _normalise(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_normalise(v) for v in value]
    raise ExpressionEvalError(f"unsupported result type {type(value).__name__}")


def parse_expression(text: str) -> Expression:
    """Parse ``text``; raise :class:`ExpressionSyntaxError` naming the column when it is not understood."""
    if not isinstance(text, str):
        raise ExpressionSyntaxError(str(text), 0, f"a condition must be a string, got {type(text).__name__}")
    if len(text) > _MAX_LENGTH:
        raise ExpressionSyntaxError(text[:40] + "...", 0, f"condition longer than {_MAX_LENGTH} characters")
    return Expression(text, _Parser(text).parse())


def evaluate_condition(text: str, result: Any) -> bool:
    """Parse and evaluate in one go (convenience for tests and the REPL)."""
    return parse_expression(text).condition(result)
