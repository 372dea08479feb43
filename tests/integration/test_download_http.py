"""Portal downloads read by URL with real HTTP clients against a live server: polars, pandas,
requests with ``Range``/``HEAD``/conditional headers, ckanapi (``resources[].size``/``hash``)
and DuckDB's httpfs (in its own virtualenv: its extension must match its DuckDB).

The checks that matter for data protection: a 有条件开放 dataset refuses ``HEAD`` and ranged
reads without an approved key exactly as it refuses ``GET`` (and leaks no size or ETag)."""

from __future__ import annotations

import hashlib
import io
import json
import subprocess
from pathlib import Path

import pandas as pd
import polars as pl
import pyarrow.parquet as pq
import pytest
import requests
from ckanapi import RemoteCKAN

from shudata.portal import downloads
from shudata.portal import service as P
from shudata.portal.models import PortalDataset
from support.portal import CODES, portal_world

__all__ = ["portal_world"]


OPEN, PEOPLE, COND = (CODES[k].replace("/", "-") for k in ("open", "people", "cond"))
HTTPFS_CLIENT = Path(__file__).resolve().parents[1] / ".venv-duckdb-httpfs" / "bin" / "python"


@pytest.fixture
def portal(rt, settings, portal_world, live_server):
    with rt.transaction() as s:
        for key in ("open", "people", "cond"):
            P.publish(session=s, settings=settings, actor=portal_world.steward, resource=CODES[key])
    assert downloads.wait(120)
    return live_server


def _url(server, name: str, fmt: str) -> str:
    return f"{server.url}/portal/datasets/{name}/download.{fmt}"


def _published(rt, settings, name: str):
    with rt.transaction() as s:
        ds = P.get_dataset(s, name)
        return pq.read_table(ds.file(settings))


def _downloads(rt, name: str) -> int:
    with rt.transaction() as s:
        return s.query(PortalDataset).filter_by(name=name).one().downloads


def test_polars_and_pandas_read_downloads_by_url(portal, rt, settings):
    expected = _published(rt, settings, PEOPLE)
    frame = pl.read_parquet(_url(portal, PEOPLE, "parquet"))
    assert frame.columns == expected.column_names and frame.height == expected.num_rows == 10
    assert frame["姓名"].to_list() == expected.column("姓名").to_pylist()
    assert all("****" in v for v in frame["手机号码"].to_list())  # the masked file, as published
    csv = pl.read_csv(_url(portal, OPEN, "csv"))
    assert csv.height == 10 and csv.columns[0].lstrip("\ufeff") == "地区"
    pdf = pd.read_csv(_url(portal, OPEN, "csv"), encoding="utf-8-sig")
    assert list(pdf.columns) == expected_columns(rt, settings, OPEN) and len(pdf) == 10


def expected_columns(rt, settings, name: str) -> list[str]:
    return _published(rt, settings, name).column_names


def test_head_range_and_validators(portal, rt):
    url = _url(portal, OPEN, "csv")
    before = _downloads(rt, OPEN)
    full = requests.get(url, timeout=30)
    assert full.status_code == 200 and full.headers["Accept-Ranges"] == "bytes"
    body, etag = full.content, full.headers["ETag"]
    assert etag.startswith('"') and full.headers["Last-Modified"].endswith("GMT")
    head = requests.head(url, timeout=30)
    assert head.status_code == 200 and head.content == b""
    assert int(head.headers["Content-Length"]) == len(body) and head.headers["ETag"] == etag
    assert head.headers["Last-Modified"] == full.headers["Last-Modified"]
    part = requests.get(url, headers={"Range": "bytes=3-12"}, timeout=30)
    assert part.status_code == 206 and part.content == body[3:13]
    assert part.headers["Content-Range"] == f"bytes 3-12/{len(body)}"
    tail = requests.get(url, headers={"Range": "bytes=-7"}, timeout=30)
    assert tail.status_code == 206 and tail.content == body[-7:]
    past = requests.get(url, headers={"Range": f"bytes={len(body)}-", "Accept": "application/json"}, timeout=30)
    assert past.status_code == 416 and past.headers["Content-Range"] == f"bytes */{len(body)}"
    assert past.json()["error"]["code"] == "range_not_satisfiable" and "字节范围" in past.json()["error"]["message"]
    malformed = requests.get(url, headers={"Range": "bytes=9-2"}, timeout=30)
    assert malformed.status_code == 200 and malformed.content == body  # ignored, as RFC 9110 allows
    assert requests.get(url, headers={"If-None-Match": etag}, timeout=30).status_code == 304
    assert requests.get(url, headers={"If-None-Match": '"other"'}, timeout=30).status_code == 200
    assert requests.get(url, headers={"If-Modified-Since": full.headers["Last-Modified"]},
                        timeout=30).status_code == 304
    kept = requests.get(url, headers={"Range": "bytes=0-4", "If-Range": etag}, timeout=30)
    assert kept.status_code == 206 and kept.content == body[:5]
    stale = requests.get(url, headers={"Range": "bytes=0-4", "If-Range": '"stale"'}, timeout=30)
    assert stale.status_code == 200 and stale.content == body
    # the counter: whole GETs and reads from byte 0 count; HEAD, later ranges and revalidations do not
    assert _downloads(rt, OPEN) - before == 4  # full, malformed→whole, If-None-Match other, stale If-Range
    # the ETag is the same on every request and every format has its own
    assert requests.head(url, timeout=30).headers["ETag"] == etag
    assert requests.head(_url(portal, OPEN, "json"), timeout=30).headers["ETag"] != etag


def test_etag_changes_with_a_new_publication(portal, rt, settings, portal_world):
    url = _url(portal, OPEN, "parquet")
    first = requests.head(url, timeout=30).headers["ETag"]
    with rt.transaction() as s:  # the gate runs again (as after a policy change): a new publication
        P.publish(session=s, settings=settings, actor=portal_world.steward, resource=CODES["open"])
    again = requests.get(url, headers={"If-None-Match": first}, timeout=30)
    assert again.status_code == 200 and again.headers["ETag"] != first


def test_conditional_dataset_refuses_head_and_ranges_without_access(portal):
    for method, headers in (("HEAD", {}), ("GET", {"Range": "bytes=0-10"}), ("GET", {"If-None-Match": "*"})):
        r = requests.request(method, _url(portal, COND, "parquet"), headers={"Accept": "application/json",
                                                                               **headers}, timeout=30)
        assert r.status_code == 403, (method, headers, r.status_code)
        assert "ETag" not in r.headers and "Content-Range" not in r.headers and "Last-Modified" not in r.headers
    bad_key = requests.head(_url(portal, COND, "csv"), headers={"Authorization": "sdk_0000_nope"}, timeout=30)
    assert bad_key.status_code in (401, 403) and "ETag" not in bad_key.headers
    hidden = requests.head(_url(portal, CODES["closed"].replace("/", "-"), "csv"), timeout=30)
    assert hidden.status_code == 404 and "ETag" not in hidden.headers


def test_ckan_resources_state_size_and_hash(portal):
    with RemoteCKAN(portal.url) as ck:
        pkg = ck.action.package_show(id=PEOPLE)
    assert len(pkg["resources"]) == 4
    for res in pkg["resources"]:
        body = requests.get(res["url"], timeout=30).content
        assert res["size"] == len(body), res["format"]
        assert res["hash"] == "sha256:" + hashlib.sha256(body).hexdigest(), res["format"]


HTTPFS = """
import json, pathlib, sys
import duckdb, duckdb_extension_httpfs
ext = pathlib.Path(duckdb_extension_httpfs.__file__).parent / "extensions" / f"v{duckdb.__version__}"
con = duckdb.connect()
con.execute(f"LOAD '{ext / 'httpfs.duckdb_extension'}'")
rows = con.execute(f"SELECT * FROM read_parquet('{sys.argv[1]}') ORDER BY 1").fetchall()
n = con.execute(f"SELECT count(*) FROM read_csv('{sys.argv[2]}')").fetchone()[0]
print(json.dumps({"rows": [[str(v) for v in r] for r in rows], "csv_rows": n}, ensure_ascii=False))
"""


@pytest.mark.skipif(not HTTPFS_CLIENT.exists(),
                    reason="run `make clients` to install DuckDB with its httpfs extension from PyPI "
                           "(duckdb==1.5.5 + duckdb-extension-httpfs==1.5.5: the extension must match the DuckDB "
                           "that loads it, and none is published for the project's DuckDB 2.x)")
def test_duckdb_httpfs_reads_parquet_and_csv_by_url(portal, rt, settings):
    out = subprocess.run([str(HTTPFS_CLIENT), "-c", HTTPFS, _url(portal, PEOPLE, "parquet"), _url(portal, OPEN, "csv")],
                         capture_output=True, text=True, timeout=180, check=False)
    assert out.returncode == 0, out.stderr[-2000:]
    got = json.loads(out.stdout)
    expected = _published(rt, settings, PEOPLE).sort_by(_published(rt, settings, PEOPLE).column_names[0])
    assert got["rows"] == [[str(v) for v in r.values()] for r in expected.to_pylist()]
    assert got["csv_rows"] == 10


def test_published_file_unchanged_by_reads(portal, rt, settings):
    """Reads never rewrite what they serve: the Parquet download is the published file byte for byte."""
    with rt.transaction() as s:
        ds = P.get_dataset(s, PEOPLE)
        digest = ds.publication.sha256
    body = requests.get(_url(portal, PEOPLE, "parquet"), timeout=30).content
    assert hashlib.sha256(body).hexdigest() == digest
    assert pq.read_table(io.BytesIO(body)).num_rows == 10
