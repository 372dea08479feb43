"""Staff side of the portal over HTTP: publish, refusal kept, withdraw, applications, requests."""

from __future__ import annotations

import json

from sqlalchemy import select

from shudata.audit.models import AuditEntry
from shudata.portal import developers, requests
from shudata.portal.models import PortalPublication
from shudata.portal.schemas import ApplicationCreate, DataRequestCreate, DeveloperCreate
from shudata.portal.service import get_dataset
from support.portal import CODES


def test_publish_withdraw_over_http(client, rt, portal_world, token_for):
    h = token_for("stat_steward")
    r = client.post("/api/v1/portal/publications", json={"resource": CODES["open"]}, headers=h)
    assert r.status_code == 201, r.text
    assert r.json()["status"] == "published" and r.json()["gate"]["passed"] is True
    listed = client.get("/api/v1/portal/publications", params={"resource": CODES["open"]}, headers=h).json()
    assert [p["status"] for p in listed] == ["published"]
    r = client.post("/api/v1/portal/withdrawals", json={"resource": CODES["open"], "reason": "数据需要更正"}, headers=h)
    assert r.status_code == 200 and r.json()["status"] == "withdrawn"
    r = client.post("/api/v1/portal/withdrawals", json={"resource": CODES["open"], "reason": "再次撤回"}, headers=h)
    assert r.status_code == 404


def test_refused_publication_is_422_with_findings_and_kept(client, rt, portal_world, token_for):
    h = token_for("stat_steward")
    body = {"policy": {"name": "301001-000005-open", "profile": "open", "columns": {"编号": {"op": "keep"}}}}
    assert client.post("/api/v1/privacy/policies", json=body, headers=h).status_code in (200, 201)
    r = client.post("/api/v1/portal/publications", json={"resource": CODES["planted"]}, headers=h)
    assert r.status_code == 422
    err = r.json()["error"]
    assert err["code"] == "publish_refused" and "编号" in err["message"]
    with rt.transaction() as s:
        kept = s.scalars(select(PortalPublication).where(PortalPublication.status == "refused")).all()
        assert len(kept) == 1 and kept[0].gate["violations"]
    listed = client.get("/api/v1/portal/publications", params={"resource": CODES["planted"]}, headers=h).json()
    assert listed[0]["status"] == "refused"


def test_other_department_and_anonymous_are_refused_and_audited(client, rt, portal_world, token_for):
    r = client.post("/api/v1/portal/publications", json={"resource": CODES["open"]},
                    headers=token_for("mz_steward"))
    assert r.status_code == 403
    assert client.post("/api/v1/portal/publications", json={"resource": CODES["open"]}).status_code == 401
    with rt.transaction() as s:
        denied = [(a.actor, json.loads(a.details))
                  for a in s.scalars(select(AuditEntry).where(AuditEntry.outcome == "denied")).all()]
    path = "/api/v1/portal/publications"
    assert any(who == "mz_steward" and d["status"] == 403 and d["path"] == path and d["method"] == "POST"
               for who, d in denied), denied
    assert any(d["status"] == 401 and d["path"] == path for _who, d in denied), denied


def test_closed_entry_publish_is_409(client, portal_world, token_for):
    r = client.post("/api/v1/portal/publications", json={"resource": CODES["closed"]},
                    headers=token_for("stat_steward"))
    assert r.status_code == 409 and r.json()["error"]["code"] == "not_open"


def test_application_queue_and_decision(client, rt, settings, portal_world, token_for):
    h = token_for("stat_steward")
    assert client.post("/api/v1/portal/publications", json={"resource": CODES["cond"]}, headers=h).status_code == 201
    with rt.transaction() as s:
        dev = developers.register(session=s, data=DeveloperCreate(email="dev@example.cn", phone="13912345678",
                                                                  name="开发者", password="Passw0rd!x"))
        app_ = developers.apply(session=s, dev=dev, data=ApplicationCreate(
            dataset="301001-000003", purpose="研究企业分布情况", accept_agreement=True))
    queue = client.get("/api/v1/portal/applications", params={"status": "pending"}, headers=h).json()
    assert [a["id"] for a in queue] == [app_.id] and queue[0]["dataset"] == "301001-000003"
    assert client.get("/api/v1/portal/applications", headers=token_for("mz_steward")).json() == []
    r = client.post(f"/api/v1/portal/applications/{app_.id}/decision", json={"approve": False}, headers=h)
    assert r.status_code == 422  # a refusal needs a reason
    r = client.post(f"/api/v1/portal/applications/{app_.id}/decision", json={"approve": True},
                    headers=token_for("mz_steward"))
    assert r.status_code == 403
    r = client.post(f"/api/v1/portal/applications/{app_.id}/decision", json={"approve": True}, headers=h)
    assert r.status_code == 200 and r.json()["status"] == "approved"
    with rt.transaction() as s:
        assert developers.approved(s, dev.id, get_dataset(s, CODES["cond"]).resource.id)


def test_public_requests_answered_publicly_without_contact(client, rt, portal_world, token_for):
    with rt.transaction() as s:
        req = requests.create_request(session=s, data=DataRequestCreate(
            title="希望开放各市人口数据", description="用于课题研究，需要分年份的数据", requester_name="王同学",
            contact_email="wang@example.cn", department_id=portal_world.provider))
    h = token_for("stat_steward")
    queue = client.get("/api/v1/portal/requests", headers=h).json()
    assert queue[0]["contact_email"] == "wang@example.cn"
    assert client.get("/api/v1/portal/requests", headers=token_for("mz_steward")).json() == []
    r = client.post(f"/api/v1/portal/requests/{req.id}/answer", json={"answer": "已开放"},
                    headers=token_for("mz_steward"))
    assert r.status_code == 403
    r = client.post(f"/api/v1/portal/requests/{req.id}/answer", json={"answer": "已按年度开放，见数据集"}, headers=h)
    assert r.status_code == 200 and r.json()["status"] == "answered"
    assert "contact_email" not in r.json()
    with rt.transaction() as s:
        public, total = requests.list_public(s)
        assert total == 1 and public[0].answer == "已按年度开放，见数据集"
        assert "wang@" not in public[0].model_dump_json()
