"""The layer contracts of pyproject.toml ([tool.importlinter]) hold: no import points up.

``make lint`` and ``make test`` run ``lint-imports`` too; this test makes a developer who
only runs pytest see a broken contract. The contracts and how to read a failure are
described in docs/architecture.md ("Layer contracts").
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def _lint_imports() -> str:
    exe = Path(sys.executable).with_name("lint-imports")
    found = str(exe) if exe.exists() else shutil.which("lint-imports")
    if found is None:
        pytest.skip("import-linter is not installed (pip install -e '.[dev]')")
    return found


def test_import_contracts_hold() -> None:
    out = subprocess.run([_lint_imports(), "--no-cache"], cwd=ROOT, capture_output=True, text=True, timeout=300,
                         check=False)
    assert out.returncode == 0, out.stdout[-6000:] + out.stderr[-2000:]
