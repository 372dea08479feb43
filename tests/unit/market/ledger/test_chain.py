"""The ledger's chain rules on rows in memory: every kind of tampering is named."""

from __future__ import annotations

import pytest

from shudata.market.ledger import chain
from shudata.security.crypto import sm2


@pytest.fixture(scope="module")
def kp() -> sm2.KeyPair:
    return sm2.generate_keypair()


def build(n: int, kp: sm2.KeyPair, every: int = 4) -> tuple[list[chain.Row], list[chain.Seal]]:
    rows: list[chain.Row] = []
    seals: list[chain.Seal] = []
    prev = chain.GENESIS
    for i in range(1, n + 1):
        r = chain.Row(i, f"2026-12-07T00:00:{i:02d}.000000+00:00", "market.order.settled", "operator", "order",
                      f"O-{i}", chain.payload_text({"price_fen": 100 * i, "买方": "蓉城数据"}), prev, "")
        r = r._replace(hash=chain.entry_hash(prev, r))
        rows.append(r)
        prev = r.hash
        if i % every == 0:
            seals.append(chain.Seal(i, r.hash, kp.public_hex, sm2.sign(kp.private_hex, kp.public_hex,
                                                                         chain.seal_message(i, r.hash))))
    return rows, seals


def check(rows: list[chain.Row], seals: list[chain.Seal], kp: sm2.KeyPair,
          head: tuple[int, str] | None = None) -> chain.LedgerReport:
    return chain.verify(rows, seals, public_key=kp.public_hex, verify_signature=sm2.verify, head=head)


def kinds(report: chain.LedgerReport) -> set[tuple[int | None, str]]:
    return {(p.seq, p.kind) for p in report.problems}


def test_intact_ledger_verifies(kp: sm2.KeyPair) -> None:
    rows, seals = build(10, kp)
    report = check(rows, seals, kp, head=(10, rows[-1].hash))
    assert report.ok, report.problems
    assert (report.checked, report.seals_checked, report.signed_through, report.unsigned_tail) == (10, 2, 8, 2)


def test_changed_field(kp: sm2.KeyPair) -> None:
    rows, seals = build(10, kp)
    rows[4] = rows[4]._replace(payload=rows[4].payload.replace("500", "5"))
    assert kinds(check(rows, seals, kp)) == {(5, "modified")}


def test_changed_field_rehashed_is_caught_by_the_signed_head(kp: sm2.KeyPair) -> None:
    rows, seals = build(10, kp)
    rows[4] = rows[4]._replace(actor="mallory")
    prev = rows[3].hash
    for i in range(4, 10):  # the forger recomputes every hash after the change
        r = rows[i]._replace(prev_hash=prev)
        rows[i] = r._replace(hash=chain.entry_hash(prev, r))
        prev = rows[i].hash
    assert kinds(check(rows, seals, kp)) == {(8, "seal_mismatch")}


def test_deleted_entry(kp: sm2.KeyPair) -> None:
    rows, seals = build(10, kp)
    del rows[6]
    assert kinds(check(rows, seals, kp)) == {(8, "deleted")}


def test_deleted_tail(kp: sm2.KeyPair) -> None:
    rows, seals = build(10, kp)
    head = (10, rows[-1].hash)
    report = check(rows[:7], seals, kp, head=head)
    assert kinds(report) == {(8, "truncated"), (10, "truncated")}


def test_reordered_entries(kp: sm2.KeyPair) -> None:
    rows, seals = build(10, kp)
    rows[2], rows[3] = rows[3], rows[2]
    found = kinds(check(rows, seals, kp))
    assert (3, "reordered") in found and (4, "deleted") in found


def test_forged_checkpoint_signature(kp: sm2.KeyPair) -> None:
    rows, seals = build(10, kp)
    other = sm2.generate_keypair()
    forged = sm2.sign(other.private_hex, kp.public_hex, chain.seal_message(4, rows[3].hash))
    seals[0] = seals[0]._replace(signature=forged)
    assert kinds(check(rows, seals, kp)) == {(4, "seal_forged")}
    seals[0] = chain.Seal(4, rows[3].hash, other.public_hex,
                          sm2.sign(other.private_hex, other.public_hex, chain.seal_message(4, rows[3].hash)))
    assert kinds(check(rows, seals, kp)) == {(4, "seal_key")}


def test_checkpoint_over_another_head(kp: sm2.KeyPair) -> None:
    rows, seals = build(10, kp)
    fake = "f" * 64
    seals[1] = chain.Seal(8, fake, kp.public_hex, sm2.sign(kp.private_hex, kp.public_hex, chain.seal_message(8, fake)))
    assert kinds(check(rows, seals, kp)) == {(8, "seal_mismatch")}
