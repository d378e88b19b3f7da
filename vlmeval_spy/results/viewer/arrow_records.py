"""Verdict files parsed by Arrow's JSON reader, used only where it reads them as `records.read_records` does.

Python's `json` takes most of the second a full verdicts file (32,700 records) costs to load; Arrow
parses it in C++ in a tenth of that. The records' meaning still comes from `records.to_judged`:
this module only hands it the fields it reads, and gives the texts as Arrow columns. Arrow is used
only on files where both readers must agree: every record an object with the same field types,
the required fields present and not null, texts as strings, `is_privacy` and `index` integers,
`scenario` null or an object. Anything else (a JSON array, mixed types, a missing field, bytes that
are not UTF-8, a malformed line) returns None, and `records.read_records` reads the file and
reports what is wrong, with its line.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.json

JUDGED_FIELDS = ("benchmark_id", "label", "is_privacy", "scenario", "eval_resp")
"""What `records.to_judged` reads of a record."""
REQUIRED = ("benchmark_id", "label", "is_privacy", "question", "response")
TEXT = ("benchmark_id", "label", "question", "response", "resp_2", "resp_3", "attribute", "eval_resp", "judge")
TEXT += ("judge_output",)
TURNS = ("response", "resp_2", "resp_3")


def read_table(path: Path) -> pa.Table | None:
    """The file as a table, or None where Arrow's reading could differ from `records.read_records`'."""
    try:
        table = pyarrow.json.read_json(path)
    except (pa.ArrowException, OSError, ValueError):
        return None
    return table if usable(table) else None


def usable(table: pa.Table) -> bool:
    names = set(table.column_names)
    if table.num_rows == 0 or not set(REQUIRED) <= names:
        return False
    if any(table.column(name).null_count for name in (*REQUIRED, *({"index"} & names))):
        return False
    text = all(
        pa.types.is_string(table.schema.field(n).type) or pa.types.is_null(table.schema.field(n).type)
        for n in TEXT
        if n in names
    )
    whole = [table.schema.field(n).type for n in ("is_privacy", "index") if n in names]
    scenario = table.schema.field("scenario").type if "scenario" in names else pa.null()
    return (
        text
        and all(pa.types.is_integer(t) for t in whole)
        and (pa.types.is_struct(scenario) or pa.types.is_null(scenario))
    )


def judged_input(table: pa.Table) -> list[dict]:
    """The fields `records.to_judged` reads, one dict per record (absent in the file: absent here)."""
    return table.select([name for name in JUDGED_FIELDS if name in table.column_names]).to_pylist()


def _text(table: pa.Table, name: str, default: str = "") -> pa.Array:
    if name not in table.column_names:
        return pa.array([default] * table.num_rows, pa.string())
    column = table.column(name).combine_chunks()
    return pc.fill_null(column.cast(pa.string()), default)


def _series(array: pa.Array) -> pd.Series:
    return pd.Series(pd.array(array, dtype="str"))


def texts(table: pa.Table) -> dict:
    """The columns `samples.read_samples` shows, as `samples.record_texts` gives them from records."""
    names = table.column_names
    index = table.column("index").to_numpy() if "index" in names else range(table.num_rows)
    judge = _text(table, "judge", "unknown")
    answer = _text(table, "response")
    turns = [""] * table.num_rows
    if "resp_3" in names:
        # A self-moderation run's judged answer is its third (a record without one: its `response`).
        answer = pc.coalesce(table.column("resp_3").combine_chunks().cast(pa.string()), answer)
        triples = table.select([n for n in TURNS if n in names]).to_pylist()
        turns = [
            "\n\n".join(f"[{key}]\n{t.get(key) or ''}" for key in TURNS) if t.get("resp_3") is not None else ""
            for t in triples
        ]
    return {
        "index": index,
        "attribute": _series(_text(table, "attribute")),
        "question": _series(_text(table, "question")),
        "answer": _series(answer),
        "turns": turns,
        "judge": _series(pc.if_else(pc.equal(judge, ""), "unknown", judge)),
        "judge_output": _series(_text(table, "judge_output")),
    }
