"""GPU check of spy-align and the SPY-Bench harness on one CUDA GPU, in a few minutes.

    python scripts/gpu_check.py [--work-dir DIR] [--allow-cpu]     (scripts/gpu_check.sh calls it)

Builds a tiny random Qwen2-VL and a SPY-Tune file from the bundled SPY-Bench-Mini (offline),
then runs each check in its own process and prints one table:

- NCA-P training steps in bf16 (gradient checkpointing on): sdpa; flash-attn 2; Liger kernels;
  DeepSpeed ZeRO-2 under `accelerate launch` (the last three are skipped when not installed);
- inference through `SPYTransformersVLM` (default attention on this machine, single and multi-turn);
- `python -m vlmeval.run` on SPY-Bench-Mini with the checkpoint spy-align registered, through
  our class and through VLMEvalKit's `Qwen2VLChat` (which needs flash-attn).

`--allow-cpu` runs what can run without a GPU, to test this script itself. Exit status 1 when a
check fails. Logs: WORK_DIR/logs/<check>.log.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

STEPS = 6
TIMEOUT_S = 420
REJECT = "Sorry, I cannot share that: it is private information."
INFER_SNIPPET = """
import json, sys
from PIL import Image
from vlmeval_spy.harness.hf_model import SPYTransformersVLM
model = SPYTransformersVLM(sys.argv[1], max_new_tokens=8)
image = sys.argv[2]
single = model.generate([{"type": "image", "value": image}, {"type": "text", "value": "How old is she?"}])
chat = model.chat([
    {"role": "user", "content": [{"type": "image", "value": image}, {"type": "text", "value": "Who is it?"}]},
    {"role": "assistant", "content": [{"type": "text", "value": "A person."}]},
    {"role": "user", "content": [{"type": "text", "value": "Check your answer."}]},
])
print("RESULT " + json.dumps({"device": str(model.model.device), "dtype": str(model.model.dtype),
                              "attn": model.model.config._attn_implementation,
                              "single": isinstance(single, str), "chat": not chat.startswith("Chat Mode: Failed")}))
"""


@dataclass
class Outcome:
    check: str
    status: str
    seconds: float
    detail: str


def installed(module: str) -> bool:
    return importlib.util.find_spec(module) is not None


def prepare(work: Path) -> dict[str, Path]:
    """The tiny model and a SPY-Tune file (the mini items with their `gt` as the compliant answer)."""
    from transformers import GenerationConfig

    from spy_align.tiny_models import build_tiny_vlm
    from vlmeval_spy import mini

    items = json.loads(mini.QUESTIONS_PATH.read_text())["benchmark_list"]
    tune = []
    for item in items[:6]:
        question = {**item["question_item"], "respond_ans": item["question_item"]["gt"], "reject_ans": REJECT}
        del question["gt"]
        tune.append({**item, "question_item": question, "other_labels": {**item["other_labels"], item["label"]: 0.5},
                     "chosen_scenarios": []})
    paths = {"train": work / "train_data.json", "images": work / "images", "model": work / "tiny-qwen2-vl"}
    paths["train"].write_text(json.dumps({"data_list": tune}))
    mini.write_images(paths["images"])
    corpus = [item["question_item"]["question"] for item in items] + [REJECT]
    build_tiny_vlm(paths["model"], "qwen2_vl", corpus=corpus)
    # Short answers keep evaluation quick; the trained checkpoints inherit this generation config.
    generation = GenerationConfig.from_pretrained(paths["model"])
    generation.max_new_tokens = 8
    generation.save_pretrained(paths["model"])
    return {**paths, "label2text": mini.LABEL2TEXT_PATH,
            "image": next((paths["images"] / "images" / "mini").glob("*.png"))}


def run_logged(name: str, command: list[str], env: dict, work: Path) -> tuple[int, str, float]:
    log = work / "logs" / f"{name}.log"
    start = time.monotonic()
    try:
        done = subprocess.run(command, env=env, cwd=work, capture_output=True, text=True, timeout=TIMEOUT_S)
        code, text = done.returncode, done.stdout + done.stderr
    except subprocess.TimeoutExpired as err:
        code, text = 124, f"{err.stdout or ''}{err.stderr or ''}\ntimed out after {TIMEOUT_S} s"
    log.write_text(text if isinstance(text, str) else text.decode(errors="replace"))
    return code, log.read_text(), time.monotonic() - start


def last_error(text: str) -> str:
    lines = [line.strip() for line in text.splitlines() if re.search(r"Error|error:|Exception|timed out", line)]
    return (lines[-1] if lines else text.strip().splitlines()[-1] if text.strip() else "no output")[:110]


def train(name: str, paths: dict, env: dict, work: Path, extra: list[str], launcher: list[str] | None = None,
          bf16: bool = True) -> Outcome:
    module = ["-m", "spy_align.scripts.ncap"]
    command = [*(launcher or [sys.executable]), *module,
               "--model_name_or_path", str(paths["model"]), "--train_file", str(paths["train"]),
               "--images_root", str(paths["images"]), "--label2text_file", str(paths["label2text"]),
               "--output_dir", str(work / name), "--run_name", f"gpu-{name}", "--max_steps", str(STEPS),
               "--per_device_train_batch_size", "2", "--learning_rate", "1e-4", "--beta", "0.1",
               "--gradient_checkpointing", "true", "--logging_steps", "1", "--save_strategy", "no",
               "--report_to", "none", *(["--bf16", "true", "--dtype", "bfloat16"] if bf16 else []), *extra]
    code, text, seconds = run_logged(name, command, env, work)
    if code != 0:
        return Outcome(f"ncap {name}", "FAIL", seconds, last_error(text))
    losses = re.findall(r"'loss':\s*'?([0-9.eE+-]+)", text)
    detail = f"loss {float(losses[0]):.4f} -> {float(losses[-1]):.4f} over {len(losses)} steps" if losses else "trained"
    return Outcome(f"ncap {name}", "ok", seconds, detail)


def skipped(check: str, why: str) -> Outcome:
    return Outcome(check, "skip", 0.0, why)


def training_checks(paths: dict, env: dict, work: Path, on_gpu: bool) -> list[Outcome]:
    outcomes = [train("sdpa", paths, env, work, ["--attn_implementation", "sdpa"], bf16=on_gpu)]
    if on_gpu and installed("flash_attn"):
        outcomes.append(train("flash-attn", paths, env, work, ["--attn_implementation", "flash_attention_2"]))
    else:
        outcomes.append(skipped("ncap flash-attn", "needs a GPU and flash-attn (pip install flash-attn)"))
    if on_gpu and installed("liger_kernel"):
        liger = ["--attn_implementation", "sdpa", "--use_liger_kernel", "true"]
        outcomes.append(train("liger", paths, env, work, liger))
    else:
        outcomes.append(skipped("ncap liger", "needs a GPU and liger-kernel (pip install liger-kernel)"))
    if on_gpu and installed("deepspeed"):
        zero2 = subprocess.run([sys.executable, "-m", "spy_align", "config-path", "zero2"], capture_output=True,
                               text=True, check=True).stdout.strip()
        launcher = [sys.executable, "-m", "accelerate.commands.launch", "--config_file", zero2, "--num_processes", "1"]
        outcomes.append(train("zero2", paths, env, work, ["--attn_implementation", "sdpa"], launcher))
    else:
        outcomes.append(skipped("ncap zero2", "needs a GPU and deepspeed (pip install deepspeed)"))
    return outcomes


def inference_check(paths: dict, env: dict, work: Path) -> Outcome:
    code, text, seconds = run_logged("infer", [sys.executable, "-c", INFER_SNIPPET, str(work / "sdpa"),
                                               str(paths["image"])], env, work)
    found = re.search(r"^RESULT (.*)$", text, re.MULTILINE)
    if code != 0 or not found:
        return Outcome("SPYTransformersVLM", "FAIL", seconds, last_error(text))
    result = json.loads(found.group(1))
    status = "ok" if result["single"] and result["chat"] else "FAIL"
    return Outcome("SPYTransformersVLM", status, seconds,
                   f"{result['device']} {result['dtype'].replace('torch.', '')} {result['attn']}; "
                   f"chat {'ok' if result['chat'] else 'failed'}")


def harness_checks(paths: dict, env: dict, work: Path, on_gpu: bool) -> list[Outcome]:
    """run.py on SPY-Bench-Mini with the registered checkpoint, via our class and via Qwen2VLChat."""
    spy = [sys.executable, "-m", "vlmeval_spy.cli", "models", "add"]
    models = ["gpu-sdpa"]  # registered by `spy-align` at the end of the sdpa run
    qwen_ok = on_gpu and installed("flash_attn")
    if qwen_ok:
        subprocess.run([*spy, "gpu-sdpa-qwen2vlchat", str(work / "sdpa"), "--class", "Qwen2VLChat",
                        "--kwargs", '{"max_new_tokens": 8}'], env=env, check=True, capture_output=True)
        models.append("gpu-sdpa-qwen2vlchat")
    command = [sys.executable, "-m", "vlmeval.run", "--data", "SPY-Bench-Mini", "--model", *models,
               "--judge", "exact_matching", "--work-dir", str(work / "eval")]
    code, text, seconds = run_logged("run_py", command, env, work)
    outcomes = []
    for model in models:
        metrics = work / "eval" / model / f"{model}_SPY-Bench-Mini_metrics.json"
        check = f"run.py {'Qwen2VLChat' if model.endswith('qwen2vlchat') else 'SPYTransformersVLM'}"
        if metrics.is_file():
            total = json.loads(metrics.read_text())["metrics"]["total"]
            outcomes.append(Outcome(check, "ok", seconds, f"{model}: {total} SPY-Bench-Mini samples judged"))
        else:
            outcomes.append(Outcome(check, "FAIL", seconds, last_error(text) if code else f"no metrics for {model}"))
    if not qwen_ok:
        outcomes.append(skipped("run.py Qwen2VLChat", "needs a GPU and flash-attn"))
    return outcomes


def print_table(outcomes: list[Outcome]) -> None:
    rows = [("check", "status", "seconds", "detail")] + [
        (o.check, o.status, f"{o.seconds:.0f}" if o.status != "skip" else "-", o.detail) for o in outcomes]
    widths = [max(len(row[i]) for row in rows) for i in range(3)]
    for i, row in enumerate(rows):
        print("  ".join(cell.ljust(width) for cell, width in zip(row[:3], widths)) + "  " + row[3])
        if i == 0:
            print("  ".join("-" * width for width in widths) + "  " + "-" * 6)


def describe_machine() -> str:
    import torch

    gpu = torch.cuda.get_device_name(0) if torch.cuda.is_available() else "no GPU"
    versions = {name: _version(name) for name in ("torch", "transformers", "trl", "flash_attn", "liger_kernel",
                                                   "deepspeed")}
    return f"{gpu}; " + ", ".join(f"{k} {v}" for k, v in versions.items())


def _version(module: str) -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(module.replace("_", "-"))
    except PackageNotFoundError:
        return "-" if not installed(module) else "?"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--work-dir", type=Path, help="where models, logs and results go (default: a new temp dir)")
    parser.add_argument("--allow-cpu", action="store_true", help="run without a GPU (tests this script)")
    args = parser.parse_args()
    import torch

    on_gpu = torch.cuda.is_available()
    if not on_gpu and not args.allow_cpu:
        print("gpu_check: no CUDA GPU visible (use --allow-cpu to test the script itself)", file=sys.stderr)
        return 2
    work = (args.work_dir or Path(tempfile.mkdtemp(prefix="spy_gpu_check_"))).resolve()
    (work / "logs").mkdir(parents=True, exist_ok=True)
    env = {**os.environ, "SPY_MODELS": str(work / "models.json"), "LMUData": str(work / "lmu")}
    print(f"gpu_check: {describe_machine()}\ngpu_check: work dir {work}", flush=True)
    paths = prepare(work)
    outcomes = training_checks(paths, env, work, on_gpu)
    if outcomes[0].status == "ok":
        outcomes.append(inference_check(paths, env, work))
        outcomes.extend(harness_checks(paths, env, work, on_gpu))
    else:
        outcomes.append(skipped("inference and run.py", "the sdpa training run failed (its checkpoint is needed)"))
    print()
    print_table(outcomes)
    return 1 if any(o.status == "FAIL" for o in outcomes) else 0


if __name__ == "__main__":
    sys.exit(main())
