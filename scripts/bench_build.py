"""Benchmark `spy-bench build` and dataset loading on a synthetic release at full scale.

The synthetic release has the real one's structure and counts: 6,540 items with one
non-privacy and one privacy scenario each (32,700 samples), 67 attributes, 24 scenarios,
distractor instructions, and about 6,500 distinct JPEG images of typical VISPR size (640x480,
~100 KB). Each measurement runs in a fresh process, so its peak RSS is its own.

    python scripts/bench_build.py [--workdir /tmp/spy_bench_build]

Last line: one JSON object with the figures.
"""

from __future__ import annotations

import argparse
import base64
import io
import json
import os
import random
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

ITEMS, IMAGES, ATTRIBUTES, SCENARIOS = 6540, 6500, 67, 24
ABS = ["a12_semi_nudity", "a13_full_nudity", "a29_ausweis", "a31_passport", "a32_drivers_license"]


def attribute_ids() -> list[str]:
    numbers = [n for n in range(1, 200) if f"a{n}_" not in "".join(ABS)][: ATTRIBUTES - len(ABS)]
    return sorted(ABS + [f"a{n}_attribute" for n in numbers], key=lambda a: int(a[1:].split("_")[0]))


def jpeg_variants(count: int) -> Iterator[bytes]:
    """Photograph-sized noisy JPEGs; the files differ by a comment segment (still valid JPEGs)."""
    import numpy as np
    from PIL import Image

    rng = np.random.default_rng(0)
    bases = []
    for i in range(16):
        y, x = np.mgrid[0:480, 0:640]
        pattern = np.stack([(x * (i + 1)) % 256, (y * (i % 5 + 1)) % 256, ((x + y) * (i % 3 + 1)) % 256], -1)
        pixels = (pattern + rng.integers(0, 48, (480, 640, 3))).clip(0, 255).astype(np.uint8)
        buf = io.BytesIO()
        Image.fromarray(pixels).save(buf, "JPEG", quality=90)
        bases.append(buf.getvalue())
    for i in range(count):
        comment = f"synthetic image {i}".encode()
        segment = b"\xff\xfe" + (len(comment) + 2).to_bytes(2, "big") + comment
        base = bases[i % len(bases)]
        yield base[:2] + segment + base[2:]


def make_release(root: Path) -> None:
    if (root / "questions.json").exists():
        return
    rnd = random.Random(0)
    attrs = attribute_ids()
    (root / "images" / "test2017").mkdir(parents=True, exist_ok=True)
    names = [f"images/test2017/2017_{10000000 + i:08d}.jpg" for i in range(IMAGES)]
    for name, data in zip(names, jpeg_variants(IMAGES), strict=True):
        (root / name).write_bytes(data)
    scenarios = [f"s{i}_scenario_{i}" for i in range(SCENARIOS)]
    template = "You are working as role number {n}. During your work, you are shown this image. The question is: {{}}"

    def scenario(sid: str) -> dict:
        n = sid.split("_")[0][1:]
        return {"scenario": sid, "2nd_person_template": template.format(n=n), "3rd_person_template": "Someone asks: {}"}

    items = []
    for i in range(ITEMS):
        label = attrs[i % len(attrs)]
        others = rnd.sample([a for a in attrs if a != label], 5)
        other_labels = {a: rnd.randint(0, 1) for a in others}
        np_s, p_s = rnd.sample(scenarios, 2)
        items.append(
            {
                "benchmark_id": f"{i:08d}",
                "label": label,
                "question_item": {
                    "question_id": f"q{i:08d}",
                    "image_path": names[i % IMAGES],
                    "question": f"What can be said about the {label.split('_', 1)[1]} in this image, item {i}?",
                    "gt": f"reference answer {i}",
                },
                "other_labels": other_labels,
                "non_privacy_scenarios": [scenario(np_s)],
                "privacy_scenarios": [scenario(p_s)],
            }
        )
    (root / "questions.json").write_text(json.dumps({"benchmark_list": items}, indent=1))
    (root / "label2text.json").write_text(json.dumps({a: a.split("_", 1)[1].replace("_", " ") for a in attrs}))


def peak_rss_mb() -> float:
    """This process's peak RSS (VmHWM; unlike ru_maxrss it is not inherited across exec)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmHWM in /proc/self/status")


def build_args(root: Path, out: Path, *extra: str) -> list[str]:
    """`spy-bench build` arguments for the synthetic release under `root`, writing to `out`."""
    return [
        "build",
        "--questions",
        str(root / "questions.json"),
        "--label2text",
        str(root / "label2text.json"),
        "--images",
        str(root),
        "--out",
        str(out),
        *extra,
    ]


def child(task: str, root: Path, out: Path) -> dict:
    """One measurement inside this (fresh) process."""
    if task in ("reference", "embedded"):
        from vlmeval_spy.cli import main

        start = time.perf_counter()
        code = main(build_args(root, out / task, *(["--embed-images"] if task == "embedded" else [])))
        assert code == 0
        return {"seconds": time.perf_counter() - start, "peak_rss_mb": peak_rss_mb()}
    if task.startswith("load-"):
        os.environ["LMUData"] = str(out / task.split("-", 1)[1])
        from vlmeval.dataset import build_dataset

        start = time.perf_counter()
        dataset = build_dataset("SPY-Bench")
        dataset.build_prompt(dataset.data.iloc[len(dataset.data) - 1])
        return {"seconds": time.perf_counter() - start, "rows": len(dataset.data), "peak_rss_mb": peak_rss_mb()}
    if task == "metrics":
        from vlmeval_spy.results.metrics import compute_report
        from vlmeval_spy.results.records import read_records, to_judged

        path = out / "records.jsonl"
        records = read_records(path)
        start = time.perf_counter()
        compute_report(to_judged(records, str(path)))
        return {"seconds": time.perf_counter() - start}
    raise ValueError(task)


def write_records(root: Path, out: Path) -> None:
    """32,700 original-format records with random verdicts, for the metrics timing."""
    from vlmeval_spy.bench.expansion import expand
    from vlmeval_spy.bench.release import load_label2text, load_release

    rnd = random.Random(1)
    items = load_release(root / "questions.json", load_label2text(root / "label2text.json"))
    with (out / "records.jsonl").open("w") as fh:
        for s in expand(items):
            scenario = {"scenario": s.scenario.id, "is_privacy": s.scenario_privacy} if s.scenario else None
            fh.write(
                json.dumps(
                    {
                        "benchmark_id": s.item.benchmark_id,
                        "label": s.item.label,
                        "is_privacy": s.is_privacy,
                        "scenario": scenario,
                        "eval_resp": rnd.choice(["respond", "reject", "respond", None]),
                    }
                )
                + "\n"
            )


def run_child(task: str, root: Path, out: Path) -> dict:
    proc = subprocess.run(
        [sys.executable, __file__, "--child", task, "--workdir", str(root.parent)], capture_output=True, text=True
    )
    if proc.returncode:
        raise SystemExit(f"{task} failed:\n{proc.stderr[-3000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def distinct_image_b64_bytes(root: Path) -> int:
    return sum(len(base64.b64encode(p.read_bytes())) for p in (root / "images" / "test2017").iterdir())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workdir", type=Path, default=Path("/tmp/spy_bench_build"))
    parser.add_argument("--child")
    args = parser.parse_args()
    root, out = args.workdir / "release", args.workdir / "out"
    if args.child:
        print(json.dumps(child(args.child, root, out)))
        return
    root.mkdir(parents=True, exist_ok=True)
    out.mkdir(parents=True, exist_ok=True)
    start = time.perf_counter()
    make_release(root)
    print(f"synthetic release ready in {time.perf_counter() - start:.1f} s")
    write_records(root, out)
    figures = {}
    for task in ("reference", "embedded", "load-reference", "load-embedded", "metrics"):
        figures[task] = run_child(task, root, out)
        print(f"{task:15s} {json.dumps(figures[task])}")
    b64 = distinct_image_b64_bytes(root)
    tsv = (out / "embedded" / "SPY-Bench.tsv").stat().st_size
    figures["embedded_tsv_bytes"] = tsv
    figures["distinct_images_base64_bytes"] = b64
    figures["embedded_tsv_over_images_base64"] = tsv / b64
    figures["reference_tsv_bytes"] = (out / "reference" / "SPY-Bench.tsv").stat().st_size
    print(
        f"embedded TSV {tsv / 2**20:.1f} MiB vs distinct images' base64 {b64 / 2**20:.1f} MiB "
        f"({100 * (tsv / b64 - 1):+.1f}%)"
    )
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
