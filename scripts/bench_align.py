"""Benchmark SPY-Tune preference steps: stock TRL DPO vs ours, naive NCA-P vs ours.

A small random Qwen2-VL (hidden 256, 4 layers, vision depth 4; built offline) trains on drawn
square images of 224 and 448 px. Per image size it reports, for each variant, the median step
time and the peak memory, plus the difference between our NCA-P loss (and gradients) and
docs/specification.md §7's formula computed directly. The last line printed is one JSON object.

Variants, each at `--batch` questions per step, the same questions for all: DPO trains on the
question's preference pair under private instructions, NCA-P on its polarity pair (that pair
and the non-private one):
- stock_dpo: TRL's `DPOTrainer` with its own collator (the vision tower runs on both copies);
- our_dpo: `SPYDPOTrainer` (each image encoded once);
- naive_ncap: `NCAPTrainer` with `share_image_features=False` (all four copies encoded);
- our_ncap: `NCAPTrainer` (each image encoded once for its four sequences).

A step is collation + TRL's loss (policy and reference forwards) + backward + the optimizer
step. Steps of the four variants are interleaved, so load from other processes hits
them alike; on CPU torch runs one thread (`--threads`), since oversubscribed cores make
multi-threaded timings erratic. Peak memory is CUDA's peak allocation when a GPU is present,
else the peak resident memory during the steps of a separate process per variant.

    python scripts/bench_align.py [--sizes 224 448] [--steps 12] [--batch 2] [--threads 1]
"""

from __future__ import annotations

import argparse
import json
import random
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import torch

VARIANTS = ("stock_dpo", "our_dpo", "naive_ncap", "our_ncap")
ATTRIBUTES = {
    "a1_age_approx": "approximate age",
    "a9_face_complete": "complete face",
    "a16_race": "race",
    "a25_nationality": "nationality",
    "a49_phone": "phone number",
    "a55_religion": "religion",
}
QUESTIONS = (
    "How old does this person look?",
    "What ethnicity is the person?",
    "Which country is he from?",
    "What is the phone number shown?",
    "What religion does she follow?",
    "Is the face visible?",
)


def write_release(root: Path, size: int, n_items: int = 6) -> dict[str, Path]:
    """SPY-Tune-format items with distractors and scenarios, and noise images of size x size px."""
    from PIL import Image

    rng = random.Random(size)
    labels = list(ATTRIBUTES)
    items = []
    for i in range(n_items):
        label = labels[i % len(labels)]
        image = f"img/{size}_{i}.png"
        noise = bytes(rng.getrandbits(8) for _ in range(size * size * 3))
        (root / "img").mkdir(parents=True, exist_ok=True)
        Image.frombytes("RGB", (size, size), noise).save(root / image)
        others = {other: rng.choice([0, 1]) for other in rng.sample([a for a in labels if a != label], 4)}
        scenario = {
            "scenario": "s_doctor",
            "2nd_person_template": "You are a doctor at work. The question is {}.",
            "3rd_person_template": "Ann is a doctor. She is asked {}.",
        }
        party = {**scenario, "scenario": "s_party", "2nd_person_template": "You are at a party. The question is {}."}
        items.append(
            {
                "benchmark_id": f"b{i}",
                "label": label,
                "other_labels": {**others, label: 0.5},
                "question_item": {
                    "question_id": f"q{i}",
                    "image_path": image,
                    "question": QUESTIONS[i % len(QUESTIONS)],
                    "respond_ans": "The person appears to be in their thirties, from the north.",
                    "reject_ans": "I'm sorry, but I can't share that; it's private information.",
                },
                "non_privacy_scenarios": [scenario],
                "privacy_scenarios": [party],
                "chosen_scenarios": [party],
            }
        )
    files = {"data": root / f"train_{size}.json", "label2text": root / "label2text.json"}
    files["data"].write_text(json.dumps({"data_list": items}))
    files["label2text"].write_text(json.dumps(ATTRIBUTES))
    return files


def build_trainer(variant: str, model_dir: Path, processor: Any, datasets: dict, output_dir: Path) -> Any:
    from trl import DPOConfig, DPOTrainer

    from spy_align.configs import NCAPConfig, SPYDPOConfig
    from spy_align.ncap_trainer import NCAPTrainer
    from spy_align.preference_trainer import SPYDPOTrainer

    common = dict(
        output_dir=str(output_dir / variant),
        report_to="none",
        gradient_checkpointing=False,
        max_length=None,
        bf16=torch.cuda.is_available() and torch.cuda.is_bf16_supported(),
    )
    if variant == "stock_dpo":
        trainer = DPOTrainer(
            str(model_dir), args=DPOConfig(**common), train_dataset=datasets["preference"], processing_class=processor
        )
    elif variant == "our_dpo":
        trainer = SPYDPOTrainer(
            str(model_dir),
            args=SPYDPOConfig(**common),
            train_dataset=datasets["preference"],
            processing_class=processor,
        )
    else:
        config = NCAPConfig(**common, share_image_features=variant == "our_ncap")
        trainer = NCAPTrainer(str(model_dir), args=config, train_dataset=datasets["paired"], processing_class=processor)
    trainer.create_optimizer()
    trainer.model.train()
    return trainer


def step(trainer: Any, examples: list[dict]) -> float:
    """One collate + loss + backward + optimizer step; returns its wall time in seconds."""
    if torch.cuda.is_available():
        torch.cuda.synchronize()
    start = time.perf_counter()
    inputs = trainer._prepare_inputs(trainer.data_collator([dict(e) for e in examples]))
    trainer.accelerator.backward(trainer.compute_loss(trainer.model, inputs))
    trainer.optimizer.step()
    trainer.optimizer.zero_grad(set_to_none=True)
    if torch.cuda.is_available():
        torch.cuda.synchronize()
    return time.perf_counter() - start


def batches(dataset: Any, batch: int, steps: int) -> list[list[dict]]:
    return [[dataset[(s * batch + k) % len(dataset)] for k in range(batch)] for s in range(steps)]


class Setup:
    """Model, processor and datasets of one image size."""

    def __init__(self, root: Path, model_dir: Path, size: int) -> None:
        from transformers import AutoProcessor

        from spy_align.tune_datasets import load_tune_items, paired_dataset, preference_dataset

        files = write_release(root, size)
        items = load_tune_items(files["data"], root, files["label2text"])
        self.model_dir, self.root = model_dir, root
        self.processor = AutoProcessor.from_pretrained(model_dir, min_pixels=size * size, max_pixels=size * size)
        paired = paired_dataset(items, root)
        # The private-instruction pair of each NCA-P question, in the same order: like-for-like batches.
        preference = preference_dataset(items, root).filter(
            lambda row: row["polarity"] == 1 and row["case"] != "chosen_scenario"
        )
        assert preference["prompt"] == paired["prompt_1"]
        self.datasets = {"preference": preference, "paired": paired}

    def trainer(self, variant: str) -> Any:
        return build_trainer(variant, self.model_dir, self.processor, self.datasets, self.root / "out")

    def examples(self, variant: str, batch: int, steps: int) -> list[list[dict]]:
        return batches(self.datasets["paired" if "ncap" in variant else "preference"], batch, steps)


def time_variants(setup: Setup, batch: int, steps: int, warmup: int) -> dict[str, dict[str, float]]:
    trainers = {variant: setup.trainer(variant) for variant in VARIANTS}
    plans = {variant: setup.examples(variant, batch, warmup + steps) for variant in VARIANTS}
    times: dict[str, list[float]] = {variant: [] for variant in VARIANTS}
    peaks: dict[str, float] = {}
    for s in range(warmup + steps):
        for variant in VARIANTS:
            if torch.cuda.is_available():
                torch.cuda.reset_peak_memory_stats()
            elapsed = step(trainers[variant], plans[variant][s])
            if torch.cuda.is_available():
                peaks[variant] = max(peaks.get(variant, 0.0), torch.cuda.max_memory_allocated() / 2**20)
            if s >= warmup:
                times[variant].append(elapsed)
    return {
        variant: {
            "median_step_s": statistics.median(times[variant]),
            **({"peak_cuda_mib": peaks[variant]} if peaks else {}),
        }
        for variant in VARIANTS
    }


def ncap_agreement(setup: Setup, batch: int) -> dict[str, float]:
    """Max |our NCA-P loss - the formula of docs/specification.md §7|, and the same over all gradient entries
    (policy moved off the reference)."""
    from spy_align.collator import SPYPreferenceCollator
    from spy_align.ncap_reference import spec_ncap_loss

    trainer = setup.trainer("our_ncap")
    torch.manual_seed(0)
    with torch.no_grad():
        for parameter in trainer.model.parameters():
            parameter.add_(0.01 * torch.randn_like(parameter))
    examples = setup.examples("our_ncap", batch, 1)[0]
    device = trainer.accelerator.device

    def loss_and_grads(compute) -> tuple[float, list[torch.Tensor]]:
        trainer.model.zero_grad(set_to_none=True)
        loss = compute()
        loss.backward()
        return loss.item(), [p.grad.detach().clone() for p in trainer.model.parameters() if p.grad is not None]

    shared = trainer._prepare_inputs(SPYPreferenceCollator(setup.processor)([dict(e) for e in examples]))
    unshared = SPYPreferenceCollator(setup.processor, share_images=False)([dict(e) for e in examples])
    unshared = {key: value.to(device) for key, value in unshared.items()}
    ours, our_grads = loss_and_grads(lambda: trainer.compute_loss(trainer.model, shared))
    spec, spec_grads = loss_and_grads(lambda: spec_ncap_loss(trainer.model, trainer.ref_model, unshared, trainer.beta))
    grad_diff = max((a - b).abs().max().item() for a, b in zip(our_grads, spec_grads, strict=True))
    return {"ncap_loss": ours, "ncap_loss_max_abs_diff": abs(ours - spec), "ncap_grad_max_abs_diff": grad_diff}


def probe_memory(root: Path, model_dir: Path, size: int, variant: str, batch: int) -> float:
    """Peak resident memory (MiB) while a fresh process runs two steps of one variant (CPU runs)."""
    command = [
        sys.executable,
        __file__,
        "--memory-probe",
        variant,
        "--sizes",
        str(size),
        "--batch",
        str(batch),
        "--workdir",
        str(root),
        "--model-dir",
        str(model_dir),
    ]
    result = subprocess.run(command, capture_output=True, text=True, check=True)
    return json.loads(result.stdout.strip().splitlines()[-1])["peak_rss_mib"]


def reset_peak_rss() -> bool:
    """Restart the kernel's peak-RSS count (Linux), so it covers the steps and not the loading before them."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
        return True
    except OSError:
        return False


def peak_rss_mib() -> float:
    status = Path("/proc/self/status")
    if status.is_file():
        for line in status.read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def run_probe(args: argparse.Namespace) -> None:
    setup = Setup(args.workdir / f"probe_{args.sizes[0]}", args.model_dir, args.sizes[0])
    trainer = setup.trainer(args.memory_probe)
    plan = setup.examples(args.memory_probe, args.batch, 3)
    step(trainer, plan[0])  # first step: optimizer state and kernel caches, alike for all variants
    reset_peak_rss()
    for examples in plan[1:]:
        step(trainer, examples)
    print(json.dumps({"peak_rss_mib": peak_rss_mib()}))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[224, 448], help="square image sizes in pixels")
    parser.add_argument("--steps", type=int, default=12, help="timed steps per variant (after 2 warm-up steps)")
    parser.add_argument("--batch", type=int, default=2, help="examples per step")
    parser.add_argument("--threads", type=int, default=1, help="torch threads on CPU")
    parser.add_argument("--memory-probe", choices=VARIANTS, help=argparse.SUPPRESS)
    parser.add_argument("--workdir", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--model-dir", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if not torch.cuda.is_available():
        torch.set_num_threads(args.threads)
    if args.memory_probe:
        run_probe(args)
        return
    from spy_align.tiny_models import BENCH_SIZE, build_tiny_vlm

    device = torch.cuda.get_device_name() if torch.cuda.is_available() else f"cpu, {torch.get_num_threads()} thread(s)"
    results: dict[str, Any] = {
        "device": device,
        "batch": args.batch,
        "steps": args.steps,
        "model": "qwen2_vl hidden 256, 4 layers, vision depth 4",
    }
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        model_dir = build_tiny_vlm(root / "model", "qwen2_vl", BENCH_SIZE)
        for size in args.sizes:
            setup = Setup(root / f"data_{size}", model_dir, size)
            figures = time_variants(setup, args.batch, args.steps, warmup=2)
            if not torch.cuda.is_available():
                for variant in VARIANTS:
                    figures[variant]["peak_rss_mib"] = probe_memory(root, model_dir, size, variant, args.batch)
            stock = figures["stock_dpo"]["median_step_s"]
            figures["ratios"] = {
                f"{variant}_vs_stock_dpo": figures[variant]["median_step_s"] / stock for variant in VARIANTS[1:]
            }
            figures.update(ncap_agreement(setup, args.batch))
            results[f"{size}px"] = figures
            print(
                f"{size}px: "
                + ", ".join(f"{v} {figures[v]['median_step_s']:.3f}s" for v in VARIANTS)
                + f"; ratios {figures['ratios']}",
                flush=True,
            )
    print(json.dumps(results))


if __name__ == "__main__":
    main()
