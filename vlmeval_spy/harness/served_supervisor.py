"""Keeps a model server from outliving the process that started it.

`python -m vlmeval_spy.harness.served_supervisor LOG -- COMMAND...` starts COMMAND in its own
process group with its output in LOG, then waits. It stops the whole group (SIGTERM, then
SIGKILL after a grace period) when its standard input reaches end of file, which happens when
the evaluating process closes the pipe or dies in any way, SIGKILL included; and it exits with
the server's code when the server exits first. Standard library only: it starts in milliseconds
and imports neither VLMEvalKit nor torch.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading

GRACE_S = 15.0
"""Seconds a server gets to exit after SIGTERM before its process group is killed."""


def stop_group(proc: subprocess.Popen, grace_s: float = GRACE_S) -> None:
    """SIGTERM the server's process group, SIGKILL whatever is left after `grace_s`."""
    for sig, wait_s in ((signal.SIGTERM, grace_s), (signal.SIGKILL, None)):
        try:
            os.killpg(proc.pid, sig)
        except ProcessLookupError:
            return
        try:
            proc.wait(wait_s)
        except subprocess.TimeoutExpired:
            continue
        if sig == signal.SIGTERM:
            # The leader is gone; workers it left behind in the group go too.
            try:
                os.killpg(proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        return


def main(argv: list[str]) -> int:
    if len(argv) < 3 or argv[1] != "--":
        print("usage: served_supervisor LOG -- COMMAND...", file=sys.stderr)
        return 2
    log_path, command = argv[0], argv[2:]
    with open(log_path, "ab", buffering=0) as log:
        proc = subprocess.Popen(
            command, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
    asked_to_stop = threading.Event()

    def stop(*_: object) -> None:
        asked_to_stop.set()
        stop_group(proc)

    def wait_for_end_of_input() -> None:
        sys.stdin.buffer.read()  # returns at end of file: the parent closed the pipe or died
        stop()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    threading.Thread(target=wait_for_end_of_input, daemon=True).start()
    code = proc.wait()
    if asked_to_stop.is_set():
        return 0
    stop_group(proc, grace_s=0)  # the server died by itself: no worker of it may linger
    return code or 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
