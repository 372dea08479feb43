"""Quarantine on real messy files: input rows == accepted + quarantined, with reasons."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from shudata.core.errors import InvalidInput
from shudata.quality.quarantine import ROW_COLUMN, split, stage_arrow
from shudata.quality.rules import parse_rule_set
from shudata.query.engines.base import TableSource
from shudata.query.engines.duckdb import DuckDBEngine

MOE_RULES = [
    {"type": "not_null", "column": "学校名称", "severity": "block"},
    {"type": "regex", "column": "学校标识码", "pattern": "^4[0-9]{9}$", "severity": "block"},
    {"type": "enum", "column": "办学层次", "values": ["本科", "专科"], "severity": "block"},
    {"type": "enum", "column": "备注", "values": ["民办", "中外合作办学", "内地与港澳台地区合作办学"]},  # warn only
]


def test_moe_list_section_rows_are_quarantined_and_nothing_is_lost(
        engine: DuckDBEngine, lookups: dict[str, TableSource], moe: pa.Table, tmp_path: Path) -> None:
    target = stage_arrow(moe, tmp_path / "staged.parquet")
    out = split(engine, target, parse_rule_set(MOE_RULES), lookups=lookups, dest=tmp_path / "accepted.parquet")
    assert out.input_rows == moe.num_rows == 2662
    assert out.accepted_rows + out.quarantined_rows == out.input_rows
    # the 31 province section rows such as 四川省（109所）, and 6 real institutions (幼儿师范高等专科学校
    # and 长春师范高等专科学校) whose 学校标识码 starts with 36, not 4
    assert out.quarantined_rows == 37
    assert sum(r.data["序号"].endswith("所）") for r in out.rows) == 31
    assert out.rule_counts == {"not_null:学校名称": 31, "regex:学校标识码": 6}
    assert sorted(r.data["学校标识码"] for r in out.rows if r.rule_keys == ["regex:学校标识码"])[0] == "3622000335"
    assert {r.row_no for r in out.rows} >= {1}  # row numbers point back into the upload
    assert "不得为空" in out.rows[0].reasons
    accepted = pq.read_table(out.accepted_file)
    assert accepted.num_rows == 2625 and ROW_COLUMN not in accepted.column_names
    assert accepted.column("学校名称").null_count == 0


def test_scenic_areas_missing_counties_and_duplicates(engine: DuckDBEngine, lookups: dict[str, TableSource],
                                                      scenic: pa.Table, tmp_path: Path) -> None:
    rules = parse_rule_set([
        {"type": "not_null", "column": "所在区县", "severity": "block"},
        {"type": "unique", "columns": ["名称"], "severity": "block"},
        {"type": "not_null", "column": "地址", "severity": "report"},
    ])
    target = stage_arrow(scenic, tmp_path / "staged.parquet")
    out = split(engine, target, rules, lookups=lookups, dest=tmp_path / "accepted.parquet")
    assert (out.input_rows, out.accepted_rows, out.quarantined_rows) == (819, 813, 6)
    assert out.rule_counts == {"not_null:所在区县": 2, "unique:名称": 4}
    assert pq.read_table(out.accepted_file).num_rows == 813


def test_rows_failing_two_rules_are_quarantined_once_with_both_reasons(
        engine: DuckDBEngine, lookups: dict[str, TableSource], tmp_path: Path) -> None:
    t = pa.table({"a": [None, "x", "toolong"], "b": ["1", "2", "3"]})
    rules = parse_rule_set({"rules": [{"type": "not_null", "column": "a", "severity": "block"},
                                      {"type": "length", "column": "a", "max": 3, "severity": "block"},
                                      {"type": "required", "columns": ["a"], "severity": "block", "id": "req"}],
                            "reject_ingest_above": 1.0})
    out = split(engine, stage_arrow(t, tmp_path / "s.parquet"), rules, lookups=lookups, dest=tmp_path / "a.parquet")
    assert (out.accepted_rows, out.quarantined_rows) == (1, 2)
    keys = {r.row_no: r.rule_keys for r in out.rows}
    assert keys == {1: ["not_null:a", "req"], 3: ["length:a"]}


def test_warn_rules_never_quarantine(engine: DuckDBEngine, lookups: dict[str, TableSource], scenic: pa.Table,
                                     tmp_path: Path) -> None:
    rules = parse_rule_set([{"type": "not_null", "column": "所在区县", "severity": "warn"}])
    out = split(engine, stage_arrow(scenic, tmp_path / "s.parquet"), rules, lookups=lookups,
                dest=tmp_path / "a.parquet")
    assert (out.accepted_rows, out.quarantined_rows) == (819, 0)


def test_broken_feed_is_refused_whole_and_writes_nothing(engine: DuckDBEngine, lookups: dict[str, TableSource],
                                                         scenic: pa.Table, tmp_path: Path) -> None:
    rules = parse_rule_set({"rules": [{"type": "enum", "column": "等级", "values": ["5A"], "severity": "block"}],
                            "reject_ingest_above": 0.5})
    dest = tmp_path / "a.parquet"
    with pytest.raises(InvalidInput) as err:
        split(engine, stage_arrow(scenic, tmp_path / "s.parquet"), rules, lookups=lookups, dest=dest)
    assert err.value.code == "ingest_rejected" and "整批拒收" in err.value.zh
    assert not dest.exists()
    assert [p.name for p in tmp_path.iterdir() if p.name.endswith(".tmp")] == []
