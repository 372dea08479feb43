"""Ids typed by a person are plain ASCII digits or nothing: superscripts, other scripts' digits and
numbers too long for a 64-bit column never reach ``int()`` and never answer 500 (issue #14 item 11)."""

from __future__ import annotations

from typing import Any

import pytest

pytestmark = pytest.mark.sqlite_only

HOSTILE = ["²³", "٣", "9" * 30, "1" * 5000]


@pytest.mark.parametrize("value", HOSTILE)
def test_the_portal_list_ignores_a_department_id_that_is_not_one(client: Any, value: str) -> None:
    r = client.get("/portal/datasets", params={"department": value})
    assert r.status_code == 200


@pytest.mark.parametrize("value", ["9" * 30, "1" * 5000])  # a header carries ASCII only
def test_a_declared_content_length_that_is_not_a_number_is_no_500(client: Any, value: str) -> None:
    headers = {"Content-Length": value, "Content-Type": "application/json"}
    r = client.post("/api/v1/query", content=b"{}", headers=headers)
    assert r.status_code < 500
