"""Messy input on ingest: placeholders (N/A, NULL, 无, —, NaN …) read as missing in every reader and
counted per column, typed after they are removed, configurable per entry and per upload; ragged
CSV rows all reported (up to a cap) with line numbers, nothing written."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from tests.support.messy import write_registration_workbook
from tests.unit.lake.conftest import _entry

from shudata.core.errors import InvalidInput
from shudata.db.runtime import Runtime
from shudata.jobs.ingest import ingest_file
from shudata.lake import service
from shudata.lake.ingest import csv as csvmod
from shudata.lake.ingest.source import IngestOptions
from shudata.lake.models import LakeVersion
from shudata.quality import cleaning_missing

BASE = "/api/v1/resources"
COMPANY_CSV = ("企业名称,注册资金,企业类型,成立年份\n"
               "成都甲商贸有限公司,50,N/A,1993\n"
               "绵阳乙机械厂,Ｎ／Ａ,全民所有制,NULL\n"
               "德阳丙百货商店,30,　,—\n"
               "无限极（中国）有限公司,12.5,无,1995\n"
               "乐山丁经营部,不详,#N/A,1996\n")


def _ingest(rt: Runtime, world: Any, code: str, path: Path, **opts: object) -> LakeVersion:
    with rt.transaction() as s:
        return ingest_file(session=s, settings=rt.settings, actor=world.steward, resource_code=code, path=path,
                           options=IngestOptions.model_validate(opts))


def _table(rt: Runtime, v: LakeVersion) -> dict[str, list[Any]]:
    files = sorted((rt.settings.lake_dir / v.storage_path).glob("*.parquet"))
    return pq.read_table(files).to_pydict()


def _counts(v: LakeVersion) -> dict[str, int]:
    return {c["name"]: c.get("missing_values", 0) for c in v.columns}


def _types(v: LakeVersion) -> dict[str, str]:
    return {c["name"]: c["type"] for c in v.columns}


def test_placeholders_in_a_gbk_csv_are_null_and_typing_follows(rt: Runtime, world: Any,
                                                               write_file: Callable[[str, bytes], Path]) -> None:
    code = _entry(rt, world.steward, "201001/000101", "企业名录", [])
    v = _ingest(rt, world, code, write_file("企业.csv", COMPANY_CSV.encode("gbk")))
    data = _table(rt, v)
    assert v.encoding == "gbk"
    assert _types(v)["成立年份"] == "int64"  # NULL and — removed before typing: the column is numeric
    assert data["成立年份"] == [1993, None, None, 1995, 1996]
    assert data["注册资金"] == ["50", None, "30", "12.5", "不详"]  # 不详 is not a default placeholder
    assert data["企业类型"] == [None, "全民所有制", None, None, None]
    assert data["企业名称"][3] == "无限极（中国）有限公司"  # a whole cell is a placeholder, not a part
    assert _counts(v) == {"企业名称": 0, "注册资金": 1, "企业类型": 4, "成立年份": 2}  # the U+3000 cell too


@pytest.mark.parametrize("xls", [True, False], ids=["xls", "xlsx"])
def test_placeholders_in_the_messy_registration_workbook(rt: Runtime, world: Any, tmp_path: Path,
                                                         xls: bool) -> None:
    pytest.importorskip("xlwt") if xls else None
    m = write_registration_workbook(tmp_path / "企业登记", rows=300, seed=11, xls=xls)
    code = _entry(rt, world.steward, f"201001/00020{int(xls)}", "企业登记名录", [])
    v = _ingest(rt, world, code, m.path)
    data = _table(rt, v)
    assert v.header_row == 2 and v.rows == m.rows  # the title row above the header is skipped
    assert data["企业类型"].count(None) == m.na_types > 250
    assert _counts(v)["企业类型"] == m.na_types
    assert {x for x in data["企业类型"] if x} <= {"有限责任公司", "股份有限公司", "全民所有制", "集体所有制",
                                                "中外合资经营企业", "个人独资企业"}
    with rt.transaction() as s:  # the upload's audit record names the counts too
        from shudata.audit.models import AuditEntry

        entry = s.scalars(select(AuditEntry).where(AuditEntry.action == "lake.version.create")
                          .order_by(AuditEntry.id.desc())).first()
        assert entry is not None and json.loads(entry.details)["missing_values"]["企业类型"] == m.na_types


def test_placeholders_in_json_and_against_the_entry_items(rt: Runtime, world: Any,
                                                           write_file: Callable[[str, bytes], Path]) -> None:
    """JSON strings are cells like any other (JSON null is NULL already); an entry whose item is an
    integer accepts a file whose column has N/A and — (the column check reads the cleaned sample)."""
    code = _entry(rt, world.steward, "201001/000701", "企业名录", [])
    records = [{"名称": "甲", "人数": 12, "类型": "N/A"}, {"名称": "乙", "人数": "—", "类型": None},
               {"名称": "丙", "人数": "n/a", "类型": "集体所有制"}]
    v = _ingest(rt, world, code, write_file("a.json", json.dumps(records, ensure_ascii=False).encode()))
    assert _table(rt, v) == {"名称": ["甲", "乙", "丙"], "人数": [12, None, None], "类型": [None, None, "集体所有制"]}
    assert _counts(v) == {"名称": 0, "人数": 2, "类型": 1}
    people = "姓名,城市,年龄,登记日期\n张三,成都市,N/A,2023-01-02\n李四,—,41,NULL\n"
    v = _ingest(rt, world, world.people, write_file("p.csv", people.encode("utf-8")))
    assert _table(rt, v)["年龄"] == [None, 41] and _table(rt, v)["城市"] == ["成都市", None]
    assert _table(rt, v)["登记日期"][1] is None and _types(v)["登记日期"] == "date32[day]"


def test_real_air_quality_file_nan_and_dash(rt: Runtime, world: Any, real: Path) -> None:
    """NaN in numeric columns and — in text columns, as the national monitoring feed writes them."""
    path = real.parent / "messy" / "sichuan_station_hourly_chengdu_2020-03.csv"
    rows = list(csv.DictReader(io.StringIO(path.read_text(encoding="utf-8"))))
    code = _entry(rt, world.steward, "201001/000301", "成都空气质量小时数据", [])
    v = _ingest(rt, world, code, path)
    data, counts, types = _table(rt, v), _counts(v), _types(v)
    assert v.rows == len(rows)
    assert types["AQI"] in ("int64", "double") and types["PM2.5"] in ("int64", "double")
    for col in ("AQI", "Level", "PrimaryPollution", "PM2.5"):
        expected = sum(1 for r in rows if r[col].strip() in ("NaN", "—"))
        assert counts[col] == expected > 0, col
        assert data[col].count(None) == sum(1 for r in rows if r[col].strip() in ("NaN", "—", "")), col


def test_per_entry_list_and_per_upload_override(rt: Runtime, world: Any,
                                                write_file: Callable[[str, bytes], Path]) -> None:
    code = _entry(rt, world.steward, "201001/000401", "企业名录", [])
    with rt.transaction() as s:
        saved = cleaning_missing.save(session=s, settings=rt.settings, actor=world.steward, resource=code,
                                      values=["不详", "N/A"], include_defaults=False)
    assert saved["source"] == "entry" and saved["effective"] == ["不详", "N/A"] and saved["revision"] == 1
    v = _ingest(rt, world, code, write_file("a.csv", COMPANY_CSV.encode("gbk")))
    data = _table(rt, v)
    assert data["注册资金"] == [50.0, None, 30.0, 12.5, None]  # Ｎ／Ａ and 不详: the column is numeric now
    assert data["企业类型"] == [None, "全民所有制", None, "无", "#N/A"]  # 无 and #N/A are text for this entry
    assert _types(v)["成立年份"] == "string"  # NULL and — are values here
    v2 = _ingest(rt, world, code, write_file("b.csv", COMPANY_CSV.encode("gbk")), missing_values=[])
    assert _table(rt, v2)["企业类型"] == ["N/A", "全民所有制", None, "无", "#N/A"]  # [] : blanks only
    with rt.transaction() as s:  # the list is a saved pipeline: every revision, who saved it
        shown = cleaning_missing.describe(session=s, settings=rt.settings, actor=world.user, resource=code)
        assert (shown["saved_by"], shown["include_defaults"]) == (world.steward.username, False)
        with pytest.raises(Exception) as err:
            cleaning_missing.save(session=s, settings=rt.settings, actor=world.user, resource=code, values=["x"])
        assert getattr(err.value, "code", "") == "permission_denied"


@pytest.mark.sqlite_only
def test_missing_values_through_the_api(client: TestClient, api: Any) -> None:
    code = api.world.blank
    got = client.get(f"{BASE}/{code}/missing-values", headers=api.user).json()
    assert got["source"] == "default" and "N/A" in got["effective"] and "无" in got["effective"]
    data = COMPANY_CSV.encode("gbk")
    r = client.post("/api/v1/lake/preview", headers=api.steward, files={"file": ("a.csv", data)},
                    data={"resource": code})
    assert r.status_code == 200, r.text
    assert {i["name"]: i["data_type"] for i in r.json()["proposed_items"]}["成立年份"] == "I"
    assert "N/A" in r.json()["missing_values"] and r.json()["rows"][0][2] is None  # the preview shows NULL
    r = client.post(f"{BASE}/{code}/versions", headers=api.steward, files={"file": ("a.csv", data)},
                    data={"missing_values": "N/A\n不详，无", "save_missing_values": "true"})
    assert r.status_code == 201, r.text
    cols = {c["name"]: c for c in r.json()["columns"]}
    # Ｎ／Ａ, 不详 | N/A, the U+3000 cell, 无 (#N/A is a value with this list)
    assert (cols["注册资金"]["missing_values"], cols["企业类型"]["missing_values"]) == (2, 3)
    saved = client.get(f"{BASE}/{code}/missing-values", headers=api.user).json()
    assert saved["source"] == "entry" and saved["effective"] == ["N/A", "不详", "无"]
    r = client.put(f"{BASE}/{code}/missing-values", headers=api.steward,
                   json={"values": ["不详"], "include_defaults": True})
    assert r.status_code == 200 and r.json()["revision"] == 2 and "不详" in r.json()["effective"]
    r = client.put(f"{BASE}/{code}/missing-values", headers=api.user, json={"values": []})
    assert r.status_code == 403
    r = client.put(f"{BASE}/{code}/missing-values", headers=api.steward, json={"values": "N/A"})
    assert r.status_code == 422 and r.json()["error"]["code"] == "bad_missing_values"


# -- ragged files ------------------------------------------------------------------------------

def _ragged(extra_bad: int = 0) -> bytes:
    lines = ["地区,年份,值", "成都,2020,1", "绵阳,2020,2,多出一列", "德阳,2020", "乐山,2020,4"]
    lines += [f"遂宁,{2000 + i},{i},x" for i in range(extra_bad)]
    lines += ["宜宾,2021,5"]
    return ("\n".join(lines) + "\n").encode("utf-8")


def _versions(rt: Runtime) -> int:
    with rt.transaction() as s:
        return s.scalar(select(func.count()).select_from(LakeVersion)) or 0


def test_every_ragged_row_is_reported_and_nothing_written(rt: Runtime, world: Any,
                                                          write_file: Callable[[str, bytes], Path]) -> None:
    code = _entry(rt, world.steward, "201001/000501", "地区值", [])
    with pytest.raises(InvalidInput) as err:
        _ingest(rt, world, code, write_file("r.csv", _ragged()))
    e = err.value
    assert e.code == "ragged_rows" and e.status == 422
    assert e.details["lines"] == [3, 4] and e.details["count"] == 2 and e.details["more"] == 0
    assert [(r["line"], r["expected"], r["actual"]) for r in e.details["rows"]] == [(3, 3, 4), (4, 3, 2)]
    assert "第 3 行 4 列" in e.zh and "第 4 行 2 列" in e.zh and "表头（3 列）" in e.zh and "没有写入任何数据" in e.zh
    assert _versions(rt) == 0 and not any(p.is_file() for p in rt.settings.lake_dir.rglob("*.parquet"))


def test_ragged_rows_beyond_the_cap_are_counted(rt: Runtime, world: Any,
                                                write_file: Callable[[str, bytes], Path]) -> None:
    code = _entry(rt, world.steward, "201001/000502", "地区值", [])
    with pytest.raises(InvalidInput) as err:
        _ingest(rt, world, code, write_file("r.csv", _ragged(extra_bad=150)))
    d = err.value.details
    assert d["count"] == 152 and len(d["rows"]) == csvmod.RAGGED_CAP == 100 and d["more"] == 52
    assert d["lines"][:4] == [3, 4, 6, 7] and d["lines"][-1] == 103
    assert "另有 132 行" in err.value.zh  # 20 named in the message, the first 100 in the details


def test_ragged_rows_in_several_chunks_keep_their_line_numbers(
        rt: Runtime, world: Any, write_file: Callable[[str, bytes], Path], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(csvmod, "SERIAL_CHUNK", 4096)
    monkeypatch.setattr(csvmod, "MIN_TAIL", 1024)
    lines = ["地区,说明,值"] + [f"成都{i},\"多行\n说明{i}\",{i}" if i % 50 == 0 else f"成都{i},说明,{i}"
                              for i in range(3000)]
    bad = {1000: "绵阳,1", 2500: "德阳,1,2,3"}
    for i, row in bad.items():
        lines[i + 1] = row
    text = "\n".join(lines) + "\n"
    code = _entry(rt, world.steward, "201001/000503", "地区值", [])
    with pytest.raises(InvalidInput) as err:
        _ingest(rt, world, code, write_file("big.csv", text.encode("utf-8")))
    physical = {i: text[: text.index("\n" + row + "\n") + 1].count("\n") + 1 for i, row in bad.items()}
    assert err.value.details["lines"] == [physical[1000], physical[2500]]
    assert err.value.details["count"] == 2 and _versions(rt) == 0


@pytest.mark.sqlite_only
def test_ragged_rows_and_placeholders_in_parallel_chunks(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The process-pool path: ragged rows of every chunk reported in file order; placeholders
    counted across chunks."""
    from shudata.lake.ingest import readers
    from shudata.lake.ingest.plan import inferred_specs

    monkeypatch.setattr(csvmod, "PARALLEL_MIN_BYTES", 1)
    monkeypatch.setattr(csvmod, "PARALLEL_CHUNK", 4096)
    monkeypatch.setattr(csvmod, "MIN_TAIL", 1024)
    rows = [f"成都{i},{'N/A' if i % 10 == 0 else i}" for i in range(4000)]
    path = tmp_path / "p.csv"
    path.write_text("地区,值\n" + "\n".join(rows) + "\n", encoding="utf-8")
    opts = IngestOptions(missing_values=("N/A",), skip_footer=0)
    info = readers.inspect(path, "p.csv", opts)
    (tmp_path / "ok").mkdir()
    stats = csvmod.stage_csv(info, inferred_specs(info), tmp_path / "ok", opts, workers=2)
    assert stats.rows == 4000 and stats.files > 4 and stats.missing == {"值": 400}
    rows[1500], rows[3900] = "绵阳", "德阳,1,2"
    path.write_text("地区,值\n" + "\n".join(rows) + "\n", encoding="utf-8")
    (tmp_path / "bad").mkdir()
    with pytest.raises(InvalidInput) as err:
        csvmod.stage_csv(readers.inspect(path, "p.csv", opts), inferred_specs(info), tmp_path / "bad", opts, workers=2)
    assert err.value.details["lines"] == [1502, 3902]


@pytest.mark.sqlite_only
def test_ragged_upload_is_a_422_with_every_row(client: TestClient, api: Any) -> None:
    r = client.post(f"{BASE}/{api.world.blank}/versions", headers=api.steward,
                    files={"file": ("r.csv", _ragged())})
    assert r.status_code == 422
    err = r.json()["error"]
    assert err["code"] == "ragged_rows" and "第 3 行" in err["message"] and "第 4 行" in err["message"]
    assert [x["line"] for x in err["details"]["rows"]] == [3, 4]
    assert client.get(f"{BASE}/{api.world.blank}/versions", headers=api.user).json() == []


def test_service_version_columns_keep_counts_in_history(rt: Runtime, world: Any,
                                                        write_file: Callable[[str, bytes], Path]) -> None:
    code = _entry(rt, world.steward, "201001/000601", "企业名录", [])
    _ingest(rt, world, code, write_file("a.csv", COMPANY_CSV.encode("utf-8")))
    with rt.transaction() as s:
        from shudata.catalog.access import find_resource

        v = service.get_version(s, find_resource(s, code).id, 1)
        assert _counts(v)["企业类型"] == 4
