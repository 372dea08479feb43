"""Issue #14 item 6 on the open portal: anonymous CKAN SQL and datastore pages are bounded in
bytes; a cut answer says so (``records_truncated``, ``records_capped``, ``_links.next``)."""

from __future__ import annotations

import time

from tests.unit.portal.test_ckan import OPEN, PEOPLE, call, err, ok


def test_anonymous_sql_is_cut_to_the_byte_limit_and_says_so(client, published, rt):
    """Was: 50 MB of records for an anonymous caller. Now: the rows that fit, and why."""
    rt.settings = rt.settings.model_copy(update={"result_max_bytes": 4096})
    started = time.perf_counter()
    out = ok(call(client, "datastore_search_sql",
                  sql=f'SELECT "地区", repeat(\'x\', 1000) AS pad FROM "{OPEN}-csv", range(50)'))
    assert time.perf_counter() - started < 10
    capped = out["records_capped"]
    assert out["records_truncated"] is True and 0 < len(out["records"]) == capped["records"] < 10
    assert capped["reason"] == "bytes" and capped["max_bytes"] == 4096
    assert "SHUDATA_RESULT_MAX_BYTES" in capped["message"] and "LIMIT/OFFSET" in capped["message_en"]
    whole = ok(call(client, "datastore_search_sql", sql=f'SELECT count(*) AS n FROM "{OPEN}-csv"'))
    assert "records_capped" not in whole and whole["records_truncated"] is False


def test_one_huge_value_is_refused_not_sent(client, published):
    e = err(call(client, "datastore_search_sql", sql="SELECT repeat('x', 100000000) AS x"), 413,
            "Validation Error")
    assert "SHUDATA_RESULT_MAX_BYTES" in str(e)


def test_datastore_pages_are_cut_and_point_at_the_rest(client, published, rt):
    rt.settings = rt.settings.model_copy(update={"result_max_bytes": 300})  # below the minimum: rows are small
    first = ok(call(client, "datastore_search", resource_id=f"{PEOPLE}-csv", limit=10))
    n = len(first["records"])
    assert 0 < n < 10 and first["records_capped"]["next_offset"] == n
    assert first["_links"]["next"].endswith(f"offset={n}")
    seen, page = [r["_id"] for r in first["records"]], first
    while len(seen) < first["total"]:
        page = ok(client.get(page["_links"]["next"]))
        assert page["records"], page
        seen += [r["_id"] for r in page["records"]]
    assert seen == list(range(1, 11))
