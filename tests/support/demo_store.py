"""The full demo, loaded once per test session by ``shudata demo --load-only``, copied for each user.

Two test modules need a store holding the whole demo (tests/unit/demo/test_loader.py checks the load
itself, tests/e2e/test_zh_cn_pages.py requests every page over it); a load costs ~30 s of CPU. The
first of them to ask runs the command (into a folder shared by the session's xdist workers, under a
file lock; the other waits for it) and keeps its exit code and output; each asks for a copy of the
loaded data folder of its own, so neither sees what the other writes.
"""

from __future__ import annotations

import fcntl
import json
import shutil
from dataclasses import dataclass
from pathlib import Path

import pytest
from click.testing import Result
from typer.testing import CliRunner

from shudata.cli.main import app


def invoke_demo(data_dir: Path, *args: str) -> Result:
    """``shudata demo *args`` over the data folder ``data_dir`` (its SQLite store), in this process."""
    env: dict[str, str | None] = {"SHUDATA_DATA_DIR": str(data_dir), "SHUDATA_DATABASE_URL": None,
                                  "SHUDATA_ENV": "test", "COLUMNS": "200"}
    return CliRunner().invoke(app, ["demo", *args], env=env)


@dataclass(frozen=True)
class Loaded:
    """What ``shudata demo --load-only`` said: its exit code and output."""

    exit_code: int
    output: str


def _shared_root(tmp_path_factory: pytest.TempPathFactory, worker_id: str) -> Path:
    """The session's folder shared by its xdist workers (this worker's own without xdist)."""
    base = tmp_path_factory.getbasetemp()
    return base.parent if worker_id != "master" else base


def loaded_demo_copy(tmp_path_factory: pytest.TempPathFactory, worker_id: str, target: Path) -> Loaded:
    """A copy at ``target`` of a data folder into which ``shudata demo --load-only`` loaded the demo (once
    per session), and what the command said."""
    root = _shared_root(tmp_path_factory, worker_id) / "demo-load"
    root.mkdir(exist_ok=True)
    with (root / "lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # released when the file closes
        said = root / "result.json"
        if not said.exists():
            result = invoke_demo(root / "data", "--load-only")
            said.write_text(json.dumps({"exit_code": result.exit_code, "output": result.output}), encoding="utf-8")
        shutil.copytree(root / "data", target)
        return Loaded(**json.loads(said.read_text(encoding="utf-8")))
