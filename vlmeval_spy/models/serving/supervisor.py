"""Keeps a model server from outliving the process that started it.

`python -m vlmeval_spy.models.serving.supervisor LOG -- COMMAND...` starts COMMAND in its own
process group with its output in LOG, then waits. It stops the whole group (SIGTERM, then
SIGKILL after a grace period) when its standard input reaches end of file, which happens when
the evaluating process closes the pipe or dies in any way, SIGKILL included, and on SIGTERM or
SIGINT; it then exits with 0. When the server exits first, it says how in LOG and on its
standard error ("server killed by signal 9 (SIGKILL)") and exits with the server's code, or
128 + N for a server killed by signal N (as shells do). Standard library only: it starts in
milliseconds and imports neither VLMEvalKit nor torch.

Everything runs on the main thread: a daemon thread blocked on standard input made the
interpreter abort at exit ("Fatal Python error: _enter_buffered_busy"), which turned every
server death into the supervisor's own SIGABRT.
"""

from __future__ import annotations

import os
import select
import signal
import subprocess
import sys

GRACE_S = 15.0
"""Seconds a server gets to exit after SIGTERM before its process group is killed."""
POLL_S = 0.2
"""How often the server is checked while standard input stays open."""


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


def describe_exit(returncode: int) -> str:
    """`Popen.returncode` in words: "exited with code N" or "killed by signal N (NAME)"."""
    if returncode >= 0:
        return f"exited with code {returncode}"
    try:
        name = signal.Signals(-returncode).name
    except ValueError:
        name = "unknown signal"
    return f"killed by signal {-returncode} ({name})"


def exit_status(returncode: int) -> int:
    """The supervisor's exit status for a server that exited by itself: never 0, 128 + N for signal N."""
    return 128 - returncode if returncode < 0 else returncode or 1


def wait_for_stop_or_exit(proc: subprocess.Popen, stop_requested: list[bool]) -> bool:
    """Wait until standard input ends, a stop signal comes, or the server exits; True if asked to stop."""
    stdin = sys.stdin.fileno()
    while not stop_requested:
        if proc.poll() is not None:
            return False
        ready, _, _ = select.select([stdin], [], [], POLL_S)
        if ready and not os.read(stdin, 65536):  # end of file: the parent closed the pipe or died
            return True
    return True


def main(argv: list[str]) -> int:
    if len(argv) < 3 or argv[1] != "--":
        print("usage: served_supervisor LOG -- COMMAND...", file=sys.stderr)
        return 2
    log_path, command = argv[0], argv[2:]
    with open(log_path, "ab", buffering=0) as log:
        proc = subprocess.Popen(
            command, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
    stop_requested: list[bool] = []  # set by the signal handler; the loop acts on it within POLL_S
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop_requested.append(True))
    if wait_for_stop_or_exit(proc, stop_requested):
        stop_group(proc)
        return 0
    stop_group(proc, grace_s=0)  # the server died by itself: no worker of it may linger
    message = f"served_supervisor: server {describe_exit(proc.returncode)}"
    with open(log_path, "a", encoding="utf-8") as log:
        print(message, file=log)
    print(message, file=sys.stderr, flush=True)
    return exit_status(proc.returncode)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
