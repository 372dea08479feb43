"""Findings of the forms sweep (tests/e2e/test_hostile_forms.py) that hold on both stores.

1. A demand's title, description, purpose and wanted fields, and a rights objection's objector
   and reason, took control characters: NUL, ESC sequences and right-to-left overrides were
   stored and shown to every reader of the demand list (a title that displays as another), and
   on PostgreSQL a NUL was refused by the driver with "check numbers and dates". They are
   refused with a message saying what to remove (API and form alike); tabs and line breaks stay.
2. A form the page refuses and shows again with its errors (a 4xx answer) left no record in the
   audit trail, while the API's answer to the same input is recorded: the pages' refusals are
   now recorded the same way (code ``invalid_input`` for a 422, with the messages shown).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from shudata.audit.models import AuditEntry
from shudata.catalog.models import CatalogDemand
from shudata.core.types import Actor, Role
from shudata.db.runtime import Runtime

PASSWORD = "Corr3ct-horse-9"
HTML = {"Accept": "text/html,application/xhtml+xml,*/*;q=0.8"}


@pytest.fixture
def user(client: TestClient, make_department: Callable[..., int], make_user: Callable[..., Actor]) -> str:
    """``client`` is logged in as a department user; returns the page's CSRF token."""
    make_user("forms_user", Role.DEPT_USER, department_id=make_department(), password=PASSWORD)
    r = client.post("/login", data={"username": "forms_user", "password": PASSWORD}, follow_redirects=False)
    assert r.status_code == 303, r.text
    token = re.search(r'<meta name="csrf-token" content="([^"]*)"', client.get("/demands").text)
    assert token
    return token.group(1)


def _demands(rt: Runtime) -> int:
    with rt.transaction() as s:
        return s.scalar(select(func.count()).select_from(CatalogDemand)) or 0


def _refusals(rt: Runtime, path: str) -> list[tuple[AuditEntry, dict[str, Any]]]:
    with rt.transaction() as s:
        rows = s.scalars(select(AuditEntry).where(AuditEntry.outcome == "rejected").order_by(AuditEntry.seq)).all()
        found = [(r, json.loads(r.details) if isinstance(r.details, str) else dict(r.details or {})) for r in rows]
        return [(r, d) for r, d in found if d.get("path") == path]


@pytest.mark.parametrize(("field", "value"), [
    ("title", "企业名录\x00"),  # NUL: PostgreSQL's driver refused it with an unrelated message
    ("title", "\u202e录名业企"),  # a right-to-left override: displays as another title
    ("description", "说明\x1b[2J"),  # an ESC sequence (clears a terminal that shows the export)
    ("purpose", "用途\x07"),
])
def test_a_demand_with_control_characters_is_refused_by_the_form_and_the_api(
        client: TestClient, rt: Runtime, user: str, token_for: Callable[[str], dict[str, str]], field: str,
        value: str) -> None:
    before = _demands(rt)
    form = {"title": "企业名录需求", "description": "", "purpose": "", "wanted_fields": "", field: value}
    r = client.post("/demands", data={**form, "csrf_token": user}, headers=HTML)
    assert r.status_code == 422, r.text[:300]
    assert "控制字符" in r.text and 'role="alert"' in r.text
    r = client.post("/api/v1/demands", json={**form, "wanted_fields": []}, headers=token_for("forms_user"))
    assert r.status_code == 422 and "控制字符" in r.json()["error"]["message"]
    assert _demands(rt) == before  # nothing recorded


def test_tabs_and_line_breaks_are_still_text(client: TestClient, rt: Runtime, user: str) -> None:
    before = _demands(rt)
    r = client.post("/demands", data={"title": "企业名录需求", "description": "第一行\r\n第二行\t备注",
                                      "csrf_token": user}, headers=HTML, follow_redirects=False)
    assert r.status_code == 303, r.text[:300]
    assert _demands(rt) == before + 1


def test_a_refused_form_is_in_the_audit_trail_like_the_apis_refusal(client: TestClient, rt: Runtime,
                                                                   user: str) -> None:
    before = len(_refusals(rt, "/demands"))
    r = client.post("/demands", data={"title": "", "csrf_token": user}, headers=HTML)
    assert r.status_code == 422 and 'role="alert"' in r.text  # the form again, with the error
    refusals = _refusals(rt, "/demands")
    assert len(refusals) == before + 1
    entry, details = refusals[-1]
    assert entry.actor == "forms_user" and entry.action == "http.post"
    assert details["status"] == 422 and details["code"] == "invalid_input" and "title" in details["message"]


@pytest.mark.parametrize("field", ["objector", "reason"])
def test_a_rights_objection_with_control_characters_is_refused(field: str) -> None:
    from pydantic import ValidationError

    from shudata.market.rights.schemas import ObjectionCreate

    data = {"objector": "四川某公司", "reason": "该数据来源不合法，请核查", field: "该理由有误\x00\u202e"}
    with pytest.raises(ValidationError, match="控制字符"):
        ObjectionCreate.model_validate(data)
    assert ObjectionCreate.model_validate({**data, field: "有误的理由\n第二行"})


def _schemas() -> list[tuple[Any, str, dict[str, Any]]]:
    """(model, field, other required values) of the input schemas whose text a person types."""
    from shudata.analysis.schemas import AckRequest
    from shudata.market.schemas import ListingDecision, OrderCreate, ReasonBody, ReviewCreate
    from shudata.portal.schemas import (
        ApplicationCreate,
        ApplicationDecide,
        DataRequestAnswer,
        DataRequestCreate,
        KeyCreate,
        WithdrawCreate,
    )
    from shudata.security.schemas import TokenCreate
    from shudata.sharing.schemas import DecisionCreate, DisputeCreate, DisputeResolve, RevokeCreate

    request = {"title": "企业名录", "description": "需要企业名录数据", "requester_name": "张三",
               "contact_email": "a@example.cn"}
    order = {"buyer_id": 1, "product_id": 1, "plan_id": 1, "purpose": "信用评估", "delivery_mode": "api"}
    return [
        (TokenCreate, "name", {}), (KeyCreate, "name", {}),
        (ApplicationCreate, "purpose", {"dataset": "d", "purpose": "科研分析用途", "accept_agreement": True}),
        (ApplicationDecide, "reason", {"approve": False}), (DataRequestAnswer, "answer", {}),
        (DataRequestCreate, "title", request), (DataRequestCreate, "description", request),
        (DataRequestCreate, "requester_name", request), (WithdrawCreate, "reason", {"resource": "101001/000001"}),
        (DecisionCreate, "reason", {"decision": "refuse"}), (DisputeCreate, "reason", {}),
        (DisputeResolve, "resolution", {"grant": False}), (RevokeCreate, "reason", {}),
        (ReviewCreate, "reason", {"decision": "refuse"}), (ListingDecision, "reason", {"decision": "refuse"}),
        (ReasonBody, "reason", {}), (OrderCreate, "purpose", order), (AckRequest, "comment", {}),
    ]


@pytest.mark.parametrize("case", range(18))
def test_text_a_person_types_into_these_schemas_refuses_control_characters(case: int) -> None:
    """Found by submitting each text field of each form alone with NUL and a right-to-left override:
    token and key names, public data requests and their answers, sharing decisions, disputes and
    revocations, market reviews, orders' purposes and alert acknowledgements stored them."""
    from pydantic import ValidationError

    model, field, base = _schemas()[case]
    with pytest.raises(ValidationError, match="控制字符"):
        model.model_validate({**base, field: "理由说明文字\x00\u202e"})
    assert getattr(model.model_validate({**base, field: "理由说明文字\n第二行"}), field) == "理由说明文字\n第二行"


@pytest.mark.parametrize(("model", "data"), [
    ("ResourceUpdate", {"abstract": "全省企业登记信息\x00"}),  # the entry form's abstract
    ("SharingAttributes", {"type": 2, "condition": "须签订协议\u202e"}),  # its sharing condition
    ("OpenAttributes", {"type": 2, "condition": "须实名申请\x1b[2J"}),  # its open condition
])
def test_a_catalog_entrys_abstract_and_conditions_refuse_control_characters(model: str,
                                                                           data: dict[str, Any]) -> None:
    from pydantic import ValidationError

    from shudata.catalog import schemas

    with pytest.raises(ValidationError, match="控制字符"):
        getattr(schemas, model).model_validate(data)
