"""``shudata audit verify`` checks the market ledger too; ``shudata market ledger|rights`` work."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select, update
from typer.testing import CliRunner

from shudata.cli.main import app
from shudata.core.config import Settings
from shudata.core.types import Actor
from shudata.db.runtime import Runtime
from shudata.market.ledger.models import MarketLedgerCheckpoint, MarketLedgerEntry
from shudata.market.rights import service as R
from support.market import market_world
from support.pdftext import pdf_text


@pytest.fixture
def cli(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> Callable[..., Any]:
    monkeypatch.setenv("SHUDATA_DATA_DIR", str(settings.data_dir))
    monkeypatch.setenv("SHUDATA_DATABASE_URL", settings.resolved_database_url)
    monkeypatch.setenv("SHUDATA_MARKET_LEDGER_CHECKPOINT_EVERY", "3")
    runner = CliRunner()
    return lambda *args: runner.invoke(app, list(args))


def test_audit_verify_covers_the_market_ledger(rt: Runtime, make_user: Callable[..., Actor], cli: Any) -> None:
    market_world(rt, make_user)  # participant events land on the ledger through the market_event hook
    ok = cli("audit", "verify")
    assert ok.exit_code == 0, ok.output
    assert "审计链完整" in ok.output and "存证账本完整" in ok.output
    sealed = cli("market", "ledger", "seal")
    assert sealed.exit_code == 0 and "已签署" in sealed.output
    shown = cli("market", "ledger", "show", "--limit", "3")
    assert shown.exit_code == 0 and "共 4 条" in shown.output  # two registrations, two approvals
    with rt.transaction() as s:
        digest = s.scalars(select(MarketLedgerEntry.hash).where(MarketLedgerEntry.seq == 1)).one()
    proved = cli("market", "ledger", "prove", digest)
    assert proved.exit_code == 0 and '"signature_valid": true' in proved.output
    with rt.transaction() as s:
        cp = s.scalars(select(MarketLedgerCheckpoint).order_by(MarketLedgerCheckpoint.seq)).first()
        assert cp is not None
        cp.signature = "00" * 64
    bad = cli("audit", "verify")
    assert bad.exit_code == 1 and "存证账本被破坏" in bad.output and "seal_forged" in bad.output
    with rt.transaction() as s:
        s.execute(update(MarketLedgerEntry).where(MarketLedgerEntry.seq == 2).values(subject_id="participant:99"))
    bad = cli("market", "ledger", "verify")
    assert bad.exit_code == 1 and "modified" in bad.output


def test_rights_commands(rt: Runtime, make_user: Callable[..., Actor], cli: Any, tmp_path: Path) -> None:
    w = market_world(rt, make_user)
    request = tmp_path / "apply.json"
    request.write_text(json.dumps({"right": "operating", "subject": "企业信用画像产品", "applicant_id": w.seller_id,
                                   "evidence": [{"name": "产品说明书.pdf", "digest": "b" * 64}]}, ensure_ascii=False),
                       encoding="utf-8")
    applied = cli("market", "rights", "apply", str(request))
    assert applied.exit_code == 0, applied.output
    with rt.transaction() as s:
        number = R.list_registrations(session=s, actor=Actor.system())[0].number
    assert cli("market", "rights", "review", number, "--approve").exit_code == 0
    with rt.transaction() as s:
        end = R.get(s, number).notice_end
    assert end is not None
    assert "共登记 0 件" in cli("market", "rights", "conclude-due", "--on", end.isoformat()).output
    done = cli("market", "rights", "conclude-due", "--on", (end + dt.timedelta(days=1)).isoformat())
    assert "共登记 1 件" in done.output
    with rt.transaction() as s:
        cert = R.get(s, number).certificate_number
    assert cert is not None
    listed = cli("market", "rights", "list", "--status", "registered")
    assert listed.exit_code == 0 and "已登记" in listed.output and cert[:8] in listed.output
    out = tmp_path / "cert.pdf"
    verified = cli("market", "rights", "verify", cert, "--pdf", str(out))
    assert verified.exit_code == 0 and "有效" in verified.output
    assert cert in pdf_text(out.read_bytes()) and "数据产品经营权" in pdf_text(out.read_bytes())
    assert cli("market", "rights", "verify", "SD2026JY999999").exit_code == 1
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"right": "operating"}), encoding="utf-8")
    refused = cli("market", "rights", "apply", str(bad))
    assert refused.exit_code != 0 and "首次登记须填写登记对象" in refused.output
