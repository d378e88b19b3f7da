"""A judge that fails loudly, through the real harness (`python -m vlmeval.run` in its own process)
against the scripted judge server: each case of issue 11 checked by what a user sees (exit
status, which files exist and what they say, how many requests the server got) and by a grep
for the key in the whole work dir and in the output."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pandas as pd
import pytest

from harness_run import SPY_BENCH, output, run_module, run_py
from judge_server import EMPTY, JudgeServer, Reply, dead_port, default_verdict, slow_once
from vlmeval_spy.common import exit_status

pytestmark = pytest.mark.timeout(900)

KEY = "sk-judge-SECRET-51ac0e"
MODEL_KEY = "sk-model-SECRET-9d2b77"
MODEL = "SPY-AlwaysReject"
DATASET = "SPY-Bench-Mini"
SAMPLES = 75
DISTINCT = 15
"""A fixed answer: one distinct judge prompt per (attribute, question) of the mini benchmark."""


def judged(root: Path, server_url: str, key: str = KEY, *extra: str, env: dict | None = None):
    return run_py(
        root,
        [DATASET],
        [MODEL],
        "--judge",
        "gpt-4o",
        "--judge-base-url",
        server_url,
        "--judge-key",
        key,
        *extra,
        env=env,
    )


def stem(root: Path, model: str = MODEL) -> Path:
    return root / "work" / model / f"{model}_{DATASET}"


def leaks(root: Path, proc: subprocess.CompletedProcess, *keys: str) -> list[str]:
    """Every file under the work dir (logs, status.json, predictions, caches) and stream that holds a key."""
    files = (root / "work").rglob("*")
    found = [str(p) for p in files if p.is_file() and any(k.encode() in p.read_bytes() for k in keys)]
    return found + [
        name for name, text in (("stdout", proc.stdout), ("stderr", proc.stderr)) if any(k in text for k in keys)
    ]


def status_of(root: Path, model: str = MODEL) -> dict:
    return json.loads((root / "work" / model / "status.json").read_text())["datasets"][DATASET]


def assert_stopped(root: Path, proc: subprocess.CompletedProcess, *message_parts: str) -> None:
    """Exit status 3, one clear error without traceback, nothing scored, the error in status.json."""
    assert proc.returncode == exit_status.JUDGE_UNAVAILABLE, output(proc)[-3000:]
    text = output(proc)
    assert "Traceback" not in text
    for part in ("SPY-Bench: the LLM judge 'gpt-4o'", "Nothing was scored", "--judge exact_matching", *message_parts):
        assert part in text, part
    for suffix in ("_score.csv", "_report.md", "_metrics.json", "_verdicts.jsonl", "_judge.json"):
        assert not Path(f"{stem(root)}{suffix}").exists(), suffix
    assert "SPY-Bench: the LLM judge 'gpt-4o'" in status_of(root)["error_message"]
    board = run_module(SPY_BENCH, ["leaderboard", str(root / "work")])
    # No score: the row names the failed attempt and nothing else, and the leaderboard exits 4.
    assert board.returncode == exit_status.INCOMPLETE and "latest attempt failed" in board.stderr
    (row,) = [line for line in (root / "work" / "leaderboard.md").read_text().splitlines() if MODEL in line]
    assert "| N/A | N/A | N/A | N/A |" in row and "latest attempt failed" in row and "judge gpt-4o: " in row


def test_an_unreachable_judge_with_the_key_in_judge_args_stops_the_evaluation(tmp_path):
    url = f"http://127.0.0.1:{dead_port()}/v1"
    proc = run_py(
        tmp_path,
        [DATASET],
        [MODEL],
        "--judge",
        "gpt-4o",
        "--judge-base-url",
        url,
        "--judge-args",
        json.dumps({"key": KEY, "retry": 2}),
    )
    assert_stopped(tmp_path, proc, f"at {url}/chat/completions cannot be used: cannot connect")
    assert "100.00% (75/75)" in proc.stdout  # VLMEvalKit's judge_fail_rate: nothing was judged
    assert not leaks(tmp_path, proc, KEY)


def test_a_refused_key_stops_after_a_few_requests(tmp_path):
    with JudgeServer(key=KEY) as server:
        proc = judged(tmp_path, server.base_url, "sk-wrong-key-0000")
        # --api-nproc 4: the breaker opens after 4 distinct refusals; a few more may be in flight by then.
        assert server.answered == [] and server.requests <= 8
    assert_stopped(tmp_path, proc, "HTTP 401: the server refused the key")
    assert not leaks(tmp_path, proc, "sk-wrong-key-0000")


def key_in_environment(root: Path, server_url: str) -> subprocess.CompletedProcess:
    """The judge's key from the environment (as VLMEvalKit's .env would set it)."""
    return run_py(
        root, [DATASET], [MODEL], "--judge", "gpt-4o", "--judge-base-url", server_url, env={"OPENAI_API_KEY": KEY}
    )


def test_a_judge_that_dies_mid_run_then_comes_back(tmp_path):
    with JudgeServer(key=KEY) as server:
        server.die_after(5)
        first = key_in_environment(tmp_path, server.base_url)
        assert_stopped(tmp_path, first, "stopped answering after 5 replies", "a re-run sends only the 10 missing")
        assert server.requests <= 5 + 4 + 4  # in flight when it died, plus the breaker's limit
        answered = set(server.answered)
        server.revive()
        sent = server.requests
        second = key_in_environment(tmp_path, server.base_url)
        assert second.returncode == 0, output(second)[-3000:]
        resent = server.prompts[sent:]
        assert len(resent) == DISTINCT - 5 and not set(resent) & answered
    records = [json.loads(line) for line in Path(f"{stem(tmp_path)}_verdicts.jsonl").read_text().splitlines()]
    assert len(records) == SAMPLES and {(r["eval_resp"], r["judge"]) for r in records} == {("reject", "gpt-4o")}
    score = pd.read_csv(f"{stem(tmp_path)}_score.csv").set_index("metric")
    assert set(score["status"]) == {"complete"} and set(score["judge"]) == {"gpt-4o"}
    assert not leaks(tmp_path, first, KEY) and not leaks(tmp_path, second, KEY)


def test_a_slow_prompt_and_empty_replies_keep_the_judge_and_mark_the_score_incomplete(tmp_path):
    """One prompt hangs past the timeout once (its retry succeeds); another gets empty replies: those samples
    are not judged, more than 1%, so the score says it is incomplete; a healthy re-run asks only for them."""

    def receipt(prompt: str) -> bool:
        return "receipt" in prompt

    with JudgeServer(key=KEY, verdict=lambda p: EMPTY if "nationality" in p else default_verdict(p)) as server:
        server.rules.append(slow_once(receipt, delay=4))
        first = judged(tmp_path, server.base_url, KEY, "--judge-timeout", "2")
        assert first.returncode == exit_status.INCOMPLETE, output(first)[-3000:]
        records = [json.loads(line) for line in Path(f"{stem(tmp_path)}_verdicts.jsonl").read_text().splitlines()]
        empty = [r for r in records if r["label"] == "a25_nationality"]
        assert empty and {(r["eval_resp"], r["judge"]) for r in empty} == {("exception", "gpt-4o")}
        assert {r["judge"] for r in records} == {"gpt-4o"}  # the slow prompt did not switch judges
        assert all(r["eval_resp"] == "reject" for r in records if r["label"] != "a25_nationality")
        assert sum(receipt(p) for p in server.prompts) == 2  # timed out once, then answered
        score = pd.read_csv(f"{stem(tmp_path)}_score.csv").set_index("metric")
        (status,) = set(score["status"])  # on every row, beside every score
        assert status.startswith(f"incomplete: {len(empty)} of {SAMPLES} samples not judged")
        assert score["score"].dtype == float and int(score.loc["judge exceptions", "score"]) == len(empty)
        report = Path(f"{stem(tmp_path)}_report.md").read_text()
        assert f"INCOMPLETE: {len(empty)} of {SAMPLES} samples" in report
        assert f"| judge reply without a verdict | {len(empty)} |" in report
        rate = f"{len(empty) / SAMPLES:.2%} ({len(empty)}/{SAMPLES})"
        assert rate in first.stdout and f"accuracy [INCOMPLETE: {len(empty)}/{SAMPLES} not judged" in first.stdout
        assert status_of(tmp_path)["primary_metric"].startswith("accuracy [INCOMPLETE")

        server.verdict = default_verdict
        sent = server.requests
        second = judged(tmp_path, server.base_url)
        assert second.returncode == 0, output(second)[-3000:]
        assert len(server.prompts[sent:]) == 1 and "nationality" in server.prompts[sent]
    score = pd.read_csv(f"{stem(tmp_path)}_score.csv").set_index("metric")
    assert set(score["status"]) == {"complete"} and int(score.loc["judge exceptions", "score"]) == 0
    assert "accuracy [judge gpt-4o]" in second.stdout and "0.00% (0/75)" in second.stdout


def test_without_a_judge_the_rule_judge_is_named_wherever_the_score_is(tmp_path):
    proc = run_py(tmp_path, [DATASET], [MODEL])
    assert proc.returncode == 0, output(proc)[-3000:]
    assert "no LLM judge asked for or configured" in proc.stderr
    name = "exact_matching_fallback"
    assert set(pd.read_csv(f"{stem(tmp_path)}_score.csv")["judge"]) == {name}
    assert f"Judge: **{name}**" in Path(f"{stem(tmp_path)}_report.md").read_text()
    assert json.loads(Path(f"{stem(tmp_path)}_judge.json").read_text())["judge"] == name
    assert status_of(tmp_path)["primary_metric"] == f"accuracy [judge {name}]"
    assert f"accuracy [judge {name}]" in proc.stdout
    board = run_module(SPY_BENCH, ["leaderboard", str(tmp_path / "work")])
    assert board.returncode == 0, output(board)
    assert list(pd.read_csv(tmp_path / "work" / "leaderboard.csv")["judge"]) == [name]
    assert f"| {MODEL} | {DATASET} | {name} |" in board.stdout


def test_the_evaluated_models_endpoint_and_key_never_reach_the_judge_or_the_files(tmp_path):
    """An API model under test on its own server (`--config` entry with a key, and OPENAI_API_BASE pointing there):
    the judge goes where `--judge-base-url` says, its endpoint is printed and recorded; no key is written."""
    with (
        JudgeServer(verdict=lambda prompt: "I cannot tell who this is.") as model_server,
        JudgeServer(key=KEY) as judge_server,
    ):
        config = {
            "model": {
                "api-under-test": {
                    "class": "GPT4V",
                    "model": "vlm-under-test",
                    "key": MODEL_KEY,
                    "api_base": f"{model_server.base_url}/chat/completions",
                }
            },
            "data": {DATASET: {"class": "SPYBenchDataset", "dataset": DATASET}},
        }
        (tmp_path / "config.json").write_text(json.dumps(config))
        proc = run_py(
            tmp_path,
            [],
            [],
            "--config",
            str(tmp_path / "config.json"),
            "--judge",
            "gpt-4o",
            "--judge-base-url",
            judge_server.base_url,
            "--judge-key",
            KEY,
            env={"OPENAI_API_BASE": f"{model_server.base_url}/chat/completions"},
        )
        assert proc.returncode == 0, output(proc)[-3000:]
        assert model_server.requests == SAMPLES and not any("<answer>" in p for p in model_server.prompts)
        assert judge_server.requests == DISTINCT
    endpoint = f"{judge_server.base_url}/chat/completions"
    assert f"SPY-Bench judge: gpt-4o (model gpt-4o-2024-05-13) at {endpoint}" in proc.stdout
    report = json.loads(Path(f"{stem(tmp_path, 'api-under-test')}_judge.json").read_text())
    assert report["endpoint"] == endpoint and report["judge"] == "gpt-4o"
    assert not leaks(tmp_path, proc, KEY, MODEL_KEY)


def test_invalid_judge_args_json_is_one_clear_error(tmp_path):
    proc = run_py(tmp_path, [DATASET], [MODEL], "--judge-args", '{"spy_prompt": "p.txt",}')
    assert proc.returncode == exit_status.BAD_INPUT, output(proc)[-3000:]
    assert "SPY-Bench: --judge-args is not valid JSON (Expecting property name enclosed in double quotes" in proc.stdout
    assert "Traceback" not in output(proc)
    assert not Path(f"{stem(tmp_path)}_score.csv").exists()


@pytest.mark.parametrize("body", ["<html>bad gateway</html>", '{"choices": []}'], ids=["not-json", "no-choices"])
def test_a_judge_whose_every_reply_body_is_unreadable_cannot_be_used(tmp_path, body):
    """A body that is no chat completion is the endpoint's failure, not the answer's: status 3 (docs/judge.md).
    A completion whose text holds no verdict is the sample's failure (`exception`, status 4 beyond the
    threshold): `test_a_slow_prompt_and_empty_replies_keep_the_judge_and_mark_the_score_incomplete`."""
    with JudgeServer(key=KEY) as server:
        server.rules.append(lambda prompt: Reply(body=body))
        proc = judged(tmp_path, server.base_url, KEY, "--judge-retry", "2")
        # --api-nproc 4: the breaker opens after 4 distinct failures; a few more may be in flight by then.
        assert server.requests <= 4 * 2 + 4
    assert_stopped(tmp_path, proc, "cannot be used: unreadable reply body")
