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
