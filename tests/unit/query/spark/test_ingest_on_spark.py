"""Ingest of a Parquet file on Spark when its entry is routed there (issue 17): the executors write
the version's parts into the staging directory, publication stays the lake's atomic rename, and the
stored table is the one the in-process path stores (content hash); a value the in-process path
refuses (too long for its item) is refused the same way, naming its row."""

from __future__ import annotations

import random
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from tests.support.spark import content_hash

from shudata.core.errors import ShudataError
from shudata.core.types import Actor
from shudata.jobs import spark_ingest
from shudata.jobs.ingest import ingest_file
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
