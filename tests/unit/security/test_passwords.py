"""Issue #14 item 8: the password policy (GB/T 39786-2021 level 3 practice) on every way an account
gets a password: user creation (API, page, CLI share the service), reset, developer registration."""

from __future__ import annotations

import pytest

from shudata.core.errors import InvalidInput
from shudata.core.types import Role
from shudata.demo.accounts import ROLE_PASSWORDS
from shudata.security.passwords import common_passwords, password_problem

PASSWORD = "Tianfu-Data-7"


@pytest.mark.parametrize("password, reason", [
    ("password1", "至少 10 位"),  # the attack's examples
    ("aaaaaaa1", "至少 10 位"),
    ("        1", "至少 10 位"),
    ("          ", "空白"),  # only blanks
    ("   Ab1!    ", "至少 10 位"),  # blanks at the ends do not count towards the length
    ("abcdefghijk", "三类"),  # one class
    ("abcdefghij12", "三类"),  # two classes
    ("Aa1!Aa1!Aa1!", "重复"),  # a few characters repeated
    ("Zhangwei-2024", "用户名"),  # contains the user name (zhangwei)
    ("Qwerty123!", "常见"),  # a common password with dressing
    ("P@ssw0rd2024", "常见"),  # l33t and digits around "password"
    ("Woaini1314!", "常见"),  # common in Chinese lists too
    ("Iloveyou2023", "常见"),
])
def test_weak_passwords_are_refused_with_the_reason(password, reason):
    problem = password_problem(password, username="zhangwei", min_length=10)
    assert problem is not None and reason in problem[0], problem


@pytest.mark.parametrize("password", [
    PASSWORD,
    "Jinjiang-River-42",
    "长城-Great-Wall-9",  # Chinese characters count as other symbols
    *ROLE_PASSWORDS.values(),  # the demo accounts' passwords printed in the README
])
def test_good_passwords_pass(password):
    assert password_problem(password, username="zhangwei", min_length=10) is None


def test_every_demo_account_password_meets_the_policy():
    from shudata.demo.accounts import demo_users

    assert all(password_problem(u.password, username=u.username) is None for u in demo_users())


def test_min_length_is_configurable_but_never_below_eight():
    assert password_problem("Kx7-desk-lamp", min_length=14) is not None
    assert password_problem("Kx7-desk", min_length=4) is None  # the floor of 8 applies
    assert password_problem("Kx7-dsk", min_length=4) is not None


def test_the_common_list_ships_with_the_package():
    common = common_passwords()
    assert len(common) > 19_000 and {"123456", "password", "woaini1314"} <= common


def test_user_creation_and_reset_apply_the_policy(client, rt, make_user, token_for, make_department):
    make_user("opsadmin", Role.PLATFORM_ADMIN)
    dept = make_department()
    for weak in ("password1", "Aaaaaaaaaaaa", "Password123!"):
        r = client.post("/api/v1/users", headers=token_for("opsadmin"), json={
            "username": "ivy", "display_name": "x", "password": weak, "department_id": dept})
        assert r.status_code == 422, (weak, r.text)
    victim = make_user("jack", Role.AUDITOR)
    r = client.patch(f"/api/v1/users/{victim.user_id}", headers=token_for("opsadmin"), json={"password": "Jack-12345"})
    assert r.status_code == 422 and r.json()["error"]["code"] == "weak_password"
    assert "用户名" in r.json()["error"]["message"]


def test_min_length_setting_reaches_the_api(settings, make_user, token_for, make_department):
    from fastapi.testclient import TestClient

    from shudata.db.runtime import Runtime
    from shudata.web.app import create_app

    make_user("opsadmin", Role.PLATFORM_ADMIN)
    dept = make_department()
    rt2 = Runtime.build(settings.model_copy(update={"password_min_length": 16}))
    try:
        with TestClient(create_app(runtime=rt2, migrate=False)) as c:
            r = c.post("/api/v1/users", headers=token_for("opsadmin"), json={
                "username": "kim", "display_name": "x", "password": PASSWORD, "department_id": dept})
            assert r.status_code == 422 and "至少 16 位" in r.json()["error"]["message"]
    finally:
        rt2.close()


def test_developer_registration_applies_the_policy_and_reserved_names(rt):
    from shudata.portal.developers import register
    from shudata.portal.schemas import DeveloperCreate

    def reg(name: str, password: str) -> None:
        with rt.transaction() as s:
            register(session=s, data=DeveloperCreate(email="lee@example.cn", phone="13912345678", name=name,
                                                     password=password))

    with pytest.raises(InvalidInput, match="密码不符合要求"):
        reg("李开发", "password1")
    with pytest.raises(InvalidInput, match="密码不符合要求"):
        reg("李开发", "        1")
    with pytest.raises(InvalidInput, match="保留"):
        reg(" SYSTEM ", PASSWORD)
    reg("李开发", PASSWORD)
