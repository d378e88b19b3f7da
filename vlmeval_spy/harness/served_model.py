"""`SPYServedVLM`: a checkpoint answered by `vllm serve`, `transformers serve` or any OpenAI-compatible endpoint.

To VLMEvalKit it is an API model, so `run.py` sends `--api-nproc` requests at a time and the
server batches them (the original scripts generated with vLLM in batches of 32). With `serve`
set, the first model object of a run starts the server (see `models.serving.servers`) and every later
one, for every dataset, reuses it; it stops when the run ends, however it ends. With `endpoint`
set, a server the user runs is used as it is.

Requests carry the dataset's prompt unchanged (text and images in their order, images as the
original file bytes), the checkpoint's chat template is applied by the server, and decoding is
the original's: greedy, `max_new_tokens` from the checkpoint's generation config, else 512 (the
same as `SPYTransformersVLM`). A sample the server answers with an error, after retries, gets
VLMEvalKit's failure text (an `exception`, re-sent on the next run); a server that died stops
the dataset with an error naming its log.

Requests go through `models.serving.http_client` (a keep-alive connection per sending thread) with tenacity's
retries rather than the openai client: against a fast server the openai client's request
building costs more CPU than the answer (151 against 619 requests per second at 16 in flight on
two cores, about 2 minutes of 32,700 samples), and all of it is spent in the evaluating process.
For the same reason well-formed messages skip VLMEvalKit's `preproc_content`, and each image's
data URL is built once for the samples that share it.
"""

from __future__ import annotations

import base64
import functools
import json
import mimetypes
import os
from pathlib import Path
from typing import Any

import tenacity
import vlmeval.vlm
from vlmeval.api.base import BaseAPI

from ..models.serving.http_client import KeepAliveClient, TransportError
from ..models.serving.servers import POOL, ServerError, ServerSpec
from ..models.serving.vlm_generation import DEFAULT_MAX_NEW_TOKENS
from .run_options import run_work_dir

FAIL_MSG = "Failed to obtain answer via API."
"""VLMEvalKit's failure text: its runs re-send samples whose prediction contains it."""
REQUEST_TIMEOUT_S = 600.0
SERVER_EXIT_WAIT_S = 2.0
"""After a failed request, how long to wait for a dying server's exit to be noticed."""
RETRY_WAIT = tenacity.wait_exponential(multiplier=0.5, max=8)


class RetryableStatus(Exception):
    """The server answered 429 or 5xx: worth another try."""


class RefusedRequest(Exception):
    """The server answered another non-200 status: retrying would not help."""


def checkpoint_max_new_tokens(model_path: str) -> int | None:
    """`max_new_tokens` of a local checkpoint's generation config, as `SPYTransformersVLM` reads it."""
    config = Path(model_path) / "generation_config.json"
    try:
        value = json.loads(config.read_text(encoding="utf-8")).get("max_new_tokens")
    except (OSError, ValueError):
        return None
    return value if isinstance(value, int) and value > 0 else None


def pixel_args(engine: str, min_pixels: int | None, max_pixels: int | None) -> list[str]:
    """Server arguments giving a Qwen-style processor the same pixel bounds as `SPYTransformersVLM`."""
    bounds = {key: value for key, value in (("min_pixels", min_pixels), ("max_pixels", max_pixels)) if value}
    if not bounds:
        return []
    if engine == "vllm":
        return ["--mm-processor-kwargs", json.dumps(bounds)]
    if engine == "batched":
        return [arg for key, value in bounds.items() for arg in (f"--{key.replace('_', '-')}", str(value))]
    raise ValueError(
        "min_pixels/max_pixels reach the server only with serve='vllm' or 'batched'; `transformers serve` "
        "uses the image processor saved with the checkpoint"
    )


def image_url(path: str) -> str:
    """The image file as a data URL (its original bytes: no re-encoding)."""
    stat = os.stat(path)
    return _data_url(path, stat.st_mtime_ns, stat.st_size)


@functools.lru_cache(maxsize=32)
def _data_url(path: str, mtime_ns: int, size: int) -> str:
    # Keyed by modification time and size too: an image rewritten in place is read again.
    # Consecutive samples share their item's image, so a few entries avoid most reads.
    mime = mimetypes.guess_type(path)[0] or "image/jpeg"
    return f"data:{mime};base64,{base64.b64encode(Path(path).read_bytes()).decode('ascii')}"


def openai_content(items: list[dict]) -> list[dict]:
    """VLMEvalKit content items -> OpenAI chat content, in order."""
    content = []
    for item in items:
        if item["type"] == "image":
            content.append({"type": "image_url", "image_url": {"url": image_url(item["value"])}})
        elif item["type"] == "text":
            content.append({"type": "text", "text": item["value"]})
        else:
            raise ValueError(f"SPYServedVLM accepts text and images, got a {item['type']!r} item")
    return content


def _is_item(item: Any) -> bool:
    return isinstance(item, dict) and item.get("type") in ("text", "image") and isinstance(item.get("value"), str)


class SPYServedVLM(BaseAPI):
    is_api = True
    INTERLEAVE = True
    allowed_types = ["text", "image"]

    def __init__(
        self,
        model_path: str,
        *,
        serve: str | None = None,
        endpoint: str | None = None,
        serve_args: list[str] | tuple[str, ...] = (),
        served_name: str | None = None,
        max_new_tokens: int | None = None,
        min_pixels: int | None = None,
        max_pixels: int | None = None,
        system_prompt: str | None = None,
        api_key_env: str | None = None,
        retry: int = 3,
        timeout: float = REQUEST_TIMEOUT_S,
        startup_timeout: float | None = None,
        log_dir: str | None = None,
        **generation_kwargs: Any,
    ) -> None:
        """Serve `model_path` with `serve` ("vllm", "transformers" or "batched"), or ask `endpoint` for it.

        `serve_args` go to the server's command line as they are (e.g. `["--tensor-parallel-size",
        "4"]`); `min_pixels`/`max_pixels` become vLLM's `--mm-processor-kwargs` or the batched
        server's `--min-pixels`/`--max-pixels`. Other keyword arguments are request fields (e.g.
        `{"repetition_penalty": 1.05}` for vLLM).
        """
        if (serve is None) == (endpoint is None):
            raise ValueError("SPYServedVLM needs exactly one of serve='vllm'|'transformers'|'batched' and endpoint=URL")
        super().__init__(retry=retry, system_prompt=system_prompt, verbose=False)
        self.model_path = model_path
        self.max_new_tokens = max_new_tokens or checkpoint_max_new_tokens(model_path) or DEFAULT_MAX_NEW_TOKENS
        self.generation_kwargs = generation_kwargs
        self.server = None
        if serve is not None:
            args = [*pixel_args(serve, min_pixels, max_pixels), *serve_args]
            spec = ServerSpec(serve, model_path, served_name or Path(model_path).name or model_path, tuple(args))
            self.server = POOL.acquire(spec, Path(log_dir) if log_dir else run_work_dir() / "served", startup_timeout)
            # `transformers serve MODEL` knows the model by the path it was given.
            base_url = self.server.base_url
            self.served_name = model_path if serve == "transformers" else spec.served_name
        else:
            if min_pixels or max_pixels:
                raise ValueError("min_pixels/max_pixels cannot be set for an endpoint: configure them on its server")
            base_url, self.served_name = endpoint.rstrip("/"), served_name or model_path
        key = os.environ.get(api_key_env, "") if api_key_env else ""
        self.base_url = base_url
        self.headers = {"Content-Type": "application/json", "Authorization": f"Bearer {key or 'EMPTY'}"}
        self.http = KeepAliveClient(base_url, timeout, env_proxies=endpoint is not None)  # own servers: direct
        if endpoint is not None:
            self._check_endpoint()

    def _check_endpoint(self) -> None:
        try:
            self.http.request("GET", "/models", headers=self.headers, timeout=10)
        except TransportError as err:  # any answer will do: some servers list no models
            raise ServerError(
                f"the endpoint {self.base_url} does not answer ({type(err).__name__}: {err}); start "
                "the server first, or check the URL (it usually ends in /v1)"
            ) from None

    def use_custom_prompt(self, dataset: str) -> bool:
        return False

    def generate(self, message, dataset: str | None = None, **kwargs: Any) -> str:
        """Answer one VLMEvalKit message; BaseAPI's random pre-request sleep is left out."""
        return self._complete([{"role": "user", "content": openai_content(self._content_items(message))}])

    def chat(self, messages: list[dict], dataset: str | None = None, **kwargs: Any) -> str:
        """Answer the last user turn of a conversation (`[{"role": ..., "content": [...]}, ...]`)."""
        return self._complete(
            [
                {"role": turn["role"], "content": openai_content(self._content_items(turn["content"]))}
                for turn in messages
            ]
        )

    def chat_inner(self, messages: list[dict], dataset: str | None = None, **kwargs: Any) -> tuple[int, str, None]:
        return 0, self.chat(messages, dataset=dataset), None

    def _content_items(self, message: Any) -> list[dict]:
        """The message as content items; VLMEvalKit's `preproc_content` only where it is not one already.

        Its checks (URL validation, file type sniffing) cost more CPU than the request they guard.
        """
        if isinstance(message, list) and all(_is_item(item) for item in message):
            return message
        return self.preproc_content(message)

    def _complete(self, messages: list[dict]) -> str:
        if self.system_prompt:
            messages = [{"role": "system", "content": self.system_prompt}, *messages]
        body = {
            "model": self.served_name,
            "messages": messages,
            "max_tokens": self.max_new_tokens,
            "temperature": 0,
            **self.generation_kwargs,
        }
        retrying = tenacity.Retrying(
            stop=tenacity.stop_after_attempt(self.retry) | self._server_stopped,
            wait=RETRY_WAIT,
            reraise=True,
            retry=tenacity.retry_if_exception_type((TransportError, RetryableStatus)),
        )
        try:
            reply = retrying(self._post, json.dumps(body).encode("utf-8"))
            answer = reply["choices"][0]["message"]["content"]
        except (
            TransportError,
            RetryableStatus,
            RefusedRequest,
            ValueError,
            LookupError,
            TypeError,
        ) as err:
            if self.server is not None and self.server.exited(within_s=SERVER_EXIT_WAIT_S):
                raise ServerError(self.server.died_message()) from None
            return f"{FAIL_MSG} {type(err).__name__}: {err}"
        return (answer or "").strip()

    def _server_stopped(self, retry_state: tenacity.RetryCallState) -> bool:
        """Stop retrying once the managed server has stopped (never for an endpoint)."""
        return self.server is not None and not self.server.alive()

    def _post(self, body: bytes) -> dict:
        status, data = self.http.request("POST", "/chat/completions", body=body, headers=self.headers)
        text = data.decode("utf-8", errors="replace")
        if status == 429 or status >= 500:
            raise RetryableStatus(f"HTTP {status}: {text[:500]}")
        if status != 200:
            raise RefusedRequest(f"HTTP {status}: {text[:500]}")
        return json.loads(text)


# `--config '{"model": {"x": {"class": "SPYServedVLM", "model_path": ..., "endpoint": ...}}}'` finds it here.
vlmeval.vlm.SPYServedVLM = SPYServedVLM
