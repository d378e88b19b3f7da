"""`spy-bench`: build datasets, judge and score result files, launch VLMEvalKit runs."""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from .common import exit_status
from .common.errors import Problem, SpyDataError

if TYPE_CHECKING:
    from .results.records import Records


def lmu_data_root() -> Path:
    """VLMEvalKit's data folder: `$LMUData`, else `~/LMUData` (what `LMUDataRoot()` does)."""
    return Path(os.environ.get("LMUData") or Path.home() / "LMUData")


def cmd_metrics(args: argparse.Namespace) -> None:
    from .results.metrics import compute_report
    from .results.records import read_result_records, to_judged

    report = compute_report(to_judged(read_result_records(args.records), str(args.records), args.eval_key))
    _emit_json(report, args.output)


def cmd_judge(args: argparse.Namespace) -> int:
    """Add verdicts to result records; exit status 3 when the judge cannot be used, 4 when it failed on more
    records than its threshold allows (`exit_status`)."""
    from .harness.judging import JudgeUnavailable

    if args.explain:
        _explain(args)
        return exit_status.OK
    missing = [name for name, value in (("RECORDS", args.records), ("-o/--output", args.output)) if not value]
    if missing:
        raise SpyDataError([Problem("spy-bench judge", "required (or --explain)", field=name) for name in missing])
    args.records = Path(args.records)
    try:
        report = _judge_records(args)
    except JudgeUnavailable as err:
        print(f"spy-bench judge: {err}", file=sys.stderr)
        return exit_status.JUDGE_UNAVAILABLE
    if not report["complete"]:
        failed, samples = report["judge exceptions"], report["samples"]
        print(
            f"spy-bench judge: INCOMPLETE: {failed} of {samples} records have no verdict, more than the "
            f"{report['fail threshold']:.1%} allowed; run the same command again to ask only for them",
            file=sys.stderr,
        )
        return exit_status.INCOMPLETE
    return exit_status.OK


def _judge_records(args: argparse.Namespace) -> dict:
    """Judge the records, write them with their verdicts, and return the judge report."""
    from .harness.judging import JudgeTask, judge_predictions, judge_report, select_judge
    from .results.records import read_result_records, record_problems, write_records

    records = read_result_records(args.records)
    problems = record_problems(records)
    problems += [
        Problem(records.file, "missing or not a string", records.where(i), args.response_key)
        for i, rec in enumerate(records)
        if not isinstance(rec.get(args.response_key), str)
    ]
    if problems:
        raise SpyDataError(problems)
    llm = args.judge != "exact_matching"
    # The rule judge reads the attribute from the text or, failing that, the label id itself.
    texts = (
        _attribute_texts(records, args)
        if llm
        else {i: str(r.get("attribute") or r.get("label") or "") for i, r in enumerate(records)}
    )
    tasks = [
        JudgeTask(str(i), texts.get(i, ""), str(rec.get("question", "")), rec[args.response_key])
        for i, rec in enumerate(records)
    ]
    judge = select_judge(_judge_kwargs(args) if llm else {"model": args.judge})
    verdicts = judge_predictions(judge, tasks, str(args.output))
    for task, rec in zip(tasks, records, strict=True):
        verdict = verdicts[task.key]
        rec.update({args.eval_key: verdict.verdict, "judge": verdict.judge, "judge_output": verdict.raw})
    write_records(args.output, records)
    report = judge_report(judge, verdicts)
    print(
        f"judged {len(records)} records with {report['judge']} ({report['calls']} judge calls, "
        f"{report['saved']} saved) -> {args.output}"
    )
    return report


def _explain(args: argparse.Namespace) -> None:
    """`spy-bench judge --explain`: the rule judge's verdict on an answer or a JSON Lines file, and why."""
    from .judge.rule_judge_explain import Case, explain_case, read_cases, summary

    if args.records is None:
        raise SpyDataError(
            [Problem("spy-bench judge --explain", "give an answer or a JSON Lines file", field="RECORDS")]
        )
    source = Path(args.records)
    if source.suffix in (".jsonl", ".json") or source.is_file():
        if args.question or args.label:
            problem = Problem(str(source), "--question and --label go with a single answer; a file has its own fields")
            raise SpyDataError([problem])
        cases = read_cases(source)
    else:
        cases = [Case(args.records, args.question, args.label)]
    agreements = []
    for case in cases:
        text, agrees = explain_case(case)
        agreements.append(agrees)
        print(text, end="\n\n" if len(cases) > 1 else "\n")
    total = summary(agreements)
    if total:
        print(total)


def _judge_kwargs(args: argparse.Namespace) -> dict:
    """Judge arguments shaped like VLMEvalKit's run.py builds them."""
    kwargs = {
        "model": args.judge,
        "nproc": args.nproc,
        "retry": args.retry,
        "timeout": args.timeout,
        **_judge_args(args.judge_args),
    }
    if args.judge_base_url:
        kwargs["api_base"] = f"{args.judge_base_url.rstrip('/')}/chat/completions"
    if args.judge_key:
        kwargs["key"] = args.judge_key
    if args.cache:
        kwargs["spy_cache"] = str(args.cache)
    return kwargs


JUDGE_ARGS_EXAMPLE = """'{"spy_prompt": "prompt.txt"}'"""


def _judge_args(text: str | None) -> dict:
    """`--judge-args`: a JSON object, or a clear error (exit status 2)."""
    try:
        value = json.loads(text) if text else {}
    except json.JSONDecodeError as err:
        where = f"line {err.lineno} column {err.colno}"
        problem = Problem("--judge-args", f"not valid JSON ({err.msg}, {where}); e.g. {JUDGE_ARGS_EXAMPLE}")
        raise SpyDataError([problem]) from None
    if not isinstance(value, dict):
        raise SpyDataError([Problem("--judge-args", f"must be a JSON object, e.g. {JUDGE_ARGS_EXAMPLE}")])
    return value


def _attribute_texts(records: Records, args: argparse.Namespace) -> dict[int, str]:
    """Record number -> attribute text: the record's `attribute`, else `--label2text`; the LLM judge needs both
    the text and the record's `question`."""
    from .bench.release import load_label2text

    mapping = load_label2text(args.label2text) if args.label2text else {}
    texts, problems = {}, []
    for i, rec in enumerate(records):
        text = rec.get("attribute") or mapping.get(str(rec.get("label")))
        if not text:
            problems.append(Problem(records.file, "no attribute text (add --label2text)", records.where(i), "label"))
        if not isinstance(rec.get("question"), str):
            problems.append(Problem(records.file, "missing or not a string", records.where(i), "question"))
        texts[i] = text
    if problems:
        raise SpyDataError(problems)
    return texts


def cmd_judge_agreement(args: argparse.Namespace) -> None:
    from .results.agreement import agreement

    _emit_json(agreement(args.a, args.b, args.eval_key), args.output)


def cmd_export(args: argparse.Namespace) -> None:
    from .results.export import export_records
    from .results.records import write_records

    records = export_records(args.predictions, args.verdicts)
    output = args.output or args.predictions.with_name(args.predictions.stem + "_records.jsonl")
    write_records(output, records)
    judged = "with verdicts" if records and "eval_resp" in records[0] else "without verdicts (no verdicts file)"
    print(f"exported {len(records)} records {judged} -> {output}")


def cmd_leaderboard(args: argparse.Namespace) -> int:
    """Exit status 4 when a row's result is incomplete or its latest attempt failed (the rows say which)."""
    from .results.leaderboard import collect, leaderboard_table, marked_rows, to_markdown, write_leaderboard

    table = leaderboard_table(collect(args.work_dir))
    paths = write_leaderboard(table, args.output or args.work_dir)
    print(to_markdown(table))
    print("wrote " + ", ".join(str(p) for p in paths))
    marked = marked_rows(table)
    for row in marked:
        print(f"spy-bench leaderboard: {row}", file=sys.stderr)
    return exit_status.INCOMPLETE if marked else exit_status.OK


def cmd_view(args: argparse.Namespace) -> int:
    """Serve the results viewer on a loopback port, or write it as one HTML file (`--html`)."""
    from .results.viewer.sample_cache import default_folder

    data_root = args.data_root or lmu_data_root()
    cache = None if args.no_cache else args.cache_dir or default_folder()
    if args.html is None:
        from .results.viewer.serve import serve

        try:
            serve(args.work_dirs, data_root, args.port, cache)
        except KeyboardInterrupt:
            return 128 + signal.SIGINT  # the shell's status for Ctrl-C (README, "Exit status")
        return exit_status.OK
    from .results.viewer.html_export import MAX_SAMPLES, write_html
    from .results.viewer.store import Store

    if not 0 <= args.html_samples <= MAX_SAMPLES:
        raise SpyDataError([Problem("--html-samples", f"must be between 0 and {MAX_SAMPLES}")])
    path = write_html(Store(args.work_dirs, data_root, cache), args.html, args.html_samples)
    print(f"wrote {path}")
    return exit_status.OK


def cmd_build(args: argparse.Namespace) -> None:
    from .bench.build import check_image_paths, check_images, write_datasets
    from .bench.release import InvalidRelease, check_scenarios, load_label2text, load_release, load_scenarios

    label2text = load_label2text(args.label2text) if args.label2text else {}
    try:
        items = load_release(args.questions, label2text)
    except InvalidRelease as err:  # with the images of every item, in the same round
        raise SpyDataError(err.problems + check_image_paths(err.images, args.images, str(args.questions))) from None
    problems = check_images(items, args.images, str(args.questions))
    if args.scenarios:
        problems += check_scenarios(items, load_scenarios(args.scenarios), str(args.questions))
    if problems:
        raise SpyDataError(problems)
    if args.check:
        print(f"{args.questions}: {len(items)} items valid")
        return
    sources = [p for p in (args.questions, args.label2text, args.scenarios) if p]
    report = write_datasets(
        items,
        args.images,
        args.out or lmu_data_root(),
        args.name,
        embed=args.embed_images,
        sources=sources,
        progress=True,
    )
    for path in report.tsv_paths:
        print(f"wrote {path} ({report.samples} samples, {report.images} images)")


def cmd_run(args: argparse.Namespace, rest: list[str]) -> int:
    """Run VLMEvalKit's `run.py` (the wheel's module or a checkout's script, `locate_run_py`) with our
    registrations in place (no `.pth` needed); its exit status."""
    from .harness.registration import register_all
    from .harness.run_command import locate_run_py

    run_py = locate_run_py()
    register_all()
    run_py.run_here(rest)
    return exit_status.recorded()


def _emit_json(data: dict, output: Path | None) -> None:
    from .common.atomic import write_json

    if output:
        write_json(output, data)
        print(f"wrote {output}")
    else:
        json.dump(data, sys.stdout, indent=2)
        print()


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="spy-bench", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("metrics", help="SPY-Bench metrics of original-format result records")
    p.add_argument("records", type=Path, help="JSON Lines (or JSON array) result records")
    p.add_argument("--eval-key", default="eval_resp", help="field holding the verdict (default: eval_resp)")
    p.add_argument("-o", "--output", type=Path, help="write the metrics JSON here instead of stdout")
    p.set_defaults(func=cmd_metrics)

    p = sub.add_parser("judge", help="add verdicts to original-format result records")
    p.add_argument("records", nargs="?", help="result records (JSON Lines); with --explain, an answer or a JSONL file")
    p.add_argument(
        "--explain",
        action="store_true",
        help="print the rule judge's verdict and the clause that decided it, for an answer or each line of a "
        "JSONL file (fields answer or response, question, attribute or label)",
    )
    p.add_argument("--question", help="with --explain and an answer: the item's question")
    p.add_argument("--label", help="with --explain and an answer: the attribute label id or text, e.g. a25_nationality")
    p.add_argument(
        "--judge",
        default="exact_matching",
        help="exact_matching (the offline rule judge) or an LLM judge model, e.g. gpt-4o (docs/judge.md)",
    )
    p.add_argument(
        "--judge-base-url", help="OpenAI-compatible server, e.g. http://127.0.0.1:8000/v1 (default: OPENAI_API_BASE)"
    )
    p.add_argument("--judge-key", help="API key (default: OPENAI_API_KEY)")
    p.add_argument("--judge-args", help='extra judge arguments as JSON, e.g. \'{"spy_prompt": "prompt.txt"}\'')
    p.add_argument("--nproc", type=int, default=4, help="concurrent judge calls (default: 4)")
    p.add_argument("--retry", type=int, default=6, help="tries per judgment (default: 6)")
    p.add_argument("--timeout", type=int, default=600, help="seconds per judge call (default: 600)")
    p.add_argument("--cache", type=Path, help="judge cache file (default: spy_judge_cache.sqlite beside the output)")
    p.add_argument("--label2text", type=Path, help="label2text.json, for records without an 'attribute' field")
    p.add_argument("--response-key", default="response", help="field holding the model answer")
    p.add_argument("--eval-key", default="eval_resp", help="field the verdict is written to")
    p.add_argument("-o", "--output", type=Path, help="where the judged records go (required without --explain)")
    p.set_defaults(func=cmd_judge)

    p = sub.add_parser("judge-agreement", help="agreement and Cohen's kappa between two judges' verdicts")
    p.add_argument("a", type=Path, help="records judged by judge A (original format)")
    p.add_argument("b", type=Path, help="the same records judged by judge B")
    p.add_argument("--eval-key", default="eval_resp", help="field holding the verdict (default: eval_resp)")
    p.add_argument("-o", "--output", type=Path, help="write the agreement JSON here instead of stdout")
    p.set_defaults(func=cmd_judge_agreement)

    p = sub.add_parser("export", help="a VLMEvalKit SPY-Bench result as original-format records")
    p.add_argument("predictions", type=Path, help="the run's prediction file, e.g. WORK_DIR/M/M_SPY-Bench.xlsx")
    p.add_argument(
        "--verdicts", type=Path, help="verdicts file (default: the prediction file's _verdicts.jsonl, if any)"
    )
    p.add_argument("-o", "--output", type=Path, help="output JSON Lines (default: <prediction file>_records.jsonl)")
    p.set_defaults(func=cmd_export)

    p = sub.add_parser("leaderboard", help="privacy, general and overall scores of every model in a work dir")
    p.add_argument("work_dir", type=Path, help="VLMEvalKit --work-dir (either layout)")
    p.add_argument("-o", "--output", type=Path, help="folder for leaderboard.{md,csv,png} (default: WORK_DIR)")
    p.set_defaults(func=cmd_leaderboard)

    p = sub.add_parser("view", help="browse the results of work dirs in a local web viewer (or write it as HTML)")
    p.add_argument("work_dirs", type=Path, nargs="+", metavar="WORK_DIR", help="VLMEvalKit --work-dir (either layout)")
    p.add_argument("--port", type=int, default=8765, help="loopback port to serve on (default: 8765; 0: any free port)")
    p.add_argument(
        "--data-root", type=Path, help="folder of the datasets' TSVs, for prompts and images (default: $LMUData)"
    )
    p.add_argument(
        "--cache-dir",
        type=Path,
        help="where parsed samples are kept between starts (default: $XDG_CACHE_HOME/spy-bench/viewer)",
    )
    p.add_argument("--no-cache", action="store_true", help="read every verdicts file, keep nothing")
    p.add_argument("--html", type=Path, help="write one self-contained HTML file here instead of serving")
    p.add_argument(
        "--html-samples", type=int, default=0, help="with --html: samples per result to embed, wrong verdicts first"
    )
    p.set_defaults(func=cmd_view)

    p = sub.add_parser("build", help="write SPY-Bench TSVs for VLMEvalKit from a release")
    p.add_argument("--questions", type=Path, required=True, help="the release's questions.json")
    p.add_argument("--label2text", type=Path, help="label2text.json (optional if every item has its own)")
    p.add_argument("--scenarios", type=Path, help="scenarios.json, to check the items' scenarios against it")
    p.add_argument("--images", type=Path, required=True, help="image root (image_path is relative to it)")
    p.add_argument("--out", type=Path, help="output folder (default: $LMUData)")
    p.add_argument("--name", default="SPY-Bench", help="dataset name; '-ND' is added for the other setting")
    p.add_argument("--embed-images", action="store_true", help="embed images as base64 (portable TSV)")
    p.add_argument("--check", action="store_true", help="only validate the inputs")
    p.set_defaults(func=cmd_build)

    p = sub.add_parser(
        "run",
        help="VLMEvalKit's run.py (python -m vlmeval.run, or a checkout's run.py; $SPY_RUN_PY names another) "
        "with SPY-Bench registered",
        add_help=False,
    )
    p.set_defaults(func=cmd_run)

    from .models.cli import add_models_parser

    add_models_parser(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser()
    if argv[:1] == ["run"]:
        try:
            return cmd_run(argparse.Namespace(), argv[1:])
        except SpyDataError as err:
            print(f"spy-bench run: {err}", file=sys.stderr)
            return exit_status.BAD_INPUT
    args = parser.parse_args(argv)
    try:
        return args.func(args) or exit_status.OK
    except SpyDataError as err:
        print(f"spy-bench {args.command}: {err}", file=sys.stderr)
        return exit_status.BAD_INPUT
    except KeyboardInterrupt:
        print(f"spy-bench {args.command}: interrupted (Ctrl-C); nothing was written", file=sys.stderr)
        return exit_status.INTERRUPTED


if __name__ == "__main__":
    sys.exit(main())
