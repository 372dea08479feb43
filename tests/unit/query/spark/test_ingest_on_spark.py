"""Ingest of a CSV or Parquet file on Spark when its entry is routed there (issue 17): the executors
write the version's parts into the staging directory, publication stays the lake's atomic rename,
and the stored table is the one the in-process path stores (content hash, schema, placeholder
counts); malformed input is refused the same way (same 4xx, same rows named), nothing stored."""

from __future__ import annotations

import random
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from sqlalchemy import func, select
from tests.support.spark import content_hash

from shudata.catalog.schemas import ResourceCreate
from shudata.catalog.service import register_resource
from shudata.core.errors import ShudataError
from shudata.core.types import Actor, Role
from shudata.jobs import spark_ingest
from shudata.jobs.ingest import ingest_file
from shudata.lake.ingest import csv as csvmod
from shudata.lake.models import LakeVersion
from shudata.lake.service import version_files
from shudata.query.engines.spark import SparkEngine

pytestmark = [pytest.mark.spark, pytest.mark.sqlite_only]
CODE = "101001/000001"


def _people(n: int, seed: int = 4) -> pa.Table:
    rng = random.Random(seed)
    def maybe(v: str) -> str | None:
        return None if rng.random() < 0.05 else v
    return pa.table({
        "姓名": [maybe(rng.choice("张李王刘陈") + rng.choice(["伟", "芳", "秀英", " 敏", "静\u3000"]))
               for _ in range(n)],
        "身份证号": [maybe(f"5101{rng.randrange(10**13, 10**14)}") for _ in range(n)],
        "城市": [maybe(rng.choice(["成都", "绵阳", "德阳", " 乐山 "])) for _ in range(n)],
        "年龄": [maybe(str(rng.randrange(0, 100))) for _ in range(n)]})


def _stored(rt, version) -> pa.Table:  # type: ignore[no-untyped-def]
    return pa.concat_tables([pq.read_table(f) for f in version_files(rt.settings, version)])


def test_a_routed_parquet_ingest_stores_the_same_table(rt, world, spark: SparkEngine, tmp_path: Path,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "people.parquet"
    pq.write_table(_people(30_000), path, row_group_size=8000)
    routed = rt.settings.model_copy(update={
        "spark_resources": CODE, "spark_master": spark.config.master,
        "spark_conf": ";".join(f"{k}={v}" for k, v in spark.config.conf)})
    staged: list[int] = []
    real = spark_ingest.stage_parquet_files

    def spy(*args, **kwargs):  # type: ignore[no-untyped-def]
        out = real(*args, **kwargs)
        staged.append(out[0])
        return out

    monkeypatch.setattr(spark_ingest, "stage_parquet_files", spy)
    with rt.transaction() as s:
        local = ingest_file(session=s, settings=rt.settings, actor=Actor.system(), resource_code=CODE, path=path)
    assert not staged
    with rt.transaction() as s:
        on_spark = ingest_file(session=s, settings=routed, actor=Actor.system(), resource_code=CODE, path=path)
    assert staged == [30_000] and on_spark.version == local.version + 1 and on_spark.rows == local.rows == 30_000
    a, b = _stored(rt, local), _stored(rt, on_spark)
    assert a.schema.equals(b.schema) and content_hash(a) == content_hash(b)
    assert not list(rt.settings.lake_dir.rglob(".spark-*"))  # no work directory left behind

    bad = _people(2000, seed=5).to_pydict()
    bad["城市"][1500] = "长" * 51  # the item allows 50 characters
    pq.write_table(pa.table(bad), path)
    errors = []
    for settings in (rt.settings, routed):
        with rt.transaction() as s, pytest.raises(ShudataError) as info:
            ingest_file(session=s, settings=settings, actor=Actor.system(), resource_code=CODE, path=path)
        errors.append((info.value.code, info.value.zh))
    assert errors[0] == errors[1] and staged == [30_000]  # refused in-process alike, nothing staged on Spark


# -- CSV on Spark -----------------------------------------------------------------------------------

REAL = Path(__file__).resolve().parents[3] / "data" / "ingest"


def _steward(world) -> Actor:  # type: ignore[no-untyped-def]
    return Actor(user_id=9101, username="csv_steward", department_id=world.dept_a,
                 roles=frozenset({Role.DATA_STEWARD}))


def _new_entry(rt, world, code: str, name: str, items: list[dict[str, object]] | None = None) -> str:  # type: ignore[no-untyped-def]
    data = ResourceCreate.model_validate({
        "code": code, "name": name, "abstract": f"{name}（测试）", "information_items": items or [],
        "sharing": {"type": 1, "method": "接口"}, "update_cycle": "每年"})
    with rt.transaction() as s:
        return register_resource(session=s, actor=_steward(world), data=data).code


def _messy_csv(n: int, seed: int = 7) -> str:
    """Chinese text, NULLs (empty cells and placeholders), values padded with ASCII and full-width
    spaces, a quoted value over two lines, numbers and dates, a title row, a section row and a footer."""
    rng = random.Random(seed)
    lines = ["四川省人员登记表（测试数据）,,,,", "姓名,身份证号,城市,收入,登记日期"]
    for i in range(n):
        name = rng.choice("张李王刘陈杨赵黄周吴") + rng.choice(["伟", "芳", "秀英", "敏", "静", "德华"])
        if rng.random() < 0.05:
            name = rng.choice([" " + name, name + "\u3000", f'"{name}\n（曾用名）"', ""])
        if i % 997 == 0:
            name = "𠮷" + name  # outside GBK: the file is GB18030
        city = rng.choice(["成都市", "绵阳市", "德阳市", " 乐山市 ", "N/A", "无", "—", "", "宜宾市"])
        income = rng.choice([str(rng.randrange(1000, 90000)), f"{rng.randrange(1000, 9000)}.5", "", "NULL", " 3000 "])
        day = rng.choice([f"2023-{rng.randrange(1, 13):02d}-{rng.randrange(1, 29):02d}", "", "-"])
        lines.append(f"{name},5101{rng.randrange(10**13, 10**14)},{city},{income},{day}")
        if i == n // 2:
            lines.append("成都市（以下为二季度登记）,,,,")  # a section row inside the table
    lines += ["注：收入单位为元。,,,,", "数据来源：测试,,,,"]
    return "\n".join(lines) + "\n"


def _routed(rt, spark: SparkEngine, **update):  # type: ignore[no-untyped-def]
    return rt.settings.model_copy(update={"spark_master": spark.config.master,
                                          "spark_conf": ";".join(f"{k}={v}" for k, v in spark.config.conf),
                                          **update})


def _both(rt, world, code: str, path: Path, routed, monkeypatch: pytest.MonkeyPatch):  # type: ignore[no-untyped-def]
    """The file ingested in-process, then routed to Spark: the two versions and the Spark tasks run."""
    tasks: list[int] = []
    real = spark_ingest.map_tasks

    def spy(engine, fn, todo, limits):  # type: ignore[no-untyped-def]
        tasks.append(len(todo))
        return real(engine, fn, todo, limits)

    monkeypatch.setattr(spark_ingest, "map_tasks", spy)
    with rt.transaction() as s:
        local = ingest_file(session=s, settings=rt.settings, actor=_steward(world), resource_code=code, path=path)
    assert not tasks
    with rt.transaction() as s:
        on_spark = ingest_file(session=s, settings=routed, actor=_steward(world), resource_code=code, path=path)
    assert tasks, "the routed upload did not run on Spark"
    return local, on_spark, tasks


def _same_versions(rt, local, on_spark) -> None:  # type: ignore[no-untyped-def]
    a, b = _stored(rt, local), _stored(rt, on_spark)
    assert a.schema.equals(b.schema) and content_hash(a) == content_hash(b)
    assert (on_spark.rows, on_spark.encoding, on_spark.header_row, on_spark.columns) == \
        (local.rows, local.encoding, local.header_row, local.columns)  # types and placeholder counts too
    assert not list(rt.settings.lake_dir.rglob(".spark-*"))


def test_a_routed_csv_ingest_stores_the_same_table(rt, world, spark: SparkEngine, tmp_path: Path,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    """A generated GB18030 file cut into several chunks on Spark (one Spark task each), against the
    in-process reader reading it as one chunk: same rows, types, placeholder counts, section and
    footer rows; routed by size (``spark_route_min_mb``)."""
    monkeypatch.setattr(csvmod, "PARALLEL_CHUNK", 192 << 10)
    monkeypatch.setattr(csvmod, "MIN_TAIL", 64 << 10)
    path = tmp_path / "人员.csv"
    path.write_bytes(_messy_csv(28_000).encode("gb18030"))
    assert path.stat().st_size > (1 << 20)
    code = _new_entry(rt, world, "101001/000101", "人员登记")
    local, on_spark, tasks = _both(rt, world, code, path, _routed(rt, spark, spark_route_min_mb=1), monkeypatch)
    assert tasks[0] >= 4 and local.encoding == "gb18030" and local.rows == 28_000
    assert {c["name"]: c["type"] for c in local.columns}["收入"] == "double"
    assert {c["name"]: c.get("missing_values", 0) for c in local.columns}["城市"] > 0
    _same_versions(rt, local, on_spark)


@pytest.mark.parametrize("name", ["real/gdp_100m_yuan.csv", "messy/sichuan_station_hourly_chengdu_2020-03.csv"])
def test_real_files_on_spark_store_the_same_table(rt, world, spark: SparkEngine, name: str,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    """Real exports (tests/data/ingest/*/PROVENANCE.md): the NBS GDP table (GBK, CRLF, title lines,
    footer notes) and Chengdu's hourly air quality (UTF-8, NaN and — placeholders, quoted multi-line
    values); routed per resource (``spark_resources``)."""
    monkeypatch.setattr(csvmod, "PARALLEL_CHUNK", 8 << 10)
    monkeypatch.setattr(csvmod, "MIN_TAIL", 2 << 10)
    code = _new_entry(rt, world, "101001/000102", "真实文件")
    local, on_spark, _ = _both(rt, world, code, REAL / name, _routed(rt, spark, spark_resources=code), monkeypatch)
    assert local.rows > 30
    _same_versions(rt, local, on_spark)


def test_malformed_csv_on_spark_gets_the_same_refusal(rt, world, spark: SparkEngine, tmp_path: Path,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    """Ragged rows (every one, with its line number, across chunks), a line in another encoding, a
    value longer than its item and one not of its item's type: the same 4xx (and row) in-process and
    on Spark, and nothing stored."""
    monkeypatch.setattr(csvmod, "PARALLEL_CHUNK", 16 << 10)
    monkeypatch.setattr(csvmod, "MIN_TAIL", 4 << 10)
    code = _new_entry(rt, world, "101001/000103", "人员登记", [
        {"name": "姓名", "data_type": "C", "length": 50}, {"name": "身份证号", "data_type": "C", "length": 18},
        {"name": "城市", "data_type": "C", "length": 20}, {"name": "收入", "data_type": "N"},
        {"name": "登记日期", "data_type": "D"}])
    good = tmp_path / "good.csv"
    good.write_bytes(_messy_csv(300).encode("utf-8"))
    routed = _routed(rt, spark, spark_resources=code)
    with rt.transaction() as s:
        first = ingest_file(session=s, settings=rt.settings, actor=_steward(world), resource_code=code, path=good)
    lines = _messy_csv(3000).encode("utf-8").split(b"\n")

    def plain(i: int) -> int:  # the first line from i on that is a whole record (no quoted line break)
        while b'"' in lines[i - 1] + lines[i]:
            i += 1
        return i

    ragged = list(lines)
    ragged[plain(40)] += ",多余".encode()
    ragged[plain(2500)] = b"only,three,fields"
    too_long = list(lines)
    too_long[plain(1800)] = ("长" * 51 + ",5101,成都市,1,2023-01-01").encode()
    bad_value = list(lines)
    bad_value[plain(2800)] = "张伟,5101,成都市,十二万,2023-01-01".encode()  # 收入 is a number, past the sample
    mixed = _messy_csv(30_000, seed=8).encode("utf-8").split(b"\n")  # past the inspected head
    mixed[-200] = "德阳市的数据,5101,成都市,1,2023-01-01".encode("gbk")
    for name, data in (("ragged", ragged), ("too_long", too_long), ("bad_value", bad_value),
                       ("mixed", mixed)):
        path = tmp_path / f"{name}.csv"
        path.write_bytes(b"\n".join(data))
        errors = []
        for settings in (rt.settings, routed):
            with rt.transaction() as s, pytest.raises(ShudataError) as info:
                ingest_file(session=s, settings=settings, actor=_steward(world), resource_code=code, path=path)
            errors.append((info.value.status, info.value.code, info.value.zh, info.value.details))
        assert errors[0] == errors[1], name
        assert errors[0][:2] == (422, {"ragged": "ragged_rows", "too_long": "value_too_long", "bad_value": "bad_value",
                                         "mixed": "mixed_encoding"}[name])
    with rt.transaction() as s:
        assert s.scalar(select(func.max(LakeVersion.version)).where(
            LakeVersion.resource_id == first.resource_id)) == first.version
    assert not [p for p in rt.settings.lake_dir.rglob("*") if ".spark-" in p.name or p.name.startswith(".staging")]
