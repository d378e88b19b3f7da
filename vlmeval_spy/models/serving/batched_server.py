"""An OpenAI-compatible chat server that answers concurrent requests in batches, on CPU or GPU.

`transformers serve` answers requests with images one at a time, and vLLM needs a GPU, so on a
CPU nothing batched what `run.py --api-nproc N` sends. This server collects up to
`--max-batch-size` requests (see `Batcher` for when a batch starts) and answers them with one
`generate` through `vlm_generation.answer_batch`, the code `SPYTransformersVLM`
answers with: same chat template, image processing and greedy decoding. Requests with other
decoding settings go to the next batch.

It never leaves a request hanging and bounds what it holds: a body over `--max-body-mb` gets 413
and a prompt over `--max-prompt-tokens` (default: the model's context less the answer length) 400,
before anything is queued; at most `--max-queue` requests wait or generate (more get 503 with
`Retry-After`); a request whose client disconnects, or that is not answered within
`--request-timeout` seconds (504), is dropped from its batch, or, once its generation has started,
stops generating at the next token, so it never holds up later requests; and if the worker thread
dies every waiting and later request gets 503 naming the cause, as does `/health`.

    python -m vlmeval_spy.models.serving.batched_server MODEL [--host 127.0.0.1] [--port 8000]
        [--served-model-name NAME] [--max-batch-size 16] [--batch-gap-ms 20] [--batch-max-wait-ms 250]
        [--max-queue 256] [--request-timeout 540] [--max-body-mb 32] [--max-prompt-tokens N]
        [--min-pixels N] [--max-pixels N] [--dtype D] [--device-map M]

Endpoints: `POST /v1/chat/completions` (not streamed; images as `data:` URLs), `GET /v1/models`,
`GET /health` (answers 200 once the model is loaded; 503 once the worker has died, or while one
batch has been generating for longer than `--request-timeout`, which no batch may: the worker is
stuck).
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import binascii
import functools
import io
import json
import logging
import queue
import threading
import time
import uuid
from collections.abc import Callable
from concurrent.futures import Future, InvalidStateError
from dataclasses import dataclass, field
from typing import Any

from fastapi import FastAPI, HTTPException, Request
from fastapi.responses import JSONResponse
from PIL import Image, UnidentifiedImageError

from .vlm_generation import Answer, answer_batch, context_length, greedy_settings, load_image, load_vlm, prompt_tokens

Settings = tuple[tuple[str, Any], ...]
log = logging.getLogger(__name__)

DEFAULT_MAX_QUEUE = 256
"""Requests waiting or generating at most: far above `run.py --api-nproc`, yet a bound on held images."""
DEFAULT_REQUEST_TIMEOUT_S = 540.0
"""Below `SPYServedVLM`'s 600 s read timeout, so its client reads why instead of timing out itself."""
DEFAULT_MAX_BODY_MB = 32.0
"""Room for a few full-size photographs as base64 data URLs; with `--max-queue` it bounds what requests hold."""
RETRY_AFTER_S = 1
DEADLINE_GRACE_S = 1.0
MIB = 1 << 20
MAX_CHARS_PER_TOKEN = 32
"""More characters than any token of a chat tokenizer holds: beyond `limit` times this, no counting is needed."""


class BadRequest(ValueError):
    """A request this server cannot answer (HTTP 400)."""


class QueueFull(RuntimeError):
    """`max_queue` requests are already waiting or generating (HTTP 503 with Retry-After)."""


class WorkerDied(RuntimeError):
    """The worker thread stopped: no request will be answered again (HTTP 503)."""


class Job(Future):
    """A request's future answer, with the time after which nobody waits for it. Its handler abandons it when
    it answers 504; the deadline, a little later, is the backstop should that never happen."""

    def __init__(self, timeout_s: float | None = None):
        super().__init__()
        self.deadline = None if timeout_s is None else time.monotonic() + timeout_s + DEADLINE_GRACE_S
        self.abandoned = threading.Event()

    def abandon(self) -> None:
        """Its client left or timed out: dropped from its batch, or its generation stops at the next token."""
        self.abandoned.set()
        self.cancel()

    def wanted(self) -> bool:
        return not self.abandoned.is_set() and (self.deadline is None or time.monotonic() < self.deadline)


@dataclass
class Pending:
    conversation: list[dict]
    images: list[Image.Image]
    settings: Settings
    future: Job = field(default_factory=Job)


class Batcher:
    """Answers pending requests in batches of up to `max_batch_size` on one worker thread.

    A batch starts when it is full, when no request has come for `gap_s`, or `max_wait_s` after
    its first request. Clients answered together send their next requests together, but spread
    over tens of milliseconds (each is built and parsed in turn); waiting for the gap, not a fixed
    time, keeps them in one batch instead of a full one and a few stragglers, at any concurrency.

    A request nobody waits for any more (cancelled, abandoned or past its deadline) is dropped when
    its batch starts, and stops generating at the next token once it has. At most `max_queue`
    futures are unanswered at a time. If the worker thread dies, every unanswered future and every
    later `submit` fails with `WorkerDied`. `busy_for()` is how long the batch in progress has been
    generating.
    """

    def __init__(
        self,
        processor: Any,
        model: Any,
        max_batch_size: int,
        gap_s: float,
        max_wait_s: float,
        max_queue: int = DEFAULT_MAX_QUEUE,
    ):
        if max_batch_size < 1 or max_queue < 1:
            raise ValueError(f"max_batch_size and max_queue must be at least 1, got {max_batch_size}, {max_queue}")
        self.processor, self.model = processor, model
        self.max_batch_size, self.gap_s, self.max_wait_s = max_batch_size, gap_s, max_wait_s
        self.max_queue = max_queue
        self.queue: queue.Queue[Pending] = queue.Queue()
        self.carried: list[Pending] = []  # taken from the queue for a batch with other settings
        self.lock = threading.Lock()  # orders `submit` against the worker's death
        self.unanswered: set[Future] = set()  # queued, carried or generating: all fail if the worker dies
        self.failure: WorkerDied | None = None
        self.batch_started: float | None = None
        threading.Thread(target=self._run, name="batcher", daemon=True).start()

    def submit(
        self, conversation: list[dict], images: list[Image.Image], settings: Settings, timeout_s: float | None = None
    ) -> Job:
        """The future answer, awaited `timeout_s` at most; raises QueueFull or WorkerDied instead of queueing what
        would not be answered."""
        pending = Pending(conversation, images, settings, Job(timeout_s))
        with self.lock:
            if self.failure is not None:
                raise WorkerDied(str(self.failure))
            if len(self.unanswered) >= self.max_queue:
                raise QueueFull(f"{self.max_queue} requests are waiting or generating (--max-queue)")
            self.unanswered.add(pending.future)
            self.queue.put(pending)
        pending.future.add_done_callback(self._answered)
        return pending.future

    def busy_for(self) -> float:
        """Seconds the batch in progress has been generating (0 when none is)."""
        started = self.batch_started
        return 0.0 if started is None else time.monotonic() - started

    def _answered(self, future: Future) -> None:
        with self.lock:
            self.unanswered.discard(future)

    def _run(self) -> None:
        try:
            self._work()
        except BaseException as err:  # whatever killed the worker is reported to every request
            log.critical("the batching worker stopped; every request now fails", exc_info=err)
            self._fail_all(WorkerDied(f"the batching worker stopped: {type(err).__name__}: {err}"))

    def _fail_all(self, failure: WorkerDied) -> None:
        with self.lock:
            self.failure = failure
            waiting = list(self.unanswered)
        for future in waiting:
            try:
                future.set_exception(failure)
            except InvalidStateError:  # answered or cancelled meanwhile
                pass

    def _work(self) -> None:
        while True:
            batch = [p for p in self._next_batch() if _starts(p.future)]
            if not batch:
                continue
            start = time.perf_counter()
            self.batch_started = time.monotonic()
            try:
                answers = answer_batch(
                    self.processor,
                    self.model,
                    [p.conversation for p in batch],
                    [p.images for p in batch],
                    dict(batch[0].settings),
                    wanted=lambda batch=batch: [p.future.wanted() for p in batch],
                )
            except Exception as err:  # every request of the batch gets the error, the server lives on
                for pending in batch:
                    pending.future.set_exception(err)
                continue
            finally:
                self.batch_started = None
            log.info("answered a batch of %d in %.0f ms", len(batch), 1000 * (time.perf_counter() - start))
            for pending, answer in zip(batch, answers, strict=True):
                pending.future.set_result(answer)

    def _next_batch(self) -> list[Pending]:
        """The oldest request and the requests with its settings that come before the batch starts."""
        first = self.carried.pop(0) if self.carried else self.queue.get()
        batch, others = [first], []
        for pending in self.carried:
            fits = pending.settings == first.settings and len(batch) < self.max_batch_size
            (batch if fits else others).append(pending)
        deadline = time.monotonic() + self.max_wait_s
        while len(batch) < self.max_batch_size:
            wait = min(self.gap_s, deadline - time.monotonic())
            try:
                pending = self.queue.get(timeout=max(0.0, wait))
            except queue.Empty:
                break
            (batch if pending.settings == first.settings else others).append(pending)
        self.carried = others
        return batch


def _starts(job: Job) -> bool:
    """Whether a request of the next batch is generated for: not when nobody waits for it any more."""
    if not job.wanted():
        job.abandon()
    return job.set_running_or_notify_cancel()


def decoding_settings(body: dict, default_max_new_tokens: int) -> Settings:
    """`generate` settings of a request: greedy unless a positive temperature asks for sampling."""
    max_tokens = body.get("max_completion_tokens", body.get("max_tokens")) or default_max_new_tokens
    if not isinstance(max_tokens, int) or max_tokens < 1:
        raise BadRequest(f"max_tokens must be a positive integer, got {max_tokens!r}")
    settings: dict[str, Any] = {"max_new_tokens": max_tokens, "do_sample": False}
    temperature = body.get("temperature")
    if temperature:
        settings.update(do_sample=True, temperature=float(temperature), top_p=float(body.get("top_p") or 1.0))
    return tuple(sorted(settings.items()))


def chat_conversation(messages: Any) -> tuple[list[dict], list[Image.Image]]:
    """OpenAI chat messages -> chat-template conversation and its images, in order."""
    if not isinstance(messages, list) or not messages:
        raise BadRequest("messages must be a non-empty list")
    conversation, images = [], []
    for number, message in enumerate(messages):
        if not isinstance(message, dict) or not isinstance(message.get("role"), str):
            raise BadRequest(f"messages[{number}] needs a role")
        content = message.get("content")
        if isinstance(content, str):
            content = [{"type": "text", "text": content}]
        if not isinstance(content, list):
            raise BadRequest(f"messages[{number}].content must be a string or a list of parts")
        parts = []
        for index, part in enumerate(content):
            where = f"messages[{number}].content[{index}]"
            kind = part.get("type") if isinstance(part, dict) else None
            if kind == "text":
                parts.append({"type": "text", "text": part.get("text", "")})
            elif kind == "image_url":
                parts.append({"type": "image"})
                images.append(data_url_image((part.get("image_url") or {}).get("url"), where))
            else:
                raise BadRequest(f"{where}: this server takes text and image_url parts, got {kind!r}")
        conversation.append({"role": message["role"], "content": parts})
    return conversation, images


def data_url_image(url: Any, where: str) -> Image.Image:
    """The image in a `data:<mime>;base64,<bytes>` URL (this server fetches nothing)."""
    if not isinstance(url, str) or not url.startswith("data:") or ";base64," not in url:
        raise BadRequest(f"{where}: images must be base64 data URLs (data:image/png;base64,...)")
    try:
        return load_image(io.BytesIO(base64.b64decode(url.split(",", 1)[1], validate=True)))
    except (binascii.Error, UnidentifiedImageError, OSError) as err:
        raise BadRequest(f"{where}: the image cannot be read ({type(err).__name__}: {err})") from None


def completion(model_name: str, answer: Answer) -> dict:
    return {
        "id": f"chatcmpl-{uuid.uuid4().hex}",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": model_name,
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": answer.text},
                "finish_reason": "stop" if answer.stopped else "length",
            }
        ],
        "usage": {"completion_tokens": answer.tokens},
    }


async def disconnected(request: Request) -> None:
    """Returns once the client has closed its connection (its body is read: uvicorn's next message says so)."""
    while (await request.receive())["type"] != "http.disconnect":
        pass


async def answer_while_connected(request: Request, future: Job, timeout_s: float) -> Answer:
    """The future's answer; the future is abandoned (dropped from its batch, or its generation stopped) if the
    client leaves or time runs out."""
    answer = asyncio.wrap_future(future)
    gone = asyncio.ensure_future(disconnected(request))
    done, _ = await asyncio.wait({answer, gone}, timeout=timeout_s, return_when=asyncio.FIRST_COMPLETED)
    gone.cancel()
    if answer in done and not answer.cancelled():
        return answer.result()
    future.abandon()
    if gone in done:
        raise HTTPException(499, "the client closed the connection")
    raise HTTPException(504, f"not answered within {timeout_s:.0f} s (--request-timeout)")


async def read_body(request: Request, limit: int) -> bytes:
    """The request body; 413 as soon as it is known to be over `limit` bytes (declared, or read so far)."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise HTTPException(413, _too_large(int(declared), limit))
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise HTTPException(413, _too_large(size, limit))
        chunks.append(chunk)
    return b"".join(chunks)


def _too_large(size: int, limit: int) -> str:
    return f"the body has {size} bytes, more than the {limit} allowed (--max-body-mb {limit / MIB:g})"


@dataclass(frozen=True)
class Limits:
    """What one request may hold: its body's bytes, its prompt's tokens (None: unchecked), its time."""

    max_body_bytes: int = int(DEFAULT_MAX_BODY_MB * MIB)
    max_prompt_tokens: int | None = None
    request_timeout_s: float = DEFAULT_REQUEST_TIMEOUT_S


async def check_prompt(
    count: Callable[[list[dict], list[Image.Image]], int] | None,
    limit: int | None,
    conversation: list[dict],
    images: list[Image.Image],
) -> None:
    """400 when the prompt has more tokens than `limit` (counted off the event loop); a text far too long for
    any tokenizer to fit in `limit` is refused without counting (that alone can take seconds and much memory)."""
    if count is None or limit is None:
        return
    chars = sum(len(part.get("text", "")) for message in conversation for part in message["content"])
    if chars > limit * MAX_CHARS_PER_TOKEN:
        raise HTTPException(
            400,
            f"the prompt has {chars} characters of text, more than {limit} tokens can hold (at most "
            f"{MAX_CHARS_PER_TOKEN} characters a token; --max-prompt-tokens)",
        )
    tokens = await asyncio.to_thread(count, conversation, images)
    if tokens > limit:
        raise HTTPException(400, f"the prompt has {tokens} tokens, more than the {limit} allowed (--max-prompt-tokens)")


def build_app(
    batcher: Batcher,
    names: list[str],
    default_max_new_tokens: int,
    limits: Limits | None = None,
    count_tokens: Callable[[list[dict], list[Image.Image]], int] | None = None,
) -> FastAPI:
    """The FastAPI app; `names` are the model names requests may ask for (the first is listed); `count_tokens`
    counts a prompt's tokens for `limits.max_prompt_tokens`."""
    app = FastAPI(title="SPY-Bench batched server")
    listed = names[0]
    limits = limits or Limits()

    @app.get("/health")
    def health() -> Any:
        if batcher.failure is not None:
            return JSONResponse({"status": "unhealthy", "detail": str(batcher.failure)}, status_code=503)
        busy = batcher.busy_for()
        if busy > limits.request_timeout_s:
            detail = (
                f"the worker is stuck: one batch has been generating for {busy:.0f} s, longer than any request may "
                f"wait (--request-timeout {limits.request_timeout_s:g})"
            )
            return JSONResponse({"status": "unhealthy", "detail": detail}, status_code=503)
        return {"status": "ok"}

    @app.get("/v1/models")
    def models() -> dict:
        return {"object": "list", "data": [{"id": listed, "object": "model", "owned_by": "spy-bench"}]}

    @app.post("/v1/chat/completions")
    async def chat_completions(request: Request) -> dict:
        try:
            body = json.loads(await read_body(request, limits.max_body_bytes))
        except ValueError:
            raise HTTPException(400, "the body is not JSON") from None
        if not isinstance(body, dict):
            raise HTTPException(400, "the body must be a JSON object")
        model_name = body.get("model")
        if model_name not in names:
            raise HTTPException(404, f"the model {model_name!r} does not exist here: ask for {listed!r}")
        if body.get("stream") or (body.get("n") or 1) != 1:
            raise HTTPException(400, "this server answers with one choice, not streamed")
        try:
            settings = decoding_settings(body, default_max_new_tokens)
            conversation, images = chat_conversation(body.get("messages"))
        except BadRequest as err:
            raise HTTPException(400, str(err)) from None
        await check_prompt(count_tokens, limits.max_prompt_tokens, conversation, images)
        del body  # the request's text and images are held once, in the conversation
        try:
            job = batcher.submit(conversation, images, settings, limits.request_timeout_s)
            answer = await answer_while_connected(request, job, limits.request_timeout_s)
        except QueueFull as err:
            raise HTTPException(503, str(err), headers={"Retry-After": str(RETRY_AFTER_S)}) from None
        except WorkerDied as err:
            raise HTTPException(503, str(err)) from None
        except HTTPException:
            raise
        except Exception as err:
            raise HTTPException(500, f"generation failed: {type(err).__name__}: {err}") from None
        return completion(model_name, answer)

    return app


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("model", help="checkpoint folder (or Hugging Face id where the hub is reachable)")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument("--served-model-name", help="the name requests use (default: MODEL)")
    parser.add_argument("--max-batch-size", type=int, default=16, help="requests answered by one generate")
    parser.add_argument(
        "--batch-gap-ms", type=float, default=20.0, help="a batch starts once no request has come for this long"
    )
    parser.add_argument(
        "--batch-max-wait-ms", type=float, default=250.0, help="and at the latest this long after its first request"
    )
    parser.add_argument(
        "--max-queue",
        type=int,
        default=DEFAULT_MAX_QUEUE,
        help="requests waiting or generating at most; more are answered 503 with Retry-After",
    )
    parser.add_argument(
        "--request-timeout",
        type=float,
        default=DEFAULT_REQUEST_TIMEOUT_S,
        help="seconds a request may wait and generate before it is answered 504",
    )
    parser.add_argument(
        "--max-body-mb",
        type=float,
        default=DEFAULT_MAX_BODY_MB,
        help="largest request body in MiB (images as base64 included); larger ones are answered 413",
    )
    parser.add_argument(
        "--max-prompt-tokens",
        type=int,
        help="longest prompt in tokens, images included; longer ones are answered 400 (default: the model's "
        "context length less the answer length)",
    )
    parser.add_argument("--min-pixels", type=int, help="Qwen-style image processors: fewest pixels per image")
    parser.add_argument("--max-pixels", type=int, help="Qwen-style image processors: most pixels per image")
    parser.add_argument("--dtype", help="e.g. bfloat16 (default: bfloat16 on GPU, the checkpoint's on CPU)")
    parser.add_argument("--device-map", help="e.g. cpu, cuda:0, auto (default: all GPUs, else CPU)")
    parser.add_argument("--attn-implementation", help="e.g. sdpa, flash_attention_2")
    parser.add_argument("--trust-remote-code", action="store_true")
    parser.add_argument("--log-level", default="warning")
    args = parser.parse_args(argv)

    import uvicorn

    logging.basicConfig(level=args.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    processor, model = load_vlm(
        args.model,
        device_map=args.device_map,
        dtype=args.dtype,
        attn_implementation=args.attn_implementation,
        min_pixels=args.min_pixels,
        max_pixels=args.max_pixels,
        trust_remote_code=args.trust_remote_code,
    )
    batcher = Batcher(
        processor, model, args.max_batch_size, args.batch_gap_ms / 1000, args.batch_max_wait_ms / 1000, args.max_queue
    )
    names = [args.served_model_name or args.model, args.model]
    max_new_tokens = greedy_settings(model)["max_new_tokens"]
    limits = Limits(
        max_body_bytes=int(args.max_body_mb * MIB),
        max_prompt_tokens=args.max_prompt_tokens or max(1, context_length(model) - max_new_tokens),
        request_timeout_s=args.request_timeout,
    )
    count = functools.partial(prompt_tokens, processor)
    app = build_app(batcher, names, max_new_tokens, limits, count)
    uvicorn.run(app, host=args.host, port=args.port, log_level=args.log_level)


if __name__ == "__main__":
    main()
