"""A steward overrules detection on a column: recorded with who and why, respected by masking and
the gate, except for values that validate as resident IDs, mobile numbers or bank cards."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest
from sqlalchemy import select
from tests.unit.privacy.conftest import World

from shudata.audit.models import AuditEntry
from shudata.core.errors import InvalidInput, PermissionDenied
from shudata.db.runtime import Runtime
from shudata.privacy import review, service
from shudata.privacy.gate import check_export
from shudata.privacy.schemas import ColumnReviewSave
from shudata.privacy.synthdata import citizens

OPEN = {"name": "open-default", "profile": "open"}


def _review(rt: Runtime, world: World, column: str, entity: str | None, reason: str = "机构地址，已公开",
            withdraw: bool = False) -> None:
    with rt.transaction() as s:
        review.review_column(session=s, actor=world.steward, settings=rt.settings,
                             data=ColumnReviewSave(resource="citizens", column=column, entity=entity, reason=reason,
                                                   withdraw=withdraw))


def _preview(rt: Runtime, world: World) -> dict[str, list[Any]]:
    with rt.transaction() as s:
        res = service.mask_resource(session=s, actor=world.steward, settings=rt.settings, resource="citizens",
                                    policy=OPEN, preview_rows=20)
    assert res.gate["passed"], res.gate
    assert res.preview is not None
    return {c: [r[c] for r in res.preview] for c in res.preview[0]}


def test_overruled_column_is_delivered_unmasked_and_the_review_is_audited(rt: Runtime, world: World) -> None:
    before = _preview(rt, world)
    assert set(before["地址"]) == {None}  # detected ADDRESS in a table about persons: suppressed by `open`
    _review(rt, world, "地址", None)
    after = _preview(rt, world)
    raw = dict(zip(world.table.column("身份证号").to_pylist(), world.table.column("地址").to_pylist(), strict=True))
    assert all(a is not None for a in after["地址"])
    assert set(after["地址"]) <= set(raw.values())
    with rt.transaction() as s:
        rows = review.list_reviews(session=s, actor=world.steward, resource="citizens")
        entry = s.scalars(select(AuditEntry).where(AuditEntry.action == "privacy.detection.review")).one()
    assert (rows[0].column, rows[0].entity, rows[0].detected, rows[0].reviewed_by) == ("地址", None, None, "steward_a")
    assert entry.actor == "steward_a" and "机构地址" in entry.details
    _review(rt, world, "地址", None, reason="撤销", withdraw=True)
    assert set(_preview(rt, world)["地址"]) == {None}  # withdrawn: detection again


def test_an_overrule_never_lets_validated_identifiers_leave(rt: Runtime, world: World) -> None:
    for col in ("身份证号", "手机号", "银行卡号"):
        _review(rt, world, col, None, reason="误报")
    out = _preview(rt, world)
    assert set(out["身份证号"]) == {None}  # still CN_RESIDENT_ID: the values validate
    assert all(v is None or "*" in v for v in out["手机号"])
    assert set(out["银行卡号"]) == {None}


@pytest.mark.parametrize("column", ["身份证号", "手机号", "银行卡号"])
def test_gate_refuses_identifiers_in_an_overruled_column(column: str) -> None:
    table = citizens(200, seed=4).select([column])
    result = check_export(table, profile="open", overruled={column}, person_table=False)
    assert not result.passed and result.violations[0].column == column


def test_gate_respects_the_overrule_for_weak_entities() -> None:
    table = citizens(200, seed=4).select(["姓名", "地址"])
    assert not check_export(table, profile="open").passed
    assert check_export(table, profile="open", overruled={"姓名", "地址"}).passed


def test_gate_lets_place_addresses_and_coordinates_pass() -> None:
    table = pa.table({"名称": ["九寨沟风景名胜区", "峨眉山景区"] * 50,
                      "地址": ["阿坝州九寨沟县漳扎镇", "乐山市峨眉山市名山南路"] * 50,
                      "经度": [103.91574601, 103.48412345] * 50, "纬度": [33.26917531, 29.60123456] * 50})
    assert check_export(table, profile="open").passed
    assert check_export(table, profile="open", person_table=False).passed
    assert not check_export(table, profile="open", person_table=True).passed


def test_review_needs_a_reason_a_known_entity_and_column_and_the_departments_steward(
        rt: Runtime, world: World) -> None:
    with rt.transaction() as s:
        with pytest.raises(InvalidInput):
            review.review_column(session=s, actor=world.steward, settings=rt.settings,
                                 data=ColumnReviewSave(resource="citizens", column="地址", entity="NOPE",
                                                       reason="测试"))
        with pytest.raises(InvalidInput):
            review.review_column(session=s, actor=world.steward, settings=rt.settings,
                                 data=ColumnReviewSave(resource="citizens", column="无此列", entity=None,
                                                       reason="测试"))
    for actor in (world.outsider, world.admin):
        with rt.transaction() as s, pytest.raises(PermissionDenied):
            review.review_column(session=s, actor=actor, settings=rt.settings,
                                 data=ColumnReviewSave(resource="citizens", column="地址", entity=None, reason="测试"))


def test_api_review_and_list(client: Any, world: World, token_for: Callable[[str], dict[str, str]]) -> None:
    steward = token_for("steward_a")
    r = client.post("/api/v1/privacy/reviews", json={"resource": "citizens", "column": "姓名", "entity": None,
                                                     "reason": "单位名称"}, headers=steward)
    assert r.status_code == 200, r.text
    assert r.json()["reviewed_by"] == "steward_a" and r.json()["entity"] is None
    r = client.get("/api/v1/privacy/reviews", params={"resource": "citizens"}, headers=steward)
    assert [x["column"] for x in r.json()] == ["姓名"]
    r = client.post("/api/v1/privacy/reviews", json={"resource": "citizens", "column": "姓名", "reason": "x"},
                    headers=steward)
    assert r.status_code == 422  # a reason of one character
    r = client.post("/api/v1/privacy/reviews", json={"resource": "citizens", "column": "姓名", "reason": "单位名称"},
                    headers=token_for("user_b"))
    assert r.status_code == 403


def test_sharing_masks_as_reviewed_and_its_cached_views_see_the_review(rt: Runtime, world: World) -> None:
    from shudata.catalog.access import find_resource
    from shudata.lake.service import latest_version, version_files
    from shudata.query.engines.base import TableSource
    from shudata.sharing.masking import masking_state, version_findings

    def state() -> tuple[dict[str, str | None], tuple[int, int, int]]:
        with rt.transaction() as s:
            res = find_resource(s, "citizens")
            v = latest_version(s, res.id)
            assert v is not None
            src = TableSource("t", version_files(rt.settings, v))
            return version_findings(s, rt.settings, res, v, src), masking_state(s, res, v, "share-conditional")

    found, before = state()
    assert found["地址"] == "ADDRESS" and found["身份证号"] == "CN_RESIDENT_ID"
    _review(rt, world, "地址", None)
    _review(rt, world, "身份证号", None, reason="误报")
    found, after = state()
    assert found["地址"] is None  # the steward's decision
    assert found["身份证号"] == "CN_RESIDENT_ID"  # the values validate: no review waves them through
    assert after != before  # a delivery's cached view is keyed by the newest review


def test_cli_review_and_reviews(rt: Runtime, world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    from typer.testing import CliRunner

    from shudata.cli.main import app

    monkeypatch.setenv("SHUDATA_DATA_DIR", str(rt.settings.data_dir))
    monkeypatch.setenv("SHUDATA_DATABASE_URL", rt.settings.resolved_database_url)
    runner = CliRunner()
    r = runner.invoke(app, ["privacy", "review", "citizens", "地址", "--reason", "机构地址，已公开"])
    assert r.exit_code == 0, r.output
    assert "已记录复核" in r.output and "不属个人信息" in r.output
    r = runner.invoke(app, ["privacy", "review", "citizens", "地址", "--entity", "NOPE", "--reason", "测试"])
    assert r.exit_code != 0 and "未知的实体类型" in r.output
    r = runner.invoke(app, ["privacy", "reviews", "citizens"])
    assert r.exit_code == 0 and "机构地址" in r.output and "system" in r.output


SCENIC = Path(__file__).resolve().parents[2] / "data" / "ingest" / "real" / "sichuan_a_grade_scenic_areas.xlsx"


def test_the_open_portal_publishes_scenic_areas_with_address_and_coordinates(rt: Runtime, world: World) -> None:
    """Issue #11: the A-grade scenic areas table showed 地址, 经度, 纬度 blank on the portal."""
    import pyarrow.parquet as pq
    from tests.unit.privacy.conftest import SYSTEM, make_resource

    from shudata.catalog.writes import write_version
    from shudata.portal import service as P
    from shudata.privacy.readers import read_file

    source = read_file(SCENIC)
    with rt.transaction() as s:
        res = make_resource("101001/000077", "scenic", "四川省A级旅游景区", world.dept_a, source.schema.names)
        res.open_type = "无条件开放"
        s.add(res)
        s.flush()
        write_version(session=s, settings=rt.settings, actor=SYSTEM, resource=res, batches_or_table=source,
                      source_name=SCENIC.name, source_format="xlsx")
    with rt.transaction() as s:
        service.scan_resource(session=s, actor=world.steward, settings=rt.settings, resource="scenic")
        pub = P.publish(session=s, settings=rt.settings, actor=world.steward, resource="scenic")
    assert pub.status == "published", pub.gate
    assert {c: op for c, op in pub.operators.items() if op != "keep"} == {}
    with rt.transaction() as s:
        published = pq.read_table(P.get_dataset(s, "101001-000077").file(rt.settings))
    for col in ("地址", "经度", "纬度"):
        assert published.column(col).to_pylist() == source.column(col).to_pylist()
