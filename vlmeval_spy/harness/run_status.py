"""What a run says about each SPY-Bench dataset: its entry in VLMEvalKit's `status.json`, its
attempt record (`vlmeval_spy.results.attempts`) and the exit status (`vlmeval_spy.common.exit_status`).

VLMEvalKit records a failed dataset in `status.json` as `done`, with the error beside the metrics
of whatever attempt came before, and its run summary prints those metrics as the result. Wrapping
`upsert_dataset_status` where `run.py` and the `--api-mode` pipeline import it from, for
SPY-Bench datasets:

- a new attempt (`pending`) starts a fresh entry (VLMEvalKit refuses to lower a `done` entry to
  `pending`, so nothing of an earlier attempt, metrics, judge or error, is carried over);
- a failure (`error_message`) makes the entry `failed`: the error, the judge, the time and the exit
  status, and no metrics, so the summary prints no score; the attempt record says the same, and
  the status is recorded for the exit; in GitHub main's layout (a run folder per run, the latest
  success linked into the model folder) the model folder's `status.json` and attempt record are
  pointed at the failed run;
- a result (`metrics_source`) records the exit status of its attempt (4 when incomplete).

One writer per model and dataset: a new attempt takes the lock `<model>_<dataset>.lock` in the
model folder (beside the prediction file in the wheel's layout, above the run folders in GitHub
main's; `common/writer_lock.py`) before anything of the dataset is touched, and lets it go
when the dataset is done (or the process ends in any way). A second run of the same model and
dataset in the same work dir is refused with exit status 2, naming the run that writes (pid, host,
start time); its refusal touches neither `status.json` nor the attempt record. (`--api-mode` runs
take no such lock: each writes into its own run folder, they share the judge cache, and the pipeline
would only log a refusal as a warning and go on.)

`build_dataset` returning None (a dataset name VLMEvalKit cannot build) records exit status 2.
`record_result` / `record_failure` write the attempt record at the end of `evaluate()`; in
`--api-mode` that runs in a forked worker, and the record is how the run learns what happened.
"""

from __future__ import annotations

import difflib
import functools
import importlib
import sys
from pathlib import Path

from ..bench.catalog import is_spy_dataset
from ..common import exit_status, writer_lock
from ..results.attempts import (
    COMPLETE,
    FAILED,
    INCOMPLETE,
    SUFFIX,
    Attempt,
    attempt_path,
    now,
    this_runs_attempt,
    write_attempt,
)
from ..results.layout import link_in_model_folder, model_folder_of
from .redaction import redact
from .run_exit import status_of
from .run_options import flag_given

FAILED_STATUS = "failed"
"""The `status` of a failed SPY-Bench dataset in status.json (VLMEvalKit itself writes `done`)."""
STALE_FIELDS = ("metrics", "primary_metric")
API_MODE = "--api-mode"
"""`run.py`'s flag of the API pipeline, whose runs take no writer lock (the pipeline would only log a refusal)."""
INVALID_DATASET = "invalid_dataset"
"""The `skip_reason` run.py records for a dataset `build_dataset` could not build."""
_close_names: dict[str, list[str]] = {}
"""Unknown dataset name -> the known names close to it, for the run's summary."""


def record_result(eval_file: str, judging: dict) -> None:
    """The attempt record of a finished evaluation: complete, or incomplete (exit status 4)."""
    complete = judging["complete"]
    attempt = Attempt(
        COMPLETE if complete else INCOMPLETE,
        judging["judge"],
        judging["evaluated at"],
        exit_status.OK if complete else exit_status.INCOMPLETE,
    )
    write_attempt(attempt_path(eval_file), attempt)


def record_failure(eval_file: str, judge: str, error: BaseException) -> None:
    """The attempt record of an evaluation that stopped with `error`."""
    attempt = Attempt(FAILED, judge, now(), status_of(error), redact(str(error)))
    write_attempt(attempt_path(eval_file), attempt)


def install() -> None:
    """Wrap `upsert_dataset_status` and `build_dataset` before `run.py` imports them (idempotent)."""
    import vlmeval.smp
    import vlmeval.smp.status_report as status_report

    if getattr(status_report.upsert_dataset_status, "spy_bench_patch", False):
        return
    wrapped = _upsert(status_report.upsert_dataset_status)
    status_report.upsert_dataset_status = vlmeval.smp.upsert_dataset_status = wrapped
    if "vlmeval.inference_api" in sys.modules:  # imported by our registration before this ran
        sys.modules["vlmeval.inference_api"].upsert_dataset_status = wrapped
    # Called while `vlmeval.dataset` finishes executing: not yet an attribute of the `vlmeval` package.
    datasets = importlib.import_module("vlmeval.dataset")
    datasets.build_dataset = _build_dataset(datasets.build_dataset)


def _upsert(original):
    @functools.wraps(original)
    def upsert_dataset_status(run_dir, model_name, dataset_name, status=None, **fields):
        if fields.get("skip_reason") == INVALID_DATASET and _close_names.get(dataset_name):
            # The run's summary prints the reason: with the names the user may have meant.
            fields["skip_reason"] = f"{INVALID_DATASET} (did you mean: {', '.join(_close_names[dataset_name])}?)"
        if not is_spy_dataset(dataset_name):
            return original(run_dir, model_name, dataset_name, status=status, **fields)
        combination = (str(run_dir), model_name, dataset_name)
        if combination in _refused:  # another run writes it: leave its entry and attempt record alone
            return None
        if status == "pending" and not flag_given(sys.argv, API_MODE):
            _take_writer_lock(run_dir, model_name, dataset_name)
            _edit_entry(run_dir, dataset_name, lambda entry: entry.clear())
        result = original(run_dir, model_name, dataset_name, status=status, **fields)
        if status == "done":
            writer_lock.release(_lock_file(run_dir, model_name, dataset_name))
        error = fields.get("error_message")
        if isinstance(error, str) and error:
            _failed(run_dir, model_name, dataset_name, error)
        elif isinstance(fields.get("metrics_source"), dict):
            attempt = this_runs_attempt(_attempt_file(run_dir, model_name, dataset_name))
            if attempt is not None:
                exit_status.record(attempt.exit_status)
        return result

    upsert_dataset_status.spy_bench_patch = True
    return upsert_dataset_status


_refused: set[tuple[str, str, str]] = set()
"""(run_dir, model, dataset) combinations this process was refused: another run writes them."""


def _lock_file(run_dir, model_name: str, dataset_name: str) -> Path:
    """Beside the prediction file, in the model folder: with GitHub main's run folders too, where every run
    writes into a folder of its own but all of them link their results into the model folder."""
    prediction = _attempt_file(run_dir, model_name, dataset_name)
    folder = model_folder_of(run_dir) or prediction.parent
    return folder / (prediction.name.removesuffix(SUFFIX) + ".lock")


def _take_writer_lock(run_dir, model_name: str, dataset_name: str) -> None:
    """Hold the prediction file's lock, or raise LockHeld (exit status 2) naming the run that holds it."""
    lock = _lock_file(run_dir, model_name, dataset_name)
    try:
        writer_lock.acquire(
            lock,
            f"{model_name} on {dataset_name} in {lock.parent}",
            "Two runs must not write one prediction file: wait for that run to end and run this command again, "
            "or give this one another --work-dir. Nothing of this dataset was changed by this run.",
        )
    except writer_lock.LockHeld:
        _refused.add((str(run_dir), model_name, dataset_name))
        raise


def _attempt_file(run_dir, model_name: str, dataset_name: str) -> Path:
    """Beside the prediction file, named as `run.py` and the API pipeline name it."""
    from vlmeval.smp import get_pred_file_path

    return attempt_path(get_pred_file_path(str(run_dir), model_name, dataset_name, use_env_format=True))


def _failed(run_dir, model_name: str, dataset_name: str, error: str) -> None:
    """Mark the entry failed, from this run's attempt record, else from the error being handled."""
    path = _attempt_file(run_dir, model_name, dataset_name)
    attempt = this_runs_attempt(path)
    if attempt is None or attempt.outcome != FAILED:
        # Inference, or anything before evaluate(), failed: run.py calls us while handling the error.
        handled = sys.exc_info()[1]
        judge = _entry(run_dir, dataset_name).get("judge_model") or ""
        status = status_of(handled) if handled is not None else exit_status.FAILED
        attempt = Attempt(FAILED, judge, now(), status, redact(error))
        if path.parent.is_dir():
            write_attempt(path, attempt)
    exit_status.record(attempt.exit_status)

    def mark(entry: dict) -> None:
        for field in STALE_FIELDS:
            entry.pop(field, None)
        entry.update(
            status=FAILED_STATUS,
            error_message=attempt.error,
            judge_model=attempt.judge,
            failed_at=attempt.at,
            exit_status=attempt.exit_status,
        )

    _edit_entry(run_dir, dataset_name, mark)
    # GitHub main links only a success's files into the model folder: point its status.json and the
    # dataset's attempt record at this failed run, or they would still say the older run's `done`.
    link_in_model_folder(run_dir, [status_report_name(), path.name])


def status_report_name() -> str:
    from vlmeval.smp.file import RUN_STATUS_NAME

    return RUN_STATUS_NAME


def _entry(run_dir, dataset_name: str) -> dict:
    from vlmeval.smp.status_report import load_run_status

    return load_run_status(run_dir).get("datasets", {}).get(dataset_name, {})


def _edit_entry(run_dir, dataset_name: str, edit) -> None:
    """Change a dataset's entry in status.json under VLMEvalKit's own lock, with its own reader and writer."""
    from filelock import SoftFileLock
    from vlmeval.smp import status_report

    status_file = status_report._get_run_status_path(run_dir)
    if not status_file.exists():
        return
    with SoftFileLock(str(status_report._get_run_status_lock_path(run_dir))):
        run_status = status_report._load_run_status_unlocked(status_file)
        entry = run_status.get("datasets", {}).get(dataset_name)
        if isinstance(entry, dict):
            edit(entry)
            status_report._dump_run_status_unlocked(status_file, run_status)


def _build_dataset(original):
    @functools.wraps(original)
    def build_dataset(dataset_name, **kwargs):
        dataset = original(dataset_name, **kwargs)
        if dataset is None:
            exit_status.record(exit_status.BAD_INPUT)
            print(f"SPY-Bench: {_unknown_dataset(dataset_name)}", file=sys.stderr)
        return dataset

    return build_dataset


def _unknown_dataset(name: str) -> str:
    names = importlib.import_module("vlmeval.dataset").SUPPORTED_DATASETS
    close = difflib.get_close_matches(name, [str(n) for n in names], n=5, cutoff=0.6)
    _close_names[name] = close
    hint = f" Did you mean: {', '.join(close)}?" if close else ""
    return (
        f"dataset {name!r} cannot be built: VLMEvalKit does not know it and no TSV of that name is in $LMUData.{hint}"
    )
