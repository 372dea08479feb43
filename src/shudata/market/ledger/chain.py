"""The ledger's chain rules as pure functions: what is hashed, what is signed, how a stored
ledger is checked.

An entry's hash is ``SM3(prev_hash || canonical(entry))`` where the canonical form is the
entry's fields in a fixed order, each text length-prefixed (the payload is stored as canonical
JSON text and hashed as stored). A checkpoint signs ``"shudata-market-ledger|<seq>|<head hash>"`` with the
exchange's SM2 key: the head hash commits to every entry up to ``seq``, so one signature
vouches for all of them, and re-computing a tampered chain (a change followed by fresh hashes)
no longer meets the signed head.

>>> e = Row(seq=1, ts="2026-12-07T00:00:00.000000+00:00", kind="market.order.settled", actor="system",
...         subject_type="order", subject_id="O-1", payload="{}", prev_hash=GENESIS, hash="")
>>> h = entry_hash(GENESIS, e)
>>> len(h), h == entry_hash(GENESIS, e._replace(actor="mallory"))
(64, False)
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from shudata.security.crypto.sm3 import sm3_hex

GENESIS = "0" * 64
_PREFIX = "shudata-market-ledger"


class Row(NamedTuple):
    """One stored entry, as read for verification (timestamps already in ISO form)."""

    seq: int
    ts: str
    kind: str
    actor: str
    subject_type: str
    subject_id: str
    payload: str
    prev_hash: str
    hash: str


class Seal(NamedTuple):
    """One stored checkpoint: the exchange's signature over the chain head at ``seq``."""

    seq: int
    head_hash: str
    public_key: str
    signature: str


def payload_text(payload: Mapping[str, Any]) -> str:
    """The payload as stored and hashed: canonical JSON (sorted keys, no spaces, UTF-8 kept)."""
    return json.dumps(dict(payload), ensure_ascii=False, sort_keys=True, separators=(",", ":"), default=str)


def canonical(row: Row) -> bytes:
    """The entry's fields in a fixed order, each text field length-prefixed (``<chars>:<text>``),
    so no two different entries share a form (and no escaping is needed on the hot path)."""
    ts, kind, actor, st, sid, payload = row.ts, row.kind, row.actor, row.subject_type, row.subject_id, row.payload
    return (f"{row.seq}|{len(ts)}:{ts}|{len(kind)}:{kind}|{len(actor)}:{actor}|{len(st)}:{st}|{len(sid)}:{sid}|"
            f"{len(payload)}:{payload}").encode()


def entry_hash(prev_hash: str, row: Row) -> str:
    return sm3_hex(prev_hash.encode() + canonical(row))


def seal_message(seq: int, head_hash: str) -> bytes:
    """The bytes a checkpoint signs."""
    return f"{_PREFIX}|{seq}|{head_hash}".encode()


@dataclass(frozen=True)
class Problem:
    seq: int | None
    kind: str  # modified | deleted | inserted | reordered | truncated | seal_forged | seal_mismatch | seal_key
    message: str


@dataclass
class LedgerReport:
    """What :func:`verify` found: entries and checkpoints checked, problems, the unsigned tail."""

    checked: int = 0
    seals_checked: int = 0
    head_seq: int = 0
    head_hash: str = GENESIS
    signed_through: int = 0  # the last seq covered by a valid checkpoint
    problems: list[Problem] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    @property
    def unsigned_tail(self) -> int:
        """Entries after the last valid checkpoint: hash-chained but not yet signed."""
        return max(0, self.head_seq - self.signed_through)


Verifier = Callable[[str, bytes, str], bool]


def verify(rows: Iterable[Row], seals: Iterable[Seal], *, public_key: str, verify_signature: Verifier,
           head: tuple[int, str] | None = None) -> LedgerReport:
    """Check a ledger read in storage order.

    Every entry must re-hash to its stored hash and link to the one before (a changed field, a
    deleted, inserted or reordered entry shows); every checkpoint must carry a valid SM2
    signature by ``public_key`` over the head hash the chain actually has at its ``seq`` (a
    forged signature, a signature by another key, or a chain re-hashed after a change shows);
    ``head`` (the stored head row) must be the last entry (a removed tail shows).
    """
    report = LedgerReport()
    hashes: dict[int, str] = {}
    prev_hash, prev_seq = GENESIS, 0
    problems = report.problems
    for row in rows:
        report.checked += 1
        seq = row.seq
        if seq <= prev_seq:
            problems.append(Problem(seq, "reordered" if seq < prev_seq else "inserted",
                                    f"序号 {seq} 出现在 {prev_seq} 之后 / seq out of order"))
        elif seq != prev_seq + 1:
            problems.append(Problem(seq, "deleted", f"缺少序号 {prev_seq + 1}–{seq - 1} 的记录 / entries missing"))
        if sm3_hex(row.prev_hash.encode() + canonical(row)) != row.hash:
            problems.append(Problem(seq, "modified", f"记录 {seq} 的内容被修改 / entry altered"))
        elif row.prev_hash != prev_hash and seq == prev_seq + 1:
            problems.append(Problem(seq, "inserted", f"记录 {seq} 与前一条记录的链接断开 / link broken"))
        hashes[seq] = row.hash
        prev_hash, prev_seq = row.hash, max(prev_seq, seq)
    report.head_seq, report.head_hash = prev_seq, prev_hash
    for seal in seals:
        report.seals_checked += 1
        if seal.public_key != public_key:
            problems.append(Problem(seal.seq, "seal_key",
                                    f"检查点 {seal.seq} 不是交易所密钥签署的 / checkpoint signed by another key"))
            continue
        if not verify_signature(public_key, seal_message(seal.seq, seal.head_hash), seal.signature):
            problems.append(Problem(seal.seq, "seal_forged",
                                    f"检查点 {seal.seq} 的 SM2 签名无效 / checkpoint signature invalid"))
            continue
        actual = hashes.get(seal.seq)
        if actual is None:
            problems.append(Problem(seal.seq, "truncated",
                                    f"检查点 {seal.seq} 签署的记录已不存在 / signed entry missing"))
        elif actual != seal.head_hash:
            problems.append(Problem(seal.seq, "seal_mismatch",
                                    f"记录 {seal.seq} 与交易所签署的链头不符（账本被改写）/ chain rewritten "
                                    "after the checkpoint"))
        else:
            report.signed_through = max(report.signed_through, seal.seq)
    if head is not None and (head[0] != prev_seq or head[1] != prev_hash):
        problems.append(Problem(head[0], "truncated",
                                f"链头为 {head[0]}，最后一条为 {prev_seq} / chain tail removed or altered"))
    return report
