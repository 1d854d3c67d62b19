"""Conditions on case data, parsed without eval: ``field op literal`` joined by ``and`` / ``or``.

Examples: ``floor_area >= 50``, ``signboard == true``, ``category == 'hot_food' or floor_area > 150``.
``and`` binds tighter than ``or``; there are no parentheses, which keeps definitions readable.
"""

from __future__ import annotations

import operator
import re
from dataclasses import dataclass

OPERATORS = {
    "==": operator.eq,
    "!=": operator.ne,
    ">=": operator.ge,
    "<=": operator.le,
    ">": operator.gt,
    "<": operator.lt,
}
_COMPARISON = re.compile(
    r"^\s*(?P<field>[a-z_][a-z0-9_]*)\s*(?P<op>==|!=|>=|<=|>|<)\s*"
    r"(?P<literal>-?\d+(?:\.\d+)?|true|false|null|'[^']*')\s*$"
)


class ConditionError(ValueError):
    pass


@dataclass(frozen=True)
class Comparison:
    field: str
    op: str
    literal: object

    def evaluate(self, data: dict) -> bool:
        value = data.get(self.field)
        if value is None and self.op not in ("==", "!="):
            return False
        try:
            return bool(OPERATORS[self.op](value, self.literal))
        except TypeError:
            # A string where a number was expected counts as "condition not met", never as a crash mid-case.
            return False


@dataclass(frozen=True)
class Condition:
    source: str
    alternatives: tuple[tuple[Comparison, ...], ...]

    def evaluate(self, data: dict) -> bool:
        return any(all(c.evaluate(data) for c in conj) for conj in self.alternatives)

    @property
    def fields(self) -> set[str]:
        return {c.field for conj in self.alternatives for c in conj}


def _literal(text: str):
    if text == "true":
        return True
    if text == "false":
        return False
    if text == "null":
        return None
    if text.startswith("'"):
        return text[1:-1]
    return float(text) if "." in text else int(text)


def parse_condition(source: str) -> Condition:
    """Parse a condition; raise ConditionError naming the part that does not parse."""
    if not isinstance(source, str) or not source.strip():
        raise ConditionError("empty condition")
    alternatives = []
    for alternative in re.split(r"\s+or\s+", source.strip()):
        conj = []
        for part in re.split(r"\s+and\s+", alternative):
            match = _COMPARISON.match(part)
            if not match:
                raise ConditionError(f"cannot parse {part.strip()!r} (expected: field op literal)")
            conj.append(Comparison(match["field"], match["op"], _literal(match["literal"])))
        alternatives.append(tuple(conj))
    return Condition(source, tuple(alternatives))
