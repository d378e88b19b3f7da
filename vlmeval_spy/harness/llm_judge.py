"""The LLM judge: VLMEvalKit's `build_judge` behind a persistent cache, a thread pool and retries.

Configuration is VLMEvalKit's: `build_judge` resolves the model name (`gpt-4o` ->
`gpt-4o-2024-05-13`, `LOCAL_LLM`), the key (`--judge-key`, `OPENAI_API_KEY`, `.env`) and the
server (`--judge-base-url`, `OPENAI_API_BASE`); any OpenAI-compatible server works.

Retry layer. `BaseAPI.generate`, which VLMEvalKit's own datasets call, retries by itself but
hides the HTTP status and headers and sleeps a random 0-2 s between tries: it cannot honour
Retry-After, nor tell a bad key from an overloaded server. The wrapper's `generate_inner`
returns `(status, answer, requests.Response)` for every HTTP reply and raises requests'
exceptions on timeouts and connection errors, and it keeps the wrapper's per-provider payload
rules (Azure headers, `max_completion_tokens` for o-series models, ...). So the judge calls
`generate_inner` directly, inside a tenacity retry policy: timeouts, connection errors, 408,
409, 429 and 5xx replies and unreadable bodies are retried with exponential backoff (a
`retry-after-ms` / `Retry-After` header, when present, sets the wait instead); other 4xx are
final. A judgment that still fails is an exception verdict, and is not cached.

Reachability is learnt from the first judgment the cache cannot answer, so a re-run of a
finished evaluation makes no call at all. When that judgment fails because the server cannot
be reached or refuses the key (connection error or timeout after every retry, 401, 403, 404),
the whole pass falls back to the offline rule judge with a warning.
"""

from __future__ import annotations

import email.utils
import random
import time
import warnings
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

import requests
from tenacity import RetryCallState, Retrying, retry_if_exception_type, stop_after_attempt
from tqdm import tqdm
from vlmeval.dataset.utils.judge_util import build_judge
from vlmeval.smp.file import RUN_STATUS_NAME

from ..judge_cache import CACHE_NAME, JudgeCache, JudgeStats, judgment_key
from ..judge_prompt import DEFAULT_TEMPLATE, load_template, parse_verdict, render
from .judging import EXCEPTION, HOW_TO_CONFIGURE, RULE_JUDGE, JudgeTask, RuleJudge, Verdict
from .redaction import add_secret, redact
from .redaction import install as install_redaction

OWN_KEYS = ("spy_prompt", "spy_cache")
"""SPY-Bench's own `--judge-args`: a prompt template file, and a cache file path."""
HARNESS_KEYS = ("model", "nproc", "use_vllm", "use_verifier")
"""run.py's judge arguments that are not `build_judge`'s."""
DEFAULT_NPROC = 4
DEFAULT_ATTEMPTS = 6
"""run.py's default `--retry`."""
RETRY_STATUS = frozenset({408, 409, 429})
UNREACHABLE_STATUS = frozenset({401, 403, 404})
MAX_RETRY_AFTER_S = 600.0


class JudgeCallError(Exception):
    """A failed attempt; `unreachable` when it says the server or the key is unusable."""

    def __init__(self, message: str, unreachable: bool = False):
        super().__init__(message)
        self.unreachable = unreachable


class TransientError(JudgeCallError):
    """A failed attempt worth retrying, after `retry_after` seconds when the server said so."""

    def __init__(self, message: str, retry_after: float | None = None, unreachable: bool = False):
        super().__init__(message, unreachable)
        self.retry_after = retry_after


def retry_after_s(response: requests.Response | None) -> float | None:
    """The server's requested wait: `retry-after-ms`, else `Retry-After` (seconds or an HTTP date)."""
    headers = getattr(response, "headers", None) or {}
    try:
        if "retry-after-ms" in headers:
            return max(0.0, float(headers["retry-after-ms"]) / 1000)
        value = headers.get("retry-after")
        if value is None:
            return None
        try:
            return max(0.0, float(value))
        except ValueError:
            when = email.utils.parsedate_to_datetime(value)
            return max(0.0, (when - datetime.now(timezone.utc)).total_seconds())
    except (TypeError, ValueError):
        return None


def ask(wrapper, prompt: str) -> str:
    """One HTTP attempt through the wrapper: the judge's reply text, or a JudgeCallError."""
    try:
        # The wrapper's extra arguments, as `BaseAPI.generate` would pass them.
        code, answer, response = wrapper.generate_inner([{"type": "text", "value": prompt}], **dict(wrapper.default_kwargs))
    except (requests.Timeout, requests.ConnectionError, requests.exceptions.ChunkedEncodingError) as err:
        raise TransientError(type(err).__name__, unreachable=True) from None
    except Exception as err:  # anything else is this judgment's failure, not the whole run's
        raise JudgeCallError(redact(f"{type(err).__name__}: {err}")) from None
    if code == 0 and answer != wrapper.fail_msg:
        return answer
    if code == 0:
        raise TransientError("unreadable reply body")
    if code in RETRY_STATUS or code >= 500:
        raise TransientError(f"HTTP {code}", retry_after_s(response))
    raise JudgeCallError(f"HTTP {code}", unreachable=code in UNREACHABLE_STATUS)


@dataclass
class Backoff:
    """Retry policy: `attempts` tries, exponential waits from `base_s` up to `cap_s`, with jitter."""

    attempts: int = DEFAULT_ATTEMPTS
    base_s: float = 1.0
    cap_s: float = 60.0
    sleep: Callable[[float], None] = time.sleep

    def wait(self, state: RetryCallState) -> float:
        hinted = getattr(state.outcome.exception(), "retry_after", None)
        if hinted is not None:
            return min(hinted, MAX_RETRY_AFTER_S)
        return min(self.cap_s, self.base_s * 2 ** (state.attempt_number - 1)) * random.uniform(0.5, 1.0)


@dataclass
class CallResult:
    output: str | None
    attempts: int
    error: JudgeCallError | None = None
    cached: bool = False
    """Found in the cache when its turn came (another process judged it meanwhile)."""


def default_cache_path(work_file: str | Path) -> Path:
    """The work dir's cache: above the model folder when `work_file` is in a VLMEvalKit run, else beside it."""
    folder = Path(work_file).resolve().parent
    root = folder.parent if (folder / RUN_STATUS_NAME).exists() else folder
    return root / CACHE_NAME


class LLMJudge:
    """Judges answers with an LLM; identical prompts are judged once, across runs and processes."""

    def __init__(self, name: str, wrapper, template: str = DEFAULT_TEMPLATE, cache_path: str | Path | None = None,
                 nproc: int = DEFAULT_NPROC, backoff: Backoff | None = None):
        self.name = name
        self.wrapper = wrapper
        self.model_id = str(getattr(wrapper, "model", name))
        """The model the server is asked for: part of every cache key."""
        self.template = template
        self.cache_path = Path(cache_path) if cache_path else None
        """Configured cache file; None: the work dir's (`default_cache_path`)."""
        self.used_cache: Path | None = None
        self.nproc = max(1, nproc)
        self.backoff = backoff or Backoff()
        self.stats = JudgeStats()
        self.fallback: RuleJudge | None = None

    @classmethod
    def create(cls, model: str, kwargs: dict) -> LLMJudge | None:
        """The judge run.py's judge arguments describe; None when VLMEvalKit cannot build it."""
        kwargs = dict(kwargs)
        own = {key: kwargs.pop(key) for key in OWN_KEYS if key in kwargs}
        nproc = int(kwargs.get("nproc") or DEFAULT_NPROC)
        for key in HARNESS_KEYS:
            kwargs.pop(key, None)
        add_secret(kwargs.get("key"))
        install_redaction()
        template = load_template(own["spy_prompt"]) if own.get("spy_prompt") else DEFAULT_TEMPLATE
        try:
            wrapper = build_judge(model=model, **kwargs)
        except Exception as err:  # VLMEvalKit asserts on missing configuration
            warnings.warn(redact(f"SPY-Bench: VLMEvalKit could not build the judge '{model}': {err!r}"), stacklevel=2)
            return None
        if not hasattr(wrapper, "generate_inner"):
            warnings.warn(f"SPY-Bench: judge '{model}' is not an API model; SPY-Bench needs an API judge.", stacklevel=2)
            return None
        backoff = Backoff(attempts=max(1, int(kwargs.get("retry") or DEFAULT_ATTEMPTS)))
        return cls(model, wrapper, template, own.get("spy_cache"), nproc, backoff)

    def judge_all(self, tasks: list[JudgeTask], work_file: str) -> dict[str, Verdict]:
        prompts = {t.key: render(self.template, t.attribute, t.question, t.answer) for t in tasks}
        system = getattr(self.wrapper, "system_prompt", None)
        keys = {task_key: judgment_key(self.model_id, prompt, system) for task_key, prompt in prompts.items()}
        distinct = dict(zip(keys.values(), prompts.values()))
        self.stats = JudgeStats(judgments=len(tasks), distinct_prompts=len(distinct))
        self.used_cache = self.cache_path or default_cache_path(work_file)
        with JudgeCache(self.used_cache) as cache:
            results = {key: CallResult(output, 0, cached=True) for key, output in cache.get_many(distinct).items()}
            self.stats.cache_hits = len(results)
            todo = [(key, prompt) for key, prompt in distinct.items() if key not in results]
            if todo:
                first = self._judge_one(cache, *todo[0])
                self._count(first)
                if first.error is not None and first.error.unreachable:
                    return self._fall_back(tasks, work_file, first.error)
                results[todo[0][0]] = first
                results.update(self._judge_many(cache, todo[1:]))
        return {t.key: self._verdict(results[keys[t.key]]) for t in tasks}

    def report(self) -> dict:
        """Who judged, and what it cost (`saved` = judgments that needed no judge call)."""
        return {
            "judge": self.fallback.name if self.fallback else self.name,
            "judge model": self.model_id,
            "fallback": self.fallback is not None,
            "cache": str(self.used_cache) if self.used_cache else None,
            **self.stats.as_dict(),
        }

    def _judge_many(self, cache: JudgeCache, todo: list[tuple[str, str]]) -> dict[str, CallResult]:
        """Judge concurrently; each output is in the cache as soon as it arrives."""
        results = {}
        with ThreadPoolExecutor(self.nproc) as pool:
            futures = {pool.submit(self._judge_one, cache, key, prompt): key for key, prompt in todo}
            for future in tqdm(as_completed(futures), total=len(futures), desc=f"judge {self.name}", disable=None):
                results[futures[future]] = result = future.result()
                self._count(result)
        return results

    def _judge_one(self, cache: JudgeCache, key: str, prompt: str) -> CallResult:
        output = cache.get(key)
        if output is not None:
            return CallResult(output, 0, cached=True)
        retrying = Retrying(stop=stop_after_attempt(self.backoff.attempts), wait=self.backoff.wait,
                            retry=retry_if_exception_type(TransientError), sleep=self.backoff.sleep, reraise=True)
        try:
            output = retrying(ask, self.wrapper, prompt)
        except JudgeCallError as err:
            return CallResult(None, retrying.statistics.get("attempt_number", 1), err)
        cache.put(key, self.model_id, output)
        return CallResult(output, retrying.statistics.get("attempt_number", 1))

    def _count(self, result: CallResult) -> None:
        if result.cached:
            self.stats.cache_hits += 1
            return
        self.stats.calls += 1
        self.stats.retries += result.attempts - 1
        self.stats.failed_calls += result.error is not None

    def _verdict(self, result: CallResult) -> Verdict:
        if result.output is None:
            return Verdict(EXCEPTION, self.name, f"judge error: {result.error}")
        return Verdict(parse_verdict(result.output) or EXCEPTION, self.name, result.output)

    def _fall_back(self, tasks: list[JudgeTask], work_file: str, error: JudgeCallError) -> dict[str, Verdict]:
        warnings.warn(f"SPY-Bench: LLM judge '{self.name}' is not reachable ({error}), using the offline rule judge. "
                      f"{HOW_TO_CONFIGURE}", stacklevel=2)
        self.fallback = RuleJudge(f"{RULE_JUDGE}_fallback")
        return self.fallback.judge_all(tasks, work_file)
