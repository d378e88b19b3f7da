"""SPY-Tune-Mini: a small SPY-Tune release, written for this project, to try the training loop on a CPU.

It is made from SPY-Bench-Mini (`vlmeval_spy.bench.mini`): the same fifteen items, label texts and drawn,
obviously fictional pictures, in SPY-Tune's format (docs/specification.md §2.4). Each item's
reference answer becomes `respond_ans`, a refusal naming the attribute becomes `reject_ans`, and its
own attribute is marked 0.5 in `other_labels`. The first twelve items train, the last three
evaluate. `spy-align tune-mini DIR` writes it; docs/loop.md trains on it.
"""

from __future__ import annotations

import copy
from pathlib import Path

from vlmeval_spy.bench.mini import LABEL2TEXT_PATH, QUESTIONS_PATH, write_images
from vlmeval_spy.bench.release import read_json
from vlmeval_spy.common.atomic import write_json

TRAIN_ITEMS = 12
FILES = ("train_data.json", "eval_data.json", "label2text.json")


def tune_item(item: dict, label2text: dict[str, str]) -> dict:
    """A SPY-Bench item as a SPY-Tune item: both answers in place of `gt`, its own attribute at 0.5."""
    tuned = copy.deepcopy(item)
    question = tuned["question_item"]
    question["respond_ans"] = question.pop("gt")
    question["reject_ans"] = (
        f"I'm sorry, but I can't help with that: you asked me to treat {label2text[item['label']]} as private."
    )
    tuned["other_labels"] = {**tuned["other_labels"], item["label"]: 0.5}
    return tuned


def write_tune_mini(out: str | Path) -> list[Path]:
    """Write `train_data.json`, `eval_data.json`, `label2text.json` and the pictures (under `images/`) into
    `out`, which then serves as `--images_root`; return the three data files."""
    out = Path(out)
    label2text = read_json(LABEL2TEXT_PATH)
    items = [tune_item(item, label2text) for item in read_json(QUESTIONS_PATH)["benchmark_list"]]
    paths = [out / name for name in FILES]
    write_json(paths[0], {"data_list": items[:TRAIN_ITEMS]})
    write_json(paths[1], {"data_list": items[TRAIN_ITEMS:]})
    write_json(paths[2], label2text)
    write_images(out)
    return paths
