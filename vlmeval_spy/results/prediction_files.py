"""VLMEvalKit prediction files (`<model>_<dataset>.xlsx`, `.tsv`, `.json`) read cell for cell as written.

pandas' readers, which VLMEvalKit uses, change text on the way in: `None`, `NA`, `null` and
empty cells become NaN, digit strings become numbers (`00042` -> 42), and an xlsx cell whose
text starts with `=` was stored as a formula and reads back as its cached value `0`. Here every
cell is text exactly as stored: xlsx through openpyxl (formula cells give their formula text,
which is the original string, and the `_xHHHH_` escapes xlsx uses for control characters such as
CR are decoded), tsv with no type or NA inference, json as parsed. `index` is an int.

One ambiguity is inherent to xlsx: xlsxwriter does not escape a literal `_xHHHH_` in text, so a
model answer that literally contains `_x000D_` reads back as a CR (`same_cell` tells texts
that only differ so). Prefer `PRED_FORMAT=tsv` or `json` where answers may contain such text.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pandas as pd

from ..common.errors import Problem, SpyDataError

XLSX_CELL_LIMIT = 32767
"""Excel's cell length limit; xlsxwriter cuts longer text there."""
_XLSX_ESCAPE = re.compile(r"_x([0-9A-Fa-f]{4})_")
_XLSX_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f]")


def decode_xlsx_escapes(text: str) -> str:
    """Undo the `_xHHHH_` escapes xlsx uses for characters XML cannot hold (CR and other controls)."""
    return _XLSX_ESCAPE.sub(lambda m: chr(int(m.group(1), 16)), text)


def xlsx_escape(text: str) -> str:
    """`text` as xlsxwriter stores it: control characters other than tab and newline as `_xHHHH_`."""
    return _XLSX_CONTROL.sub(lambda m: f"_x{ord(m.group()):04X}_", text)


def same_cell(a: str, b: str) -> bool:
    """Whether two texts are stored as the same xlsx cell (they differ at most by the `_xHHHH_` ambiguity)."""
    return xlsx_escape(a) == xlsx_escape(b)


def _cell_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def read_xlsx(path: Path) -> list[dict[str, str]]:
    import openpyxl

    book = openpyxl.load_workbook(path, read_only=True, data_only=False)
    try:
        rows = book.worksheets[0].iter_rows(values_only=True)
        header = [_cell_text(h) for h in next(rows, ())]
        return [{h: decode_xlsx_escapes(_cell_text(v)) for h, v in zip(header, row, strict=True)} for row in rows]
    finally:
        book.close()


def read_tsv(path: Path) -> list[dict[str, str]]:
    frame = pd.read_csv(path, sep="\t", dtype=str, keep_default_na=False, na_filter=False)
    return frame.to_dict("records")


def read_json(path: Path) -> list[dict[str, str]]:
    records = json.loads(path.read_text(encoding="utf-8"))
    if not isinstance(records, list) or not all(isinstance(r, dict) for r in records):
        raise SpyDataError([Problem(str(path), "expected a JSON array of row objects (VLMEvalKit's json predictions)")])
    return [{k: _json_text(v) for k, v in r.items()} for r in records]


def _json_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, (dict, list)):
        return json.dumps(value, ensure_ascii=False)
    return _cell_text(value)


READERS = {".xlsx": read_xlsx, ".tsv": read_tsv, ".json": read_json}


def read_prediction_rows(path: str | Path, required: tuple[str, ...] = ("index", "prediction")) -> list[dict]:
    """Every row as `{column: text}` with `index` an int; errors name the file and the row."""
    path = Path(path)
    reader = READERS.get(path.suffix)
    if reader is None:
        raise SpyDataError([Problem(str(path), f"unsupported prediction file type {path.suffix!r} (xlsx, tsv, json)")])
    if not path.exists():
        raise SpyDataError([Problem(str(path), "file not found")])
    try:
        rows = reader(path)
    except SpyDataError:
        raise
    except UnicodeDecodeError as err:
        raise SpyDataError(
            [Problem(str(path), f"not UTF-8 text ({err.reason} at byte {err.start} of a chunk)")]
        ) from None
    except Exception as err:  # openpyxl, zipfile, pandas and json each fail their own way on a damaged file
        message = f"cannot be read as a {path.suffix} prediction file ({type(err).__name__}: {err})"
        raise SpyDataError([Problem(str(path), message)]) from None
    columns = set(rows[0]) if rows else set()
    missing = [c for c in required if c not in columns]
    if missing:
        raise SpyDataError(
            [Problem(str(path), f"not a SPY-Bench prediction file: missing column(s) {', '.join(missing)}")]
        )
    problems = []
    for number, row in enumerate(rows, 1):
        try:
            row["index"] = int(row["index"])
        except ValueError:
            problems.append(Problem(str(path), f"not an integer: {row['index']!r}", f"row {number}", "index"))
    if problems:
        raise SpyDataError(problems)
    return rows


def count_answers_with(path: str | Path, markers: tuple[str, ...]) -> tuple[int, int]:
    """`(answers containing any of markers, answers)` of a prediction file, for VLMEvalKit's `infer_fail_rate`.

    Reads only the `prediction` column, an xlsx through calamine (under a second for 32,700 rows,
    where a full load takes ten); a substring count needs no cell-for-cell exactness.
    """
    path = Path(path)
    if path.suffix == ".xlsx":
        from python_calamine import CalamineWorkbook

        rows = CalamineWorkbook.from_path(str(path)).get_sheet_by_index(0).to_python()
        header = [str(h) for h in rows[0]] if rows else []
        if "prediction" not in header:
            raise SpyDataError([Problem(str(path), "not a prediction file: no prediction column")])
        column = header.index("prediction")
        answers = [str(row[column]) for row in rows[1:]]
    else:
        answers = [row["prediction"] for row in read_prediction_rows(path)]
    return sum(any(marker in answer for marker in markers) for answer in answers), len(answers)
