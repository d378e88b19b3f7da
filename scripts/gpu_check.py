"""GPU check of spy-align and the SPY-Bench harness: the shipped recipes themselves, on a tiny model.

    python scripts/gpu_check.py [--work-dir DIR] [--allow-cpu]     (scripts/gpu_check.sh calls it)

Builds a tiny random Qwen2-VL and a SPY-Tune file from the bundled SPY-Bench-Mini (offline),
then runs each check in its own process and prints one table. Every training check runs a
shipped recipe (`--config qwen2vl_METHOD`) as it is, with only the model, the data, the step
count and the output folder replaced:

- each recipe (sft, dpo, nca, ncap, ncap_lora): bf16 weights and mixed precision, tf32,
  model-only checkpoints, checkpoints registered as saved, eval loss, logged generations;
- the ncap recipe with flash-attn 2 (prompts run whole: flash-attn takes no tree mask) and with
  Liger kernels (when installed);
- the shared-prefix forward (`share_prompt_prefix`, docs/training.md) in bf16 with sdpa and its
  tree mask, as the recipes run it: answer log-probabilities, loss and gradients against the
  unshared forward (each against fp32 on the same bf16-rounded weights: the shared path must be
  no less accurate), and the time of a loss + backward on each path;
- the ncap recipe under DeepSpeed ZeRO-2 (`accelerate launch --config_file zero2`) with 2
  processes (1 on a one-GPU machine: NCCL puts one process on a GPU);
- inference through `SPYTransformersVLM` and `python -m vlmeval.run` on SPY-Bench-Mini with the
  checkpoint spy-align registered, through our class and VLMEvalKit's `Qwen2VLChat` (flash-attn).

`--allow-cpu` runs what can run without a GPU, to test this script itself: the recipes with
`--use_cpu --tf32 false` (bf16 weights and autocast stay), and two processes under torchrun
instead of ZeRO-2. Exit status 1 when a check fails. Logs: WORK_DIR/logs/<check>.log.
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
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from vlmeval_spy.harness.run_command import run_command

STEPS = 4
TIMEOUT_S = 900  # the LoRA recipe accumulates 32 examples a step: minutes on a CPU
RECIPES = {
    "sft": "qwen2vl_sft",
    "dpo": "qwen2vl_dpo",
    "nca": "qwen2vl_nca",
    "ncap": "qwen2vl_ncap",
    "ncap_lora": "qwen2vl_ncap_lora",
}
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


@dataclass(frozen=True)
class Setup:
    """What every check shares: files, environment, work folder, hardware."""

    paths: dict[str, Path]
    env: dict[str, str]
    work: Path
    gpus: int

    @property
    def on_gpu(self) -> bool:
        return self.gpus > 0


def installed(module: str) -> bool:
    return importlib.util.find_spec(module) is not None


def prepare(work: Path) -> dict[str, Path]:
    """The tiny model, a SPY-Tune training and evaluation file (the mini items with their `gt` as the answer)."""
    from transformers import GenerationConfig

    from spy_align.tiny_models import build_tiny_vlm
    from vlmeval_spy.bench import mini

    items = json.loads(mini.QUESTIONS_PATH.read_text())["benchmark_list"]
    tune = []
    for item in items[:8]:
        question = {**item["question_item"], "respond_ans": item["question_item"]["gt"], "reject_ans": REJECT}
        del question["gt"]
        tune.append(
            {
                **item,
                "question_item": question,
                "other_labels": {**item["other_labels"], item["label"]: 0.5},
                "chosen_scenarios": [],
            }
        )
    paths = {
        "train": work / "train_data.json",
        "eval": work / "eval_data.json",
        "images": work / "images",
        "model": work / "tiny-qwen2-vl",
    }
    paths["train"].write_text(json.dumps({"data_list": tune[:6]}))
    paths["eval"].write_text(json.dumps({"data_list": tune[6:]}))
    mini.write_images(paths["images"])
    corpus = [item["question_item"]["question"] for item in items] + [REJECT]
    build_tiny_vlm(paths["model"], "qwen2_vl", corpus=corpus)
    # Short answers keep evaluation quick; the trained checkpoints inherit this generation config.
    generation = GenerationConfig.from_pretrained(paths["model"])
    generation.max_new_tokens = 8
    generation.save_pretrained(paths["model"])
    return {
        **paths,
        "label2text": mini.LABEL2TEXT_PATH,
        "image": next((paths["images"] / "images" / "mini").glob("*.png")),
    }


def run_logged(name: str, command: list[str], setup: Setup) -> tuple[int, str, float]:
    log = setup.work / "logs" / f"{name}.log"
    start = time.monotonic()
    try:
        done = subprocess.run(command, env=setup.env, cwd=setup.work, capture_output=True, text=True, timeout=TIMEOUT_S)
        code, text = done.returncode, done.stdout + done.stderr
    except subprocess.TimeoutExpired as err:
        code, text = 124, f"{err.stdout or ''}{err.stderr or ''}\ntimed out after {TIMEOUT_S} s"
    log.write_text(text if isinstance(text, str) else text.decode(errors="replace"))
    return code, log.read_text(), time.monotonic() - start


def last_error(text: str) -> str:
    lines = [line.strip() for line in text.splitlines() if re.search(r"Error|error:|Exception|timed out", line)]
    return (lines[-1] if lines else text.strip().splitlines()[-1] if text.strip() else "no output")[:110]


def config_path(name: str) -> str:
    return subprocess.run(
        [sys.executable, "-m", "spy_align", "config-path", name], capture_output=True, text=True, check=True
    ).stdout.strip()


def recipe_command(name: str, recipe: str, setup: Setup, extra: list[str], launcher: list[str] | None) -> list[str]:
    """The recipe as shipped; only model, data, length of the run and output replaced (plus CPU necessities)."""
    method = recipe.removeprefix("qwen2vl_").removesuffix("_lora")
    paths = setup.paths
    hardware = [] if setup.on_gpu else ["--use_cpu", "--tf32", "false", "--min_pixels", "3136", "--max_pixels", "12544"]
    return [
        *(launcher or [sys.executable]),
        "-m",
        f"spy_align.scripts.{method}",
        "--config",
        config_path(recipe),
        "--model_name_or_path",
        str(paths["model"]),
        "--train_file",
        str(paths["train"]),
        "--eval_file",
        str(paths["eval"]),
        "--images_root",
        str(paths["images"]),
        "--label2text_file",
        str(paths["label2text"]),
        "--output_dir",
        str(setup.work / name),
        "--run_name",
        f"gpu-{name}",
        "--max_steps",
        str(STEPS),
        "--save_strategy",
        "steps",
        "--save_steps",
        str(STEPS // 2),
        "--logging_steps",
        "1",
        "--generation_steps",
        str(STEPS // 2),
        "--generation_max_new_tokens",
        "4",
        *hardware,
        *extra,
    ]


def train(
    name: str,
    recipe: str,
    setup: Setup,
    extra: Sequence[str] = (),
    launcher: list[str] | None = None,
    expect_deepspeed: bool = False,
) -> Outcome:
    code, text, seconds = run_logged(name, recipe_command(name, recipe, setup, list(extra), launcher), setup)
    check = f"{recipe} ({name})" if name not in RECIPES else recipe
    if code != 0:
        return Outcome(check, "FAIL", seconds, last_error(text))
    problems = run_problems(setup.work / name, text, expect_deepspeed)
    if problems:
        return Outcome(check, "FAIL", seconds, "; ".join(problems))
    losses = re.findall(r"'loss':\s*'?([0-9.eE+-]+)", text)
    detail = f"loss {float(losses[0]):.4f} -> {float(losses[-1]):.4f}" if losses else "trained"
    return Outcome(check, "ok", seconds, f"{detail}; {describe_run(setup.work / name, text)}")


def run_problems(out: Path, log: str, expect_deepspeed: bool) -> list[str]:
    """What the recipe promises and this run did not do."""
    problems = []
    if not (out / "adapter_config.json").is_file() and saved_dtype(out) != "bfloat16":
        problems.append(f"saved weights are {saved_dtype(out)}, not bfloat16")
    if list(out.glob("checkpoint-*/optimizer.pt")) or list(out.glob("checkpoint-*/global_step*")):
        problems.append("optimizer state saved (the recipe saves the model only)")
    if "'eval_loss'" not in log:
        problems.append("no eval loss")
    if "registered gpu-" not in log:
        problems.append("no checkpoint registered")
    deepspeed_used = "no DeepSpeed optimizer keeps fp32 master weights" not in log
    if expect_deepspeed and not deepspeed_used:
        problems.append("ran without DeepSpeed")
    return problems


def saved_dtype(out: Path) -> str:
    config = json.loads((out / "config.json").read_text()) if (out / "config.json").is_file() else {}
    return str(config.get("dtype") or config.get("torch_dtype") or config.get("text_config", {}).get("dtype"))


def describe_run(out: Path, log: str) -> str:
    adapter = out / "adapter_config.json"
    if adapter.is_file():
        base = json.loads(adapter.read_text())["base_model_name_or_path"]
        weights = f"LoRA on {'an absolute' if Path(base).is_absolute() else 'a RELATIVE'} base path"
    else:
        weights = f"{saved_dtype(out)} weights"
    checkpoints = len(re.findall(r"registered gpu-\S+-(?:step|epoch)\d+", log))
    # bf16 weights without DeepSpeed's fp32 master copy: updates at the recipes' learning rates round away.
    lost = "; bf16 without DeepSpeed: small updates round away (warned)" if "no DeepSpeed optimizer" in log else ""
    return f"{weights}, {checkpoints} checkpoint(s) registered as saved{lost}"


def skipped(check: str, why: str) -> Outcome:
    return Outcome(check, "skip", 0.0, why)


def training_checks(setup: Setup) -> list[Outcome]:
    outcomes = [train(name, recipe, setup) for name, recipe in RECIPES.items()]
    if setup.on_gpu and installed("flash_attn"):
        flash = ["--attn_implementation", "flash_attention_2", "--share_prompt_prefix", "false"]
        outcomes.append(train("flash-attn", RECIPES["ncap"], setup, flash))
    else:
        outcomes.append(skipped("qwen2vl_ncap (flash-attn)", "needs a GPU and flash-attn (pip install flash-attn)"))
    if setup.on_gpu and installed("liger_kernel"):
        outcomes.append(train("liger", RECIPES["ncap"], setup, ["--use_liger_kernel", "true"]))
    else:
        outcomes.append(skipped("qwen2vl_ncap (liger)", "needs a GPU and liger-kernel (pip install liger-kernel)"))
    outcomes.append(multi_process_check(setup))
    outcomes.append(prefix_sharing_check(setup))
    return outcomes


def prefix_sharing_check(setup: Setup) -> Outcome:
    """The shared-prefix forward in bf16 against the unshared one, and both timed (`prefix_sharing_worker`)."""
    command = [sys.executable, str(Path(__file__).resolve()), "--prefix-sharing-worker", "--work-dir", str(setup.work)]
    code, text, seconds = run_logged("prefix_sharing", command, setup)
    found = re.search(r"^RESULT (.*)$", text, re.MULTILINE)
    if code != 0 or not found:
        return Outcome("shared prompt prefix (bf16)", "FAIL", seconds, last_error(text))
    result = json.loads(found.group(1))
    errors = result["errors"]
    detail = (
        f"{result['attention']} bf16; error vs fp32 shared/unshared: loss {errors['loss'][0]:.1e}/"
        f"{errors['loss'][1]:.1e}, logps {errors['logps'][0]:.1e}/{errors['logps'][1]:.1e}, grads "
        f"{errors['grads'][0]:.1e}/{errors['grads'][1]:.1e}; step {result['shared_s']:.3f}s vs "
        f"{result['unshared_s']:.3f}s unshared ({result['shared_s'] / result['unshared_s']:.2f}x)"
    )
    return Outcome("shared prompt prefix (bf16)", "ok" if result["ok"] else "FAIL", seconds, detail)


def prefix_sharing_worker(work: Path) -> dict:
    """NCA-P on a small Qwen2-VL (the bench model; 448 px images on a GPU, 112 px on CPU) with bf16 weights and
    autocast, sdpa and gradient checkpointing, as the recipes run: loss, per-sequence answer log-probabilities
    (policy and reference) and gradients of the shared and the unshared forward, each compared with fp32 on the same
    bf16-rounded weights, and the median time of a loss + backward on each path."""
    import statistics

    import torch
    from transformers import AutoProcessor

    from spy_align.collator import SPYPreferenceCollator
    from spy_align.configs import NCAPConfig
    from spy_align.ncap_trainer import NCAPTrainer
    from spy_align.tiny_models import BENCH_SIZE, build_tiny_vlm
    from spy_align.tune_datasets import load_tune_items, paired_dataset
    from vlmeval_spy.bench import mini

    on_gpu = torch.cuda.is_available()
    items = load_tune_items(work / "train_data.json", work / "images", mini.LABEL2TEXT_PATH)
    dataset = paired_dataset(items, work / "images")
    corpus = [row["prompt_0"][0]["content"] for row in dataset] + [REJECT]
    model_dir = build_tiny_vlm(work / "bench-qwen2-vl", "qwen2_vl", BENCH_SIZE, corpus=corpus)
    pixels = (448 if on_gpu else 112) ** 2
    processor = AutoProcessor.from_pretrained(model_dir, min_pixels=pixels, max_pixels=pixels)

    def trainer(dtype: torch.dtype) -> NCAPTrainer:
        args = NCAPConfig(
            output_dir=str(work / "prefix_sharing"),
            report_to="none",
            beta=0.1,
            bf16=dtype == torch.bfloat16,
            use_cpu=not on_gpu,
            tf32=False,
            gradient_checkpointing=True,
            model_init_kwargs={"dtype": dtype, "attn_implementation": "sdpa"},
        )
        built = NCAPTrainer(str(model_dir), args=args, train_dataset=dataset, processing_class=processor)
        built.model.train()
        return built

    low, full = trainer(torch.bfloat16), trainer(torch.float32)
    torch.manual_seed(0)
    with torch.no_grad():  # the policy off the reference; fp32 on the very weights bf16 has
        for target, source in zip(low.model.parameters(), full.model.parameters(), strict=True):
            source.add_(0.02 * torch.randn_like(source)).copy_(source.bfloat16().float())
            target.copy_(source)
        for parameter in full.ref_model.parameters():
            parameter.copy_(parameter.bfloat16().float())
    examples = [dict(dataset[i]) for i in range(min(4, len(dataset)))]
    batches = {share: SPYPreferenceCollator(processor, share_prefix=share)(examples) for share in (True, False)}

    def run(built: NCAPTrainer, share: bool) -> list:
        built.model.zero_grad(set_to_none=True)
        loss = built.compute_loss(built.model, built._prepare_inputs(dict(batches[share])))
        logps = torch.cat([record.float() for record in built._logps.records])
        loss.backward()
        grads = torch.cat([p.grad.float().flatten() for p in built.model.parameters() if p.grad is not None])
        return [loss.detach().float().cpu(), logps.cpu(), grads.cpu()]

    truth = run(full, False)
    outcomes = {share: run(low, share) for share in (True, False)}
    errors = {
        name: [float((outcomes[share][k] - truth[k]).abs().max()) for share in (True, False)]
        for k, name in enumerate(("loss", "logps", "grads"))
    }
    # bf16 rounds differently when the keys come in another order: allow twice the unshared path's own error.
    scale = [1e-3 * (1 + float(value.abs().max())) for value in truth]
    ok = all(shared <= 2 * unshared + slack for (shared, unshared), slack in zip(errors.values(), scale, strict=True))

    def seconds(share: bool) -> float:
        times = []
        for _ in range(6):
            if on_gpu:
                torch.cuda.synchronize()
            start = time.perf_counter()
            run(low, share)
            if on_gpu:
                torch.cuda.synchronize()
            times.append(time.perf_counter() - start)
        return statistics.median(times[1:])

    return {
        "ok": ok,
        "attention": low.model.config._attn_implementation,
        "errors": errors,
        "shared_s": seconds(True),
        "unshared_s": seconds(False),
    }


def multi_process_check(setup: Setup) -> Outcome:
    """ZeRO-2 under accelerate on GPUs (the paper's launcher); two torchrun processes on CPU."""
    if setup.on_gpu and not installed("deepspeed"):
        return skipped("qwen2vl_ncap (zero2)", "needs deepspeed (pip install deepspeed)")
    if setup.on_gpu:
        processes = min(2, setup.gpus)
        launcher = [
            sys.executable,
            "-m",
            "accelerate.commands.launch",
            "--config_file",
            config_path("zero2"),
            "--num_processes",
            str(processes),
        ]
        return train(f"zero2-{processes}proc", RECIPES["ncap"], setup, [], launcher, expect_deepspeed=True)
    launcher = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2"]
    return train("torchrun-2proc", RECIPES["ncap"], setup, ["--per_device_train_batch_size", "1"], launcher)


def inference_check(setup: Setup) -> Outcome:
    code, text, seconds = run_logged(
        "infer", [sys.executable, "-c", INFER_SNIPPET, str(setup.work / "ncap"), str(setup.paths["image"])], setup
    )
    found = re.search(r"^RESULT (.*)$", text, re.MULTILINE)
    if code != 0 or not found:
        return Outcome("SPYTransformersVLM", "FAIL", seconds, last_error(text))
    result = json.loads(found.group(1))
    status = "ok" if result["single"] and result["chat"] else "FAIL"
    return Outcome(
        "SPYTransformersVLM",
        status,
        seconds,
        f"{result['device']} {result['dtype'].replace('torch.', '')} {result['attn']}; "
        f"chat {'ok' if result['chat'] else 'failed'}",
    )


def harness_checks(setup: Setup) -> list[Outcome]:
    """run.py on SPY-Bench-Mini with registered checkpoints (full and LoRA), via our class and via Qwen2VLChat."""
    spy = [sys.executable, "-m", "vlmeval_spy.cli", "models", "add"]
    models = ["gpu-ncap", "gpu-ncap_lora"]  # registered by `spy-align` as each run saved them
    qwen_ok = setup.on_gpu and installed("flash_attn")
    if qwen_ok:
        subprocess.run(
            [
                *spy,
                "gpu-ncap-qwen2vlchat",
                str(setup.work / "ncap"),
                "--class",
                "Qwen2VLChat",
                "--kwargs",
                '{"max_new_tokens": 8}',
            ],
            env=setup.env,
            check=True,
            capture_output=True,
        )
        models.append("gpu-ncap-qwen2vlchat")
    command = run_command(["SPY-Bench-Mini"], models, setup.work / "eval", "--judge", "exact_matching")
    code, text, seconds = run_logged("run_py", command, setup)
    outcomes = []
    for model in models:
        metrics = setup.work / "eval" / model / f"{model}_SPY-Bench-Mini_metrics.json"
        check = f"run.py {'Qwen2VLChat' if model.endswith('qwen2vlchat') else 'SPYTransformersVLM'} ({model})"
        if metrics.is_file():
            total = json.loads(metrics.read_text())["metrics"]["total"]
            outcomes.append(Outcome(check, "ok", seconds, f"{total} SPY-Bench-Mini samples judged"))
        else:
            outcomes.append(Outcome(check, "FAIL", seconds, last_error(text) if code else f"no metrics for {model}"))
    if not qwen_ok:
        outcomes.append(skipped("run.py Qwen2VLChat", "needs a GPU and flash-attn"))
    return outcomes


def print_table(outcomes: list[Outcome]) -> None:
    rows = [("check", "status", "seconds", "detail")] + [
        (o.check, o.status, f"{o.seconds:.0f}" if o.status != "skip" else "-", o.detail) for o in outcomes
    ]
    widths = [max(len(row[i]) for row in rows) for i in range(3)]
    for i, row in enumerate(rows):
        print("  ".join(cell.ljust(width) for cell, width in zip(row[:3], widths, strict=True)) + "  " + row[3])
        if i == 0:
            print("  ".join("-" * width for width in widths) + "  " + "-" * 6)


def describe_machine() -> str:
    import torch

    gpu = f"{torch.cuda.device_count()} x {torch.cuda.get_device_name(0)}" if torch.cuda.is_available() else "no GPU"
    versions = {
        name: _version(name) for name in ("torch", "transformers", "trl", "flash_attn", "liger_kernel", "deepspeed")
    }
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
    parser.add_argument("--prefix-sharing-worker", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    import torch

    if args.prefix_sharing_worker:
        print("RESULT " + json.dumps(prefix_sharing_worker(args.work_dir)))
        return 0

    gpus = torch.cuda.device_count() if torch.cuda.is_available() else 0
    if not gpus and not args.allow_cpu:
        print("gpu_check: no CUDA GPU visible (use --allow-cpu to test the script itself)", file=sys.stderr)
        return 2
    work = (args.work_dir or Path(tempfile.mkdtemp(prefix="spy_gpu_check_"))).resolve()
    (work / "logs").mkdir(parents=True, exist_ok=True)
    env = {**os.environ, "SPY_MODELS": str(work / "models.json"), "LMUData": str(work / "lmu"), "OMP_NUM_THREADS": "1"}
    print(f"gpu_check: {describe_machine()}\ngpu_check: work dir {work}", flush=True)
    setup = Setup(prepare(work), env, work, gpus)
    outcomes = training_checks(setup)
    needed = {o.check: o.status for o in outcomes}
    if needed.get("qwen2vl_ncap") == "ok" and needed.get("qwen2vl_ncap_lora") == "ok":
        outcomes.append(inference_check(setup))
        outcomes.extend(harness_checks(setup))
    else:
        outcomes.append(skipped("inference and run.py", "the ncap or ncap_lora recipe run failed (checkpoints needed)"))
    print()
    print_table(outcomes)
    return 1 if any(o.status == "FAIL" for o in outcomes) else 0


if __name__ == "__main__":
    sys.exit(main())
