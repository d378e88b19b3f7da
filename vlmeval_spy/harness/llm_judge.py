"""The LLM judge: VLMEvalKit's `build_judge` behind a persistent cache, a thread pool, retries and a
circuit breaker.

Configuration is VLMEvalKit's: `build_judge` resolves the model name (`gpt-4o` ->
`gpt-4o-2024-05-13`, `LOCAL_LLM`), the key (`--judge-key`, `OPENAI_API_KEY`, `.env`) and the
server (`--judge-base-url`, `OPENAI_API_BASE`); any OpenAI-compatible server works. The judge's
endpoint, and where it came from, is printed when the judge is set up.

Retry layer. `BaseAPI.generate`, which VLMEvalKit's own datasets call, retries by itself but
hides the HTTP status and headers and sleeps a random 0-2 s between tries: it cannot honour
Retry-After, nor tell a bad key from an overloaded server. The wrapper's `generate_inner`
returns `(status, answer, requests.Response)` for every HTTP reply and raises requests'
exceptions on timeouts and connection errors, and it keeps the wrapper's per-provider payload
rules (Azure headers, `max_completion_tokens` for o-series models, ...). So the judge calls
`generate_inner` directly, inside a tenacity retry policy: timeouts, connection errors, 408,
409, 429 and 5xx replies and unreadable bodies are retried with exponential backoff (a
`retry-after-ms` / `Retry-After` header, when present, sets the wait instead); other 4xx are
final.

Failure policy (docs/judge.md). Only replies the parser can read are cached. No single
judgment decides anything: a circuit breaker opens when `breaker_limit` distinct judgments in a
row failed at the judge's level (no connection, timeout, HTTP 401/403/404 or 5xx) without a
reply in between; from then on nothing more is sent, waiting retries wake up and give up, and
`judge_all` raises `JudgeUnavailable`: every reply received stays in the cache, nothing is
scored, and a re-run sends only the missing judgments. A pass that got no reply at all and met
judge-level failures raises it too (the judge cannot be used).
"""

from __future__ import annotations

import email.utils
import os
import random
import sys
import threading
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import requests
from tenacity import RetryCallState, Retrying, retry_if_exception_type, stop_after_attempt, stop_any
from tqdm import tqdm
from vlmeval.dataset.utils.judge_util import build_judge
from vlmeval.smp.file import RUN_STATUS_NAME, is_eval_run_id

from ..judge.base import ASK_FOR_RULE_JUDGE, EXCEPTION, JudgeTask, JudgeUnavailable, Verdict
from ..judge.cache import CACHE_NAME, JudgeCache, JudgeStats, judgment_key
from ..judge.prompt import DEFAULT_TEMPLATE, load_template, parse_verdict, render
from .redaction import add_secret, redact
from .redaction import install as install_redaction

OWN_KEYS = ("spy_prompt", "spy_cache")
"""SPY-Bench's own `--judge-args` that the LLM judge reads: a prompt file, and a cache file path."""
HARNESS_KEYS = ("model", "nproc", "use_vllm", "use_verifier")
"""run.py's judge arguments that are not `build_judge`'s."""
DEFAULT_NPROC = 4
DEFAULT_ATTEMPTS = 6
"""run.py's default `--retry`."""
RETRY_STATUS = frozenset({408, 409, 429})
JUDGE_LEVEL_STATUS = frozenset({401, 403, 404})
"""Final replies that say the judge (key, endpoint or model) is unusable, whatever the prompt."""
MAX_RETRY_AFTER_S = 600.0
MAX_BREAKER_LIMIT = 8
DEFAULT_BASE = "OpenAI's default endpoint"
DEFAULT_TIMEOUT_S = 60.0
"""A judge wrapper's timeout when it states none."""
CLAIM_POLL_S = 0.25
"""How often a judgment another process is sending is looked for in the cache."""
CLAIM_MARGIN_S = 30.0
SHARED_BASE_ENV = "OPENAI_API_BASE"


class JudgeCallError(Exception):
    """A failed attempt; `judge_level` when it says the judge itself is unusable, not just this prompt."""

    def __init__(self, message: str, judge_level: bool = False):
        super().__init__(message)
        self.judge_level = judge_level


class TransientError(JudgeCallError):
    """A failed attempt worth retrying, after `retry_after` seconds when the server said so."""

    def __init__(self, message: str, retry_after: float | None = None, judge_level: bool = False):
        super().__init__(message, judge_level)
        self.retry_after = retry_after


class NotSent(JudgeCallError):
    """The circuit breaker was open: this judgment was not sent."""


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
            return max(0.0, (when - datetime.now(UTC)).total_seconds())
    except (TypeError, ValueError):
        return None


def _status_error(code: int, response: requests.Response | None) -> JudgeCallError:
    if code in RETRY_STATUS:
        return TransientError(f"HTTP {code}", retry_after_s(response))
    if code >= 500:
        return TransientError(f"HTTP {code}", retry_after_s(response), judge_level=True)
    if code in (401, 403):
        return JudgeCallError(f"HTTP {code}: the server refused the key", judge_level=True)
    if code == 404:
        return JudgeCallError("HTTP 404: no such endpoint or model on the server", judge_level=True)
    return JudgeCallError(f"HTTP {code}")


def ask(wrapper, prompt: str) -> str:
    """One HTTP attempt through the wrapper: the judge's reply text, or a JudgeCallError."""
    try:
        # The wrapper's extra arguments, as `BaseAPI.generate` would pass them.
        code, answer, response = wrapper.generate_inner(
            [{"type": "text", "value": prompt}], **dict(wrapper.default_kwargs)
        )
    except requests.Timeout:
        raise TransientError(f"no reply within {wrapper.timeout} s (timeout)", judge_level=True) from None
    except (requests.ConnectionError, requests.exceptions.ChunkedEncodingError):
        raise TransientError("cannot connect (connection refused, reset or dropped)", judge_level=True) from None
    except Exception as err:  # anything else is this judgment's failure, not the whole run's
        raise JudgeCallError(redact(f"{type(err).__name__}: {err}")) from None
    if code == 0 and answer != wrapper.fail_msg:
        return answer
    if code == 0:
        raise TransientError("unreadable reply body", judge_level=True)
    raise _status_error(code, response)


@dataclass
class Backoff:
    """Retry policy: `attempts` tries, exponential waits from `base_s` up to `cap_s`, with jitter.
    `sleep` None: wait on the circuit breaker, which wakes every waiting retry when it opens."""

    attempts: int = DEFAULT_ATTEMPTS
    base_s: float = 1.0
    cap_s: float = 60.0
    sleep: Callable[[float], None] | None = None

    def wait(self, state: RetryCallState) -> float:
        hinted = getattr(state.outcome.exception(), "retry_after", None)
        if hinted is not None:
            return min(hinted, MAX_RETRY_AFTER_S)
        return min(self.cap_s, self.base_s * 2 ** (state.attempt_number - 1)) * random.uniform(0.5, 1.0)


class Breaker:
    """Opens when `limit` distinct judgments in a row failed at the judge's level, with no reply between."""

    def __init__(self, limit: int):
        self.limit = limit
        self.replies = 0
        self.failures = 0
        self.cause = ""
        self._failing: set[str] = set()
        self._lock = threading.Lock()
        self._open = threading.Event()

    @property
    def opened(self) -> bool:
        return self._open.is_set()

    @property
    def judge_unusable(self) -> bool:
        """Open, or nothing but judge-level failures in this pass (e.g. a re-run with one missing judgment
        that met a dead server)."""
        return self.opened or (self.replies == 0 and self.failures > 0)

    def reply(self) -> None:
        with self._lock:
            self.replies += 1
            self._failing.clear()

    def failure(self, key: str, cause: str) -> None:
        with self._lock:
            self._failing.add(key)
            self.failures += 1
            self.cause = cause
            if len(self._failing) >= self.limit:
                self._open.set()

    def sleep(self, seconds: float) -> None:
        self._open.wait(seconds)

    def halt(self) -> None:
        """Stop sending now (the user interrupted the run): waiting retries wake up and give up."""
        self._open.set()


def breaker_limit(nproc: int) -> int:
    """Two distinct judgments at least (one slow prompt never trips it), at most `MAX_BREAKER_LIMIT`."""
    return max(2, min(nproc, MAX_BREAKER_LIMIT))


@dataclass
class CallResult:
    output: str | None
    attempts: int
    error: JudgeCallError | None = None
    cached: bool = False
    """Found in the cache when its turn came (another process judged it meanwhile)."""


def default_cache_path(work_file: str | Path) -> Path:
    """The work dir's cache when `work_file` is in a VLMEvalKit run (`WORK_DIR/<model>/` or, in `--api-mode`,
    `WORK_DIR/<model>/<run folder>/`: the same file in every mode), else the file beside it."""
    folder = Path(work_file).resolve().parent
    if not (folder / RUN_STATUS_NAME).exists():
        return folder / CACHE_NAME
    model_dir = folder.parent if is_eval_run_id(folder.name) else folder
    return model_dir.parent / CACHE_NAME


def endpoint_source(kwargs: dict) -> str:
    """Where the judge's endpoint comes from, for the start-up line and `_judge.json`."""
    if kwargs.get("api_base"):
        return "--judge-base-url / judge arguments"
    if os.environ.get(SHARED_BASE_ENV):
        return (
            f"{SHARED_BASE_ENV}, which VLMEvalKit's OpenAI-API models use too; give the judge its own with "
            "--judge-base-url"
        )
    return DEFAULT_BASE


class LLMJudge:
    """Judges answers with an LLM; identical prompts are judged once, across runs and processes."""

    def __init__(
        self,
        name: str,
        wrapper,
        template: str = DEFAULT_TEMPLATE,
        cache_path: str | Path | None = None,
        nproc: int = DEFAULT_NPROC,
        backoff: Backoff | None = None,
        endpoint_from: str = DEFAULT_BASE,
    ):
        self.name = name
        self.wrapper = wrapper
        self.model_id = str(getattr(wrapper, "model", name))
        """The model the server is asked for: part of every cache key."""
        self.endpoint = redact(str(getattr(wrapper, "api_base", "") or "unknown"))
        self.endpoint_from = endpoint_from
        self.template = template
        self.cache_path = Path(cache_path) if cache_path else None
        """Configured cache file; None: the work dir's (`default_cache_path`)."""
        self.used_cache: Path | None = None
        self.nproc = max(1, nproc)
        self.backoff = backoff or Backoff()
        self.stats = JudgeStats()
        self.breaker = Breaker(breaker_limit(self.nproc))

    @classmethod
    def create(cls, model: str, kwargs: dict) -> LLMJudge:
        """The judge run.py's judge arguments describe; JudgeUnavailable when VLMEvalKit cannot build it."""
        kwargs = dict(kwargs)
        own = {key: kwargs.pop(key) for key in OWN_KEYS if key in kwargs}
        nproc = int(kwargs.get("nproc") or DEFAULT_NPROC)
        for key in HARNESS_KEYS:
            kwargs.pop(key, None)
        add_secret(kwargs.get("key"))
        install_redaction()
        try:
            template = load_template(own["spy_prompt"]) if own.get("spy_prompt") else DEFAULT_TEMPLATE
        except (OSError, ValueError) as err:
            raise JudgeUnavailable(f"SPY-Bench: judge prompt (--judge-args spy_prompt): {err}") from None
        try:
            wrapper = build_judge(model=model, **kwargs)
        except Exception as err:  # VLMEvalKit asserts on missing configuration
            raise JudgeUnavailable(
                redact(
                    f"SPY-Bench: the LLM judge '{model}' could not be set up: {err!r}. "
                    f"Nothing was scored. {ASK_FOR_RULE_JUDGE}"
                )
            ) from None
        if not hasattr(wrapper, "generate_inner"):
            raise JudgeUnavailable(
                f"SPY-Bench: the judge '{model}' is not an API model; SPY-Bench needs an "
                f"OpenAI-compatible API judge. Nothing was scored. {ASK_FOR_RULE_JUDGE}"
            )
        backoff = Backoff(attempts=max(1, int(kwargs.get("retry") or DEFAULT_ATTEMPTS)))
        judge = cls(model, wrapper, template, own.get("spy_cache"), nproc, backoff, endpoint_source(kwargs))
        print(
            f"SPY-Bench judge: {model} (model {judge.model_id}) at {judge.endpoint} "
            f"[endpoint from {judge.endpoint_from}]",
            flush=True,
        )
        return judge

    def judge_all(self, tasks: list[JudgeTask], work_file: str) -> dict[str, Verdict]:
        prompts = {t.key: render(self.template, t.attribute, t.question, t.answer) for t in tasks}
        system = getattr(self.wrapper, "system_prompt", None)
        keys = {task_key: judgment_key(self.model_id, prompt, system) for task_key, prompt in prompts.items()}
        distinct = dict(zip(keys.values(), prompts.values(), strict=True))
        self.stats = JudgeStats(judgments=len(tasks), distinct_prompts=len(distinct))
        self.breaker = Breaker(breaker_limit(self.nproc))
        self.used_cache = self.cache_path or default_cache_path(work_file)
        with JudgeCache(self.used_cache) as cache:
            results = {
                key: CallResult(output, 0, cached=True) for key, output in _readable_cached(cache, distinct).items()
            }
            self.stats.cache_hits = len(results)
            results.update(self._judge_many(cache, [(k, p) for k, p in distinct.items() if k not in results]))
        if self.breaker.judge_unusable:
            raise JudgeUnavailable(self._stopped_message(results))
        return {t.key: self._verdict(results[keys[t.key]]) for t in tasks}

    def report(self) -> dict:
        """Who judged, where, and what it cost (`saved` = judgments that needed no judge call)."""
        return {
            "judge": self.name,
            "judge model": self.model_id,
            "endpoint": self.endpoint,
            "endpoint from": self.endpoint_from,
            "fallback": False,
            "cache": str(self.used_cache) if self.used_cache else None,
            **self.stats.as_dict(),
        }

    def _judge_many(self, cache: JudgeCache, todo: list[tuple[str, str]]) -> dict[str, CallResult]:
        """Judge concurrently; each readable output is in the cache as soon as it arrives. A judgment another
        process is sending goes to the back of the queue once, then is waited for (`_judge_one`)."""
        results: dict[str, CallResult] = {}
        if not todo:
            return results
        prompts = dict(todo)
        pool = ThreadPoolExecutor(self.nproc)
        pending = {pool.submit(self._judge_one, cache, key, prompt): key for key, prompt in todo}
        progress = tqdm(total=len(todo), desc=f"judge {self.name}", disable=None)
        try:
            while pending:
                done, _ = wait(pending, return_when=FIRST_COMPLETED)
                for future in done:
                    key, result = pending.pop(future), future.result()
                    if result is None:  # claimed elsewhere: judge the others first, then wait for it
                        pending[pool.submit(self._judge_one, cache, key, prompts[key], True)] = key
                        continue
                    results[key] = result
                    self._count(result)
                    progress.update()
        except BaseException:  # Ctrl-C: nothing more is sent, and what arrives in time is kept
            self._interrupted(pool, list(pending), results, len(todo))
            raise
        finally:
            progress.close()
        pool.shutdown()
        return results

    def _interrupted(
        self, pool: ThreadPoolExecutor, futures: list[Future], results: dict[str, CallResult], total: int
    ) -> None:
        """Send nothing more; wait for the calls in flight at most one judge timeout (their replies are cached)."""
        self.breaker.halt()
        pool.shutdown(wait=False, cancel_futures=True)
        wait([f for f in futures if not f.cancelled()], timeout=self._call_timeout())
        finished = [f.result() for f in futures if f.done() and not f.cancelled() and f.exception() is None]
        kept = sum(_readable(r) for r in [*results.values(), *finished] if r is not None)
        print(
            f"SPY-Bench: judging interrupted; nothing more was sent. {kept} of {total} judgments of this "
            f"pass are in the judge cache {self.used_cache}; re-run the same command to send only the rest.",
            file=sys.stderr,
            flush=True,
        )

    def _call_timeout(self) -> float:
        return float(getattr(self.wrapper, "timeout", None) or DEFAULT_TIMEOUT_S)

    def _judge_one(self, cache: JudgeCache, key: str, prompt: str, patient: bool = False) -> CallResult | None:
        """One judgment: from the cache, or sent under this process's claim. None when another process has
        claimed it (and `patient` is False); patient, wait until its reply is stored or the claim lapses."""
        while True:
            output = cache.get(key)
            if output is not None and parse_verdict(output) is not None:
                return CallResult(output, 0, cached=True)
            if self.breaker.opened:
                return CallResult(None, 0, NotSent("not sent: the judge had stopped answering"))
            if cache.claim(key, self._claim_ttl()):
                break
            if not patient:
                return None
            self.breaker.sleep(CLAIM_POLL_S)
        retrying = Retrying(
            stop=stop_any(stop_after_attempt(self.backoff.attempts), _when(self.breaker)),
            wait=self.backoff.wait,
            retry=retry_if_exception_type(TransientError),
            sleep=self.backoff.sleep or self.breaker.sleep,
            reraise=True,
        )
        try:
            output = retrying(self._attempt, cache, key, prompt)
        except JudgeCallError as err:
            cache.release(key)
            return CallResult(None, retrying.statistics.get("attempt_number", 1), err)
        if parse_verdict(output) is not None:  # an unreadable reply is asked again by the next run
            cache.put(key, self.model_id, output)
        else:
            cache.release(key)
        return CallResult(output, retrying.statistics.get("attempt_number", 1))

    def _claim_ttl(self) -> float:
        """How long a claim lasts untouched: one call and the longest backoff wait, with room to spare."""
        return self._call_timeout() + self.backoff.cap_s + CLAIM_MARGIN_S

    def _attempt(self, cache: JudgeCache, key: str, prompt: str) -> str:
        if self.breaker.opened:
            raise NotSent("not sent: the judge had stopped answering")
        cache.claim(key, self._claim_ttl())  # renewed at every try: a claim lapses only when its sender hangs
        try:
            output = ask(self.wrapper, prompt)
        except JudgeCallError as err:
            if err.judge_level:
                self.breaker.failure(key, str(err))
            raise
        self.breaker.reply()
        return output

    def _count(self, result: CallResult) -> None:
        if result.cached:
            self.stats.cache_hits += 1
            return
        if isinstance(result.error, NotSent) and result.attempts <= 1:
            self.stats.not_sent += 1
            return
        self.stats.calls += 1
        self.stats.retries += result.attempts - 1
        self.stats.failed_calls += result.error is not None
        self.stats.unreadable += result.output is not None and parse_verdict(result.output) is None

    def _verdict(self, result: CallResult) -> Verdict:
        if result.output is None:
            return Verdict(EXCEPTION, self.name, f"judge error: {result.error}")
        return Verdict(parse_verdict(result.output) or EXCEPTION, self.name, result.output)

    def _stopped_message(self, results: dict[str, CallResult]) -> str:
        kept = sum(r.output is not None and parse_verdict(r.output) is not None for r in results.values())
        where = f"the LLM judge '{self.name}' (model {self.model_id}) at {self.endpoint}"
        if self.breaker.replies == 0:
            what = f"SPY-Bench: {where} cannot be used: {self.breaker.cause}."
        else:
            what = (
                f"SPY-Bench: {where} stopped answering after {self.breaker.replies} replies: "
                f"{self.breaker.cause}; sending stopped."
            )
        return redact(
            f"{what} Nothing was scored. {kept} of {len(results)} distinct judgments are in the judge cache "
            f"{self.used_cache} and are kept; a re-run sends only the {len(results) - kept} missing ones. "
            f"Fix: check that the server is up at that endpoint (--judge-base-url, or {SHARED_BASE_ENV}) and that "
            f"the key (--judge-key, or OPENAI_API_KEY) and the model name (--judge) are right, then re-run the same "
            f"command. {ASK_FOR_RULE_JUDGE}"
        )


def _when(breaker: Breaker) -> Callable[[RetryCallState], bool]:
    """A tenacity stop condition: the circuit breaker is open."""
    return lambda state: breaker.opened


def _readable(result: CallResult) -> bool:
    """Whether a judgment got a reply the parser reads (and so is in the cache)."""
    return result.output is not None and parse_verdict(result.output) is not None


def _readable_cached(cache: JudgeCache, distinct: dict[str, str]) -> dict[str, str]:
    """Cached outputs the parser can read; anything else (stored by older versions) is dropped and asked again."""
    found = cache.get_many(distinct)
    cache.discard([key for key, output in found.items() if parse_verdict(output) is None])
    return {key: output for key, output in found.items() if parse_verdict(output) is not None}
