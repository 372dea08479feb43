"""Issue #14 item 2: the system is an actor kind no account can become; reserved names are refused;
the audit trail tells an internal action from a user named like it."""

from __future__ import annotations

import json

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from tests.conftest import SYSTEM
from typer.testing import CliRunner

from shudata.audit.ledger import record
from shudata.audit.models import AuditEntry
from shudata.audit.verify import verify_chain
from shudata.core.config import Settings
from shudata.core.errors import InvalidInput
from shudata.core.types import Actor, ActorKind, Role
from shudata.db.runtime import Runtime
from shudata.security import actions as A
from shudata.security.authz import allowed
from shudata.security.models import User
from shudata.security.passwords import hash_password
from shudata.security.schemas import UserCreate
from shudata.security.service import actor_for, create_user

PASSWORD = "Tianfu-Data-7"


@pytest.mark.parametrize("name", [
    "system",  # the internal principal's own name
    "SYSTEM",  # any case
    " System ",  # surrounding blanks
    "ｓｙｓｔｅｍ",  # full-width look-alikes, folded by NFKC
    "anonymous",
    "Root",
    "shudata",
    "developer",
])
def test_reserved_names_are_refused_by_the_service(rt, name):
    with rt.transaction() as s, pytest.raises(InvalidInput) as err:
        create_user(session=s, actor=SYSTEM, data=UserCreate(username=name, display_name="x", password=PASSWORD,
                                                              roles=[Role.AUDITOR]))
    assert err.value.code == "reserved_username" and "保留" in err.value.zh


def test_reserved_name_is_refused_by_the_api_and_the_page(client, make_user, token_for, make_department):
    make_user("opsadmin", Role.PLATFORM_ADMIN)
    dept = make_department()
    r = client.post("/api/v1/users", headers=token_for("opsadmin"), json={
        "username": "system", "display_name": "系统", "password": PASSWORD, "department_id": dept})
    assert r.status_code == 422 and r.json()["error"]["code"] == "reserved_username"
    assert "系统保留名称" in r.json()["error"]["message"]
    assert client.post("/login", data={"username": "opsadmin", "password": PASSWORD}).status_code == 200
    csrf = client.get("/admin/users").text.split('name="csrf-token" content="')[1].split('"')[0]
    r = client.post("/admin/users", data={"csrf_token": csrf, "username": "Ａｎｏｎｙｍｏｕｓ", "display_name": "x",
                                          "password": PASSWORD, "department_id": str(dept), "roles": "dept_user"})
    assert r.status_code == 422 and "系统保留名称" in r.text


def test_case_variant_of_an_existing_name_is_a_conflict(rt, make_user):
    make_user("alice", Role.AUDITOR)
    with rt.transaction() as s, pytest.raises(Exception) as err:
        create_user(session=s, actor=SYSTEM, data=UserCreate(username="ALICE", display_name="x", password=PASSWORD,
                                                              roles=[Role.AUDITOR]))
    assert getattr(err.value, "status", None) == 409


@pytest.mark.sqlite_only
def test_reserved_name_is_refused_by_the_cli(tmp_path, monkeypatch):
    from shudata.cli.admin import user_app

    monkeypatch.setenv("SHUDATA_DATA_DIR", str(tmp_path / "node"))
    monkeypatch.delenv("SHUDATA_DATABASE_URL", raising=False)
    rt = Runtime.build(Settings())
    rt.migrate()
    rt.close()
    r = CliRunner().invoke(user_app, ["system", "--password", PASSWORD, "--role", "auditor"])
    assert r.exit_code != 0 and "保留" in r.output


def test_system_kind_comes_only_from_code():
    assert Actor.system().is_system and Actor.system().kind is ActorKind.SYSTEM
    named = Actor(user_id=3, username="system", roles=frozenset({Role.DEPT_USER}), department_id=1)
    assert not named.is_system and named.kind is ActorKind.USER
    assert Actor(user_id=3, username="x", token_id=9).kind is ActorKind.TOKEN
    assert Actor.peer("510100", 4, "bob").kind is ActorKind.PEER and Actor.anonymous().kind is ActorKind.ANONYMOUS
    with pytest.raises(ValueError):
        Actor(user_id=3, username="system", kind=ActorKind.SYSTEM)  # an account cannot be the system


def _insert_system_row(rt: Runtime, department_id: int) -> int:
    """An account named ``system`` that predates the check (inserted directly, as the attack left it)."""
    with rt.transaction() as s:
        row = User(username="system", display_name="系统", password_hash=hash_password(PASSWORD),
                   department_id=department_id, roles=[Role.DEPT_USER.value])
        s.add(row)
        s.flush()
        return row.id


def test_existing_account_named_system_gets_no_extra_rights(rt, app, make_department, make_user):
    dept, other = make_department(), make_department()
    make_user("victim", Role.DEPT_USER, department_id=other)
    uid = _insert_system_row(rt, dept)
    with rt.transaction() as s:
        row = s.get(User, uid)
        assert row is not None
        actor = actor_for(row)
    assert actor.kind is ActorKind.USER and not actor.is_system
    assert not allowed(actor, A.AUDIT_READ) and not allowed(actor, A.USER_MANAGE)
    with TestClient(app) as c:
        assert c.post("/login", data={"username": "system", "password": PASSWORD},
                      follow_redirects=False).status_code == 303
        me = c.get("/api/v1/me").json()
        assert me["username"] == "system" and me["kind"] == "user" and me["roles"] == ["dept_user"]
        assert c.get("/api/v1/audit", headers={"accept": "application/json"}).status_code == 403
        csrf = c.get("/tokens").text.split('name="csrf-token" content="')[1].split('"')[0]
        r = c.post("/api/v1/users", headers={"X-CSRF-Token": csrf}, json={
            "username": "evil_admin", "display_name": "x", "password": PASSWORD, "roles": ["platform_admin"]})
        assert r.status_code == 403
        listed = c.get("/api/v1/users").json()
        assert {u["username"] for u in listed} == {"system"}  # its own department only
    with rt.transaction() as s:
        assert s.scalar(select(User.id).where(User.username == "evil_admin")) is None


def test_audit_trail_tells_the_system_from_a_user_named_system(rt, make_department):
    dept = make_department()
    uid = _insert_system_row(rt, dept)
    from shudata.audit.events import AuditEvent

    with rt.transaction() as s:
        row = s.get(User, uid)
        assert row is not None
        record(s, actor_for(row), AuditEvent("test.by_user"))
        record(s, Actor.system(), AuditEvent("test.by_system"))
        record(s, Actor.anonymous("10.1.1.1"), AuditEvent("test.by_nobody"))
    with rt.transaction() as s:
        kinds = {e.action: (e.actor, e.actor_kind) for e in s.scalars(select(AuditEntry))}
        assert kinds["test.by_user"] == ("system", "user")
        assert kinds["test.by_system"] == ("system", "system")
        assert kinds["test.by_nobody"] == ("anonymous", "anonymous")
        assert verify_chain(s).ok
        # the kind is hashed: passing a user off as the system afterwards breaks the chain
        forged = s.scalars(select(AuditEntry).where(AuditEntry.action == "test.by_user")).one()
        forged.actor_kind = "system"
        s.flush()
        report = verify_chain(s)
        assert [p.kind for p in report.problems] == ["modified"]


def test_audit_api_shows_the_actor_kind(client, rt, make_user, token_for):
    make_user("aud", Role.AUDITOR)
    from shudata.audit.events import AuditEvent

    with rt.transaction() as s:
        record(s, Actor.system(), AuditEvent("test.by_system"))
    items = client.get("/api/v1/audit", headers=token_for("aud"), params={"action": "test."}).json()["items"]
    assert [(i["actor"], i["actor_kind"]) for i in items] == [("system", "system")]
    assert json.dumps(items)  # plain JSON


def test_a_user_named_system_reads_no_other_departments_raw_data_and_files_no_demands_for_it(rt, make_department):
    """The attack's read of another department's raw IDs and phones went through ``allowed``'s
    name test; with the kind, the account is an ordinary user of its own department."""
    from shudata.catalog.access import can_read_data
    from shudata.catalog.demand import create_demand
    from shudata.catalog.models import CatalogResource
    from shudata.catalog.schemas import DemandCreate
    from shudata.core.errors import PermissionDenied

    dept, other = make_department(), make_department()
    uid = _insert_system_row(rt, dept)
    with rt.transaction() as s:
        row = s.get(User, uid)
        assert row is not None
        named = actor_for(row)
    theirs = CatalogResource(code="101001/000001", name="人口", provider_department_id=other)
    assert can_read_data(Actor.system(), theirs) and not can_read_data(named, theirs)
    with rt.transaction() as s, pytest.raises(PermissionDenied):
        create_demand(session=s, actor=named, data=DemandCreate(title="要别人的数据", description="x",
                                                                department_id=other, purpose="x"))
