"""The permission matrix, generated from the action registry (``shudata.permissions``).

Part one: every registered action × every kind of principal × every situation of its scope
(own department, another department, a target of nobody's; the actor's own thing or another's;
an active, revoked or expired grant, no grant, another department's grant) is checked against
``EXPECTED``, a hand-written table with one row per action. A new action without its row — or a
changed role or scope that the row does not follow — fails here.

Part two: the services really call the check. ``PROBES`` maps actions to a real use case,
driven on SQLite and PostgreSQL with the people who may and may not take it; every registered
action is either probed or listed in ``NOT_PROBED`` with the reason.
"""

from __future__ import annotations

import ast
import datetime as dt
import importlib
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.orm import Session

import shudata
from shudata.catalog.access import find_resource, require_read_data
from shudata.catalog.demand import create_demand
from shudata.catalog.schemas import DemandCreate
from shudata.core.errors import PermissionDenied, Unauthenticated
from shudata.core.types import Actor, ResourceRef, Role
from shudata.permissions import ACTION_MODULES, builtin_actions
from shudata.security.authz import Action, ActionRegistry, allowed, require
from support.sharing import world

__all__ = ["world"]  # the sharing world (two departments, stewards, a user, three entries) as a fixture

REGISTRY = builtin_actions()
OWN, OTHER = 1, 2

# -- part one: the matrix -----------------------------------------------------------------------

PERSONAS: dict[str, Actor] = {
    "admin": Actor(user_id=1, username="admin", roles=frozenset({Role.PLATFORM_ADMIN})),  # no department
    "steward": Actor(user_id=2, username="steward", department_id=OWN, roles=frozenset({Role.DATA_STEWARD})),
    "user": Actor(user_id=3, username="user", department_id=OWN, roles=frozenset({Role.DEPT_USER})),
    "auditor": Actor(user_id=4, username="auditor", department_id=OWN, roles=frozenset({Role.AUDITOR})),
    "token": Actor(user_id=5, username="tokenuser", department_id=OWN, roles=frozenset({Role.DEPT_USER}),
                   token_id=9),  # a department user through an API token
    "peer": Actor.peer("510100", OWN, "clerk"),  # a department of a trusted node (signed message)
    "roleless": Actor(user_id=6, username="nobody", department_id=OWN),  # an account with no role
    "developer": Actor.developer("dev@example.com"),  # portal developer: the public, no platform roles
    "anonymous": Actor.anonymous(),
    "system": Actor.system(),  # CLI, jobs
    # the market (issue 16): the exchange operator, the regulator, an enterprise's account (no department)
    "operator": Actor(user_id=7, username="operator", roles=frozenset({Role.MARKET_OPERATOR})),
    "regulator": Actor(user_id=8, username="regulator", roles=frozenset({Role.REGULATOR})),
    "member": Actor(user_id=9, username="member", roles=frozenset({Role.MARKET_MEMBER})),
}

# The situations of each scope (a platform-wide action must not care about its target).
SITUATIONS: dict[str, tuple[str, ...]] = {
    "platform": ("none", "own", "other", "unowned"),
    "authenticated": ("none", "own", "other"),
    "public": ("none", "own", "other"),
    "department": ("own", "other", "unowned"),
    "resource": ("mine", "theirs", "unowned"),
    "grant": ("active", "revoked", "expired", "nogrant", "othergrant"),
}


def target(situation: str, actor: Actor) -> ResourceRef | None:
    refs = {
        "none": None,
        "own": ResourceRef("thing", 1, department_id=OWN),
        "other": ResourceRef("thing", 1, department_id=OTHER),
        "unowned": ResourceRef("thing", 1),
        "mine": ResourceRef("thing", 1, owner=actor.username),
        "theirs": ResourceRef("thing", 1, owner="someone_else"),
        "active": ResourceRef("sharing_grant", 1, department_id=OWN, grant="active"),
        "revoked": ResourceRef("sharing_grant", 1, department_id=OWN, grant="revoked"),
        "expired": ResourceRef("sharing_grant", 1, department_id=OWN, grant="expired"),
        "nogrant": ResourceRef("sharing_grant", None, department_id=OWN),
        "othergrant": ResourceRef("sharing_grant", 2, department_id=OTHER, grant="active"),
    }
    return refs[situation]


# One row per action: who is allowed, and where. ``steward`` alone: in every situation of the
# scope; ``steward:own`` only there. Everyone not named is refused everywhere.
EXPECTED: dict[str, str] = {
    # security and audit
    "security.department.manage": "admin system",
    "security.department.view": "admin steward user auditor token peer roleless operator regulator member system",
    "security.user.manage": "admin system",
    "security.user.view": "admin steward user auditor token peer system operator regulator member",
    "security.user.view.all": "admin auditor system",
    "security.token.create": "admin steward user auditor token peer roleless operator regulator member system",
    "security.password.change": "admin steward user auditor token peer roleless operator regulator member system",
    "security.token.revoke": ("admin steward:mine user:mine auditor:mine token:mine peer:mine roleless:mine "
                              "operator:mine regulator:mine member:mine system"),
    "audit.read": "admin auditor system",
    # query
    "query.run": "admin steward user auditor token peer roleless operator regulator member system",
    "query.saved.manage": ("admin:mine steward:mine user:mine auditor:mine token:mine peer:mine roleless:mine "
                           "operator:mine regulator:mine member:mine system"),
    "query.history.view": ("admin:mine steward:mine user:mine auditor:mine token:mine peer:mine roleless:mine "
                           "operator:mine regulator:mine member:mine system"),
    "query.run.cancel": ("admin:mine steward:mine user:mine auditor:mine token:mine peer:mine roleless:mine "
                         "operator:mine regulator:mine member:mine system"),
    # analysis: dashboards (one's own; publication by the department's steward) and the assessment scorecard
    "analysis.dashboard.manage": ("admin:mine steward:mine user:mine auditor:mine token:mine peer:mine roleless:mine "
                                  "operator:mine regulator:mine member:mine system"),
    "analysis.dashboard.publish": "admin steward:own system",
    "analysis.scorecard.view": "admin auditor system",
    # catalog and lake (raw reads: the own department's staff only, no admin bypass)
    "catalog.resource.view": "admin steward user auditor token peer roleless operator regulator member system",
    "catalog.resource.create": "admin steward system",
    "catalog.resource.edit": "admin steward:own system",
    "lake.version.create": "admin steward:own system",
    "lake.version.read": "steward:own user:own token:own peer:own system",
    "catalog.demand.create": "admin steward:own user:own token:own peer:own system",
    "catalog.demand.link": "admin steward:own system",
    "catalog.demand.view": "admin steward user auditor token peer roleless operator regulator member system",
    "catalog.dashboard.view": "admin steward:own user:own auditor:own token:own peer:own system",
    "catalog.dashboard.platform": "admin auditor system",
    "catalog.custody.view": "operator system",
    # quality (computed on raw values: no admin bypass)
    "quality.rules.edit": "steward:own system",
    "quality.check.run": "steward:own user:own token:own peer:own system",
    "quality.report.view": "steward:own user:own token:own peer:own system",
    "quality.quarantine.manage": "steward:own system",
    "quality.clean.run": "steward:own system",
    "quality.dashboard.department": "admin steward:own user:own auditor:own token:own peer:own system",
    "quality.dashboard.platform": "admin auditor system",
    "quality.profile.run": "admin steward user auditor token peer roleless operator regulator member system",
    # privacy (computed on raw values: no admin bypass)
    "privacy.scan": "steward:own system",
    "privacy.scan.file": "admin steward user token peer system",
    "privacy.scan.file.view": "admin:mine steward:mine user:mine token:mine peer:mine system",
    "privacy.scan.view": "steward:own user:own token:own peer:own system",
    "privacy.grade.confirm": "steward:own system",
    "privacy.detection.review": "steward:own system",
    "privacy.policy.manage": "admin steward system",
    "privacy.policy.manage.department": "steward:own system",
    "privacy.policy.manage.platform": "admin system",
    "privacy.policy.usage": "admin steward:own system",
    "privacy.policy.view": "admin steward user auditor token peer roleless operator regulator member system",
    "privacy.mask": "steward:own user:own token:own peer:own system",
    "privacy.mask.file": "admin steward user token peer system",
    "privacy.key.manage": "admin system",
    "privacy.key.view": "admin steward system",
    "privacy.decrypt": "steward:own user:own token:own peer:own system",
    "privacy.risk": "steward:own user:own token:own peer:own system",
    "privacy.dp.query": "admin steward user auditor token peer roleless operator regulator member system",
    "privacy.dp.budget": "admin system",
    # sharing (grants: only an active grant of the own department; no admin bypass)
    "sharing.request.create": "admin steward user token peer system",
    "sharing.request.decide": "steward:own system",
    "sharing.request.view": "admin steward user auditor token peer system",
    "sharing.request.view.all": "admin auditor system",
    "sharing.dispute.raise": "admin steward:own user:own token:own peer:own system",
    "sharing.dispute.resolve": "admin system",
    "sharing.grant.revoke": "admin steward:own system",
    "sharing.grant.use": "steward:active user:active token:active peer:active system",
    "sharing.grant.list": "admin steward:own user:own auditor:own token:own peer:own system",
    "sharing.grant.subscribe": "steward:active user:active token:active peer:active system",
    "sharing.notice.platform": "admin system",
    "sharing.node.manage": "admin system",
    # portal
    "portal.dataset.publish": "admin steward:own system",
    "portal.dataset.withdraw": "admin steward:own system",
    "portal.gate.view": "admin steward:own auditor:own system",
    "portal.application.view": "admin steward auditor system",
    "portal.application.decide": "admin steward:own system",
    "portal.request.answer": "admin steward:none,own,unowned system",  # not another department's request
    "portal.department.all": "admin system",
    "portal.harvest.manage": "admin system",
    # market (issue 16): the operator reviews, the regulator reads, members act for their own participant;
    # no platform-admin bypass (the admin does not trade for a company)
    "market.participant.register": ("admin steward user auditor token peer roleless developer anonymous system "
                                    "operator regulator member"),
    "market.participant.review": "operator system",
    "market.participant.view.all": "operator regulator system",
    "market.participant.act": "steward:mine member:mine system",
    "market.product.browse": ("admin steward user auditor token peer roleless developer anonymous system operator "
                              "regulator member"),
    "market.product.review": "operator system",
    "market.order.view.all": "operator regulator system",
    "market.order.arbitrate": "operator system",
    # the market's records (issue 16): the regulator and the exchange read and verify the ledger, anyone
    # looks up an entry hash (存证查询) or verifies a certificate; members apply, the exchange reviews
    "market.ledger.read": "auditor operator regulator system",
    "market.ledger.verify": "auditor operator regulator system",
    "market.ledger.seal": "operator system",
    "market.ledger.prove": ("admin steward user auditor token peer roleless developer anonymous system operator "
                            "regulator member"),
    "market.rights.apply": "steward member system",
    "market.rights.review": "operator system",
    "market.rights.object": "admin steward user auditor token peer roleless operator regulator member system",
    "market.rights.view": "steward operator regulator member system",
    "market.rights.view.all": "operator regulator system",
    "market.rights.verify": ("admin steward user auditor token peer roleless developer anonymous system operator "
                             "regulator member"),
    "market.valuation.create": "steward operator member system",
    "market.valuation.any": "operator system",
    "market.valuation.view": ("admin steward user auditor token peer roleless developer anonymous system operator "
                              "regulator member"),
    # analysis (issue 18): who sees an indicator follows its publication profile
    "analysis.indicator.read": ("admin steward user auditor token peer roleless developer anonymous system operator "
                                "regulator member"),
    "analysis.indicator.read.shared": "admin steward user auditor token peer roleless operator regulator member system",
    "analysis.indicator.read.internal": "admin steward:own user:own auditor:own token:own peer:own system",
    "analysis.indicator.manage": "admin steward:own system",
    "analysis.alert.subscribe": "admin steward user auditor token peer roleless operator regulator member system",
    "analysis.alert.ack": "admin steward:own user:own token:own peer:own system",
}


def parse_row(row: str, scope: str) -> dict[str, frozenset[str]]:
    """``"admin steward:own"`` → ``{"admin": every situation, "steward": {"own"}}``."""
    out = {}
    for token in row.split():
        persona, _, where = token.partition(":")
        out[persona] = frozenset(where.split(",")) if where else frozenset(SITUATIONS[scope])
    return out


def matrix() -> list[tuple[str, str, str, bool]]:
    """``(action, persona, situation, expected)`` for every action of the registry."""
    rows = []
    for action in REGISTRY:
        allowed_in = parse_row(EXPECTED.get(action.name, ""), action.scope)
        for persona in PERSONAS:
            for situation in SITUATIONS[action.scope]:
                rows.append((action.name, persona, situation, situation in allowed_in.get(persona, ())))
    return rows


MATRIX = matrix()


def test_every_registered_action_has_its_row() -> None:
    missing = [a.name for a in REGISTRY if a.name not in EXPECTED]
    assert not missing, f"add the expected rows of {', '.join(missing)} to EXPECTED"


def test_every_row_names_a_registered_action_and_known_situations() -> None:
    assert not set(EXPECTED) - {a.name for a in REGISTRY}, "rows for actions that are not registered"
    for action in REGISTRY:
        for persona, where in parse_row(EXPECTED[action.name], action.scope).items():
            assert persona in PERSONAS, (action.name, persona)
            assert where <= set(SITUATIONS[action.scope]), (action.name, persona, where - set(SITUATIONS[action.scope]))


def test_the_matrix_covers_every_action_role_and_situation() -> None:
    assert len(MATRIX) == sum(len(PERSONAS) * len(SITUATIONS[a.scope]) for a in REGISTRY)
    assert {name for name, *_ in MATRIX} == {a.name for a in REGISTRY}


@pytest.mark.parametrize(("action", "persona", "situation", "expected"), MATRIX,
                         ids=[f"{a}-{p}-{s}" for a, p, s, _ in MATRIX])
def test_permission_matrix(action: str, persona: str, situation: str, expected: bool) -> None:
    act, actor = REGISTRY[action], PERSONAS[persona]
    ref = target(situation, actor)
    assert allowed(actor, act, ref) is expected
    if expected:
        require(actor, act, ref)
    else:  # the anonymous and developers are asked to log in; everyone else is refused
        with pytest.raises(Unauthenticated if not actor.is_authenticated else PermissionDenied) as exc:
            require(actor, act, ref)
        assert exc.value.details["action"] == action


# -- the registry itself ------------------------------------------------------------------------

def _actions_modules() -> list[str]:
    """Every ``shudata.<package>[.<sub>].actions`` module in the source tree."""
    root = Path(shudata.__file__).parent
    return sorted("shudata." + ".".join(p.relative_to(root).with_suffix("").parts) for p in root.rglob("actions.py"))


def test_every_actions_module_is_gathered() -> None:
    assert sorted(m.__name__ for m in ACTION_MODULES) == _actions_modules()


@pytest.mark.parametrize("module", [m.__name__ for m in ACTION_MODULES])
def test_every_action_of_a_module_is_in_its_actions_tuple(module: str) -> None:
    mod = importlib.import_module(module)
    declared = {v.name for v in vars(mod).values() if isinstance(v, Action)}
    listed = {a.name for a in mod.ACTIONS}
    assert declared == listed, f"{module}.ACTIONS misses {declared - listed}"


def _constructs_an_action(path: Path) -> bool:
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Call):
            f = node.func
            if (isinstance(f, ast.Name) and f.id == "Action") or (isinstance(f, ast.Attribute) and f.attr == "Action"):
                return True
    return False


def test_no_action_is_declared_outside_an_actions_module() -> None:
    root = Path(shudata.__file__).parent
    stray = [str(p.relative_to(root)) for p in sorted(root.rglob("*.py"))
             if p.name != "actions.py" and _constructs_an_action(p)]
    assert not stray, f"actions are declared in the package's actions.py (and its ACTIONS), not in {stray}"


# A role written by hand where an action belongs: the admin flag, a role membership test.
HAND_WRITTEN = re.compile(r"\.is_admin\b|\.has\(Role\.|actor\.roles\s*&|r\.value == \""
                          r"|(Role\.[A-Z_]+|\"[a-z_]+\") (not )?in actor\.roles")
# Where a hand-written role test is the point, and why.
HAND_WRITTEN_ALLOWED = {
    "core/types.py": "defines Actor.is_admin and Actor.has",
    "security/authz.py": "the one place that compares roles",
}


def test_no_role_is_checked_by_hand_outside_the_vocabulary() -> None:
    root = Path(shudata.__file__).parent
    found = [f"{p.relative_to(root)}:{n}" for p in sorted(root.rglob("*.py"))
             if str(p.relative_to(root)) not in HAND_WRITTEN_ALLOWED
             for n, line in enumerate(p.read_text(encoding="utf-8").splitlines(), 1) if HAND_WRITTEN.search(line)]
    assert not found, f"check an action with allowed()/require() instead of the role by hand: {found}"


def test_the_registry_refuses_a_second_action_of_the_same_name() -> None:
    reg = ActionRegistry([Action("demo.view", "查看", "view", scope="authenticated")])
    reg.register(reg["demo.view"])  # the same action again is fine
    with pytest.raises(ValueError, match="registered twice"):
        reg.register(Action("demo.view", "查看", "view", scope="public"))


@pytest.mark.parametrize("scope", ["platform", "department", "grant"])
def test_an_action_that_needs_roles_must_list_them(scope: Any) -> None:
    with pytest.raises(ValueError, match="must list the roles"):
        Action("demo.edit", "编辑", "edit", scope=scope)


def test_action_names_are_dotted_and_scopes_known() -> None:
    with pytest.raises(ValueError, match="dotted"):
        Action("Edit", "编辑", "edit", scope="authenticated")
    with pytest.raises(ValueError, match="unknown scope"):
        Action("demo.edit", "编辑", "edit", roles=frozenset(Role), scope="any")  # type: ignore[arg-type]


# -- part two: the services call the check ------------------------------------------------------

TODAY = dt.date.today()
CODE = "201001/000001"  # 无条件共享, of the provider department (tests/support/sharing.py)
COND = "201001/000002"  # 有条件共享


@dataclass(frozen=True)
class Ctx:
    session: Session
    rt: Any
    world: Any
    grant_id: int


def _request(resource: str) -> Any:
    from shudata.sharing.schemas import RequestCreate

    return RequestCreate(resource=resource, fields=["统一社会信用代码"], purpose="业务协同", basis="工作需要",
                         use_from=TODAY, use_until=TODAY + dt.timedelta(days=30))


def _grant_row(c: Ctx) -> Any:
    from shudata.sharing.models import SharingGrant

    return c.session.get(SharingGrant, c.grant_id)


def _revoked(c: Ctx) -> Ctx:
    _grant_row(c).revoked_at = dt.datetime.now(dt.UTC)
    c.session.flush()
    return c


def _expired(c: Ctx) -> Ctx:
    _grant_row(c).expires_at = dt.datetime.now(dt.UTC) - dt.timedelta(days=1)
    c.session.flush()
    return c


def grant_list(c: Ctx, a: Actor) -> Any:
    from shudata.sharing.grants import grants_of_department

    return grants_of_department(session=c.session, actor=a, department_id=c.world.consumer)


def grant_use(c: Ctx, a: Actor) -> Any:
    from shudata.sharing.grants import active_grant

    return active_grant(session=c.session, actor=a, resource=find_resource(c.session, CODE))


def grant_subscribe(c: Ctx, a: Actor) -> Any:
    from shudata.sharing.push import subscribe

    return subscribe(session=c.session, actor=a, grant_id=c.grant_id, url="http://127.0.0.1:9/hook")


def grant_revoke(c: Ctx, a: Actor) -> Any:
    from shudata.sharing.schemas import RevokeCreate
    from shudata.sharing.service import revoke_grant

    return revoke_grant(session=c.session, actor=a, grant_id=c.grant_id, data=RevokeCreate(reason="到期不再使用"))


def request_create(c: Ctx, a: Actor) -> Any:
    from shudata.sharing.service import request_access

    return request_access(session=c.session, actor=a, settings=c.rt.settings, data=_request(COND))


def request_decide(c: Ctx, a: Actor) -> Any:
    from shudata.sharing.schemas import DecisionCreate
    from shudata.sharing.service import decide, request_access

    req = request_access(session=c.session, actor=c.world.user, settings=c.rt.settings, data=_request(COND))
    return decide(session=c.session, actor=a, settings=c.rt.settings, request_id=req.id,
                  data=DecisionCreate(decision="refuse", reason="不符合共享条件"))


def dispute_resolve(c: Ctx, a: Actor) -> Any:
    from shudata.sharing.service import escalate_overdue

    return escalate_overdue(session=c.session, actor=a)


def node_manage(c: Ctx, a: Actor) -> Any:
    from shudata.sharing.nodes.service import add_peer

    return add_peer(session=c.session, actor=a, code="510100", name="成都市", base_url="http://127.0.0.1:9",
                    public_key="ab" * 64)


def token_revoke(c: Ctx, a: Actor) -> Any:
    from shudata.security.schemas import TokenCreate
    from shudata.security.service import create_token, revoke_token

    tok = create_token(session=c.session, actor=Actor.system(), data=TokenCreate(), username=c.world.user.username)
    return revoke_token(session=c.session, actor=a, token_id=tok.id)


def user_manage(c: Ctx, a: Actor) -> Any:
    from shudata.security.schemas import UserCreate
    from shudata.security.service import create_user

    return create_user(session=c.session, actor=a, data=UserCreate(
        username="newcomer", display_name="新同事", password="Tianfu-Data-7", department_id=c.world.provider))


def demand_for_provider(c: Ctx, a: Actor) -> Any:
    return create_demand(session=c.session, actor=a, data=DemandCreate(
        title="企业纳税信用等级", department_id=c.world.provider))


def application_queue(c: Ctx, a: Actor) -> Any:
    from shudata.portal.developers import application_queue as queue

    return queue(session=c.session, actor=a)


def audit_read(c: Ctx, a: Actor) -> Any:
    from shudata.security.audit_trail import list_entries

    return list_entries(session=c.session, actor=a)


def raw_read(c: Ctx, a: Actor) -> Any:
    require_read_data(a, find_resource(c.session, CODE))


def file_scan_view(c: Ctx, a: Actor) -> Any:
    from shudata.privacy.service import get_scan_report, scan_file

    path = Path(c.rt.settings.data_dir) / "upload.csv"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("姓名,手机号\n张三,13800138000\n", encoding="utf-8")
    rep = scan_file(session=c.session, actor=c.world.user, path=path)
    return get_scan_report(session=c.session, actor=a, report_id=rep.id)


def decrypt(c: Ctx, a: Actor) -> Any:
    import pyarrow as pa

    from shudata.privacy import keys
    from shudata.privacy.operators.udfs import sm4_key, sm4_prefix
    from shudata.privacy.service import decrypt_values
    from shudata.security.crypto.sm4_vec import encrypt_many

    keys.create(c.session, c.rt.settings, "kprobe", "tests", "system")
    material = keys.load(c.session, c.rt.settings, ["kprobe"])["kprobe"]
    token = encrypt_many(sm4_key(material, CODE), pa.array(["91510100MA6CB8AG5D"]), prefix=sm4_prefix("kprobe", CODE))
    assert decrypt_values(session=c.session, actor=a, settings=c.rt.settings,
                          tokens=token.to_pylist()) == ["91510100MA6CB8AG5D"]


@dataclass(frozen=True)
class Probe:
    action: str
    call: Callable[[Ctx, Actor], Any]
    allowed: tuple[str, ...]
    denied: tuple[str, ...]
    before: Callable[[Ctx], Ctx] | None = None  # puts the grant in the situation probed
    label: str = ""


# People of the sharing world: the provider department's steward, the consumer department's
# steward and user, the platform admin (no department) and an auditor (no department).
PROBES = (
    Probe("sharing.grant.list", grant_list, ("consumer_user", "consumer_steward", "admin"),
          ("provider_steward", "auditor")),
    Probe("sharing.grant.use", grant_use, ("consumer_user", "consumer_steward"),
          ("provider_steward", "admin", "auditor")),
    Probe("sharing.grant.use", grant_use, (), ("consumer_user",), _revoked, "revoked"),
    Probe("sharing.grant.use", grant_use, (), ("consumer_user",), _expired, "expired"),
    Probe("sharing.grant.subscribe", grant_subscribe, ("consumer_user",), ("provider_steward", "admin", "auditor")),
    Probe("sharing.grant.subscribe", grant_subscribe, (), ("consumer_user",), _revoked, "revoked"),
    Probe("sharing.grant.revoke", grant_revoke, ("provider_steward", "admin"), ("consumer_steward", "consumer_user")),
    Probe("sharing.request.create", request_create, ("consumer_user",), ("auditor",)),
    Probe("sharing.request.decide", request_decide, ("provider_steward",), ("consumer_steward", "admin")),
    Probe("sharing.dispute.resolve", dispute_resolve, ("admin",), ("provider_steward", "auditor")),
    Probe("sharing.node.manage", node_manage, ("admin",), ("provider_steward",)),
    Probe("security.token.revoke", token_revoke, ("consumer_user", "admin"), ("consumer_steward", "provider_steward")),
    Probe("security.user.manage", user_manage, ("admin",), ("provider_steward", "auditor")),
    Probe("catalog.demand.create", demand_for_provider, ("provider_steward", "admin"),
          ("consumer_user", "consumer_steward", "auditor")),
    Probe("portal.application.view", application_queue, ("provider_steward", "auditor", "admin"),
          ("consumer_user",)),
    Probe("audit.read", audit_read, ("auditor", "admin"), ("provider_steward",)),
    Probe("lake.version.read", raw_read, ("provider_steward",), ("admin", "consumer_user", "auditor")),
    Probe("privacy.scan.file.view", file_scan_view, ("consumer_user",), ("consumer_steward", "admin")),
    Probe("privacy.decrypt", decrypt, ("provider_steward",), ("admin", "consumer_user", "consumer_steward", "auditor")),
)

# Actions without a probe here, and why: add a probe (or a reason) for every new action.
NOT_PROBED: dict[str, str] = {
    "security.user.view.all": "a visibility filter (list_users): tests/unit/web/test_ui_admin.py",
    "sharing.request.view.all": "a visibility filter (list_requests): tests/unit/sharing/test_workflow.py",
    "sharing.notice.platform": "a visibility filter (notifications): tests/unit/sharing/test_workflow.py",
    "portal.department.all": "a visibility filter (the open-data page's queues): tests/unit/portal/test_api.py",
}
OTHER_TESTS = "refusals covered by the package's own tests (tests/unit/<package>)"
NOT_PROBED |= {a.name: OTHER_TESTS for a in REGISTRY
               if a.name not in {p.action for p in PROBES} and a.name not in NOT_PROBED}


def test_every_action_is_probed_or_says_why_not() -> None:
    probed = {p.action for p in PROBES}
    assert probed <= {a.name for a in REGISTRY}
    assert not probed & {k for k, v in NOT_PROBED.items() if v != OTHER_TESTS}
    # the changed and newly registered checks are all probed
    for name in ("sharing.grant.list", "sharing.grant.use", "sharing.grant.subscribe", "security.token.revoke",
                 "catalog.demand.create", "portal.application.view", "privacy.scan.file.view"):
        assert name in probed


CASES = [(p, who, who in p.allowed) for p in PROBES for who in (*p.allowed, *p.denied)]


@pytest.fixture
def ctx(rt: Any, world: Any, make_user: Callable[..., Actor]) -> Any:
    from shudata.catalog.writes import write_version

    auditor = make_user("auditor1", Role.AUDITOR)
    with rt.transaction() as s:
        import pyarrow as pa

        write_version(session=s, settings=rt.settings, actor=Actor.system(), resource=find_resource(s, CODE),
                      batches_or_table=pa.table({"统一社会信用代码": ["91510100MA6CB8AG5D"]}),
                      source_name="a.csv", source_format="csv")
    with rt.transaction() as s:
        from shudata.sharing.service import request_access

        grant_id = request_access(session=s, actor=world.user, settings=rt.settings, data=_request(CODE)).grant.id
    people = {"provider_steward": world.steward, "consumer_steward": world.other_steward,
              "consumer_user": world.user, "admin": world.admin, "auditor": auditor}
    return rt, world, grant_id, people


@pytest.mark.parametrize(("probe", "who", "expected"), CASES,
                         ids=[f"{p.action}{'-' + p.label if p.label else ''}-{who}-{'ok' if ok else 'denied'}"
                              for p, who, ok in CASES])
def test_the_service_checks_the_action(ctx: Any, probe: Probe, who: str, expected: bool) -> None:
    rt, world, grant_id, people = ctx
    with rt.transaction() as s:
        c = Ctx(session=s, rt=rt, world=world, grant_id=grant_id)
        if probe.before is not None:
            c = probe.before(c)
        if expected:
            probe.call(c, people[who])
        else:
            with pytest.raises(PermissionDenied) as exc:
                probe.call(c, people[who])
            assert exc.value.details.get("action") == probe.action
        s.rollback()
