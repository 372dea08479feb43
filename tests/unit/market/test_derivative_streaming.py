"""Derivatives are made with bounded memory, and a failure part-way writes nothing.

The ``mask`` method streams: the engine masks the source files into a temporary file, counts
the risk classes itself, and the lake takes the result batch by batch (``BATCH_ROWS``), so a
source far above a batch never sits in memory whole (neither the source nor the output). The
``kanon`` method's lattice search holds the kept columns in memory: a source above the ingest
cell limit is refused (413) before anything is read. A failure while the lake takes the batches
leaves no custody entry, no product, no lake file and no temporary file.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from sqlalchemy import func, select

from shudata.catalog.access import find_resource
from shudata.catalog.writes import write_version
from shudata.core.errors import NotFound, PayloadTooLarge
from shudata.core.types import Actor, Role
from shudata.lake.service import get_version, version_files
from shudata.market import derivatives as DV
from shudata.market.derivatives import DerivativeCreate
from shudata.market.models import MarketProduct
from support.market import CITIES, department_seller

ROWS = 1_000_000  # over fifteen batches


def _people(rows: int) -> Iterator[pa.RecordBatch]:
    step = 50_000
    for start in range(0, rows, step):
        n = min(step, rows - start)
        yield pa.record_batch({
            "姓名": pa.array([f"居民{start + i:07d}" for i in range(n)]),
            "手机号码": pa.array([f"139{(start + i) % 10**8:08d}" for i in range(n)]),
            "城市": pa.array([CITIES[(start + i) % len(CITIES)] for i in range(n)]),
            "消费金额": pa.array([float((start + i) % 997) for i in range(n)])})


@pytest.fixture
def big(rt: Any, make_user: Any, make_department: Any) -> Any:
    """A department seller whose consumer list has ``ROWS`` rows in its newest version."""
    op = make_user("exchange_op", Role.MARKET_OPERATOR)
    ds = department_seller(rt, make_user, make_department, operator=op)
    with rt.transaction() as s:
        schema = next(_people(1)).schema
        write_version(session=s, settings=rt.settings, actor=Actor.system(), resource=find_resource(s, ds.people),
                      batches_or_table=_people(ROWS), schema=schema, source_name="big.csv", source_format="csv")
    return ds


def _derive(rt: Any, ds: Any, name: str, method: str = "mask") -> Any:
    with rt.transaction() as s:
        return DV.create_derivative(session=s, actor=ds.steward, settings=rt.settings, data=DerivativeCreate(
            seller_id=ds.participant_id, resource=ds.people, name=name, method=method,  # type: ignore[arg-type]
            quasi_identifiers=["城市"]))


def test_a_large_source_streams_into_the_lake_in_batches(rt: Any, big: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    seen: list[int] = []
    peak = {"bytes": 0}
    real = DV.write_version
    baseline = pa.total_allocated_bytes()

    def spy(**kw: Any) -> Any:
        assert not isinstance(kw["batches_or_table"], pa.Table)  # batches, never the whole table

        def counted() -> Iterator[pa.RecordBatch]:
            for b in kw["batches_or_table"]:
                seen.append(b.num_rows)
                peak["bytes"] = max(peak["bytes"], pa.total_allocated_bytes() - baseline)
                yield b
        return real(**{**kw, "batches_or_table": counted()})

    def whole(*_a: Any, **_k: Any) -> Any:
        raise AssertionError("the whole source was read into memory")

    monkeypatch.setattr(DV, "write_version", spy)
    monkeypatch.setattr(pq, "read_table", whole)
    p = _derive(rt, big, "大名单（脱敏）")
    monkeypatch.undo()
    d = p.derivation
    assert sum(seen) == ROWS == d["risk"]["rows"] and max(seen) <= DV.BATCH_ROWS and len(seen) >= ROWS // DV.BATCH_ROWS
    assert d["risk"]["classes"] == len(CITIES) and d["risk_before"]["rows"] == ROWS
    with rt.transaction() as s:
        res = find_resource(s, d["resource"])
        out = pq.read_table(version_files(rt.settings, get_version(s, res.id))[0])
    phones = [str(v) for v in out.column("手机号码").to_pylist()[:1000] if v is not None]
    assert out.num_rows == ROWS and not any(v.isdigit() and len(v) == 11 for v in phones)  # masked
    # the memory probe: Arrow never held more than a fraction of the output while the lake took it
    assert peak["bytes"] < out.nbytes / 3, (peak["bytes"], out.nbytes)


def test_kanon_refuses_a_source_above_the_cell_limit_before_reading(rt: Any, big: Any,
                                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(rt.settings, "upload_max_cells", ROWS)  # 4 columns × ROWS rows is above it
    with pytest.raises(PayloadTooLarge) as exc:
        _derive(rt, big, "大名单（k匿名）", method="kanon")
    assert exc.value.code == "derive_too_large" and "SHUDATA_UPLOAD_MAX_CELLS" in exc.value.zh


def _files(root: Path) -> set[Path]:
    return {p for p in root.rglob("*") if p.is_file()} if root.exists() else set()


def test_a_failure_part_way_leaves_nothing_written(rt: Any, big: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    lake, tmp = rt.settings.lake_dir, Path(rt.settings.data_dir) / "tmp" / "market"
    before = _files(lake)
    with rt.transaction() as s:
        products = s.scalar(select(func.count()).select_from(MarketProduct))

    def broken(self: Any) -> Iterator[pa.RecordBatch]:
        yield next(pq.ParquetFile(self.path).iter_batches(batch_size=DV.BATCH_ROWS))
        raise OSError("磁盘已满")

    monkeypatch.setattr(DV.Derived, "batches", broken)
    with pytest.raises(OSError, match="磁盘已满"):
        _derive(rt, big, "写到一半的衍生数据")
    assert _files(lake) == before  # no part of a version, no new entry folder
    assert not list(tmp.glob("derive-*")) and not list(tmp.glob(".derive-*"))
    with rt.transaction() as s:
        assert s.scalar(select(func.count()).select_from(MarketProduct)) == products
        with pytest.raises(NotFound):
            find_resource(s, "写到一半的衍生数据")
