"""ingest_file: real files in, numbered Parquet versions out; refusals leave nothing behind."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest

from shudata.core.errors import InvalidInput, PermissionDenied
from shudata.db.runtime import Runtime
from shudata.jobs.ingest import STEPS, ingest_file, preview_file
from shudata.lake import service
from shudata.lake.ingest import csv as csvmod
from shudata.lake.ingest.source import IngestOptions
from shudata.lake.reader import read_page


def _ingest(rt: Runtime, world: Any, code: str, path: Path, **opts: object) -> service.LakeVersion:
    with rt.transaction() as s:
        return ingest_file(
            session=s,
            settings=rt.settings,
            actor=world.steward,
            resource_code=code,
            path=path,
            options=IngestOptions.model_validate(opts),
        )


def _rows(rt: Runtime, v: service.LakeVersion) -> list[dict[str, object]]:
    files = service.version_files(rt.settings, v)
    return (
        pq.read_table(files).to_pylist()
        if len(files) == 1
        else [r for f in files for r in pq.read_table(f).to_pylist()]
    )


def test_gbk_nbs_export_becomes_version_one_with_titles_and_footer_skipped(
    rt: Runtime, world: Any, real: Path, people_csv: Callable[..., bytes]
) -> None:
    v = _ingest(rt, world, world.gdp, real / "gdp_100m_yuan.csv")
    assert (v.version, v.rows, v.encoding, v.header_row, v.source_format) == (1, 31, "gbk", 4, "csv")
    rows = _rows(rt, v)
    sichuan = next(r for r in rows if r["地区"] == "四川省")
    assert isinstance(sichuan["2024年"], float) and sichuan["2024年"] > 60000
    assert [c["name"] for c in v.columns][:2] == ["地区", "2024年"]
    assert v.columns[1]["type"] == "double"


def test_second_upload_is_version_two_and_version_one_stays_readable(
    rt: Runtime, world: Any, real: Path, people_csv: Callable[..., bytes], write_file: Callable[[str, bytes], Path]
) -> None:
    v1 = _ingest(rt, world, world.people, write_file("a.csv", people_csv(3)))
    v2 = _ingest(rt, world, world.people, write_file("b.csv", people_csv(5)))
    assert (v1.version, v2.version) == (1, 2)
    with rt.transaction() as s:
        res_id = v1.resource_id
        assert [v.version for v in service.list_versions(s, res_id)] == [2, 1]
        assert service.get_version(s, res_id, 1).rows == 3
        assert service.latest_version(s, res_id).version == 2  # type: ignore[union-attr]
    assert len(_rows(rt, v1)) == 3 and len(_rows(rt, v2)) == 5


@pytest.mark.parametrize(
    ("file", "rows", "encoding", "header_row"),
    [
        ("sichuan_realestate_utf8bom.csv", 4, "utf-8-sig", 4),  # UTF-8 BOM, padded title rows
        ("province_cpi_yoy_all.csv", 31, "gbk", 4),  # quoted multi-line footer note
        ("national_money_supply_1999-2021_gbk.csv", 258, "gbk", 3),  # trailing commas everywhere
        ("province_gdp_2015-2019.xls", 31, None, 4),  # XLS with notes below
        ("moe_higher_education_institutions_2017.xls", 2631, None, 3),  # 31 section rows inside
        ("sichuan_a_grade_scenic_areas.xlsx", 819, None, 1),
    ],
)
def test_real_files_into_an_entry_without_items(
    rt: Runtime,
    world: Any,
    real: Path,
    people_csv: Callable[..., bytes],
    file: str,
    rows: int,
    encoding: str | None,
    header_row: int,
) -> None:
    v = _ingest(rt, world, world.blank, real / file)
    assert (v.rows, v.encoding, v.header_row) == (rows, encoding, header_row)


def test_section_rows_are_counted_not_stored(
    rt: Runtime, world: Any, real: Path, people_csv: Callable[..., bytes]
) -> None:
    v = _ingest(rt, world, world.blank, real / "moe_higher_education_institutions_2017.xls")
    assert v.skipped_rows == 31
    names = {r["学校名称"] for r in _rows(rt, v)}
    assert "四川大学" in names and not any(str(n).endswith("所）") for n in names if n)


def test_header_row_chosen_by_the_uploader_wins(
    rt: Runtime, world: Any, real: Path, people_csv: Callable[..., bytes]
) -> None:
    with pytest.raises(InvalidInput) as err:
        _ingest(rt, world, world.gdp, real / "gdp_100m_yuan.csv", header_row=5)
    assert err.value.code == "columns_mismatch"


def test_column_mismatch_lists_missing_extra_and_mistyped(
    rt: Runtime, world: Any, real: Path, people_csv: Callable[..., bytes], write_file: Callable[[str, bytes], Path]
) -> None:
    path = write_file("p.csv", "姓名,城市,年龄,备注\n张三,成都市,三十,无\n".encode())
    with pytest.raises(InvalidInput) as err:
        _ingest(rt, world, world.people, path)
    d = err.value.details
    assert d["missing"] == ["登记日期"] and d["extra"] == ["备注"]
    assert d["mistyped"] == [{"column": "年龄", "expected": "I", "value": "三十"}]
    assert "缺少列：登记日期" in err.value.zh and "多出列：备注" in err.value.zh and "年龄" in err.value.zh


@pytest.mark.parametrize("actor", ["user", "other_steward"])
def test_upload_needs_a_steward_of_the_provider_department(
    rt: Runtime,
    world: Any,
    real: Path,
    people_csv: Callable[..., bytes],
    actor: str,
    write_file: Callable[[str, bytes], Path],
) -> None:
    with pytest.raises(PermissionDenied), rt.transaction() as s:
        ingest_file(
            session=s,
            settings=rt.settings,
            actor=getattr(world, actor),
            resource_code=world.people,
            path=write_file("a.csv", people_csv()),
        )


def test_failed_ingest_leaves_no_staging_and_no_version(
    rt: Runtime, world: Any, real: Path, people_csv: Callable[..., bytes], write_file: Callable[[str, bytes], Path]
) -> None:
    bad = people_csv(2500).decode() + "李四,成都市,不详,2023-01-01\n"  # beyond the sample: found while writing
    with pytest.raises(InvalidInput) as err:
        _ingest(rt, world, world.people, write_file("p.csv", bad.encode()))
    assert err.value.code == "bad_value" and "数据第 2501 行" in err.value.zh
    lake = rt.settings.lake_dir
    assert not any(p.is_file() for p in lake.rglob("*")) if lake.exists() else True
    with rt.transaction() as s:
        assert service.list_versions(s, 2) == [] and service.list_versions(s, 1) == []


def test_rollback_of_the_callers_transaction_removes_the_published_files(
    rt: Runtime, world: Any, real: Path, people_csv: Callable[..., bytes], write_file: Callable[[str, bytes], Path]
) -> None:
    with pytest.raises(RuntimeError), rt.transaction() as s:
        ingest_file(
            session=s,
            settings=rt.settings,
            actor=world.steward,
            resource_code=world.people,
            path=write_file("a.csv", people_csv()),
        )
        raise RuntimeError("caller fails after the write")
    assert not list((rt.settings.lake_dir / "r").rglob("*.parquet"))


def test_parallel_chunks_give_the_same_rows_as_one_pass(
    rt: Runtime,
    world: Any,
    real: Path,
    people_csv: Callable[..., bytes],
    monkeypatch: pytest.MonkeyPatch,
    write_file: Callable[[str, bytes], Path],
) -> None:
    lines = ["姓名,城市,年龄,登记日期"]
    for i in range(3000):  # quoted names with newlines and commas straddle chunk cuts
        name = f'"张\n{i}"' if i % 7 == 0 else (f'"王,{i}"' if i % 5 == 0 else f"李{i}")
        lines.append(f"{name},成都市,{i % 90},2023-02-{1 + i % 28:02d}")
    path = write_file("big.csv", ("\n".join(lines) + "\n").encode("gbk"))
    serial = _ingest(rt, world, world.blank, path)
    monkeypatch.setattr(csvmod, "PARALLEL_MIN_BYTES", 1)
    monkeypatch.setattr(csvmod, "PARALLEL_CHUNK", 4096)
    monkeypatch.setattr(csvmod, "MIN_TAIL", 1024)
    parallel = _ingest(rt, world, world.blank, path)
    assert len(service.version_files(rt.settings, parallel)) > 5
    assert _rows(rt, serial) == _rows(rt, parallel)
    assert read_page(service.version_files(rt.settings, parallel), 2999, 10)[0].to_pylist()[0]["姓名"] == "李2999"


def test_preview_guesses_layout_and_proposes_items_without_storing(rt: Runtime, real: Path) -> None:
    p = preview_file(real / "gdp_100m_yuan.csv")
    assert (p["encoding"], p["header_row"], p["footer_rows"]) == ("gbk", 4, 2)
    assert p["head_rows"][0] == ["数据库：分省年度数据"]
    assert p["rows"][0][0] == "北京市"
    items = {i["name"]: i["data_type"] for i in p["proposed_items"]}
    assert items["地区"] == "C" and items["2024年"] == "N"
    assert not rt.settings.lake_dir.exists()


def test_pipeline_is_a_tuple_of_named_steps_in_order() -> None:
    names = [s.__name__ for s in STEPS]
    core = [n for n in names if n in ("inspect", "check_columns", "stage", "publish")]
    assert core == ["inspect", "check_columns", "stage", "publish"]  # hooks (quality) may sit in between


def _parquet_bytes() -> bytes:
    import io

    import pyarrow as pa

    buf = io.BytesIO()
    pq.write_table(pa.table({"姓名": ["张三", "李四"], "城市": ["成都市", "绵阳市"], "年龄": [30, 41],
                             "登记日期": ["2023-01-01", "2023-02-03"]}), buf)
    return buf.getvalue()


@pytest.mark.sqlite_only
@pytest.mark.parametrize(("name", "data"), [
    ("名单.json", '[{"姓名": "张三", "城市": "成都市", "年龄": 30, "登记日期": "2023-01-01"},'
                 ' {"姓名": "李四", "城市": "绵阳市", "年龄": 41, "登记日期": "2023-02-03"}]'.encode()),
    ("名单.jsonl", ('{"姓名": "张三", "城市": "成都市", "年龄": 30, "登记日期": "2023-01-01"}\n'
                   '{"姓名": "李四", "城市": "绵阳市", "年龄": 41, "登记日期": "2023-02-03"}\n').encode("gbk")),
    ("名单.parquet", _parquet_bytes()),
    ("名单.tsv", "姓名\t城市\t年龄\t登记日期\n张三\t成都市\t30\t2023-01-01\n李四\t绵阳市\t41\t2023-02-03\n".encode()),
])
def test_json_jsonl_parquet_and_tsv_land_with_the_items_types(
    rt: Runtime, world: Any, write_file: Callable[[str, bytes], Path], name: str, data: bytes
) -> None:
    v = _ingest(rt, world, world.people, write_file(name, data))
    rows = _rows(rt, v)
    assert v.rows == 2 and [c["type"] for c in v.columns] == ["string", "string", "int64", "date32[day]"]
    assert rows[1]["姓名"] == "李四" and rows[1]["年龄"] == 41 and str(rows[1]["登记日期"]) == "2023-02-03"


def test_the_lake_sweep_runs_once_per_interval_not_on_every_ingest(
    rt: Runtime, world: Any, people_csv: Callable[..., bytes], write_file: Callable[[str, bytes], Path],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from shudata.jobs import ingest as job

    sweeps: list[float] = []
    monkeypatch.setattr(job, "cleanup", lambda **kw: sweeps.append(kw["grace_s"]) or [])
    monkeypatch.setattr(job, "_last_tidy", {})
    clock = [1000.0]
    monkeypatch.setattr(job, "_clock", lambda: clock[0])
    _ingest(rt, world, world.people, write_file("a.csv", people_csv(3)))
    _ingest(rt, world, world.people, write_file("b.csv", people_csv(3)))
    assert sweeps == [3600]  # the second upload did not list the whole lake again
    clock[0] += job.TIDY_INTERVAL_S
    _ingest(rt, world, world.people, write_file("c.csv", people_csv(3)))
    assert sweeps == [3600, 3600]
