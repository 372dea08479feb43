"""Verify the audit chain: report entries modified, deleted, inserted or reordered."""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.orm import Session

from shudata.audit.ledger import GENESIS, chain_hash
from shudata.audit.models import AuditEntry, AuditHead


@dataclass(frozen=True)
class Problem:
    seq: int | None
    kind: str  # modified | deleted | inserted | reordered | truncated
    message: str


@dataclass
class VerifyReport:
    checked: int = 0
    problems: list[Problem] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


def verify_chain(session: Session) -> VerifyReport:
    """Walk the chain in storage order and check every link.

    A modified entry no longer matches its own hash; a deleted one leaves a gap in the
    sequence and a broken link; an inserted one breaks the link or repeats a number; a
    reordered one shows a decreasing sequence; a truncated tail disagrees with the head.
    """
    report = VerifyReport()
    prev_hash, prev_seq = GENESIS, 0
    rows = session.execute(select(AuditEntry).order_by(AuditEntry.id)).scalars()
    for entry in rows:
        report.checked += 1
        if entry.seq <= prev_seq:
            report.problems.append(Problem(entry.seq, "reordered" if entry.seq < prev_seq else "inserted",
                                           f"序号 {entry.seq} 出现在 {prev_seq} 之后 / seq out of order"))
        elif entry.seq != prev_seq + 1:
            report.problems.append(Problem(entry.seq, "deleted",
                                           f"缺少序号 {prev_seq + 1}–{entry.seq - 1} 的记录 / entries missing"))
        if chain_hash(entry.prev_hash, entry) != entry.hash:
            report.problems.append(Problem(entry.seq, "modified", f"记录 {entry.seq} 的内容被修改 / entry altered"))
        elif entry.prev_hash != prev_hash and entry.seq == prev_seq + 1:
            report.problems.append(Problem(entry.seq, "inserted",
                                           f"记录 {entry.seq} 与前一条记录的链接断开 / link broken"))
        prev_hash, prev_seq = entry.hash, max(prev_seq, entry.seq)
    head = session.get(AuditHead, 1)
    if head is not None and (head.seq != prev_seq or head.hash != prev_hash):
        report.problems.append(Problem(head.seq, "truncated",
                                       f"链头为 {head.seq}，最后一条为 {prev_seq} / chain tail removed or altered"))
    return report
