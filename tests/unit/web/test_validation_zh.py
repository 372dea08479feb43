"""Validation messages in Chinese (issue #12): the API's 422 and the forms say 必填项, not
"Field required", and keep where the problem is (``loc``/``field``); English on request."""

from __future__ import annotations

import re

import pytest

from shudata.core.types import Role

pytestmark = pytest.mark.sqlite_only
ENGLISH = re.compile(r"Field required|Input should|String should|valid string|at least \d+ char")


def test_api_422_is_chinese_and_keeps_loc(client, make_user, token_for):
    make_user("v_admin", Role.PLATFORM_ADMIN)
    auth = token_for("v_admin")
    r = client.post("/api/v1/resources", json={"name": 7, "abstract": ""}, headers=auth)
    assert r.status_code == 422
    err = r.json()["error"]
    assert err["code"] == "invalid_input" and not ENGLISH.search(err["message"]), err["message"]
    problems = {p["field"]: p for p in err["details"]["problems"]}
    assert problems["name"]["message"] == "应为文本" and problems["name"]["loc"] == ["body", "name"]
    assert problems["sharing"]["message"] == "必填项，不能为空"
    assert problems["sharing"]["type"] == "missing"
    assert "sharing：必填项，不能为空" in err["message"]
    en = client.post("/api/v1/resources?lang=en", json={"name": 7}, headers=auth).json()["error"]
    assert "Field required" in en["message"] and "Input should be a valid string" in en["message"]


def test_query_parameter_422_is_chinese(client):
    r = client.get("/api/v1/search", params={"min_quality": "x"})
    assert r.status_code == 422 and "min_quality：应为数字" in r.json()["error"]["message"]


def test_form_errors_are_chinese(client, make_department, make_user, login):
    dept = make_department()
    make_user("v_steward", Role.DATA_STEWARD, department_id=dept)
    csrf = login("v_steward")
    r = client.post("/demands", data={"csrf_token": csrf, "title": "", "description": "", "purpose": ""})
    assert r.status_code == 422
    assert not ENGLISH.search(r.text), ENGLISH.search(r.text)
    assert "title：" in r.text
