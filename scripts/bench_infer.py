"""Inference speed: the per-sample local path against the served path, and the harness overhead at full scale.

1. `local_s` / `served_s`: the tiny offline Qwen2-VL (`spy_align.tiny_models`) answers the same
   `--samples` SPY-Bench samples (the mini items repeated, with their images) greedily, first
   one at a time through `SPYTransformersVLM` (what VLMEvalKit's local inference does), then
   through `SPYServedVLM` backed by `--engine` (default: the batching server; `transformers`
   for `transformers serve`) with `--concurrency` requests in flight (what VLMEvalKit's API
   inference does). The server's start is timed apart (`serve_start_s`); `same_answers` counts
   identical answers. Answers are at most `--max-new-tokens` long (64: a short refusal's length;
   the original's 512 would keep the local path busy for most of an hour).
2. `overhead_s_32700`: `python -m vlmeval.run --mode infer` on 32,700 samples (6,540 items, the
   paper's size) through `SPYServedVLM` against an instant OpenAI-compatible server (its own
   process, a fixed 300-character answer, as little CPU as possible): everything the harness
   adds, from start to the written prediction file and the run summary.
3. `vlmeval_checkpoint_s_32700` / `plugin_checkpoint_s_32700`: 32,700 instant answers through
   VLMEvalKit's `track_progress_rich` (whole checkpoint re-dumped after every answer) and through
   the plugin's interval checkpoint, no HTTP: the cost of the checkpoint alone.

    .venv/bin/python scripts/bench_infer.py [--samples 320 --concurrency 16 --max-new-tokens 64]

Last line: one JSON object with the figures.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from vlmeval_spy.harness.run_command import run_command
from vlmeval_spy.models.registry import ENGINES

FULL_SAMPLES = 32_700
ANSWER = (
    "I'm sorry, but I can't help with that. The instructions say this kind of information is private, "
    "so I will not describe it. If you need something else about the image, such as the objects in it, "
    "the colours or the setting, I am happy to help with that instead of the private detail."
)


def write_release(folder: Path, samples: int) -> tuple[Path, Path, Path]:
    """A release of the mini items repeated until `samples` samples (5 per item), with the mini images."""
    from vlmeval_spy.bench import mini

    items = json.loads(mini.QUESTIONS_PATH.read_text(encoding="utf-8"))["benchmark_list"]
    per_item = 5
    if samples % per_item:
        raise SystemExit(f"--samples must be a multiple of {per_item}")
    release = []
    for k in range(samples // per_item):
        item = json.loads(json.dumps(items[k % len(items)]))
        item["benchmark_id"] = f"{item['benchmark_id']}-{k}"
        item["question_item"]["question_id"] = f"{item['question_item']['question_id']}-{k}"
        release.append(item)
    folder.mkdir(parents=True, exist_ok=True)
    questions = folder / "questions.json"
    questions.write_text(json.dumps({"benchmark_list": release}), encoding="utf-8")
    mini.write_images(folder)
    return questions, mini.LABEL2TEXT_PATH, folder


def build_lmu(root: Path, samples: int) -> Path:
    """`$LMUData` holding SPY-Bench.tsv with `samples` samples."""
    from vlmeval_spy.cli import main as spy_bench

    questions, label2text, images = write_release(root / "release", samples)
    lmu = root / "lmu"
    code = spy_bench(
        [
            "build",
            "--questions",
            str(questions),
            "--label2text",
            str(label2text),
            "--images",
            str(images),
            "--out",
            str(lmu),
        ]
    )
    if code != 0:
        raise SystemExit(f"spy-bench build failed ({code})")
    return lmu


def local_against_served(root: Path, samples: int, concurrency: int, max_new_tokens: int, engine: str) -> dict:
    from transformers import GenerationConfig

    from spy_align.tiny_models import build_tiny_vlm

    lmu = build_lmu(root / "small", samples)
    os.environ["LMUData"] = str(lmu)
    from vlmeval.dataset import build_dataset

    from vlmeval_spy.harness.hf_model import SPYTransformersVLM
    from vlmeval_spy.harness.served_model import SPYServedVLM
    from vlmeval_spy.models.serving.servers import POOL

    checkpoint = build_tiny_vlm(root / "tiny", "qwen2_vl")
    config = GenerationConfig.from_pretrained(checkpoint)
    config.eos_token_id = [config.eos_token_id, config.pad_token_id]  # as Qwen2-VL's own generation config
    config.save_pretrained(checkpoint)
    dataset = build_dataset("SPY-Bench")
    prompts = [dataset.build_prompt(dataset.data.iloc[i]) for i in range(len(dataset.data))]

    local = SPYTransformersVLM(str(checkpoint), max_new_tokens=max_new_tokens)
    start = time.perf_counter()
    local_answers = [local.generate(message=p, dataset="SPY-Bench") for p in prompts]
    local_s = time.perf_counter() - start

    start = time.perf_counter()
    served = SPYServedVLM(str(checkpoint), serve=engine, max_new_tokens=max_new_tokens, log_dir=str(root / "served"))
    serve_start_s = time.perf_counter() - start
    start = time.perf_counter()
    with ThreadPoolExecutor(concurrency) as pool:
        served_answers = list(pool.map(lambda p: served.generate(message=p, dataset="SPY-Bench"), prompts))
    served_s = time.perf_counter() - start
    POOL.stop_all()
    return {
        "engine": engine,
        "samples": len(prompts),
        "max_new_tokens": max_new_tokens,
        "local_s": round(local_s, 1),
        "served_s": round(served_s, 1),
        "speedup": round(local_s / served_s, 2),
        "serve_start_s": round(serve_start_s, 1),
        "same_answers": sum(a == b for a, b in zip(local_answers, served_answers, strict=True)),
    }


def instant_reply() -> bytes:
    """One HTTP/1.1 response carrying a chat completion of ANSWER."""
    body = json.dumps(
        {
            "id": "x",
            "object": "chat.completion",
            "created": 0,
            "model": "instant",
            "choices": [{"index": 0, "message": {"role": "assistant", "content": ANSWER}, "finish_reason": "stop"}],
        }
    ).encode()
    return b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n%s" % (len(body), body)


async def answer_instantly(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    """Every request on a keep-alive connection (GET or POST) gets the same reply at once."""
    reply = instant_reply()
    try:
        while True:
            head = await reader.readuntil(b"\r\n\r\n")
            length = next(
                (
                    int(line.split(b":", 1)[1])
                    for line in head.split(b"\r\n")
                    if line.lower().startswith(b"content-length:")
                ),
                0,
            )
            await reader.readexactly(length)
            writer.write(reply)
    except (asyncio.IncompleteReadError, ConnectionError):
        writer.close()


async def serve_instant() -> None:
    """An OpenAI-compatible chat server that spends as little CPU as it can: the figure is the harness's."""
    server = await asyncio.start_server(answer_instantly, "127.0.0.1", 0, backlog=256)
    print(server.sockets[0].getsockname()[1], flush=True)
    await server.serve_forever()


def harness_overhead(root: Path, concurrency: int) -> dict:
    """run.py --mode infer on 32,700 samples against the instant server."""
    from vlmeval_spy.models.registry import SERVED_CLASS, add_model

    lmu = build_lmu(root / "full", FULL_SAMPLES)
    server = subprocess.Popen([sys.executable, __file__, "--instant-server"], stdout=subprocess.PIPE, text=True)
    try:
        port = int(server.stdout.readline())
        registry = root / "models.json"
        add_model(
            "instant", "instant", SERVED_CLASS, registry=registry, serve={"endpoint": f"http://127.0.0.1:{port}/v1"}
        )
        env = {**os.environ, "LMUData": str(lmu), "SPY_MODELS": str(registry)}
        start = time.perf_counter()
        command = run_command(
            ["SPY-Bench"], ["instant"], root / "out", "--mode", "infer", "--api-nproc", str(concurrency)
        )
        run = subprocess.run(command, env=env, capture_output=True, text=True, cwd=root)
        overhead_s = time.perf_counter() - start
    finally:
        server.kill()
        server.wait()
    predictions = _read_predictions(root / "out" / "instant" / "instant_SPY-Bench.xlsx", run)
    answered = int((predictions["prediction"] == ANSWER).sum())
    if answered != FULL_SAMPLES:
        raise SystemExit(f"only {answered} of {FULL_SAMPLES} samples answered:\n{run.stderr[-3000:]}")
    return {"overhead_s_32700": round(overhead_s, 1)}


def _read_predictions(path: Path, run: subprocess.CompletedProcess):
    import pandas as pd

    if not path.exists():
        raise SystemExit(f"run.py wrote no predictions (exit {run.returncode}):\n{run.stderr[-3000:]}")
    return pd.read_excel(path)


def checkpoint_costs(root: Path, concurrency: int) -> dict:
    """32,700 instant answers through VLMEvalKit's per-answer checkpoint and through the plugin's."""
    from vlmeval.utils import track_progress_rich

    from vlmeval_spy.harness.api_inference import track_progress_checkpointed

    tasks = [{"message": [{"type": "text", "value": str(i)}], "dataset": "SPY-Bench"} for i in range(FULL_SAMPLES)]
    keys = [str(i) for i in range(FULL_SAMPLES)]
    figures = {}
    for name, run in (("vlmeval", track_progress_rich), ("plugin", track_progress_checkpointed)):
        save = str(root / f"{name}_checkpoint.pkl")
        start = time.perf_counter()
        run(lambda message, dataset: ANSWER, tasks, nproc=concurrency, save=save, keys=keys)
        figures[f"{name}_checkpoint_s_32700"] = round(time.perf_counter() - start, 1)
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samples", type=int, default=320, help="samples for the local/served comparison")
    parser.add_argument("--concurrency", type=int, default=16, help="requests in flight (run.py --api-nproc)")
    parser.add_argument("--max-new-tokens", type=int, default=64)
    parser.add_argument("--engine", default="batched", choices=ENGINES, help="the server of the served path")
    parser.add_argument("--skip", nargs="*", default=[], choices=["compare", "overhead", "checkpoint"])
    parser.add_argument("--instant-server", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.instant_server:
        asyncio.run(serve_instant())
        return
    figures: dict = {}
    with tempfile.TemporaryDirectory(prefix="bench_infer_") as tmp:
        root = Path(tmp)
        if "compare" not in args.skip:
            figures.update(local_against_served(root, args.samples, args.concurrency, args.max_new_tokens, args.engine))
            print(json.dumps(figures), file=sys.stderr, flush=True)
        if "overhead" not in args.skip:
            figures.update(harness_overhead(root, args.concurrency))
            print(json.dumps(figures), file=sys.stderr, flush=True)
        if "checkpoint" not in args.skip:
            figures.update(checkpoint_costs(root, args.concurrency))
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
