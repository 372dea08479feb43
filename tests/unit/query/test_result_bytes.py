"""Issue #14 item 6: results are bounded in bytes as well as rows, measured before anything is
converted: a JSON page is cut visibly (``byte_capped``, ``next_offset``), one row over the limit
is refused (413) without building it as JSON, and downloads stream through a spooled file whose
size is measured batch by batch (413 past ``download_max_bytes``)."""

from __future__ import annotations

import csv
import io
import threading
import time
import tracemalloc
from typing import Any

import psutil
import pytest
from fastapi.testclient import TestClient

from shudata.db.runtime import Runtime
from shudata.query import service

HUGE = "SELECT repeat('x', 100000000) AS x"


def test_a_100_mb_value_is_refused_quickly_and_never_becomes_json(client: TestClient, world: Any, token_for: Any,
                                                                 rt: Runtime) -> None:
    """Was: 100 MB of JSON. Now: 413 naming the limit, quickly."""
    rt.settings = rt.settings.model_copy(update={"query_timeout_s": 60.0})  # the fixtures' 1 s is for bombs
    started = time.perf_counter()
    r = client.post("/api/v1/query", json={"sql": HUGE}, headers=token_for("a_user"))
    assert r.status_code == 413, r.text[:300]
    err = r.json()["error"]
    assert err["code"] == "result_too_large" and "SHUDATA_RESULT_MAX_BYTES" in err["message"]
    assert err["details"]["found"] >= 100_000_000 and len(r.content) < 4000
    assert time.perf_counter() - started < 10
    tracemalloc.start()
    try:
        with rt.transaction() as s, pytest.raises(Exception, match="SHUDATA_RESULT_MAX_BYTES"):
            service.run_query(session=s, settings=rt.settings, actor=world.a_user, sql=HUGE)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 20 << 20  # no Python string, list or JSON of the value was built


def test_a_page_over_the_byte_limit_is_cut_and_says_where_the_rest_is(client: TestClient, world: Any,
                                                                      token_for: Any, rt: Runtime) -> None:
    rt.settings = rt.settings.model_copy(update={"result_max_bytes": 2000})
    sql = 'SELECT "姓名", repeat(\'x\', 500) AS pad FROM people ORDER BY "姓名"'
    first = client.post("/api/v1/query", json={"sql": sql, "limit": 10}, headers=token_for("a_user")).json()
    assert (first["byte_capped"], first["max_bytes"], len(first["rows"])) == (True, 2000, 3)
    assert (first["has_more"], first["next_offset"], first["total"]) == (True, 3, 4)
    rest = client.post("/api/v1/query", json={"sql": sql, "limit": 10, "offset": first["next_offset"]},
                       headers=token_for("a_user")).json()
    assert (rest["byte_capped"], len(rest["rows"]), rest["has_more"], rest["next_offset"]) == (False, 1, False, None)
    assert [r[0] for r in first["rows"] + rest["rows"]] == sorted(["张三", "李四", "王五", "赵六"])


def test_a_download_over_the_byte_limit_is_refused_before_anything_is_sent(client: TestClient, world: Any,
                                                                          token_for: Any, rt: Runtime) -> None:
    rt.settings = rt.settings.model_copy(update={"download_max_bytes": 10_000})
    sql = "SELECT repeat('x', 1000) AS pad FROM people"
    ok = client.post("/api/v1/query?format=csv", json={"sql": sql}, headers=token_for("a_user"))
    assert ok.status_code == 200 and ok.headers["x-shudata-rows"] == "4"
    assert len(list(csv.reader(io.StringIO(ok.content.decode("utf-8-sig"))))) == 5
    big = "SELECT repeat('x', 3000) AS pad FROM people"
    for fmt in ("csv", "xlsx", "parquet"):
        r = client.post(f"/api/v1/query?format={fmt}", json={"sql": big}, headers=token_for("a_user"))
        assert r.status_code == 413, (fmt, r.text[:200])
        assert "SHUDATA_DOWNLOAD_MAX_BYTES" in r.json()["error"]["message"]


@pytest.mark.sqlite_only
def test_a_large_csv_download_streams_with_bounded_memory(world: Any, rt: Runtime) -> None:
    """Was: a 200 MB CSV moved server memory by 0.65 GB (the table, then the bytes, then the
    response; 337 MB for this 120 MB CSV). Now the rows go batch by batch into a spooled file:
    ~55 MB, the same for 360 MB of CSV."""
    rt.settings = rt.settings.model_copy(update={"query_max_rows": 200_000, "query_timeout_s": 60.0})
    sql = "SELECT i, repeat('x', 1000) AS pad FROM range({n}) AS t(i)"
    with rt.transaction() as s:  # the same path on 20,000 rows first: one-off costs (kernels, pools) paid here
        service.export_query(session=s, settings=rt.settings, actor=world.a_user, sql=sql.format(n=20_000),
                             fmt="csv").file.close()
    proc = psutil.Process()
    before = proc.memory_info().rss
    peak, done = [before], threading.Event()

    def sample() -> None:
        while not done.is_set():
            peak[0] = max(peak[0], proc.memory_info().rss)
            time.sleep(0.005)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    try:
        with rt.transaction() as s:
            out = service.export_query(session=s, settings=rt.settings, actor=world.a_user, sql=sql.format(n=120_000),
                                       fmt="csv")
        size = 0
        while chunk := out.file.read(1 << 20):
            size += len(chunk)
        out.file.close()
    finally:
        done.set()
        sampler.join()
    assert out.rows == 120_000 and not out.truncated
    assert size > 120_000_000
    assert peak[0] - before < 90 << 20, (peak[0] - before) >> 20  # the old path grew by ~340 MB here
