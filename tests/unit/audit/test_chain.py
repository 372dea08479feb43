"""The audit chain detects modification, deletion, insertion, reordering and truncation."""

from __future__ import annotations

import pytest
from sqlalchemy import delete, select, update

from shudata.audit.events import AuditEvent
from shudata.audit.ledger import record
from shudata.audit.models import AuditEntry
from shudata.audit.verify import verify_chain
from shudata.core.types import Actor

SYS = Actor.system()


def _fill(rt, n=6):
    with rt.transaction() as s:
        for i in range(n):
            record(s, SYS, AuditEvent("test.event", resource_id=str(i), details={"i": i, "名称": "测试"}))


def _kinds(rt):
    with rt.transaction() as s:
        return {p.kind for p in verify_chain(s).problems}


def test_intact_chain_verifies(rt):
    _fill(rt)
    with rt.transaction() as s:
        report = verify_chain(s)
    assert report.ok and report.checked == 6


@pytest.mark.parametrize(
    ("tamper", "expected"),
    [
        # a field edited in place
        (lambda s: s.execute(update(AuditEntry).where(AuditEntry.seq == 3).values(actor="mallory")), "modified"),
        # details rewritten
        (lambda s: s.execute(update(AuditEntry).where(AuditEntry.seq == 2).values(details='{"i": 99}')), "modified"),
        # a middle entry removed
        (lambda s: s.execute(delete(AuditEntry).where(AuditEntry.seq == 4)), "deleted"),
        # the last entry removed
        (lambda s: s.execute(delete(AuditEntry).where(AuditEntry.seq == 6)), "truncated"),
        # two entries swapped (sequence numbers exchanged)
        (lambda s: (s.execute(update(AuditEntry).where(AuditEntry.seq == 2).values(seq=-2)),
                    s.execute(update(AuditEntry).where(AuditEntry.seq == 3).values(seq=2)),
                    s.execute(update(AuditEntry).where(AuditEntry.seq == -2).values(seq=3))), "modified"),
    ],
)
def test_tampering_is_reported(rt, tamper, expected):
    _fill(rt)
    with rt.transaction() as s:
        tamper(s)
    assert expected in _kinds(rt)


def test_forged_inserted_entry_is_reported(rt):
    _fill(rt)
    with rt.transaction() as s:
        last = s.scalars(select(AuditEntry).order_by(AuditEntry.seq.desc())).first()
        forged = AuditEntry(seq=last.seq + 1, ts=last.ts, actor="mallory", action="x", outcome="success",
                            details="{}", prev_hash="f" * 64, hash="e" * 64)
        s.add(forged)
    kinds = _kinds(rt)
    assert "modified" in kinds or "inserted" in kinds
    assert "truncated" in kinds  # the head does not know the forged entry


def test_cli_audit_verify_exit_codes(rt, settings, monkeypatch):
    from typer.testing import CliRunner

    from shudata.cli.main import app

    monkeypatch.setenv("SHUDATA_DATA_DIR", str(settings.data_dir))
    monkeypatch.setenv("SHUDATA_DATABASE_URL", settings.resolved_database_url)
    _fill(rt)
    runner = CliRunner()
    ok = runner.invoke(app, ["audit", "verify"])
    assert ok.exit_code == 0, ok.output
    assert "审计链完整" in ok.output
    with rt.transaction() as s:
        s.execute(update(AuditEntry).where(AuditEntry.seq == 2).values(action="tampered"))
    bad = runner.invoke(app, ["audit", "verify"])
    assert bad.exit_code == 1
    assert "modified" in bad.output


def test_concurrent_appends_never_fork_the_chain(rt):
    """Four writers at once (each reading before writing, as requests do): no error, one chain."""
    import threading

    from sqlalchemy import text

    errors: list[Exception] = []

    def work(i: int) -> None:
        for j in range(10):
            try:
                with rt.transaction() as s:
                    s.execute(text("SELECT 1"))
                    record(s, SYS, AuditEvent("race", resource_id=f"{i}-{j}"))
            except Exception as exc:  # collected and asserted below
                errors.append(exc)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    with rt.transaction() as s:
        report = verify_chain(s)
    assert report.ok and report.checked == 40
