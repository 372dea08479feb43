"""The last platform admin, found by the adversarial sweep (2026-12-07).

A form post to ``/admin/users/{id}/active`` without the ``active`` field (the field defaults
to "0") disabled the demo's only platform admin — its own account — and with it every
token it held: nobody could manage accounts from the web any more (only the CLI on the
server could). The last active platform admin can no longer be disabled or lose the role
(409 ``last_platform_admin``, nothing changed, audited); with a second admin it can.
"""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from shudata.core.types import Actor, Role
from shudata.db.runtime import Runtime
from shudata.security.models import User

PASSWORD = "Corr3ct-horse-9"


@pytest.fixture
def only_admin(make_user: Callable[..., Actor], token_for: Callable[[str], dict[str, str]]
               ) -> tuple[Actor, dict[str, str]]:
    return make_user("la_admin", Role.PLATFORM_ADMIN, password=PASSWORD), token_for("la_admin")


def _active(rt: Runtime, user_id: int | None) -> tuple[bool, list[str]]:
    with rt.transaction() as s:
        u = s.scalars(select(User).where(User.id == user_id)).one()
        return u.is_active, list(u.roles)


@pytest.mark.parametrize("body", [{"is_active": False}, {"roles": ["auditor"]}, {"roles": []}])
def test_the_last_platform_admin_cannot_be_disabled_or_demoted(
        client: TestClient, rt: Runtime, only_admin: tuple[Actor, dict[str, str]], body: dict[str, object]) -> None:
    admin, headers = only_admin
    r = client.patch(f"/api/v1/users/{admin.user_id}", json=body, headers=headers)
    assert r.status_code == 409, r.text[:300]
    assert r.json()["error"]["code"] == "last_platform_admin"
    assert _active(rt, admin.user_id) == (True, [Role.PLATFORM_ADMIN.value])
    assert client.get("/api/v1/me", headers=headers).status_code == 200  # its token still works


def test_the_admin_page_form_without_the_field_keeps_the_last_admin(
        client: TestClient, rt: Runtime, only_admin: tuple[Actor, dict[str, str]]) -> None:
    admin, _ = only_admin
    assert client.post("/login", data={"username": "la_admin", "password": PASSWORD},
                       follow_redirects=False).status_code == 303
    csrf = re.search(r'<meta name="csrf-token" content="([^"]*)"', client.get("/tokens").text)
    assert csrf
    r = client.post(f"/admin/users/{admin.user_id}/active", data={"csrf_token": csrf.group(1)},
                    follow_redirects=False)
    assert r.status_code == 409, r.text[:300]
    assert _active(rt, admin.user_id)[0] is True


def test_with_a_second_admin_one_of_them_can_be_disabled(
        client: TestClient, rt: Runtime, only_admin: tuple[Actor, dict[str, str]],
        make_user: Callable[..., Actor]) -> None:
    admin, headers = only_admin
    other = make_user("la_admin2", Role.PLATFORM_ADMIN)
    r = client.patch(f"/api/v1/users/{other.user_id}", json={"is_active": False}, headers=headers)
    assert r.status_code == 200, r.text[:300]
    assert _active(rt, other.user_id)[0] is False
    # now la_admin is the last one again
    assert client.patch(f"/api/v1/users/{admin.user_id}", json={"is_active": False},
                        headers=headers).status_code == 409
