"""Masked exports of a resource routed to Spark (issue 17): a grant's export, the portal's open-data
file (what its downloads serve) and a market product's deliverable (what a file delivery
fingerprints) run on Spark and hold the same rows as on DuckDB (content hash of the sorted rows)."""

from __future__ import annotations

import datetime as dt
import random

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from sqlalchemy import select
from tests.support.spark import content_hash, spark_engine

from shudata.catalog.access import find_resource
from shudata.catalog.writes import write_version
from shudata.core.types import Actor
from shudata.lake.service import latest_version
from shudata.market.gate import run_product_gate
from shudata.portal.gate import run_gate
from shudata.query.engines import spark as spark_mod
from shudata.sharing import delivery, prepare, service
from shudata.sharing.models import SharingGrant
from shudata.sharing.schemas import DecisionCreate, RequestCreate

pytest.importorskip("pyspark")
pytestmark = [pytest.mark.spark, pytest.mark.sqlite_only]

CODE = "201001/000002"
TODAY = dt.date.today()


def _rows(n: int = 2000) -> pa.Table:
    rng = random.Random(17)
    surnames, given = "张李王刘陈杨赵黄周吴", ["伟", "芳", "娜", "秀英", "敏", "静", "丽", "强"]

    def messy(v: str) -> str | None:
        roll = rng.random()
        if roll < 0.05:
            return None
        if roll < 0.1:
            return rng.choice([" ", "\u3000"]) + v + rng.choice(["", " ", "\u3000"])
        return v
    return pa.table({
        "统一社会信用代码": [messy(f"915101{rng.randrange(10**11, 10**12)}X") for _ in range(n)],
        "机构名称": [messy(f"成都{rng.choice('甲乙丙丁')}{i}公司") for i in range(n)],
        "法定代表人": [messy(rng.choice(surnames) + rng.choice(given)) for _ in range(n)],
        "注册资本": [messy(str(rng.randrange(1, 10**6))) for _ in range(n)],
        "联系电话": [messy(f"1{rng.choice('3589')}{rng.randrange(10**8, 10**9)}") for _ in range(n)]})


@pytest.fixture
def routed(rt, world):  # type: ignore[no-untyped-def]
    """A version of CODE, a grant on it, and settings that route CODE to Spark (local mode)."""
    with rt.transaction() as s:
        write_version(session=s, settings=rt.settings, actor=Actor.system(), resource=find_resource(s, CODE),
                      batches_or_table=_rows(), source_name="企业.csv", source_format="csv")
        req = service.request_access(session=s, actor=world.user, settings=rt.settings, data=RequestCreate(
            resource=CODE, fields=["统一社会信用代码", "法定代表人", "联系电话", "机构名称"], purpose="业务协同",
            basis="《税收征收管理法》", use_from=TODAY, use_until=TODAY + dt.timedelta(days=30)))
    with rt.transaction() as s:
        service.decide(session=s, actor=world.steward, settings=rt.settings, request_id=req.id, data=DecisionCreate(
            decision="approve", reason="同意", fields=["统一社会信用代码", "法定代表人", "联系电话", "机构名称"]))
    assert prepare.wait(timeout=120)
    spark = spark_engine()
    return rt.settings.model_copy(update={
        "spark_resources": CODE, "spark_master": spark.config.master,
        "spark_conf": ";".join(f"{k}={v}" for k, v in spark.config.conf)})


def _on_spark(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    ran: list[str] = []
    real = spark_mod.SparkEngine.copy_to_parquet

    def spy(self, sql, tables, dest, limits=spark_mod.Limits()):  # type: ignore[no-untyped-def]
        ran.append(sql)
        return real(self, sql, tables, dest, limits)

    monkeypatch.setattr(spark_mod.SparkEngine, "copy_to_parquet", spy)
    return ran


def test_grant_export_is_identical_on_spark(rt, world, routed, tmp_path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    ran = _on_spark(monkeypatch)
    with rt.transaction() as s:
        grant = s.scalar(select(SharingGrant))
        res = find_resource(s, CODE)
        view = delivery.view_of(session=s, settings=rt.settings, grant=grant, resource=res,
                                version=latest_version(s, res.id))
    on_duck = delivery.export_parquet(settings=rt.settings, view=view, dest=tmp_path / "duck.parquet")
    assert not ran
    on_spark = delivery.export_parquet(settings=routed, view=view, dest=tmp_path / "spark.parquet")
    assert ran and "`" in ran[0]  # Spark SQL ran on Spark
    a, b = pq.read_table(tmp_path / "duck.parquet"), pq.read_table(tmp_path / "spark.parquet")
    assert on_duck == on_spark == 2000 and a.column_names == b.column_names
    assert a.column("联系电话").to_pylist() != _rows().column("联系电话").to_pylist()  # masked
    assert content_hash(a) == content_hash(b)


def test_portal_and_market_files_are_identical_on_spark(rt, world, routed, tmp_path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    ran = _on_spark(monkeypatch)
    with rt.transaction() as s:
        res = find_resource(s, CODE)
        v = latest_version(s, res.id)
        portal_duck = run_gate(s, rt.settings, res, v)
        market_duck = run_product_gate(s, rt.settings, res, v, "trade", tmp_path / "duck")
        assert not ran
        portal_spark = run_gate(s, routed, res, v)
        market_spark = run_product_gate(s, routed, res, v, "trade", tmp_path / "spark")
    assert len(ran) == 2
    for duck, spark in ((portal_duck.path, portal_spark.path), (market_duck.path, market_spark.path)):
        assert duck is not None and spark is not None
        a, b = pq.read_table(duck), pq.read_table(spark)
        assert a.num_rows == b.num_rows == 2000 and a.column_names == b.column_names
        assert content_hash(a) == content_hash(b)
    assert portal_duck.operators == portal_spark.operators and portal_duck.operators  # something was masked
    assert market_duck.rows == market_spark.rows == 2000 and market_duck.entities == market_spark.entities


def test_spark_as_the_node_default_still_pages_and_sorts_the_masked_file(rt, world, routed) -> None:  # type: ignore[no-untyped-def]
    """``SHUDATA_ENGINE=spark``: the masked export runs on Spark, but the pages, filters and sorts
    over the prepared masked file are DuckDB SQL over a local file and run in-process (they used
    the node's default engine, which sent DuckDB SQL to Spark)."""
    spark_default = routed.model_copy(update={"engine": "spark", "spark_resources": None})
    with rt.transaction() as s:
        grant = s.scalar(select(SharingGrant))
        res = find_resource(s, CODE)
        view = delivery.view_of(session=s, settings=spark_default, grant=grant, resource=res,
                                version=latest_version(s, res.id))
        page, total = delivery.fetch_page(session=s, settings=spark_default, actor=world.user, view=view, offset=0,
                                          limit=5, filter="机构名称 IS NOT NULL", sort="机构名称 desc")
        plain, all_rows = delivery.fetch_page(session=s, settings=spark_default, actor=world.user, view=view,
                                              offset=10, limit=5)
    names = page.column("机构名称").to_pylist()
    assert page.num_rows == 5 and names == sorted(names, reverse=True) and 0 < total < 2000
    assert plain.num_rows == 5 and all_rows == 2000
