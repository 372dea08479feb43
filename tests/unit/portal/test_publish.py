"""The open-data gate and publication: what passes, what is refused, what stays invisible."""

from __future__ import annotations

import pyarrow.parquet as pq
import pytest
from sqlalchemy import select

from shudata.audit.models import AuditEntry
from shudata.core.errors import Conflict, NotFound, PermissionDenied
from shudata.jobs.ingest import ingest_file
from shudata.portal import service as P
from shudata.portal.models import PortalPublication
from shudata.privacy.schemas import PolicySave
from shudata.privacy.service import save_policy
from support.portal import CODES


def _publish(rt, settings, actor, key):
    with rt.transaction() as s:
        return P.publish(session=s, settings=settings, actor=actor, resource=CODES[key])


def test_open_dataset_publishes_and_is_visible(rt, settings, portal_world):
    pub = _publish(rt, settings, portal_world.steward, "open")
    assert pub.status == "published" and pub.rows == 10 and pub.gate["passed"] is True
    with rt.transaction() as s:
        ds = P.get_dataset(s, "301001-000001")
        assert ds.resource.name == "四川省各市常住人口" and ds.dataset.theme == "人口"
        table = pq.read_table(ds.file(settings))
        assert table.num_rows == 10 and table.column_names == ["地区", "年份", "常住人口万人", "备注"]
        assert P.get_dataset(s, "四川省各市常住人口").name == "301001-000001"


def test_personal_columns_are_masked_in_the_published_file(rt, settings, portal_world):
    pub = _publish(rt, settings, portal_world.steward, "people")
    assert pub.status == "published"
    with rt.transaction() as s:
        ds = P.get_dataset(s, CODES["people"])
        rows = pq.read_table(ds.file(settings)).to_pylist()
    assert rows[0]["姓名"] == "张*"
    assert rows[0]["手机号码"] == "138****1000"
    assert all("1380000" not in str(r["手机号码"]) for r in rows)


def test_planted_id_column_is_refused_and_the_refusal_is_kept(rt, settings, portal_world):
    with rt.transaction() as s:  # the steward's open policy keeps the column: the gate must catch it
        save_policy(session=s, actor=portal_world.steward, settings=settings, data=PolicySave(
            policy={"name": "301001-000005-open", "profile": "open", "columns": {"编号": {"op": "keep"}}}))
    pub = _publish(rt, settings, portal_world.steward, "planted")
    assert pub.status == "refused" and pub.rows == 0
    assert {v["column"] for v in pub.gate["violations"]} == {"编号"}
    assert "CN_RESIDENT_ID" in {v["entity"] for v in pub.gate["violations"]}
    with rt.transaction() as s:
        with pytest.raises(NotFound):
            P.get_dataset(s, CODES["planted"])
        kept = s.scalars(select(PortalPublication).where(PortalPublication.status == "refused")).all()
        assert len(kept) == 1 and kept[0].file is None
        audit = s.scalars(select(AuditEntry).where(AuditEntry.action == "portal.dataset.publish")).all()
        assert audit[-1].outcome == "rejected"


def test_closed_entry_cannot_be_published(rt, settings, portal_world):
    with pytest.raises(Conflict):
        _publish(rt, settings, portal_world.steward, "closed")
    with rt.transaction() as s, pytest.raises(NotFound):
        P.get_dataset(s, CODES["closed"])


def test_other_department_cannot_publish(rt, settings, portal_world):
    with pytest.raises(PermissionDenied):
        _publish(rt, settings, portal_world.other_steward, "open")


def test_unpublished_is_invisible(rt, portal_world):
    with rt.transaction() as s, pytest.raises(NotFound):
        P.get_dataset(s, CODES["open"])


def test_withdraw_falls_back_then_hides(rt, settings, portal_world, tmp_path):
    _publish(rt, settings, portal_world.steward, "open")
    path = portal_world.files["open"]
    with rt.transaction() as s:  # a new version of a published dataset goes through the gate on ingest
        v2 = ingest_file(session=s, settings=settings, actor=portal_world.steward, resource_code=CODES["open"],
                         path=path)
    with rt.transaction() as s:
        assert P.get_dataset(s, CODES["open"]).dataset.version == v2.version == 2
    with rt.transaction() as s:
        P.withdraw(session=s, settings=settings, actor=portal_world.steward, resource=CODES["open"], reason="数据有误")
    with rt.transaction() as s:
        assert P.get_dataset(s, CODES["open"]).dataset.version == 1
    with rt.transaction() as s:
        P.withdraw(session=s, settings=settings, actor=portal_world.steward, resource=CODES["open"], reason="停止开放")
    with rt.transaction() as s, pytest.raises(NotFound):
        P.get_dataset(s, CODES["open"])


def test_changing_open_type_hides_a_published_dataset(rt, settings, portal_world):
    _publish(rt, settings, portal_world.steward, "open")
    from shudata.catalog.models import CatalogResource

    with rt.transaction() as s:
        res = s.scalar(select(CatalogResource).where(CatalogResource.code == CODES["open"]))
        res.open_type = "不予开放"
    with rt.transaction() as s, pytest.raises(NotFound):
        P.get_dataset(s, CODES["open"])
