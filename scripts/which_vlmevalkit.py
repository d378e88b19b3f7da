"""Print which VLMEvalKit this environment has (kind, version or path and commit, how run.py starts),
and whether SPY-Bench's tests passed on it before: the first lines of every test run say what it tests.

    python scripts/which_vlmevalkit.py
"""

from __future__ import annotations

from vlmeval_spy.harness.tested_vlmeval import describe, untested_vlmeval

if __name__ == "__main__":
    print(describe())
    untested = untested_vlmeval()
    print(f"  not a tested VLMEvalKit: {untested}" if untested else "  a tested VLMEvalKit (tested_vlmeval.py)")
