"""Cleaning steps that parse text into typed values — parse_amount (Chinese amounts with units and
currencies), parse_date (every date form of real registers), missing_values — with the rows
that do not parse quarantined with their reason; on the messy registration workbook end to end."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest
from sqlalchemy import select
from tests.support.messy import write_registration_workbook
from tests.unit.quality.conftest import World

from shudata.catalog.access import find_resource
from shudata.quality import cleaning_service, quarantine_service
from shudata.quality.cleaning import expand, parse_pipeline
from shudata.quality.cleaning_run import cleaned_batches, plan, quarantined_rows
from shudata.quality.models import QualityQuarantineRow
from shudata.quality.run import Target
from shudata.query.engines.duckdb import DuckDBEngine

Stage = Callable[[pa.Table, str], Target]

AMOUNTS: list[tuple[str | None, float | None, str | None]] = [
    ("50万元人民币", 50.0, "CNY"),
    ("30万美元", 30.0, "USD"),
    ("100万港元", 100.0, "HKD"),
    ("200", 200.0, "CNY"),  # bare: default_unit 万元, default_currency CNY
    ("壹佰万元", 100.0, "CNY"),
    ("１２３．５万元", 123.5, "CNY"),
    ("1.2亿元", 12000.0, "CNY"),
    ("人民币100万元", 100.0, "CNY"),
    ("USD 30万", 30.0, "USD"),
    ("HK$100万", 100.0, "HKD"),
    ("1,234.5万元", 1234.5, "CNY"),
    ("５，０００元", 0.5, "CNY"),  # 元 without 万: yuan
    ("3千万元", 3000.0, "CNY"),
    ("二十万元", 20.0, "CNY"),
    ("一百五十万元", 150.0, "CNY"),
    ("壹仟零伍万元整", 1005.0, "CNY"),
    ("伍拾万美元", 50.0, "USD"),
    ("20万欧元", 20.0, "EUR"),
    ("1000万日元", 1000.0, "JPY"),
    ("", None, None),  # missing stays missing
    ("N/A", None, None),
    ("—", None, None),
    (None, None, None),
]
UNPARSABLE = ["约100万", "100万以上", "garbage", "五五五万元", "1.2.3万"]


def _run(engine: DuckDBEngine, target: Target, steps: list[dict[str, Any]]) -> tuple[Any, pa.Table, list[Any]]:
    p = parse_pipeline({"name": "t", "steps": steps})
    expanded = expand(p, lambda n: None)
    outcome, tables = plan(engine, target, expanded, {})
    out = pa.Table.from_batches(list(cleaned_batches(engine, outcome, tables)))
    return outcome, out, quarantined_rows(engine, outcome, expanded, tables)


def test_parse_amount_table(engine: DuckDBEngine, stage: Stage) -> None:
    values = [v for v, _, _ in AMOUNTS] + UNPARSABLE
    t = pa.table({"n": pa.array(range(len(values)), pa.int64()), "注册资金": pa.array(values, pa.string())})
    outcome, out, held = _run(engine, stage(t, "t"), [{"step": "parse_amount", "column": "注册资金"}])
    assert out.schema.field("注册资金（万元）").type == pa.float64()
    got = {r["n"]: (r["注册资金（万元）"], r["注册资金币种"]) for r in out.to_pylist()}
    for i, (raw, amount, cur) in enumerate(AMOUNTS):
        assert got[i] == (pytest.approx(amount) if amount is not None else None, cur), raw
    assert outcome.rows_in == len(values) and outcome.rows_out == len(AMOUNTS)
    assert outcome.quarantined == len(UNPARSABLE) and outcome.steps[0].quarantined == len(UNPARSABLE)
    assert sorted(str(d["注册资金"]) for d, _, _ in held) == sorted(UNPARSABLE)  # the raw text is kept
    _data, keys, why = next(h for h in held if h[0]["注册资金"] == "约100万")
    assert keys == ["clean:1:parse_amount"] and "“约100万”无法解析为金额" in why


def test_parse_amount_in_place_in_yuan_with_rates(engine: DuckDBEngine, stage: Stage) -> None:
    t = pa.table({"资金": ["10万美元", "10万元", "3", "10万英镑"]})
    _o, out, held = _run(engine, stage(t, "t"), [{
        "step": "parse_amount", "column": "资金", "target": "资金", "currency_column": "币种", "unit": "元",
        "default_unit": "元", "rates": {"USD": 7.0}}])
    assert out.column_names == ["资金", "币种"] and held == []
    assert out.to_pylist() == [{"资金": 700000.0, "币种": "CNY"}, {"资金": 100000.0, "币种": "CNY"},
                               {"资金": 3.0, "币种": "CNY"}, {"资金": 100000.0, "币种": "GBP"}]  # no rate: kept


DATES: list[tuple[Any, dt.date | None]] = [
    ("1993年1月5日", dt.date(1993, 1, 5)), ("1993.1.5", dt.date(1993, 1, 5)), ("1993/1/5", dt.date(1993, 1, 5)),
    ("1993-01-05", dt.date(1993, 1, 5)), ("19930105", dt.date(1993, 1, 5)), ("33974", dt.date(1993, 1, 5)),
    ("33974.0", dt.date(1993, 1, 5)), ("一九九三年一月五日", dt.date(1993, 1, 5)),
    ("二〇〇八年五月十二日", dt.date(2008, 5, 12)), ("一九九三年十二月三十一日", dt.date(1993, 12, 31)),
    ("１９９３－０１－０５", dt.date(1993, 1, 5)), ("1993-01-05 08:30:00", dt.date(1993, 1, 5)),
    ("1993年01月05日", dt.date(1993, 1, 5)),
    ("1", dt.date(1900, 1, 1)), ("59", dt.date(1900, 2, 28)), ("61", dt.date(1900, 3, 1)),  # the 1900 leap bug
    ("", None), ("N/A", None), (None, None),
]
BAD_DATES = ["60", "1993-02-30", "1993", "1993年1月", "不详", "13/13/1993"]


def test_parse_date_table(engine: DuckDBEngine, stage: Stage) -> None:
    values = [v for v, _ in DATES] + BAD_DATES
    t = pa.table({"n": pa.array(range(len(values)), pa.int64()), "注册日期": pa.array(values, pa.string())})
    outcome, out, held = _run(engine, stage(t, "t"), [{"step": "parse_date", "column": "注册日期"}])
    assert out.schema.field("注册日期").type == pa.date32()
    got = {r["n"]: r["注册日期"] for r in out.to_pylist()}
    assert [got[i] for i in range(len(DATES))] == [d for _, d in DATES]
    assert outcome.quarantined == len(BAD_DATES)
    assert all("不是有效日期" in why for _, _, why in held)
    assert sorted(d["n"] for d, _, _ in held) == list(range(len(DATES), len(values)))


def test_parse_date_of_a_numeric_column_and_missing_values_step(engine: DuckDBEngine, stage: Stage) -> None:
    t = pa.table({"serial": pa.array([33974.0, None, 61.0]), "类型": ["N/A", "有限公司", "ＮＵＬＬ"]})
    _o, out, held = _run(engine, stage(t, "t"), [{"step": "parse_date", "column": "serial", "target": "日期"},
                                                 {"step": "missing_values"}])
    assert out.column("日期").to_pylist() == [dt.date(1993, 1, 5), None, dt.date(1900, 3, 1)]
    assert out.column("类型").to_pylist() == [None, "有限公司", None] and held == []


def _ingest(world: World, code: str, path: Path) -> None:
    from shudata.jobs.ingest import ingest_file

    with world.rt.transaction() as s:
        ingest_file(session=s, settings=world.rt.settings, actor=world.steward, resource_code=code, path=path)


def test_messy_registration_workbook_end_to_end(world: World, add_resource: Callable[..., str],
                                                tmp_path: Path) -> None:
    """The 1993 register: placeholders NULL on ingest, then amounts and dates parsed by a saved
    pipeline into a new version, the unparsable rows quarantined with reasons, fixable and released."""
    m = write_registration_workbook(tmp_path / "企业登记", rows=240, seed=7)
    code = add_resource(world.dept, "企业登记名录", [])
    with world.rt.transaction() as s:
        res = find_resource(s, code)
        res.information_items = []
    _ingest(world, code, m.path)
    spec = {"name": "登记清洗", "steps": [{"step": "parse_amount", "column": "注册资金"},
                                      {"step": "parse_date", "column": "注册日期"}]}
    with world.rt.transaction() as s:
        cleaning_service.save_pipeline(session=s, actor=world.steward, resource=code, spec=spec)
        preview = cleaning_service.preview_clean(session=s, settings=world.rt.settings, actor=world.steward,
                                                 resource=code, pipeline="登记清洗")
        made = cleaning_service.clean(session=s, settings=world.rt.settings, actor=world.steward, resource=code,
                                      pipeline="登记清洗")
    assert preview["quarantined"] == m.unparsable_amounts > 0
    assert made.steps[0]["quarantined"] == m.unparsable_amounts and made.steps[1]["quarantined"] == 0
    from shudata.lake.parquet import read_table
    from shudata.lake.service import get_version
    from shudata.quality.service import target_of

    with world.rt.transaction() as s:
        res = find_resource(s, code)
        v1, v2 = get_version(s, res.id, 1), get_version(s, res.id, 2)
        assert v1.rows == m.rows and v2.rows == m.rows - m.unparsable_amounts
        assert v2.quarantined_rows == m.unparsable_amounts
        types = {c["name"]: c["type"] for c in v2.columns}
        parsed = [types[c] for c in ("注册资金（万元）", "注册资金币种", "注册日期")]
        assert parsed == ["double", "string", "date32[day]"]
        by_kind = {c["name"]: c.get("missing_values") for c in v1.columns}
        assert by_kind["企业类型"] == m.na_types  # placeholders counted on ingest
        rows = read_table(list(target_of(world.rt.settings, v2).source.files)).to_pylist()
        held = list(s.scalars(select(QualityQuarantineRow).where(QualityQuarantineRow.resource_id == res.id)))
    expected = {raw: (a, c) for a, c, raw in m.amounts if a is not None}
    for r in rows:
        if r["注册资金"] in expected:
            a, c = expected[r["注册资金"]]
            assert (r["注册资金（万元）"], r["注册资金币种"]) == (pytest.approx(a), c), r["注册资金"]
        assert r["企业类型"] not in ("N/A", "NA", "无", "—")
    assert all(isinstance(r["注册日期"], (dt.date, str)) and r["注册日期"] for r in rows)
    assert {d for d, _ in m.dates} >= {dt.date.fromisoformat(str(r["注册日期"])[:10]) for r in rows}
    assert len(held) == m.unparsable_amounts and all("无法解析为金额" in h.reasons for h in held)
    assert all(h.version == 2 and h.data["注册资金"].startswith("约") for h in held)
    # the steward fixes a row's amount and releases it onto the cleaned version
    with world.rt.transaction() as s:
        quarantine_service.fix_row(session=s, settings=world.rt.settings, actor=world.steward, row_id=held[0].id,
                                   data={"注册资金（万元）": 100, "注册资金币种": "CNY"})
        out = quarantine_service.release_fixed(session=s, settings=world.rt.settings, actor=world.steward,
                                               resource=code)
    assert out["rows"] == 1
