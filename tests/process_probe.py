"""Run as `python -m process_probe ACTION [FILE]` (or `python process_probe.py ...`) by test_warm_runs.py:
prints what a process sees of its start (JSON on the first line of stdout), then ends as ACTION says."""

import atexit
import json
import os
import sys
import threading
import time
from pathlib import Path

from vlmeval_spy.results import attempts

ACTIONS = ("exit-3", "exit-message", "raise", "clean-up", "wait")


def main(action: str, file: str | None) -> None:
    seen = {
        "argv": sys.argv[1:],
        "argv0": Path(sys.argv[0]).name,
        "cwd": os.getcwd(),
        "path": sys.path[:2],
        "probe_env": os.environ.get("PROBE"),
        "run_id_is_this_process": attempts.RUN.split("-")[0] == str(os.getpid()),
    }
    print(json.dumps(seen), flush=True)
    if action == "exit-3":
        sys.exit(3)
    if action == "exit-message":
        sys.exit("stopped: a message")
    if action == "raise":
        raise ValueError("a probe error")
    if action == "clean-up":  # the interpreter waits for this thread, then runs the handler
        late = threading.Thread(target=lambda: (time.sleep(0.3), Path(file).write_text("thread")))
        late.start()
        atexit.register(lambda: Path(file).write_text(Path(file).read_text() + ", atexit"))
        print("buffered, never flushed by the probe", end="")
    if action == "wait":
        Path(file).write_text("ready")
        time.sleep(60)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2] if len(sys.argv) > 2 else None)
