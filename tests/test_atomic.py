"""Atomic writes: all or nothing, and files as shareable as `open()` would make them."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from vlmeval_spy.common.atomic import atomic_open, write_json, write_text


def test_a_failed_write_keeps_the_old_file_and_leaves_no_temporary(tmp_path: Path):
    target = tmp_path / "out.txt"
    write_text(target, "old")
    with pytest.raises(RuntimeError), atomic_open(target) as fh:
        fh.write("half of the new")
        raise RuntimeError("interrupted")
    assert target.read_text() == "old"
    assert list(tmp_path.iterdir()) == [target]


def test_json_and_binary_writes(tmp_path: Path):
    write_json(tmp_path / "a" / "x.json", {"é": 1})
    assert (tmp_path / "a" / "x.json").read_text(encoding="utf-8") == '{\n  "é": 1\n}\n'
    with atomic_open(tmp_path / "b.bin", "wb") as fh:
        fh.write(b"\x00\xff")
    assert (tmp_path / "b.bin").read_bytes() == b"\x00\xff"


def test_umask_decides_the_mode_and_is_never_touched(tmp_path: Path):
    """Files get 0666 minus the umask; importing or using the module never calls os.umask."""
    code = (
        "import os, stat, sys\n"
        "os.umask(0o027)\n"
        "def refuse(*args):\n"
        "    raise AssertionError('os.umask called')\n"
        "os.umask = refuse\n"
        "from vlmeval_spy.common.atomic import write_text\n"
        "write_text(sys.argv[1], 'x')\n"
        "print(oct(stat.S_IMODE(os.stat(sys.argv[1]).st_mode)))\n"
    )
    proc = subprocess.run([sys.executable, "-c", code, str(tmp_path / "f.txt")], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "0o640"
