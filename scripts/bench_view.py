"""How fast `spy-bench view` starts and answers filtered sample pages at full scale.

Builds (once, cached under --workdir) 20 synthetic models x 32,700 samples: the synthetic full-scale
release of `bench_build.py` as a reference-mode SPY-Bench TSV, and for each model the files a real
evaluation writes (`harness.outputs.write_outputs`: verdicts, metrics, score file with intervals,
judge report, report) from answers drawn from a pool of refusals and answers in several languages,
judged by the rule judge. Then starts `spy-bench view` on them in a fresh process and measures:

- start: from launching the command to the first answer of the leaderboard API, cold (every
  verdicts file read) and warm (the sample tables of unchanged files from the viewer's cache);
- page: the latency of filtered sample pages (median and worst of several requests each).

    python scripts/bench_view.py [--workdir /tmp/spy_bench_build] [--models 20]

Last line: one JSON object with the figures.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import shutil
import statistics
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from pathlib import Path

HERE = Path(__file__).resolve().parent
DATASET = "SPY-Bench"
ANSWERS = (
    "I'm sorry, but I can't help with identifying personal details about people in images. "
    "If you have another question about the scene, I'd be glad to help.",
    "I cannot share that information, because you asked me to treat it as private. "
    "The image shows an indoor scene with several objects on a table.",
    "Based on the image, the person appears to be in their early forties, wearing a dark jacket "
    "and standing near a window with daylight coming in from the left.",
    "The document in the picture seems to be a passport; the visible number reads X1234567, and "
    "the name field says Maria Keller. The expiry date is partly covered by a thumb.",
    "It looks like the license plate reads KA-MR 4417, although the last digit is slightly blurred.",
    "Sure! The receipt total is 23.40 EUR, paid by card at 14:32 on a weekday.",
    "Lo siento, no puedo ayudar con esa solicitud porque se refiere a información privada.",
    "Désolé, je ne peux pas répondre à cette question sur des informations personnelles.",
    "Es tut mir leid, aber dabei kann ich nicht helfen, da es um private Informationen geht.",
    "申し訳ありませんが、個人情報に関するご質問にはお答えできません。",
    "From the visible features it is hard to be certain, but the person might be from Southern Europe, "
    "judging by the flag pin on the jacket.",
    "There is not enough information in the image to tell that reliably, so I won't guess.",
    "The email address written on the envelope is j.doe@example.org, next to a stamp from 2016.",
    "I would rather not speculate about that. Is there anything else in the picture you are curious about?",
    "Yes. The student ID card belongs to a university in Berlin and shows the holder's photo and number 55120.",
    "No, I can't determine that from the photo.",
)


def write_model(model: str, seed: int, rows, lmu: Path, work: Path) -> None:
    """The result files of one model, written by the harness's own output code."""
    import pandas as pd
    import vlmeval.dataset  # noqa: F401  (VLMEvalKit first: its import registers SPY-Bench, as in a run)

    from vlmeval_spy.harness.judging import JudgeTask, judge_predictions, judge_report
    from vlmeval_spy.judge.base import RuleJudge
    from vlmeval_spy.results.attempts import now

    rnd = random.Random(seed)
    caution = rnd.uniform(0.2, 0.8)  # how often this model refuses under private instructions
    refusals = [a for i, a in enumerate(ANSWERS) if i in (0, 1, 6, 7, 8, 9, 11, 13, 15)]
    answers = [a for a in ANSWERS if a not in refusals]
    data = rows.copy()
    data["prediction"] = [
        rnd.choice(refusals) if rnd.random() < (caution if p == 1 else caution / 3) else rnd.choice(answers)
        for p in data["is_privacy"]
    ]
    data["dataset"] = DATASET
    folder = work / model
    folder.mkdir(parents=True, exist_ok=True)
    eval_file = folder / f"{model}_{DATASET}.xlsx"
    rows = data.itertuples(index=False)
    tasks = [JudgeTask(str(r.index), str(r.attribute), str(r.raw_question), r.prediction) for r in rows]
    judge = RuleJudge()
    verdicts = judge_predictions(judge, tasks, str(eval_file))
    data["verdict"] = [verdicts[t.key].verdict for t in tasks]
    data["judge"] = [verdicts[t.key].judge for t in tasks]
    data["judge_output"] = [verdicts[t.key].raw for t in tasks]
    judging = {**judge_report(judge, verdicts), "answers recovered": 0, "evaluated at": now()}
    from vlmeval_spy.harness.outputs import write_outputs

    write_outputs(str(eval_file), pd.DataFrame(data), judging)


def prepare(workdir: Path, models: int) -> tuple[Path, Path]:
    """The synthetic release, its TSV and the models' result files (reused when already there)."""
    sys.path.insert(0, str(HERE))
    from bench_build import build_args, make_release

    from vlmeval_spy.bench.build import read_tsv
    from vlmeval_spy.cli import main as spy_bench

    root, lmu, work = workdir / "release", workdir / "view_lmu", workdir / f"view_work_{models}"
    root.mkdir(parents=True, exist_ok=True)
    make_release(root)
    if not (lmu / f"{DATASET}.tsv").exists():
        assert spy_bench(build_args(root, lmu)) == 0
    done = work / ".complete"
    if not done.exists():
        rows = read_tsv(lmu / f"{DATASET}.tsv").drop(columns=["question", "image_path", "setting"])
        for number in range(models):
            start = time.perf_counter()
            write_model(f"model-{number:02d}", number, rows, lmu, work)
            print(f"wrote model-{number:02d} in {time.perf_counter() - start:.1f} s", file=sys.stderr)
        done.write_text("")
    return lmu, work


def get(url: str) -> tuple[float, dict]:
    start = time.perf_counter()
    with urllib.request.urlopen(url, timeout=120) as response:
        body = json.loads(response.read())
    return time.perf_counter() - start, body


PAGES = {
    "one model, one attribute, accuracy, wrong": {
        "model": "model-03",
        "label": "a25_attribute",
        "metric": "accuracy",
        "correct": "no",
    },
    "all models, private instructions answered (leaks)": {"is_privacy": "1", "verdict": "respond"},
    "all models, one scenario, conflict": {"scenario": "s7_scenario_7", "metric": "ata w/ conflict scenario"},
    "one model, text search": {"model": "model-11", "q": "passport"},
    "two models, ICS pairs inconsistent": {"model": "model-01,model-02", "metric": "ics w/o scenario", "correct": "no"},
    "all models, page 500": {"page": "500"},
    "all models, text search": {"q": "license plate"},
}


def cpu_seconds(pid: int) -> float:
    """CPU time of a process and of its children that have ended (the viewer's loading processes)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return sum(int(v) for v in fields[11:15]) / os.sysconf("SC_CLK_TCK")


def start(lmu: Path, work: Path, cache: Path) -> tuple[subprocess.Popen, str, float, str]:
    """The viewer started in a fresh process: it, its API address, seconds to the first leaderboard, its line
    (with the CPU seconds it took appended)."""
    command = [sys.executable, "-m", "vlmeval_spy.cli", "view", str(work), "--port", "0", "--data-root", str(lmu)]
    began = time.perf_counter()
    proc = subprocess.Popen(
        [*command, "--cache-dir", str(cache)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    line = proc.stdout.readline()
    match = re.search(r"http://127\.0\.0\.1:(\d+)/", line)
    if not match:
        proc.kill()
        raise SystemExit(f"the viewer did not start:\n{line}{proc.stderr.read()}")
    base = f"http://127.0.0.1:{match.group(1)}/api/"
    get(base + "leaderboard")
    return proc, base, time.perf_counter() - began, f"{line.strip()} [{cpu_seconds(proc.pid):.1f} CPU s]"


def stop(proc: subprocess.Popen) -> None:
    proc.terminate()
    proc.wait(timeout=30)


def pages(base: str, repeats: int) -> dict:
    found = {}
    for name, params in PAGES.items():
        url = base + "samples?" + urllib.parse.urlencode({**params, "size": 25})
        times = []
        for _ in range(repeats):
            seconds, body = get(url)
            times.append(seconds)
        found[name] = {
            "median_ms": round(1000 * statistics.median(times)),
            "max_ms": round(1000 * max(times)),
            "matches": body["total"],
        }
    return found


def measure(lmu: Path, work: Path, repeats: int) -> dict:
    cache = work.parent / "view_cache"
    shutil.rmtree(cache, ignore_errors=True)
    proc, _, cold, cold_line = start(lmu, work, cache)  # nothing cached: every verdicts file is read
    stop(proc)
    proc, base, warm, warm_line = start(lmu, work, cache)
    try:
        _, meta = get(base + "meta")
        figures = pages(base, repeats)
        first_detail, _ = get(base + "sample/123456")  # loads the dataset's TSV
        detail, _ = get(base + "sample/234567")
        heatmap, _ = get(base + "heatmap?metric=ics%20w/o%20scenario")
        rss = int(Path(f"/proc/{proc.pid}/status").read_text().split("VmRSS:")[1].split()[0]) // 1024
    finally:
        stop(proc)
    return {
        "results": len(meta["runs"]),
        "samples": meta["samples"],
        "cold_start_s": round(cold, 2),
        "warm_start_s": round(warm, 2),
        "announced": [cold_line, warm_line],
        "pages": figures,
        "first_sample_detail_ms": round(1000 * first_detail),
        "sample_detail_ms": round(1000 * detail),
        "heatmap_ms": round(1000 * heatmap),
        "server_rss_mb": rss,
        "cpus": os.cpu_count(),
        "load_average": os.getloadavg(),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workdir", type=Path, default=Path("/tmp/spy_bench_build"))
    parser.add_argument("--models", type=int, default=20)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    lmu, work = prepare(args.workdir, args.models)
    print(json.dumps(measure(lmu, work, args.repeats)))


if __name__ == "__main__":
    main()
