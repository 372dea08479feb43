"""Benchmark of the market ledger (存证账本, issue 16): ``market.ledger_verify_entries_per_s``.

    .venv/bin/python bench/market_ledger.py [--quick] [--entries 100000]

A fresh SQLite store gets ``--entries`` market events through the ledger's own append rules
(hashes chained with SM3, a checkpoint signed by the exchange with SM2 every
``market_ledger_checkpoint_every`` = 1,000 entries, as configured by default), written in bulk.
The figure is entries per second of :func:`shudata.market.ledger.service.verify`: every entry read
back from the store, re-hashed and linked, every checkpoint's SM2 signature checked (target
≥ 20,000 entries/s). The baseline, measured in the same run, is plain SM3 hashing of the same
bytes (``prev_hash || canonical(entry)``) already in memory: the floor of any verification.
``bench/market.py`` runs the same function with the other market figures.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from sqlalchemy import insert

from shudata.core.config import Settings
from shudata.db.runtime import Runtime
from shudata.market.ledger import chain
from shudata.market.ledger.keys import exchange_key
from shudata.market.ledger.models import MarketLedgerCheckpoint, MarketLedgerEntry, MarketLedgerHead
from shudata.market.ledger.service import verify
from shudata.security.crypto import sm2
from shudata.security.crypto.sm3 import sm3_hex

KINDS = ("market.order.inquire", "market.order.offer", "market.order.sign", "market.order.fund",
         "market.order.deliver", "market.order.accept", "market.order.settle", "market.product.list")


def _fill(rt: Runtime, n: int) -> list[bytes]:
    """Write ``n`` chained entries and their checkpoints; the hashed bytes of each, for the baseline."""
    settings = rt.settings
    every = settings.market_ledger_checkpoint_every
    start = dt.datetime(2026, 12, 1, tzinfo=dt.UTC)
    hashed: list[bytes] = []
    rows: list[dict[str, Any]] = []
    seals: list[dict[str, Any]] = []
    with rt.transaction() as s:
        public, private = exchange_key(s, settings)
        prev = chain.GENESIS
        for i in range(1, n + 1):
            ts = start + dt.timedelta(seconds=i)
            payload = chain.payload_text({"order": f"MO-{i // 8:08d}", "amount_fen": 1000 * (i % 97),
                                          "buyer": i % 50, "seller": i % 7})
            row = chain.Row(i, ts.isoformat(timespec="microseconds"), KINDS[i % len(KINDS)], f"user{i % 40}",
                            "order", f"MO-{i // 8:08d}", payload, prev, "")
            data = prev.encode() + chain.canonical(row)
            hashed.append(data)
            digest = sm3_hex(data)
            rows.append({"seq": i, "ts": ts, "kind": row.kind, "actor": row.actor, "subject_type": row.subject_type,
                         "subject_id": row.subject_id, "payload": payload, "prev_hash": prev, "hash": digest})
            prev = digest
            if i % every == 0:
                seals.append({"seq": i, "head_hash": digest, "public_key": public, "ts": ts,
                              "signature": sm2.sign(private, public, chain.seal_message(i, digest))})
            if len(rows) == 10_000:
                s.execute(insert(MarketLedgerEntry), rows)
                rows = []
        if rows:
            s.execute(insert(MarketLedgerEntry), rows)
        if seals:
            s.execute(insert(MarketLedgerCheckpoint), seals)
        s.add(MarketLedgerHead(id=1, seq=n, hash=prev))
    return hashed


def ledger_verify_figure(entries: int, work: Path, reps: int = 2) -> dict[str, Any]:
    settings = Settings(env="test", data_dir=work / "ledger", database_url=f"sqlite:///{work}/ledger.db")
    rt = Runtime.build(settings)
    try:
        rt.migrate()
        t0 = time.perf_counter()
        hashed = _fill(rt, entries)
        print(f"  filled {entries:,} entries in {time.perf_counter() - t0:.1f} s", file=sys.stderr)
        best = base = float("inf")
        for _ in range(reps):
            t0 = time.perf_counter()
            for data in hashed:
                sm3_hex(data)
            base = min(base, time.perf_counter() - t0)
            t0 = time.perf_counter()
            with rt.transaction() as s:
                report = verify(s, settings)
            best = min(best, time.perf_counter() - t0)
            if not report.ok or report.checked != entries:
                raise SystemExit(f"verification failed: {report.problems[:3]}")
        print(f"  verify {entries:,} entries + {report.seals_checked} SM2 checkpoints: {best:.3f} s "
              f"({entries / best:,.0f} entries/s); baseline plain SM3 of the same bytes: {base:.3f} s "
              f"({entries / base:,.0f} entries/s, verify is {base / best:.2f} of it)", file=sys.stderr)
    finally:
        rt.close()
    return {"figure": "market.ledger_verify_entries_per_s", "value": round(entries / best),
            "target": 20_000, "unit": "entries/s",
            "baseline_sm3_entries_per_s": round(entries / base), "entries": entries,
            "checkpoints": report.seals_checked}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="20,000 entries, under a minute")
    ap.add_argument("--entries", type=int, default=100_000)
    args = ap.parse_args()
    entries = 20_000 if args.quick else args.entries
    with tempfile.TemporaryDirectory() as tmp:
        print(json.dumps(ledger_verify_figure(entries, Path(tmp)), ensure_ascii=False))


if __name__ == "__main__":
    main()
