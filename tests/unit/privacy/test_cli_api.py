"""``shudata scan`` / ``shudata mask`` on files, and the /api/v1/privacy routes."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest
from tests.unit.privacy.conftest import World
from typer.testing import CliRunner

from shudata.cli.main import app
from shudata.privacy.synthdata import citizens

CSV_ROWS = citizens(40, seed=12).select(["姓名", "身份证号", "手机号", "收入"]).to_pylist()


@pytest.fixture
def cli(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Callable[..., Any]:
    monkeypatch.setenv("SHUDATA_DATA_DIR", str(tmp_path / "node"))
    monkeypatch.delenv("SHUDATA_DATABASE_URL", raising=False)
    runner = CliRunner()
    return lambda *args: runner.invoke(app, list(args))


@pytest.fixture
def gbk_csv(tmp_path: Path) -> Path:
    path = tmp_path / "居民.csv"
    lines = ["姓名,身份证号,手机号,收入"] + [f"{r['姓名']},{r['身份证号']},{r['手机号']},{r['收入']}" for r in CSV_ROWS]
    path.write_bytes("\n".join(lines).encode("gb18030"))
    return path


@pytest.mark.sqlite_only
def test_scan_json_gives_one_object_per_column(cli: Callable[..., Any], gbk_csv: Path) -> None:
    r = cli("scan", str(gbk_csv), "--json")
    assert r.exit_code == 0, r.output
    lines = [json.loads(x) for x in r.stdout.splitlines() if x.strip()]
    assert {x["column"]: x["entity"] for x in lines} == {"姓名": "PERSON_NAME", "身份证号": "CN_RESIDENT_ID",
                                                          "手机号": "CN_MOBILE", "收入": None}
    assert set(lines[0]) == {"column", "entity", "confidence", "evidence"}


@pytest.mark.sqlite_only
def test_mask_needs_its_key_then_writes_parquet(cli: Callable[..., Any], gbk_csv: Path, tmp_path: Path) -> None:
    policy = tmp_path / "p.yaml"
    policy.write_text("name: p\nprofile: open\ncolumns:\n  手机号: {op: pseudonym, key_id: k9}\n", encoding="utf-8")
    out = tmp_path / "out.parquet"
    r = cli("mask", str(gbk_csv), "--policy", str(policy), "-o", str(out))
    assert r.exit_code == 4 and "k9" in r.output and not out.exists()
    assert cli("privacy", "key", "create", "k9").exit_code == 0
    r = cli("mask", str(gbk_csv), "--policy", str(policy), "-o", str(out))
    assert r.exit_code == 0, r.output
    t = pq.read_table(out)
    assert t.num_rows == 40
    assert t.column("身份证号").to_pylist() == [None] * 40  # detected ID, open profile default: suppressed
    assert t.column("姓名")[0].as_py().endswith("*")


def test_api_scan_mask_and_denial(client: Any, world: World, token_for: Callable[[str], dict[str, str]]) -> None:
    steward = token_for("steward_a")
    r = client.post("/api/v1/privacy/scans", json={"resource": "citizens"}, headers=steward)
    assert r.status_code == 200, r.text
    report = r.json()
    assert report["proposed_grade"] == 4
    r = client.get(f"/api/v1/privacy/scans/{report['id']}", headers=steward)
    assert r.json()["columns"][1]["entity"] == "CN_RESIDENT_ID"
    policy = {"name": "api", "profile": "share-conditional"}
    r = client.post("/api/v1/privacy/mask", json={"resource": "citizens", "policy": policy, "limit": 3},
                    headers=steward)
    assert r.status_code == 200, r.text
    assert len(r.json()["preview"]) == 3 and r.json()["gate"]["passed"]
    r = client.post("/api/v1/privacy/mask", json={"resource": "citizens", "policy": policy, "format": "parquet"},
                    headers=steward)
    assert r.status_code == 200 and r.content[:4] == b"PAR1"
    r = client.post("/api/v1/privacy/scans", json={"resource": "citizens"}, headers=token_for("user_b"))
    assert r.status_code == 403


def test_api_bad_policy_is_a_422_not_a_500(client: Any, world: World, token_for: Callable[[str], dict[str, str]]
                                           ) -> None:
    r = client.post("/api/v1/privacy/mask", json={"resource": "citizens", "policy": {"name": "x", "columns": {
        "姓名": {"op": "rot13"}}}}, headers=token_for("steward_a"))
    assert r.status_code == 422
    assert "rot13" in r.json()["error"]["message"]


def test_api_lists_operators_with_their_technique(client: Any, world: World,
                                                 token_for: Callable[[str], dict[str, str]]) -> None:
    ops = {o["name"]: o for o in client.get("/api/v1/privacy/operators", headers=token_for("steward_a")).json()}
    assert ops["sm4_encrypt"]["reversible"] and ops["pseudonym"]["technique"] == "pseudonymisation"


def test_api_scans_an_uploaded_file(client: Any, world: World, token_for: Callable[[str], dict[str, str]],
                                    gbk_csv: Path) -> None:
    with gbk_csv.open("rb") as fh:
        r = client.post("/api/v1/privacy/scans/file", files={"file": ("居民.csv", fh, "text/csv")},
                        headers=token_for("steward_a"))
    assert r.status_code == 200, r.text
    assert {c["column"]: c["entity"] for c in r.json()["columns"]}["身份证号"] == "CN_RESIDENT_ID"
    report = r.json()["id"]
    assert client.get(f"/api/v1/privacy/scans/{report}", headers=token_for("steward_a")).status_code == 200
    assert client.get(f"/api/v1/privacy/scans/{report}", headers=token_for("user_b")).status_code == 403
