"""`spy-bench view WORK_DIR --html report.html`: the viewer as one self-contained file, for sharing.

The page, its style and script are inlined, and the answers the server would give are embedded as
JSON: the leaderboard, the attribute heatmap for every headline metric, the scenario heatmap for
every scenario metric and, when asked for, up to N samples of each result (wrong verdicts first),
with their prompts, answers and the judge's reasons. Images are not embedded; the comparison of
two models needs the server.
"""

from __future__ import annotations

import json
from pathlib import Path

from ...common.atomic import write_text
from ..metrics import HEADLINE_KEYS
from ..report import SCENARIO_KEYS
from . import query
from .app import STATIC, meta
from .store import Store

MAX_SAMPLES = 2000
"""Samples per result a static export may hold: beyond that the file is better served than shared."""


def chosen_samples(store: Store, per_result: int) -> list[int]:
    """Up to `per_result` sample ids of each result: wrong verdicts first, then in file order."""
    frame = store.samples
    if per_result <= 0 or frame.empty:
        return []
    ordered = frame.assign(right=frame["correct"] != 0).sort_values(["run", "right", "id"], kind="stable")
    return ordered.groupby("run", sort=False).head(per_result)["id"].sort_values().tolist()


def export_data(store: Store, per_result: int) -> dict:
    return {
        "meta": meta(store),
        "leaderboard": query.leaderboard(store),
        "heatmap": {metric: query.heatmap(store, metric) for metric in HEADLINE_KEYS},
        "scenarios": {metric: query.scenarios(store, metric) for metric in SCENARIO_KEYS},
        "samples": [query.sample_detail(store, i) for i in chosen_samples(store, per_result)],
    }


def _script(data: dict) -> str:
    # `</` would end the script element early; JSON allows `<\/` for it.
    return json.dumps(data, ensure_ascii=False).replace("</", "<\\/")


def write_html(store: Store, path: Path, per_result: int = 0) -> Path:
    """Write the self-contained page to `path` (atomically)."""
    page = (STATIC / "index.html").read_text(encoding="utf-8")
    css = (STATIC / "viewer.css").read_text(encoding="utf-8")
    js = (STATIC / "viewer.js").read_text(encoding="utf-8").replace("</", "<\\/")
    page = page.replace('<link rel="stylesheet" href="static/viewer.css">', f"<style>\n{css}</style>")
    data = f"<script>window.SPY_DATA = {_script(export_data(store, per_result))};</script>\n<script>\n{js}</script>"
    page = page.replace('<script src="static/viewer.js"></script>', data)
    write_text(path, page)
    return path
