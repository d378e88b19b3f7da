"""GPU check of the served path: vLLM serving against vLLM's offline `LLM.generate` on the same samples.

A random Qwen2-VL (`spy_align.tiny_models`, the bench size) answers `--samples` SPY-Bench
samples (the mini items repeated, with their images) twice, greedily, exactly `--max-new-tokens`
tokens each (`ignore_eos`, so both sides generate the same amount):

1. served: `SPYServedVLM` starts `vllm serve` the way `run.py` does (same command line, health
   wait and supervisor) and sends `--concurrency` requests at a time, as VLMEvalKit's API
   inference does with `--api-nproc`;
2. offline: `vllm.LLM.chat` on the same conversations in batches of `--batch` (32: the original
   scripts' setting).

It prints both rates, their ratio (target: served >= 0.8 x offline) and how many answers agree,
and exits 1 when the ratio misses the target. Needs a CUDA GPU and `pip install vllm`;
`scripts/gpu_check.sh` runs it after `scripts/gpu_check.py`, with the same arguments.

    python scripts/gpu_serve_check.py [--samples 1024 --concurrency 64 --max-new-tokens 128] [--work-dir DIR]
    python scripts/gpu_serve_check.py --allow-cpu   # test the script itself: `transformers serve`, no offline side
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_infer import build_lmu  # noqa: E402  (the same release builder as the CPU bench)

TARGET_RATIO = 0.8
ENGINE_ARGS = ["--max-model-len", "4096", "--gpu-memory-utilization", "0.4", "--limit-mm-per-prompt", '{"image": 1}']


def tiny_checkpoint(root: Path) -> Path:
    from transformers import GenerationConfig

    from spy_align.tiny_models import BENCH_SIZE, build_tiny_vlm

    checkpoint = build_tiny_vlm(root / "tiny", "qwen2_vl", size=BENCH_SIZE)
    config = GenerationConfig.from_pretrained(checkpoint)
    config.eos_token_id = [config.eos_token_id, config.pad_token_id]  # as Qwen2-VL's own generation config
    config.save_pretrained(checkpoint)
    return checkpoint


def dataset_prompts(root: Path, samples: int) -> list[list[dict]]:
    os.environ["LMUData"] = str(build_lmu(root / "data", samples))
    from vlmeval.dataset import build_dataset

    dataset = build_dataset("SPY-Bench")
    return [dataset.build_prompt(dataset.data.iloc[i]) for i in range(len(dataset.data))]


def served(
    checkpoint: Path, prompts: list, concurrency: int, max_new_tokens: int, log_dir: Path, engine: str = "vllm"
) -> dict:
    from vlmeval_spy.harness.served_model import SPYServedVLM
    from vlmeval_spy.models.serving.servers import POOL

    start = time.perf_counter()
    vllm = engine == "vllm"
    model = SPYServedVLM(
        str(checkpoint),
        serve=engine,
        serve_args=ENGINE_ARGS if vllm else [],
        max_new_tokens=max_new_tokens,
        log_dir=str(log_dir),
        **({"ignore_eos": True} if vllm else {}),  # equal lengths on both sides (a vLLM request field)
    )
    start_s = time.perf_counter() - start
    try:
        model.generate(prompts[0])  # warm-up
        start = time.perf_counter()
        with ThreadPoolExecutor(concurrency) as pool:
            answers = list(pool.map(lambda p: model.generate(message=p, dataset="SPY-Bench"), prompts))
        seconds = time.perf_counter() - start
    finally:
        POOL.stop_all()
    return {"answers": answers, "seconds": seconds, "start_s": start_s}


def offline(checkpoint: Path, prompts: list, batch: int, max_new_tokens: int) -> dict:
    from vllm import LLM, SamplingParams

    from vlmeval_spy.harness.served_model import openai_content

    llm = LLM(str(checkpoint), max_model_len=4096, gpu_memory_utilization=0.4, limit_mm_per_prompt={"image": 1})
    params = SamplingParams(temperature=0, max_tokens=max_new_tokens, ignore_eos=True)
    conversations = [[{"role": "user", "content": openai_content(p)}] for p in prompts]
    llm.chat(conversations[:1], params, use_tqdm=False)  # warm-up
    start = time.perf_counter()
    answers = []
    for i in range(0, len(conversations), batch):
        answers += [o.outputs[0].text.strip() for o in llm.chat(conversations[i : i + batch], params, use_tqdm=False)]
    return {"answers": answers, "seconds": time.perf_counter() - start}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samples", type=int, default=1024)
    parser.add_argument("--concurrency", type=int, default=64, help="requests in flight (run.py --api-nproc)")
    parser.add_argument("--batch", type=int, default=32, help="offline batch size (the original scripts': 32)")
    parser.add_argument("--max-new-tokens", type=int, default=128)
    parser.add_argument("--work-dir", type=Path, help="keep the model, data and server log here (default: a temp dir)")
    parser.add_argument("--allow-cpu", action="store_true", help="without a GPU: test this script itself")
    args = parser.parse_args()
    import torch

    on_gpu = torch.cuda.is_available()
    if not on_gpu and not args.allow_cpu:
        print("gpu_serve_check: no CUDA GPU visible (use --allow-cpu to test the script itself)", file=sys.stderr)
        return 1
    with tempfile.TemporaryDirectory(prefix="gpu_serve_check_") as tmp:
        root = args.work_dir or Path(tmp)
        checkpoint = tiny_checkpoint(root)
        if not on_gpu:  # the script's own check: the served side through `transformers serve`, a few samples
            prompts = dataset_prompts(root, 20)
            online = served(checkpoint, prompts, 4, 8, root / "served", engine="transformers")
            rate = round(len(prompts) / online["seconds"], 1)
            print(json.dumps({"samples": len(prompts), "served_samples_per_s": rate, "offline": "skipped: no GPU"}))
            return 0
        prompts = dataset_prompts(root, args.samples)
        online = served(checkpoint, prompts, args.concurrency, args.max_new_tokens, root / "served")
        batch = offline(checkpoint, prompts, args.batch, args.max_new_tokens)
    served_rate, offline_rate = len(prompts) / online["seconds"], len(prompts) / batch["seconds"]
    figures = {
        "samples": len(prompts),
        "served_samples_per_s": round(served_rate, 1),
        "offline_samples_per_s": round(offline_rate, 1),
        "ratio": round(served_rate / offline_rate, 2),
        "serve_start_s": round(online["start_s"], 1),
        "same_answers": sum(a == b for a, b in zip(online["answers"], batch["answers"], strict=True)),
    }
    print(json.dumps(figures))
    return 0 if figures["ratio"] >= TARGET_RATIO else 1


if __name__ == "__main__":
    sys.exit(main())
