"""The `.pth` hook registers SPY-Bench into VLMEvalKit in every way users start it: these runs are fresh
interpreters by nature (`harness_run` forks the others from one that already registered)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

import pytest

from vlmeval_spy.harness.run_command import locate_run_py, run_args

REPO = Path(__file__).resolve().parents[1]
CHECK = """
import vlmeval.config as c, vlmeval.dataset as d, vlmeval.vlm as v
assert 'SPY-AlwaysReject' in c.supported_VLM and 'SPY-AlwaysRespond' in c.supported_VLM
assert {'SPY-Bench', 'SPY-Bench-ND', 'SPY-Bench-Mini', 'SPY-Bench-Mini-ND'} <= set(d.SUPPORTED_DATASETS)
assert hasattr(v, 'SPYAlwaysReject') and hasattr(d, 'SPYBenchDataset')
assert d.build_dataset('SPY-Bench-Mini').__class__.__name__ == 'SPYBenchDataset'
print('registered')
"""


def run_python(code: str, tmp_path: Path, *args: str) -> subprocess.CompletedProcess:
    (tmp_path / "lmu").mkdir(exist_ok=True)
    env = {**os.environ, "LMUData": str(tmp_path / "lmu")}
    return subprocess.run([sys.executable, *args, "-c", code], capture_output=True, text=True, cwd=tmp_path, env=env)


@pytest.mark.parametrize("first", ["vlmeval", "vlmeval_spy.harness.dataset", "vlmeval_spy.harness.baselines"])
def test_hook_registers_whatever_is_imported_first(tmp_path, first):
    proc = run_python(f"import {first}\n{CHECK}", tmp_path, "-W", "error::UserWarning:vlmeval_spy.import_hook")
    assert proc.returncode == 0 and "registered" in proc.stdout, proc.stderr[-2000:]


def test_broken_registration_never_breaks_vlmeval(tmp_path):
    code = (
        "import vlmeval_spy.harness.registration as r\n"
        "r.DATASET_MODULES = ('vlmeval_spy.no_such_module',)\n"
        "import warnings\n"
        "with warnings.catch_warnings(record=True) as caught:\n"
        "    warnings.simplefilter('always')\n"
        "    import vlmeval.dataset as d\n"
        "assert 'MMMU_DEV_VAL' in d.SUPPORTED_DATASETS and 'SPY-Bench' not in d.SUPPORTED_DATASETS\n"
        "assert any('SPY-Bench could not register' in str(w.message) for w in caught)\n"
        "print('survived')\n"
    )
    proc = run_python(code, tmp_path)
    assert proc.returncode == 0 and "survived" in proc.stdout, proc.stderr[-2000:]


def test_hook_file_is_installed_in_site_packages():
    pth = Path(sysconfig.get_paths()["purelib"]) / "vlmeval_spy_hook.pth"
    assert pth.read_text().startswith("import ")


def test_wheel_carries_the_hook(tmp_path):
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "--no-build-isolation",
            "-q",
            "-w",
            str(tmp_path),
            str(REPO),
        ],
        check=True,
        capture_output=True,
    )
    wheel = next(tmp_path.glob("spy_bench-*.whl"))
    with zipfile.ZipFile(wheel) as zf:
        assert "vlmeval_spy_hook.pth" in zf.namelist()
        assert any(n.startswith("vlmeval_spy/bench/mini/") and n.endswith(".json") for n in zf.namelist())


def test_upstream_layout_run_py_as_a_script(tmp_path):
    """A VLMEvalKit source checkout runs `python run.py` from its root (the wheel's module, copied, runs the same)."""
    shutil.copy(locate_run_py().path, tmp_path / "run.py")
    (tmp_path / "lmu").mkdir()
    env = {**os.environ, "LMUData": str(tmp_path / "lmu")}
    args = run_args(["SPY-Bench-Mini-ND"], ["SPY-AlwaysReject"], "out", "--judge", "exact_matching")
    proc = subprocess.run(
        [sys.executable, "run.py", *args],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert (tmp_path / "out" / "SPY-AlwaysReject" / "SPY-AlwaysReject_SPY-Bench-Mini-ND_score.csv").exists()


def test_torchrun_workers_see_the_registration(tmp_path):
    """Both workers register and build the dataset; they build the mini benchmark at once, into one LMUData."""
    script = tmp_path / "worker.py"
    script.write_text(CHECK)
    (tmp_path / "lmu").mkdir()
    env = {**os.environ, "LMUData": str(tmp_path / "lmu")}
    proc = subprocess.run(
        [sys.executable, "-m", "torch.distributed.run", "--nproc_per_node", "2", str(script)],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env=env,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert proc.stdout.count("registered") == 2
    assert (tmp_path / "lmu" / "SPY-Bench-Mini.tsv").exists()


def test_spy_bench_run_launcher(tmp_path):
    (tmp_path / "lmu").mkdir()
    env = {**os.environ, "LMUData": str(tmp_path / "lmu")}
    args = run_args(["SPY-Bench-Mini"], ["SPY-AlwaysRespond"], "out", "--judge", "exact_matching")
    proc = subprocess.run(
        [sys.executable, "-m", "vlmeval_spy.cli", "run", *args],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert (tmp_path / "out" / "SPY-AlwaysRespond" / "SPY-AlwaysRespond_SPY-Bench-Mini_score.csv").exists()
