"""The model's answers exactly as it wrote them, whatever VLMEvalKit's prediction file did to them.

VLMEvalKit reads its own prediction files back with pandas (`vlmeval_spy.results.prediction_files` says
what that changes), and when a run is resumed it re-dumps the answers it re-loaded, so the
change is then written to disk. Sources, best first, for each answer (by `index`):

1. the dataset's own frame, when inference ran in this process (`infer_data_job` puts the
   answers it dumps into `dataset.data["prediction"]`);
2. the file read cell for cell (`prediction_files`);
3. an earlier evaluation's verdict records, for an answer whose current text is exactly what
   VLMEvalKit's re-load makes of the recorded one (the resume path above).

What cannot be recovered is refused (`SpyDataError`), never judged: an xlsx cell cut at Excel's
32,767-character limit with no other source.
"""

from __future__ import annotations

import tempfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from ..common.errors import Problem, SpyDataError
from ..results.prediction_files import XLSX_CELL_LIMIT, read_prediction_rows

TEXT_COLUMNS = ("prediction", "extra_records")
"""The columns whose text is judged or expanded (self-moderation triples); metadata comes from the dataset."""


@dataclass
class ExactPredictions:
    """Per-index texts of the judged columns, and how they were obtained."""

    indices: list[int]
    """The file's samples, in its order."""
    texts: dict[str, dict[int, str]]
    """Column -> index -> text."""
    recovered: dict[str, int] = field(default_factory=dict)
    """Source -> number of answers taken from it because the file's text had been changed."""

    def column(self, name: str, indices: list[int]) -> list[str]:
        values = self.texts.get(name, {})
        return [values.get(i, "") for i in indices]


def reloaded(texts: list[str], suffix: str) -> list[str]:
    """What VLMEvalKit makes of `texts` when it dumps them to a `suffix` file, loads it and stringifies."""
    from vlmeval.smp import dump, load

    if suffix == ".json":
        return list(texts)
    with tempfile.TemporaryDirectory() as folder:
        path = str(Path(folder) / f"reload{suffix}")
        dump(pd.DataFrame({"index": range(len(texts)), "prediction": texts}), path)
        return [str(v) for v in load(path)["prediction"]]


def exact_predictions(
    eval_file: str | Path, in_memory: Mapping[int, str] | None = None, previous: Mapping[int, str] | None = None
) -> ExactPredictions:
    """The judged texts of every sample in `eval_file`, recovered where the file changed them (module doc).

    `in_memory`: answers the dataset frame holds after inference in this process; `previous`:
    index -> `response` of an earlier evaluation's verdict records.
    """
    path = Path(eval_file)
    rows = read_prediction_rows(path)
    indices = [row["index"] for row in rows]
    texts = {c: {row["index"]: row[c] for row in rows} for c in TEXT_COLUMNS if c in rows[0]} if rows else {}
    result = ExactPredictions(indices, texts or {"prediction": {}})
    answers = result.texts["prediction"]
    in_memory = {i: t for i, t in (in_memory or {}).items() if i in answers}
    changed = [i for i in indices if i in in_memory and in_memory[i] != answers[i]]
    answers.update({i: in_memory[i] for i in changed})
    if changed:
        result.recovered["inference in this process"] = len(changed)
    if previous:
        _recover_from_previous(answers, indices, previous, path.suffix, result)
    _refuse_truncated(path, answers, indices, in_memory)
    return result


def _recover_from_previous(
    answers: dict[int, str], indices: list[int], previous: Mapping[int, str], suffix: str, result: ExactPredictions
) -> None:
    """Answers VLMEvalKit re-loaded and re-dumped on a resumed run get their recorded text back."""
    candidates = [i for i in indices if i in previous and previous[i] != answers[i]]
    if not candidates:
        return
    # Emulate the re-load on the whole column: pandas infers a column's type from all its cells.
    emulated = dict(zip(indices, reloaded([previous.get(i, answers[i]) for i in indices], suffix), strict=True))
    taken = [i for i in candidates if emulated[i] == answers[i]]
    answers.update({i: previous[i] for i in taken})
    if taken:
        result.recovered["earlier verdict records"] = len(taken)


def _refuse_truncated(path: Path, answers: dict[int, str], indices: list[int], in_memory: Mapping[int, str]) -> None:
    if path.suffix != ".xlsx":
        return
    cut = [i for i in indices if len(answers[i]) >= XLSX_CELL_LIMIT and i not in in_memory]
    if cut:
        raise SpyDataError(
            [
                Problem(
                    str(path),
                    f"answer cut at Excel's {XLSX_CELL_LIMIT}-character cell limit; re-run with "
                    "PRED_FORMAT=tsv or json to keep it whole",
                    f"index {i}",
                    "prediction",
                )
                for i in cut[:20]
            ]
        )
