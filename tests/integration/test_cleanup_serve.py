"""``shudata serve --workers 2`` runs the delivery file cleanup in the background: at start, then every
``SHUDATA_SHARING_CLEANUP_S`` seconds, one worker at a time (each removal audited once)."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
from sqlalchemy import select

from shudata.audit.models import AuditEntry
from shudata.db.runtime import Runtime
from support.load import ServeProcess, free_port

START_S = 180  # a start takes over a minute on a loaded machine


def _ended(rt: Runtime, name: str) -> Path:
    """A folder of an owner that does not exist (a deleted grant, ``g…``; entitlement, ``e…``)."""
    root = rt.settings.data_dir / ("market/delivery" if name.startswith("e") else "delivery")
    folder = root / name
    folder.mkdir(parents=True)
    (folder / "v1-0123456789abcdef.parquet").write_bytes(b"PAR1" * 100)
    return folder


def _wait_gone(folders: list[Path], within_s: float) -> bool:
    deadline = time.monotonic() + within_s
    while time.monotonic() < deadline:
        if not any(f.exists() for f in folders):
            return True
        time.sleep(0.2)
    return False


def _runs(rt: Runtime) -> list[dict[str, object]]:
    with rt.transaction() as s:
        rows = s.scalars(select(AuditEntry).where(AuditEntry.action == "sharing.files.cleanup"))
        return [json.loads(r.details) for r in rows]


@pytest.mark.slow
@pytest.mark.sqlite_only
def test_serve_cleans_at_start_and_every_interval(rt: Runtime, tmp_path: Path) -> None:
    first = [_ended(rt, "g987654"), _ended(rt, "e987654")]
    server = ServeProcess(rt, free_port(), tmp_path / "serve.log", SHUDATA_WORKERS="2",
                          SHUDATA_SHARING_CLEANUP_S="10").start(START_S)
    try:
        assert _wait_gone(first, 30), server.output()[-3000:]
        later = _ended(rt, "g987655")
        assert _wait_gone([later], 30), server.output()[-3000:]
    finally:
        server.terminate()
    runs = _runs(rt)
    assert [r["trigger"] for r in runs] == ["serve", "serve"], runs  # runs that removed nothing are not audited
    assert (runs[0]["grants"], runs[0]["entitlements"], runs[0]["files"]) == (1, 1, 2)
    assert (runs[1]["grants"], runs[1]["files"], runs[1]["bytes"]) == (1, 1, 400)
