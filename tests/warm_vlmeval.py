"""An interpreter that imports VLMEvalKit once and forks one child per run of `run.py` (or `spy-bench`).

Importing VLMEvalKit costs 9-20 s of CPU on two cores, and the harness tests run `run.py` dozens
of times. This server pays it once: `harness_run.start` sends it a run (arguments, environment,
working directory, output files) over a Unix socket; it forks, and the child sets itself up as
`python -m vlmeval.run` (the wheel) or `python run.py` (a checkout) would start (the run's
environment, working directory, `sys.path[0]`, argv, standard streams on the output files, default
signal handlers) and runs the module or script with `runpy` as `__main__`. The child is a real
process: its exit status, signals, files and the processes it starts are the run's own. The server
answers with the child's pid, then with its exit status (negative: killed by that signal, as
`subprocess` reports it).

What a fresh interpreter reads from its environment while importing, the child reads again: the
model registry (`$SPY_MODELS`, registered at import), VLMEvalKit's `.env`, and this run's attempt
id (`vlmeval_spy.results.attempts.RUN`). The server itself starts without `PYTHONPATH`; a run's
`PYTHONPATH` is put in front of `sys.path` and its `sitecustomize` imported, as `site` does at start
(the test-only models of `tests/plugins` register that way).

Run as `python warm_vlmeval.py SOCKET`; it prints `ready` once listening and exits when its
standard input closes (the test session ended, however it ended).
"""

from __future__ import annotations

import atexit
import gc
import importlib
import json
import os
import runpy
import selectors
import signal
import socket
import sys
import threading


def warm_up() -> None:
    """Import what every run imports, without running anything (no torch op: forked children use torch)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot  # noqa: F401
    import openpyxl  # noqa: F401
    import vlmeval
    import vlmeval.config  # noqa: F401
    import vlmeval.dataset  # noqa: F401
    import vlmeval.inference  # noqa: F401
    import vlmeval.inference_api  # noqa: F401
    import vlmeval.smp  # noqa: F401

    import vlmeval_spy.results.report  # noqa: F401
    from vlmeval_spy.harness.run_command import locate_run_py

    # run.py's own imports; the file itself runs afresh in each child.
    run_py = locate_run_py()
    if run_py.module:
        importlib.import_module(run_py.module)
        package, _, name = run_py.module.rpartition(".")
        del sys.modules[run_py.module]
        delattr(sys.modules[package], name)
    else:
        runpy.run_path(str(run_py.path), run_name="spy_warm_up")


def exit_code(status: int) -> int:
    return -os.WTERMSIG(status) if os.WIFSIGNALED(status) else os.WEXITSTATUS(status)


def serve(listener: socket.socket) -> dict:
    """Answer requests until stdin closes (then exit); in a forked child, return its request."""
    children: dict[int, socket.socket] = {}
    wake_read, wake_write = os.pipe()
    os.set_blocking(wake_write, False)
    signal.set_wakeup_fd(wake_write)
    signal.signal(signal.SIGCHLD, lambda *_: None)  # a handler, so the wakeup fd hears of each exit
    selector = selectors.DefaultSelector()
    selector.register(listener, selectors.EVENT_READ, "connect")
    selector.register(sys.stdin, selectors.EVENT_READ, "stdin")
    selector.register(wake_read, selectors.EVENT_READ, "child")
    print("ready", flush=True)
    while True:
        for key, _ in selector.select():
            if key.data == "stdin" and not sys.stdin.buffer.read1(1 << 16):
                for pid in children:
                    os.kill(pid, signal.SIGKILL)
                sys.exit(0)
            if key.data == "child":
                os.read(wake_read, 1 << 16)
                reap(children)
            if key.data == "connect":
                conn, _ = listener.accept()
                request = json.loads(conn.makefile("r", encoding="utf-8").readline())
                sys.stdout.flush(), sys.stderr.flush()
                assert threading.active_count() == 1, "forking needs a single-threaded server"
                pid = os.fork()
                if pid == 0:
                    selector.close()
                    for sock in (listener, conn, *children.values()):
                        sock.close()
                    signal.set_wakeup_fd(-1)
                    os.close(wake_read), os.close(wake_write)
                    return request
                children[pid] = conn
                conn.sendall(json.dumps({"pid": pid}).encode() + b"\n")


def reap(children: dict[int, socket.socket]) -> None:
    while children:
        pid, status = os.waitpid(-1, os.WNOHANG)
        if pid == 0:
            return
        conn = children.pop(pid, None)
        if conn is not None:
            try:
                conn.sendall(json.dumps({"returncode": exit_code(status)}).encode() + b"\n")
            except OSError:  # the test gave up on this run
                pass
            conn.close()


def become_the_run(request: dict) -> None:
    """Make this forked child what `python -m MODULE ARGS` in `cwd` with `env` would be at the start."""
    for signum in (signal.SIGCHLD, signal.SIGTERM, signal.SIGPIPE):
        signal.signal(signum, signal.SIG_DFL if signum != signal.SIGPIPE else signal.SIG_IGN)
    signal.signal(signal.SIGINT, signal.default_int_handler)
    os.chdir(request["cwd"])
    os.environ.clear()
    os.environ.update(request["env"])
    writing = os.O_WRONLY | os.O_CREAT | os.O_TRUNC
    stdin = os.open(os.devnull, os.O_RDONLY)
    stdout = os.open(request["stdout"], writing, 0o644)
    stderr = stdout if request["stderr"] == request["stdout"] else os.open(request["stderr"], writing, 0o644)
    for fd, target in ((stdin, 0), (stdout, 1), (stderr, 2)):
        os.dup2(fd, target)
    script = request.get("script")
    sys.path[0] = os.path.dirname(script) if script else os.getcwd()  # as `python SCRIPT` / `python -m` set it
    sys.argv = [script or request["module"], *request["args"]]
    reread_environment()
    pythonpath = [entry for entry in os.environ.get("PYTHONPATH", "").split(os.pathsep) if entry]
    sys.path[1:1] = [os.path.abspath(entry) for entry in pythonpath]
    if pythonpath:  # the server started without PYTHONPATH, so without its sitecustomize
        try:
            import sitecustomize  # noqa: F401
        except ImportError as missing:
            if missing.name != "sitecustomize":
                raise


def reread_environment() -> None:
    """What a fresh interpreter would have read from this run's environment while importing."""
    import tempfile
    import time
    from pathlib import Path

    import vlmeval
    import vlmeval.config
    from dotenv import dotenv_values

    from vlmeval_spy.harness import named_models
    from vlmeval_spy.models.registry import registry_path
    from vlmeval_spy.results import attempts

    tempfile.tempdir = None
    dotenv = Path(vlmeval.__file__).parent.parent / ".env"  # what `vlmeval.load_env` sets, without its log line
    if dotenv.exists():
        os.environ.update({k: v for k, v in dotenv_values(dotenv).items() if v})
    attempts.RUN = f"{os.getpid()}-{time.time_ns()}"
    table = named_models.model_table(vlmeval.config)
    table.registry = registry_path()
    named_models.register_registry(table)


def end_as_python_would(module: str | None, script: str | None) -> None:
    """Run `module` (or `script`) as `__main__` and end the process as the interpreter would, minus its teardown.

    The interpreter waits for non-daemon threads, runs the `atexit` handlers, flushes the standard
    streams and exits with the `SystemExit` code (1 after an uncaught exception, killed by SIGINT
    after an uncaught KeyboardInterrupt). Tearing down every module of the forked heap afterwards
    would copy it page by page (about 2 s); `os._exit` skips that part only.
    """
    code, interrupted = 0, False
    try:
        if script:
            runpy.run_path(script, run_name="__main__")
        else:
            runpy.run_module(module, run_name="__main__", alter_sys=True)
    except SystemExit as done:
        code = exit_status_of(done.code)
    except BaseException as error:  # noqa: BLE001  (reported as the interpreter reports it)
        sys.excepthook(type(error), error, error.__traceback__)
        code, interrupted = 1, isinstance(error, KeyboardInterrupt)
    threading._shutdown()
    atexit._run_exitfuncs()
    for stream in (sys.stdout, sys.stderr):
        stream.flush()
    if interrupted:
        signal.signal(signal.SIGINT, signal.SIG_DFL)
        os.kill(os.getpid(), signal.SIGINT)
    os._exit(code)


def exit_status_of(code: object) -> int:
    """What `sys.exit(code)` ends the interpreter with."""
    if code is None:
        return 0
    if isinstance(code, int):
        return code & 0xFF
    print(code, file=sys.stderr)
    return 1


if __name__ == "__main__":
    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    server.bind(sys.argv[1])
    server.listen(16)
    warm_up()
    gc.freeze()  # the children's garbage collections leave the imported heap alone: fewer pages copied
    run = serve(server)
    become_the_run(run)
    module, script = run.get("module"), run.get("script")
    del server, run
    end_as_python_would(module, script)
