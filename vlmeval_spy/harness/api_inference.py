"""SPY-Bench datasets in VLMEvalKit's API inference: checkpoints at intervals, and the dataset's prompt unchanged.

Two behaviours of VLMEvalKit's API path change, for SPY-Bench datasets only (every other dataset
runs VLMEvalKit's own code):

1. Checkpoints. `infer_data_api` hands its requests to `track_progress_rich`, which re-dumps the
   whole checkpoint after every answer: on 32,700 samples that is 32,700 dumps of a file growing
   to megabytes, quadratic in the number of answers (179 s against 1 s for the interval
   checkpoint, with 300-character answers: `scripts/bench_infer.py`). `--api-mode`'s pipeline
   does the same in `_save_checkpoint`. Here the checkpoint (same file, same format, so
   VLMEvalKit resumes from it) is written every `CHECKPOINT_INTERVAL_S` seconds and when the
   requests end, however they end (all answered, an error such as a dead server, Ctrl-C); each
   write is atomic, so a killed run never leaves a truncated checkpoint, and loses at most the
   last interval's answers.
2. Prompts. The dataset's prompt is the benchmark (`force_use_dataset_prompt`), but `--api-mode`
   asks the model's `use_custom_prompt` anyway, and OpenAI-compatible models with a model adapter
   (`--custom-prompt internvl3`, ...) rewrite the messages inside `generate_inner` in every mode
   (image placeholders, answer-format suffixes, sampling settings). For SPY-Bench datasets the
   model's custom prompt is never used, and the adapter hooks are skipped, so the request carries
   the dataset's text unchanged.

3. Errors. `--api-mode` evaluates in a worker process, which reports a failure as the error's
   type, message and traceback, printed and logged. For SPY-Bench datasets an error of ours (a
   judge that cannot be used, bad input: `run_exit.status_of`) comes back as its message alone,
   which says what failed and what to do; the worker's attempt record (`run_status`) carries it.

`install()` applies them, once; `tests/test_served.py` and `tests/test_vlmeval_patches.py` fail
when the VLMEvalKit internals they wrap move.
"""

from __future__ import annotations

import atexit
import contextlib
import copy
import functools
import io
import itertools
import os
import pickle
import sys
import time
from collections.abc import Callable, Iterable
from concurrent.futures import FIRST_COMPLETED, ThreadPoolExecutor, wait
from typing import Any

from tqdm import tqdm

from ..bench.catalog import is_spy_dataset
from ..common.atomic import atomic_open

CHECKPOINT_INTERVAL_S = 10.0
IN_FLIGHT_PER_WORKER = 4


def _spy_tasks(tasks: Any) -> bool:
    """Whether `track_progress_rich` tasks are inference requests for a SPY-Bench dataset."""
    return (
        isinstance(tasks, list)
        and len(tasks) > 0
        and isinstance(tasks[0], dict)
        and is_spy_dataset(tasks[0].get("dataset"))
    )


def write_checkpoint(path: str, results: dict) -> None:
    """The checkpoint as VLMEvalKit writes it (a pickled dict), replaced atomically."""
    with atomic_open(path, "wb") as fh:
        pickle.dump(results, fh)


def load_checkpoint(path: str) -> dict:
    if not os.path.exists(path):
        return {}
    with open(path, "rb") as fh:
        return pickle.load(fh)


def track_progress_checkpointed(
    func: Callable, tasks: list[dict], nproc: int, save: str, keys: list[str], interval_s: float = CHECKPOINT_INTERVAL_S
) -> list:
    """`track_progress_rich(func, tasks, nproc, save=, keys=)` with the checkpoint written every `interval_s`.

    At most `IN_FLIGHT_PER_WORKER * nproc` tasks are queued at a time: submitting all 32,700 up
    front makes the main thread fight the workers for the GIL.
    """
    results: list = [None] * len(tasks)
    done = load_checkpoint(save)
    last_write = time.monotonic()
    todo = iter(enumerate(tasks))
    executor = ThreadPoolExecutor(max_workers=nproc)
    try:
        pending = {executor.submit(func, **task): i for i, task in itertools.islice(todo, IN_FLIGHT_PER_WORKER * nproc)}
        with tqdm(total=len(tasks)) as progress:
            while pending:
                finished, _ = wait(pending, return_when=FIRST_COMPLETED)
                errors = [future.exception() for future in finished if future.exception() is not None]
                for future in finished:
                    i = pending.pop(future)
                    if future.exception() is None:  # answers finished beside a failure are kept too
                        results[i] = done[keys[i]] = future.result()
                        progress.update()
                if errors:
                    raise errors[0]
                for j, task in itertools.islice(todo, len(finished)):
                    pending[executor.submit(func, **task)] = j
                if time.monotonic() - last_write >= interval_s:
                    write_checkpoint(save, done)
                    last_write = time.monotonic()
    finally:
        # On an error or Ctrl-C: send nothing more, keep every answer received.
        executor.shutdown(wait=False, cancel_futures=True)
        write_checkpoint(save, done)
    return results


def _checkpointed(original: Callable) -> Callable:
    @functools.wraps(original)
    def track_progress_rich(
        func: Callable, tasks: Iterable = (), nproc: int | None = 1, save=None, keys=None, **kwargs: Any
    ) -> list:
        if save is None or keys is None or kwargs.get("use_process") or not _spy_tasks(tasks):
            return original(func, tasks, nproc=nproc, save=save, keys=keys, **kwargs)
        return track_progress_checkpointed(func, tasks, nproc or 1, save, keys)

    track_progress_rich.spy_bench_patch = True
    return track_progress_rich


class _PipelineCheckpoints:
    """One `APIEvalPipeline`'s SPY-Bench checkpoints: the answers in memory, written at intervals."""

    def __init__(self) -> None:
        self.answers: dict[str, dict] = {}
        self.written_at: dict[str, float] = {}
        self.dirty: dict[str, str] = {}  # dataset -> checkpoint path with answers not yet written
        atexit.register(self.flush)  # Ctrl-C, a failed sample: the tail of answers is written at exit

    def record(self, dataset: str, path: str, index: Any, answer: Any, last: bool) -> None:
        if dataset not in self.answers:  # earlier runs' answers stay, as VLMEvalKit's load-and-merge keeps them
            self.answers[dataset] = load_checkpoint(path)
        self.answers[dataset][index] = answer
        self.dirty[dataset] = path
        if last or time.monotonic() - self.written_at.get(dataset, float("-inf")) >= CHECKPOINT_INTERVAL_S:
            self.write(dataset)

    def write(self, dataset: str) -> None:
        write_checkpoint(self.dirty.pop(dataset), self.answers[dataset])
        self.written_at[dataset] = time.monotonic()

    def flush(self) -> None:
        for dataset in list(self.dirty):
            self.write(dataset)


def _checkpoint_at_intervals(original: Callable) -> Callable:
    """`APIEvalPipeline._save_checkpoint` writing SPY-Bench checkpoints every `CHECKPOINT_INTERVAL_S`.

    VLMEvalKit's loads and re-dumps the whole checkpoint after every answer, on the event loop.
    The last answer of a dataset is written at once (the final result file then replaces the
    checkpoint), and whatever is pending when the process exits.
    """

    @functools.wraps(original)
    def save_checkpoint(self, dataset_name: str, result: dict) -> None:
        if not is_spy_dataset(dataset_name):
            return original(self, dataset_name, result)
        checkpoints = self.__dict__.setdefault("spy_bench_checkpoints", _PipelineCheckpoints())
        cfg = self.states[dataset_name]
        with self.file_locks[dataset_name]:
            checkpoints.record(
                dataset_name,
                str(self._get_checkpoint_file(dataset_name)),
                result["index"],
                result["prediction"],
                last=cfg.processed + 1 >= cfg.total_samples,  # `processed` counts this answer after the call
            )

    save_checkpoint.spy_bench_patch = True
    return save_checkpoint


def _dataset_prompt_first(original: Callable) -> Callable:
    """`APIEvalPipeline._produce_image_tasks` that never uses a model's custom prompt for SPY-Bench datasets."""

    @functools.wraps(original)
    async def produce_image_tasks(self, cfg, existing_results):
        model = cfg.model_obj
        if (
            getattr(cfg.dataset_obj, "force_use_dataset_prompt", False)
            and hasattr(model, "use_custom_prompt")
            and not getattr(model, "spy_bench_dataset_prompt", False)
        ):
            # The pipeline builds one model object per dataset: overriding it on the instance is local to it.
            model.use_custom_prompt = lambda dataset: False
            model.spy_bench_dataset_prompt = True
        return await original(self, cfg, existing_results)

    produce_image_tasks.spy_bench_patch = True
    return produce_image_tasks


def _without_adapter_for_spy(original: Callable, dataset_of: Callable[[tuple, dict], Any]) -> Callable:
    """An `OpenAISDKWrapper` method that ignores the model adapter for SPY-Bench datasets."""

    @functools.wraps(original)
    def method(self, *args, **kwargs):
        if getattr(self, "adapter", None) is not None and is_spy_dataset(dataset_of(args, kwargs)):
            plain = copy.copy(self)  # shallow: shares the client, drops the adapter for this call only
            plain.adapter = None
            return original(plain, *args, **kwargs)
        return original(self, *args, **kwargs)

    method.spy_bench_patch = True
    return method


# Where the dataset name is in each wrapped call: `use_custom_prompt(dataset)`, `generate_inner(inputs, dataset=...)`.
_ADAPTER_HOOKS = {
    "use_custom_prompt": lambda args, kwargs: kwargs.get("dataset", args[0] if args else None),
    "generate_inner": lambda args, kwargs: kwargs.get("dataset", args[1] if len(args) > 1 else None),
}


def install() -> None:
    """Apply the changes above to VLMEvalKit's modules (idempotent)."""
    import vlmeval.inference
    import vlmeval.inference_api
    from vlmeval.api.openai_sdk import OpenAISDKWrapper

    if not getattr(vlmeval.inference.track_progress_rich, "spy_bench_patch", False):
        vlmeval.inference.track_progress_rich = _checkpointed(vlmeval.inference.track_progress_rich)
    pipeline = vlmeval.inference_api.APIEvalPipeline
    if not getattr(pipeline._produce_image_tasks, "spy_bench_patch", False):
        pipeline._produce_image_tasks = _dataset_prompt_first(pipeline._produce_image_tasks)
    if not getattr(pipeline._save_checkpoint, "spy_bench_patch", False):
        pipeline._save_checkpoint = _checkpoint_at_intervals(pipeline._save_checkpoint)
    if not getattr(vlmeval.inference_api._eval_subprocess_target, "spy_bench_patch", False):
        target = vlmeval.inference_api._eval_subprocess_target
        vlmeval.inference_api._eval_subprocess_target = _errors_of_ours_without_traceback(target)
    for hook, dataset_of in _ADAPTER_HOOKS.items():
        method = getattr(OpenAISDKWrapper, hook)
        if not getattr(method, "spy_bench_patch", False):
            setattr(OpenAISDKWrapper, hook, _without_adapter_for_spy(method, dataset_of))


def _errors_of_ours_without_traceback(evaluate_in_worker: Callable) -> Callable:
    """The worker's outcome for a SPY-Bench dataset that failed with an error of ours: its message alone."""
    from ..common import exit_status
    from ..results.attempts import attempt_path, this_runs_attempt

    @functools.wraps(evaluate_in_worker)
    def evaluate(dataset_obj, result_file, judge_kwargs, log_file):
        if not is_spy_dataset(str(getattr(dataset_obj, "dataset_name", ""))):
            return evaluate_in_worker(dataset_obj, result_file, judge_kwargs, log_file)
        printed = io.StringIO()  # the worker prints the error with its traceback
        with contextlib.redirect_stdout(printed):
            outcome = evaluate_in_worker(dataset_obj, result_file, judge_kwargs, log_file)
        attempt = this_runs_attempt(attempt_path(result_file))
        if not outcome["success"] and attempt is not None and attempt.exit_status != exit_status.FAILED:
            return {**outcome, "error": attempt.error}
        sys.stdout.write(printed.getvalue())
        return outcome

    evaluate.spy_bench_patch = True
    return evaluate
