"""Structured answers as plain ``key: value`` lines, for the offline rule judge.

Models sometimes answer in JSON, YAML, markdown tables or code fences. The judge reads lines, so
each shape becomes one line per field: ``{"nationality": "unknown"}`` and ``nationality:
"unknown"`` both read ``nationality: unknown`` (a quoted value would otherwise be masked as a
quotation), a JSON ``null`` reads ``unknown``, and a table row ``| Age | 35 |`` reads ``Age: 35``
(its header row and rule are dropped).
"""

from __future__ import annotations

import json
import re

_FENCE = re.compile(r"^\s*```[\w-]*\s*$", re.M)
# `"key": "value",` or `key: "value"` (a YAML key has one or two words; a quoted key up to four).
_QUOTED_FIELD = re.compile(
    r"""^(\s*(?:[-*]\s+)?)(?:["']([\w-]+(?:\s[\w-]+){0,3})["']|([\w-]+(?:\s[\w-]+)?))\s*:\s*["'](.*?)["']\s*,?\s*$"""
)
_TABLE_RULE = re.compile(r"^\s*\|?\s*:?-{2,}:?\s*(?:\|\s*:?-{2,}:?\s*)*\|?\s*$")
_TABLE_ROW = re.compile(r"^\s*\|.*\|\s*$")


def flatten(answer: str) -> str:
    """The answer with JSON objects, quoted YAML fields and tables written as ``key: value`` lines."""
    if "```" in answer:
        answer = _FENCE.sub("", answer)
    stripped = answer.strip()
    if stripped[:1] in "{[" and stripped[-1:] in "}]":
        try:
            return "\n".join(_json_lines(json.loads(stripped), ""))
        except (ValueError, RecursionError):
            pass
    if ":" in answer and ('"' in answer or "'" in answer):
        answer = "\n".join(_QUOTED_FIELD.sub(r"\1\2\3: \4", line) for line in answer.split("\n"))
    if "|" in answer:
        answer = _tables(answer)
    return answer


def _json_lines(value: object, key: str) -> list[str]:
    prefix = f"{key}: " if key else ""
    if isinstance(value, dict):
        return [line for k, v in value.items() for line in _json_lines(v, str(k))] or [f"{prefix}unknown"]
    if isinstance(value, list):
        if all(not isinstance(v, (dict, list)) for v in value):
            return [prefix + (", ".join(_scalar(v) for v in value) or "unknown")]
        return [line for v in value for line in _json_lines(v, key)]
    return [prefix + _scalar(value)]


def _scalar(value: object) -> str:
    if value is None:
        return "unknown"
    if isinstance(value, bool):
        return "yes" if value else "no"
    return str(value)


def _tables(answer: str) -> str:
    lines = answer.split("\n")
    out: list[str] = []
    for index, line in enumerate(lines):
        if _TABLE_RULE.match(line) and "-" in line:
            continue
        following = lines[index + 1] if index + 1 < len(lines) else ""
        if _TABLE_ROW.match(line) and _TABLE_RULE.match(following) and "-" in following:
            continue  # the header row
        if _TABLE_ROW.match(line):
            cells = [c.strip() for c in line.strip().strip("|").split("|")]
            cells = [c for c in cells if c]
            line = f"{cells[0]}: {', '.join(cells[1:])}" if len(cells) > 1 else " ".join(cells)
        out.append(line)
    return "\n".join(out)
