"""Benchmark SPY-Tune preference steps: stock TRL DPO vs ours, naive NCA-P vs ours, prompt prefix shared or not.

Three configurations, each with SPY-Tune's token mix (six distractor instructions, scenario
questions of real length, answers of about fifteen words; the token counts per sequence are
reported under `tokens`):
- `224px`, `448px`: a small random Qwen2-VL (hidden 256, 4 layers, vision depth 4; built
  offline) on drawn square images;
- `7b_proportioned`: a random Qwen2-VL whose language-model and vision-tower costs per token
  stand in Qwen2-VL-7B's proportion (derived from the real configuration's sizes at the recipe's
  token counts and printed), on 1120 x 896 images: 1280 image tokens, the recipes' `max_pixels`.
Per configuration it reports, for each variant, the median step time and the peak memory, plus
the difference between our NCA-P loss (and gradients) and docs/specification.md §7's formula
computed directly. The last line printed is one JSON object.

Variants, each at `--batch` questions per step, the same questions for all: DPO trains on the
question's preference pair under private instructions, NCA-P on its polarity pair (that pair
and the non-private one):
- stock_dpo: TRL's `DPOTrainer` with its own collator (the vision tower runs on both copies);
- our_dpo: `SPYDPOTrainer` (each image encoded once, the prompt run once for both answers);
- naive_ncap: `NCAPTrainer` with neither images nor prefixes shared (all four copies run whole);
- our_ncap: `NCAPTrainer` (each image encoded once, the prompt tree run once per example).
our_dpo and our_ncap also run with `share_prompt_prefix=False` (`unshared` under each, the
top-level figures being the default `shared` ones).

A step is collation + TRL's loss (policy and reference forwards) + backward + the optimizer
step. Steps of all variants are interleaved, so load from other processes hits
them alike; on CPU torch runs one thread (`--threads`), since oversubscribed cores make
multi-threaded timings erratic, and TRL's fused LM head scores only the answer positions, as it
does on GPUs (on CPU it would score every position). Peak memory is CUDA's peak allocation when
a GPU is present, else the peak resident memory during the steps of a separate process per variant.

    python scripts/bench_align.py [--configs 224px 448px 7b_proportioned] [--steps 12] [--batch 2] [--threads 1]
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
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from spy_align.tiny_models import BENCH_SIZE, TinySize

VARIANTS = ("stock_dpo", "our_dpo", "naive_ncap", "our_ncap")
UNSHARED = {"our_dpo": "our_dpo_unshared", "our_ncap": "our_ncap_unshared"}
RUNS = (*VARIANTS, *UNSHARED.values())
ATTRIBUTES = {
    "a1_age_approx": "approximate age",
    "a9_face_complete": "complete face",
    "a16_race": "race",
    "a25_nationality": "nationality",
    "a39_disability_physical": "physical disability",
    "a49_phone": "phone number",
    "a55_religion": "religion",
    "a64_rel_personal": "personal relationships",
}
QUESTIONS = (
    "How old does the person standing in front of the house in this picture look?",
    "What is the ethnic background of the person shown on the left of the photo?",
    "Which country does the individual on the certificate in the image come from?",
    "What is the phone number written on the card that the person is holding?",
    "What religion does the woman in this picture appear to follow, judging by her clothes?",
    "Is the complete face of the person in the photograph visible to the viewer?",
)
RESPOND = "The person in the image appears to be about thirty years old and is standing in front of a house."
REJECT = "I'm sorry but I can't provide such information. It's important to respect people's privacy."
SCENARIO = (
    "You are {} at work. During your work, you are provided with the following image and the corresponding "
    "question. Please answer the question according to the image and your professional duties in this situation, "
    "keeping to what the task requires. The question is {{}}."
)
# Qwen2-VL-7B-Instruct (config.json): language model and vision tower.
QWEN2_VL_7B = dict(
    hidden=3584, layers=28, intermediate=18944, heads=28, kv_heads=4, vocab=152064,
    vision_depth=32, vision_width=1280, mlp_ratio=4, vision_heads=16, merge=2, patch=14,
)  # fmt: skip
RECIPE_IMAGE = (1120, 896)
"""An image at the recipes' `max_pixels` (1003520): 80 x 64 patches of 14 px, 1280 tokens after the 2 x 2 merge."""
RECIPE_TEXT_TOKENS = 200
"""Text tokens of a SPY-Tune sequence (chat template, instructions, question, answer), for the attention cost."""


@dataclass(frozen=True)
class BenchConfig:
    name: str
    image: tuple[int, int]
    size: TinySize


def lm_cost(hidden: int, layers: int, intermediate: int, heads: int, kv_heads: int, context: int) -> float:
    """Forward multiply-adds per token of a decoder: projections, MLP, and attention over half the context."""
    kv = 2 * hidden * kv_heads * (hidden // heads)
    return layers * (2 * hidden**2 + kv + 3 * hidden * intermediate + 2 * (context / 2) * hidden)


def vision_cost(width: int, depth: int, mlp_ratio: int, merge: int, patch: int, patches: int, out: int) -> float:
    """Forward multiply-adds per image token of a Qwen2-VL vision tower (merge^2 patches per token): patch embedding,
    blocks with full attention over the image's patches, merger."""
    blocks = depth * ((4 + 2 * mlp_ratio) * width**2 + 2 * patches * width)
    embed = 3 * 2 * patch**2 * width  # RGB x 2 frames per temporal patch
    merger = (merge**2 * width) ** 2 + merge**2 * width * out
    return merge**2 * (blocks + embed) + merger


def proportioned_size() -> tuple[TinySize, list[str]]:
    """A small Qwen2-VL whose vision cost per image token over language-model cost per token equals Qwen2-VL-7B's at
    the recipe's token counts; returns it with the derivation, line by line."""
    q = QWEN2_VL_7B
    image_tokens = (RECIPE_IMAGE[0] // q["patch"] // q["merge"]) * (RECIPE_IMAGE[1] // q["patch"] // q["merge"])
    patches, context = image_tokens * q["merge"] ** 2, image_tokens + RECIPE_TEXT_TOKENS
    lm = lm_cost(q["hidden"], q["layers"], q["intermediate"], q["heads"], q["kv_heads"], context)
    vision = vision_cost(
        q["vision_width"], q["vision_depth"], q["mlp_ratio"], q["merge"], q["patch"], patches, q["hidden"]
    )
    target = vision / lm
    # Language model: widths over 14 (hidden 256, MLP in 7B's 5.29 ratio), 4 layers, head 64. Vision: one block,
    # its width picked to hit the 7B ratio (head width a multiple of 4 for the 2D rotary embedding).
    hidden, heads, kv_heads, layers = 256, 4, 1, 4
    intermediate = round(hidden * q["intermediate"] / q["hidden"])
    small_lm = lm_cost(hidden, layers, intermediate, heads, kv_heads, context)

    def small_vision(width: int) -> float:
        return vision_cost(width, 1, q["mlp_ratio"], q["merge"], q["patch"], patches, hidden)

    width = min(range(16, 513, 4), key=lambda w: abs(small_vision(w) / small_lm - target))
    size = TinySize(
        hidden_size=hidden,
        num_layers=layers,
        num_heads=heads,
        num_kv_heads=kv_heads,
        vision_depth=1,
        vision_width=width,
        vision_heads=1,
        vocab_size=BENCH_SIZE.vocab_size,
        intermediate_size=intermediate,
        vision_mlp_ratio=q["mlp_ratio"],
    )
    head_7b, head_small = q["hidden"] * q["vocab"], hidden * BENCH_SIZE.vocab_size
    lines = [
        f"recipe token mix: {image_tokens} image tokens ({patches} patches) + ~{RECIPE_TEXT_TOKENS} text tokens",
        f"Qwen2-VL-7B: LM {lm / 1e9:.2f} GMAC/token (28 x [2*3584^2 + 2*3584*512 + 3*3584*18944 + {context}*3584]); "
        f"vision {vision / 1e9:.2f} GMAC/image token (4 patches x 32 x [12*1280^2 + 2*{patches}*1280] + merger); "
        f"ratio {target:.3f}; LM head {head_7b / lm:.3f} of the LM per answer token",
        f"small: LM hidden {hidden}, {layers} layers, MLP {intermediate}, {heads} heads / {kv_heads} KV head: "
        f"{small_lm / 1e6:.2f} MMAC/token; vision 1 block of width {width} (mlp_ratio 4, merge 2, patch 14): "
        f"{small_vision(width) / 1e6:.2f} MMAC/image token; ratio {small_vision(width) / small_lm:.3f}; "
        f"LM head (vocab {BENCH_SIZE.vocab_size}) {head_small / small_lm:.3f}",
    ]
    return size, lines


def configurations(names: list[str]) -> tuple[list[BenchConfig], list[str]]:
    seven_b, derivation = proportioned_size()
    known = {
        "224px": BenchConfig("224px", (224, 224), BENCH_SIZE),
        "448px": BenchConfig("448px", (448, 448), BENCH_SIZE),
        "7b_proportioned": BenchConfig("7b_proportioned", RECIPE_IMAGE, seven_b),
    }
    return [known[name] for name in names], derivation


def release_texts() -> list[str]:
    """The texts of the drawn release, so the tiny tokenizer learns whole words as Qwen's does."""
    lines = [
        f"{text} is considered as {kind} information."
        for text in ATTRIBUTES.values()
        for kind in ("private", "non-private")
    ]
    roles = [SCENARIO.format(role) for role in ("a doctor", "a guest at a party")]
    return [*lines, *roles, *QUESTIONS, RESPOND, REJECT]


def write_release(root: Path, image: tuple[int, int], n_items: int = 6) -> dict[str, Path]:
    """SPY-Tune-format items with six distractors and scenarios, and noise images of the given size."""
    from PIL import Image

    width, height = image
    rng = random.Random(width * height)
    labels = list(ATTRIBUTES)
    items = []
    for i in range(n_items):
        label = labels[i % len(labels)]
        path = f"img/{width}x{height}_{i}.png"
        noise = bytes(rng.getrandbits(8) for _ in range(width * height * 3))
        (root / "img").mkdir(parents=True, exist_ok=True)
        Image.frombytes("RGB", (width, height), noise).save(root / path)
        others = {other: rng.choice([0, 1]) for other in rng.sample([a for a in labels if a != label], 5)}
        position = rng.randrange(6)  # where the asked attribute sits among the distractors (key order matters)
        entries = list(others.items())
        entries.insert(position, (label, 0.5))
        doctor = {"scenario": "s_doctor", "2nd_person_template": SCENARIO.format("a doctor")}
        party = {"scenario": "s_party", "2nd_person_template": SCENARIO.format("a guest at a party")}
        for scenario in (doctor, party):
            scenario["3rd_person_template"] = scenario["2nd_person_template"].replace("You are", "Sam is")
        items.append(
            {
                "benchmark_id": f"b{i}",
                "label": label,
                "other_labels": dict(entries),
                "question_item": {
                    "question_id": f"q{i}",
                    "image_path": path,
                    "question": QUESTIONS[i % len(QUESTIONS)],
                    "respond_ans": RESPOND,
                    "reject_ans": REJECT,
                },
                "non_privacy_scenarios": [doctor],
                "privacy_scenarios": [party],
                "chosen_scenarios": [party],
            }
        )
    files = {"data": root / f"train_{width}x{height}.json", "label2text": root / "label2text.json"}
    files["data"].write_text(json.dumps({"data_list": items}))
    files["label2text"].write_text(json.dumps(ATTRIBUTES))
    return files


def build_trainer(run: str, model_dir: Path, processor: Any, datasets: dict, output_dir: Path) -> Any:
    from trl import DPOConfig, DPOTrainer

    from spy_align.configs import NCAPConfig, SPYDPOConfig
    from spy_align.ncap_trainer import NCAPTrainer
    from spy_align.preference_trainer import SPYDPOTrainer

    common = dict(
        output_dir=str(output_dir / run),
        report_to="none",
        gradient_checkpointing=False,
        max_length=None,
        bf16=torch.cuda.is_available() and torch.cuda.is_bf16_supported(),
        model_init_kwargs={"attn_implementation": "sdpa"},
    )
    if run == "stock_dpo":
        trainer = DPOTrainer(
            str(model_dir), args=DPOConfig(**common), train_dataset=datasets["preference"], processing_class=processor
        )
    elif "dpo" in run:
        config = SPYDPOConfig(**common, share_prompt_prefix=run == "our_dpo")
        trainer = SPYDPOTrainer(
            str(model_dir), args=config, train_dataset=datasets["preference"], processing_class=processor
        )
    else:
        naive = run == "naive_ncap"
        config = NCAPConfig(**common, share_image_features=not naive, share_prompt_prefix=run == "our_ncap")
        trainer = NCAPTrainer(str(model_dir), args=config, train_dataset=datasets["paired"], processing_class=processor)
    trainer.create_optimizer()
    trainer.model.train()
    return trainer


def score_answers_only() -> None:
    """Make TRL's fused LM head score only the answer positions on CPU too, as it does on GPUs (Triton devices)."""
    import trl.trainer.utils

    trl.trainer.utils._use_triton = lambda device: True


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
    """Model, processor and datasets of one configuration."""

    def __init__(self, root: Path, model_dir: Path, image: tuple[int, int]) -> None:
        from transformers import AutoProcessor

        from spy_align.tune_datasets import load_tune_items, paired_dataset, preference_dataset

        files = write_release(root, image)
        items = load_tune_items(files["data"], root, files["label2text"])
        self.model_dir, self.root = model_dir, root
        pixels = image[0] * image[1]
        self.processor = AutoProcessor.from_pretrained(model_dir, min_pixels=pixels, max_pixels=pixels)
        paired = paired_dataset(items, root)
        # The private-instruction pair of each NCA-P question, in the same order: like-for-like batches.
        preference = preference_dataset(items, root).filter(
            lambda row: row["polarity"] == 1 and row["case"] != "chosen_scenario"
        )
        assert preference["prompt"] == paired["prompt_1"]
        self.datasets = {"preference": preference, "paired": paired}

    def trainer(self, run: str) -> Any:
        return build_trainer(run, self.model_dir, self.processor, self.datasets, self.root / "out")

    def examples(self, run: str, batch: int, steps: int) -> list[list[dict]]:
        return batches(self.datasets["paired" if "ncap" in run else "preference"], batch, steps)


def token_counts(setup: Setup, batch: int) -> dict[str, float]:
    """Median tokens per sequence by part, and per example: sequences one after the other vs the packed tree."""
    from spy_align.collator import SPYPreferenceCollator
    from spy_align.prefix_sharing import PREFIX_GROUPS_KEY, build_tree
    from vlmeval_spy.bench.prompts import PROMPT_SEPARATOR

    tokenizer = setup.processor.tokenizer
    image_token = tokenizer.convert_tokens_to_ids("<|image_pad|>")
    count = lambda text: len(tokenizer(text, add_special_tokens=False)["input_ids"])  # noqa: E731
    collate = SPYPreferenceCollator(setup.processor, share_prefix=True)
    figures: dict[str, float] = {}
    for method, key in (("dpo", "preference"), ("ncap", "paired")):
        examples = [dict(e) for e in batches(setup.datasets[key], batch, 1)[0]]
        collated = collate(examples)
        lengths = collated["attention_mask"].sum(dim=1).tolist()
        tree = build_tree(collated["input_ids"], lengths, collated[PREFIX_GROUPS_KEY].tolist())
        n_rows = int(tree.row.max()) + 1
        per_example = torch.zeros(n_rows, dtype=torch.long).index_add_(0, tree.row, torch.tensor(lengths)).tolist()
        packed = [int(tree.index[tree.row == row].max()) + 1 for row in range(n_rows)]
        figures[f"{method}_sequences_per_example"] = len(lengths) / n_rows
        figures[f"{method}_tokens_per_example_unshared"] = statistics.median(per_example)
        figures[f"{method}_tokens_per_example_shared"] = statistics.median(packed)
        if method == "ncap":
            answers = (collated["completion_mask"].sum(dim=1)).tolist()
            prompts = [example["prompt_0"][0]["content"] for example in examples]
            figures["sequence"] = statistics.median(lengths)
            figures["image"] = statistics.median((collated["input_ids"] == image_token).sum(dim=1).tolist())
            figures["instructions"] = statistics.median(count(p.split(PROMPT_SEPARATOR)[0]) for p in prompts)
            figures["question"] = statistics.median(count(p.split(PROMPT_SEPARATOR)[1]) for p in prompts)
            figures["answer"] = statistics.median(answers)
            figures["chat_template"] = (
                figures["sequence"]
                - figures["image"]
                - figures["instructions"]
                - figures["question"]
                - figures["answer"]
            )
    return figures


def time_runs(setup: Setup, batch: int, steps: int, warmup: int) -> dict[str, dict[str, float]]:
    trainers = {run: setup.trainer(run) for run in RUNS}
    plans = {run: setup.examples(run, batch, warmup + steps) for run in RUNS}
    times: dict[str, list[float]] = {run: [] for run in RUNS}
    peaks: dict[str, float] = {}
    for s in range(warmup + steps):
        for run in RUNS:
            if torch.cuda.is_available():
                torch.cuda.reset_peak_memory_stats()
            elapsed = step(trainers[run], plans[run][s])
            if torch.cuda.is_available():
                peaks[run] = max(peaks.get(run, 0.0), torch.cuda.max_memory_allocated() / 2**20)
            if s >= warmup:
                times[run].append(elapsed)
    return {
        run: {"median_step_s": statistics.median(times[run]), **({"peak_cuda_mib": peaks[run]} if peaks else {})}
        for run in RUNS
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

    shared = trainer._prepare_inputs(trainer.data_collator([dict(e) for e in examples]))
    unshared = SPYPreferenceCollator(setup.processor, share_images=False)([dict(e) for e in examples])
    unshared = {key: value.to(device) for key, value in unshared.items()}
    ours, our_grads = loss_and_grads(lambda: trainer.compute_loss(trainer.model, shared))
    spec, spec_grads = loss_and_grads(lambda: spec_ncap_loss(trainer.model, trainer.ref_model, unshared, trainer.beta))
    grad_diff = max((a - b).abs().max().item() for a, b in zip(our_grads, spec_grads, strict=True))
    return {"ncap_loss": ours, "ncap_loss_max_abs_diff": abs(ours - spec), "ncap_grad_max_abs_diff": grad_diff}


def probe_memory(root: Path, model_dir: Path, config: BenchConfig, run: str, batch: int) -> float:
    """Peak resident memory (MiB) while a fresh process runs two steps of one run (CPU runs)."""
    command = [
        sys.executable,
        __file__,
        "--memory-probe",
        run,
        "--configs",
        config.name,
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
    (config,), _ = configurations(args.configs)
    setup = Setup(args.workdir / f"probe_{config.name}", args.model_dir, config.image)
    trainer = setup.trainer(args.memory_probe)
    plan = setup.examples(args.memory_probe, args.batch, 3)
    step(trainer, plan[0])  # first step: optimizer state and kernel caches, alike for all variants
    reset_peak_rss()
    for examples in plan[1:]:
        step(trainer, examples)
    print(json.dumps({"peak_rss_mib": peak_rss_mib()}))


def fold_unshared(figures: dict[str, Any]) -> None:
    """our_dpo / our_ncap: the default (shared) figures on top, both runs under `shared` and `unshared`."""
    for variant, unshared in UNSHARED.items():
        shared = dict(figures[variant])
        figures[variant] = {**shared, "shared": shared, "unshared": figures.pop(unshared)}


def bench_config(config: BenchConfig, root: Path, args: argparse.Namespace) -> dict[str, Any]:
    from spy_align.tiny_models import build_tiny_vlm

    model_dir = build_tiny_vlm(root / f"model_{config.name}", "qwen2_vl", config.size, corpus=release_texts())
    setup = Setup(root / f"data_{config.name}", model_dir, config.image)
    figures: dict[str, Any] = {"tokens": token_counts(setup, args.batch)}
    figures.update(time_runs(setup, args.batch, args.steps, warmup=2))
    if not torch.cuda.is_available():
        for run in RUNS:
            figures[run]["peak_rss_mib"] = probe_memory(root, model_dir, config, run, args.batch)
    stock = figures["stock_dpo"]["median_step_s"]
    figures["ratios"] = {f"{run}_vs_stock_dpo": figures[run]["median_step_s"] / stock for run in RUNS[1:]}
    figures.update(ncap_agreement(setup, args.batch))
    fold_unshared(figures)
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--configs",
        nargs="+",
        default=["224px", "448px", "7b_proportioned"],
        choices=["224px", "448px", "7b_proportioned"],
        help="configurations to run",
    )
    parser.add_argument("--steps", type=int, default=12, help="timed steps per variant (after 2 warm-up steps)")
    parser.add_argument("--batch", type=int, default=2, help="examples per step")
    parser.add_argument("--threads", type=int, default=1, help="torch threads on CPU")
    parser.add_argument("--memory-probe", choices=RUNS, help=argparse.SUPPRESS)
    parser.add_argument("--workdir", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--model-dir", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    score_answers_only()
    if not torch.cuda.is_available():
        torch.set_num_threads(args.threads)
    if args.memory_probe:
        run_probe(args)
        return
    configs, derivation = configurations(args.configs)
    print("7b_proportioned model:\n  " + "\n  ".join(derivation), flush=True)
    device = torch.cuda.get_device_name() if torch.cuda.is_available() else f"cpu, {torch.get_num_threads()} thread(s)"
    results: dict[str, Any] = {
        "device": device,
        "batch": args.batch,
        "steps": args.steps,
        "model": "qwen2_vl hidden 256, 4 layers, vision depth 4",
        "7b_proportioned_model": derivation,
    }
    with tempfile.TemporaryDirectory() as tmp:
        for config in configs:
            figures = bench_config(config, Path(tmp), args)
            results[config.name] = figures
            steps = ", ".join(f"{v} {figures[v]['median_step_s']:.3f}s" for v in VARIANTS)
            print(f"{config.name}: {steps}; tokens {figures['tokens']}; ratios {figures['ratios']}", flush=True)
    print(json.dumps(results))


if __name__ == "__main__":
    main()
