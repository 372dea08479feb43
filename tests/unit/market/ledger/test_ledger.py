"""The market ledger in the store (SQLite and PostgreSQL): market events land on it through the
``market_event`` hook, checkpoints are signed every N entries, tampering is reported, the
regulator reads it all, and anyone can look an entry hash up (存证查询) without its payload."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy import select, update

from shudata.core.config import Settings
from shudata.core.errors import InvalidInput, PermissionDenied, Unauthenticated
from shudata.core.types import Actor, Role
from shudata.db.runtime import Runtime
from shudata.market.ledger import service as L
from shudata.market.ledger.models import MarketLedgerCheckpoint, MarketLedgerEntry, MarketLedgerHead
from shudata.security.crypto import sm2
from support.market import MarketWorld, market_world

SYSTEM = Actor.system()


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return settings.model_copy(update={"market_ledger_checkpoint_every": 4})


@pytest.fixture
def world(rt: Runtime, make_user: Callable[..., Actor]) -> MarketWorld:
    return market_world(rt, make_user)


def add(rt: Runtime, n: int) -> None:
    with rt.transaction() as s:
        for i in range(n):
            L.append(s, L.LedgerEvent("market.order.settle", "order", f"MO-{i}", "exchange_op",
                                      {"amount_fen": 100 * i, "备注": "结算"}))


def check(rt: Runtime) -> Any:
    with rt.transaction() as s:
        return L.verify_ledger(session=s, settings=rt.settings, actor=SYSTEM)


def kinds(report: Any) -> set[tuple[int | None, str]]:
    return {(p.seq, p.kind) for p in report.problems}


def test_market_events_are_chained_and_signed(rt: Runtime, world: MarketWorld) -> None:
    with rt.transaction() as s:
        rows = s.scalars(select(MarketLedgerEntry).order_by(MarketLedgerEntry.seq)).all()
        kinds_on_record = [e.kind for e in rows]
        seals = s.scalars(select(MarketLedgerCheckpoint)).all()
    # two registrations and two approvals by the operator (market_world), through M1's market_event hook
    assert kinds_on_record.count("market.participant.register") == 2
    assert kinds_on_record.count("market.participant.approve") == 2
    assert [c.seq for c in seals] == [n for n in range(4, len(rows) + 1, 4)]
    report = check(rt)
    assert report.ok, report.problems
    assert report.checked == len(rows) and report.signed_through == 4 * (len(rows) // 4)


def test_a_changed_field_is_reported(rt: Runtime) -> None:
    add(rt, 6)
    with rt.transaction() as s:
        s.execute(update(MarketLedgerEntry).where(MarketLedgerEntry.seq == 2).values(payload='{"amount_fen":1}'))
    assert kinds(check(rt)) == {(2, "modified")}


def test_a_rewritten_chain_no_longer_meets_the_signature(rt: Runtime) -> None:
    add(rt, 8)
    with rt.transaction() as s:  # change entry 3 and recompute every hash after it, head included
        rows = s.scalars(select(MarketLedgerEntry).order_by(MarketLedgerEntry.seq)).all()
        prev = rows[1].hash
        for e in rows[2:]:
            if e.seq == 3:
                e.actor = "mallory"
            row = L.chain.Row(e.seq, L._iso(e.ts), e.kind, e.actor, e.subject_type, e.subject_id, e.payload,
                              prev, "")
            e.prev_hash, e.hash = prev, L.chain.entry_hash(prev, row)
            prev = e.hash
        head = s.get(MarketLedgerHead, 1)
        assert head is not None
        head.hash = prev
    assert kinds(check(rt)) == {(4, "seal_mismatch"), (8, "seal_mismatch")}


def test_a_deleted_entry_is_reported(rt: Runtime) -> None:
    add(rt, 6)
    with rt.transaction() as s:
        s.delete(s.scalars(select(MarketLedgerEntry).where(MarketLedgerEntry.seq == 5)).one())
    assert kinds(check(rt)) == {(6, "deleted")}


def test_a_deleted_tail_is_reported(rt: Runtime) -> None:
    add(rt, 6)
    with rt.transaction() as s:
        for e in s.scalars(select(MarketLedgerEntry).where(MarketLedgerEntry.seq >= 4)):
            s.delete(e)
    assert kinds(check(rt)) == {(4, "truncated"), (6, "truncated")}


def test_reordered_entries_are_reported(rt: Runtime) -> None:
    add(rt, 6)
    with rt.transaction() as s:  # swap the numbers of entries 2 and 3 (storage order stays)
        a, b = (s.scalars(select(MarketLedgerEntry).where(MarketLedgerEntry.seq == n)).one() for n in (2, 3))
        a.seq, b.seq = -1, -2
        s.flush()
        a.seq, b.seq = 3, 2
    found = kinds(check(rt))
    assert (2, "reordered") in found and any(k == "modified" for _, k in found)


def test_a_forged_checkpoint_signature_is_reported(rt: Runtime) -> None:
    add(rt, 5)
    forger = sm2.generate_keypair()
    with rt.transaction() as s:
        cp = s.scalars(select(MarketLedgerCheckpoint).where(MarketLedgerCheckpoint.seq == 4)).one()
        cp.signature = sm2.sign(forger.private_hex, cp.public_key, L.chain.seal_message(4, cp.head_hash))
    assert kinds(check(rt)) == {(4, "seal_forged")}


def test_sealing_signs_due_checkpoints_and_the_head(rt: Runtime, settings: Settings) -> None:
    with rt.sessions() as s:  # a session without the runtime's settings: no checkpoint at append
        s.info.pop("settings", None)
        for i in range(5):
            L.append(s, L.LedgerEvent("market.order.fund", "order", f"MO-{i}", "buyer1"))
        s.commit()
    with rt.transaction() as s:
        assert s.scalars(select(MarketLedgerCheckpoint)).all() == []
        made = L.seal_now(session=s, settings=settings, actor=SYSTEM)
    assert [c.seq for c in made] == [4, 5]
    report = check(rt)
    assert report.ok and report.unsigned_tail == 0


def test_who_reads_and_verifies(rt: Runtime, world: MarketWorld) -> None:
    with rt.transaction() as s:
        total, rows = L.read_entries(session=s, actor=world.regulator)
        assert total == len(rows) > 0 and rows[0].seq == total  # newest first, payload included
        assert L.verify_ledger(session=s, settings=rt.settings, actor=world.regulator).ok
        for who in (world.buyer, world.seller):
            with pytest.raises(PermissionDenied):
                L.read_entries(session=s, actor=who)
            with pytest.raises(PermissionDenied):
                L.verify_ledger(session=s, settings=rt.settings, actor=who)
        with pytest.raises(Unauthenticated):
            L.read_entries(session=s, actor=Actor.anonymous())
        with pytest.raises(PermissionDenied):
            L.seal_now(session=s, settings=rt.settings, actor=world.regulator)


def test_public_lookup(rt: Runtime, client: Any, make_user: Callable[..., Actor], token_for: Any) -> None:
    add(rt, 5)
    with rt.transaction() as s:
        signed, tail = (s.scalars(select(MarketLedgerEntry.hash).where(MarketLedgerEntry.seq == n)).one()
                        for n in (2, 5))
    r = client.get(f"/api/v1/market/ledger/proofs/{signed}")  # no login
    assert r.status_code == 200
    body = r.json()
    assert body["found"] and body["hash_valid"] and body["signature_valid"] and body["chain_to_seal_valid"]
    assert body["sealed_by"] == 4 and "payload" not in body and "actor" not in body
    tail_proof = client.get(f"/api/v1/market/ledger/proofs/{tail}").json()
    assert tail_proof["hash_valid"] and tail_proof["sealed_by"] is None
    assert client.get(f"/api/v1/market/ledger/proofs/{'0' * 64}").json()["found"] is False
    bad = client.get("/api/v1/market/ledger/proofs/not-a-hash")
    assert bad.status_code == 422 and bad.json()["error"]["code"] == "ledger_hash_invalid"
    page = client.get(f"/market/ledger/proof?hash={signed}")
    assert page.status_code == 200 and "存证有效" in page.text
    with rt.transaction() as s:  # tamper with an entry between the looked-up one and its checkpoint
        s.execute(update(MarketLedgerEntry).where(MarketLedgerEntry.seq == 3).values(actor="mallory"))
    tampered = client.get(f"/api/v1/market/ledger/proofs/{signed}").json()
    assert tampered["hash_valid"] and not tampered["chain_to_seal_valid"]
    assert "校验失败" in client.get(f"/market/ledger/proof?hash={signed}").text
    make_user("reg2", Role.REGULATOR)
    listed = client.get("/api/v1/market/ledger", headers=token_for("reg2"))
    assert listed.status_code == 200 and listed.json()["total"] == 5
    assert client.get("/api/v1/market/ledger").status_code == 401
    verified = client.post("/api/v1/market/ledger/verify", headers=token_for("reg2")).json()
    assert not verified["ok"] and {"seq": 3, "kind": "modified"} in [
        {"seq": p["seq"], "kind": p["kind"]} for p in verified["problems"]]


def test_lookup_refuses_bad_hashes(rt: Runtime) -> None:
    with rt.transaction() as s, pytest.raises(InvalidInput):
        L.lookup(session=s, settings=rt.settings, actor=Actor.anonymous(), digest="xyz")


def test_the_ledger_page(rt: Runtime, client: Any, make_user: Callable[..., Actor], token_for: Any,
                         make_department: Callable[..., int]) -> None:
    add(rt, 5)
    make_user("reg3", Role.REGULATOR)
    make_user("steward3", Role.DATA_STEWARD, department_id=make_department())
    page = client.get("/market/ledger", headers=token_for("reg3"))
    assert page.status_code == 200 and "market.order.settle" in page.text and "共 5 条记录" in page.text
    assert "&#34;amount_fen&#34;" in page.text or '"amount_fen"' in page.text  # the regulator sees payloads
    assert client.get("/market/ledger", headers=token_for("steward3")).status_code == 403
    ok = client.post("/market/ledger/verify", headers=token_for("reg3"))
    assert ok.status_code == 200 and "ledger-verify-ok" in ok.text
    with rt.transaction() as s:
        s.execute(update(MarketLedgerEntry).where(MarketLedgerEntry.seq == 1).values(kind="market.order.refund"))
    bad = client.post("/market/ledger/verify", headers=token_for("reg3"))
    assert "ledger-verify-bad" in bad.text and "modified" in bad.text
