"""Alembic migrations: from empty to head they build exactly the models' schema, on both backends."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import create_engine, inspect

from shudata.db.base import Base
from shudata.db.migrate import downgrade, upgrade
from shudata.db.registry import load_all_models


def test_migrated_schema_matches_the_models(db_url):
    load_all_models()
    engine = create_engine(db_url)
    with engine.connect() as conn:
        ctx = MigrationContext.configure(conn, opts={"compare_type": True})
        diff = compare_metadata(ctx, Base.metadata)
    engine.dispose()
    assert diff == [], f"models and migrations differ — run scripts/regen_migration.sh: {diff[:5]}"


def test_downgrade_to_base_and_upgrade_again(db_url):
    engine = create_engine(db_url)
    downgrade(engine, "base")
    assert [t for t in inspect(engine).get_table_names() if t != "alembic_version"] == []
    upgrade(engine)
    assert "catalog_resource" in inspect(engine).get_table_names()
    engine.dispose()


def _seed_0001(engine) -> None:
    """A store at 0001 holding what the demo leaves: a department, an account with the demo
    admin's password, an API token and a chained audit trail (hashed the 0001 way)."""
    import datetime as dt

    from sqlalchemy import MetaData

    from shudata.audit.ledger import GENESIS, chain_hash
    from shudata.audit.models import AuditEntry
    from shudata.security.passwords import hash_password
    from shudata.security.tokens import hash_token

    meta = MetaData()
    meta.reflect(engine)
    assert "actor_kind" not in meta.tables["audit_entry"].c  # really the 0001 schema
    now = dt.datetime(2026, 11, 30, 8, 0, tzinfo=dt.UTC)
    prev = GENESIS
    with engine.begin() as conn:
        conn.execute(meta.tables["security_department"].insert().values(
            id=1, name="省发展改革委", uscc="1151000000820100X9", region_code="510000", created_at=now))
        conn.execute(meta.tables["security_user"].insert().values(
            id=1, username="admin", display_name="平台管理员", password_hash=hash_password("Shudata@admin1"),
            department_id=None, roles=["platform_admin"], is_active=True, created_at=now))
        conn.execute(meta.tables["security_api_token"].insert().values(
            id=1, user_id=1, name="cli", prefix="abcd1234", token_hash=hash_token("sd_abcd1234_old-token"),
            created_at=now))
        for seq, (actor, action) in enumerate([("system", "security.user.create"), ("admin", "auth.login")], 1):
            e = AuditEntry(seq=seq, ts=now, actor=actor, actor_user_id=None, actor_department_id=None, ip=None,
                           action=action, outcome="success", resource_type="user", resource_id="admin",
                           details="{}", prev_hash=prev, hash="")
            e.hash = chain_hash(prev, e)
            conn.execute(meta.tables["audit_entry"].insert().values(
                seq=e.seq, ts=e.ts, actor=e.actor, actor_user_id=None, actor_department_id=None, ip=None,
                action=e.action, outcome=e.outcome, resource_type=e.resource_type, resource_id=e.resource_id,
                details=e.details, prev_hash=e.prev_hash, hash=e.hash))
            prev = e.hash
        conn.execute(meta.tables["audit_head"].insert().values(id=1, seq=2, hash=prev))


def test_upgrade_from_0001_keeps_demo_data_working(db_url):
    """0001 → head (0002: actor kind, web sessions, login throttle) on a store with data in it."""
    from sqlalchemy.orm import Session

    from shudata.audit.events import AuditEvent
    from shudata.audit.ledger import record
    from shudata.audit.models import AuditEntry
    from shudata.audit.verify import verify_chain
    from shudata.core.types import Actor
    from shudata.security.models import WebSession
    from shudata.security.service import actor_from_token, login
    from shudata.security.throttle import DbStore, LoginGuard

    engine = create_engine(db_url)
    downgrade(engine, "base")
    upgrade(engine, "0001_initial")
    _seed_0001(engine)
    upgrade(engine)
    names = set(inspect(engine).get_table_names())
    assert {"security_web_session", "security_login_throttle"} <= names
    guard = LoginGuard(engine=engine, store=DbStore(engine))
    with Session(engine) as s, s.begin():
        assert verify_chain(s).ok  # old entries (kind NULL) still verify
        actor, sid = login(session=s, guard=guard, username="admin", password="Shudata@admin1", ip=None,
                           max_age_s=3600)
        assert actor.is_admin and sid and s.query(WebSession).count() == 1
        assert actor_from_token(session=s, token="sd_abcd1234_old-token").username == "admin"
        record(s, Actor.system(), AuditEvent("test.after_upgrade"))
    with Session(engine) as s:
        assert verify_chain(s).ok
        kinds = [e.actor_kind for e in s.query(AuditEntry).order_by(AuditEntry.seq)]
        assert kinds[:2] == [None, None] and kinds[-1] == "system" and "user" in kinds
    downgrade(engine, "0001_initial")
    assert "security_web_session" not in inspect(engine).get_table_names()
    upgrade(engine)
    engine.dispose()
