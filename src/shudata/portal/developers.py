"""The developer centre: registration, API keys, applications for conditional datasets.

Developers are members of the public, not platform users: they log in to the portal
only, hold API keys (``sdk_<prefix>_<secret>``, stored as SM3 hashes) and may read a
有条件开放 dataset once the provider's steward approved their application — the key must
be live (not revoked) and the application approved (not revoked) on every call.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from shudata.audit import events
from shudata.audit.ledger import record
from shudata.catalog.access import resource_ref
from shudata.catalog.models import CatalogResource
from shudata.core.clock import utcnow
from shudata.core.errors import Conflict, InvalidInput, NotFound, PermissionDenied, Unauthenticated
from shudata.core.textsafe import require_plain_text
from shudata.core.types import Actor
from shudata.db.deferred import before_commit
from shudata.portal import actions as A
from shudata.portal.models import PortalApiKey, PortalApplication, PortalDeveloper, PortalKeyUsage
from shudata.portal.schemas import (
    ApplicationCreate,
    ApplicationDecide,
    ApplicationRead,
    DeveloperCreate,
    KeyCreated,
    KeyRead,
)
from shudata.portal.service import PublicDataset, dataset_name, get_dataset, today, upsert_add
from shudata.portal.states import APPLICATIONS, ApplicationEvent, ApplicationStatus
from shudata.privacy.detect.validators import email as valid_email
from shudata.privacy.detect.validators import mobile as valid_mobile
from shudata.security import sessions
from shudata.security.authz import allowed, require
from shudata.security.crypto.sm3 import sm3_hex
from shudata.security.names import is_reserved, normalise_username
from shudata.security.passwords import DEFAULT_MIN_LENGTH, burn_verify, hash_password, password_problem, verify_password
from shudata.security.throttle import LoginGuard

AGREEMENT_ZH = (
    "数据使用协议：一、仅将数据用于申请时声明的用途；二、不得试图识别数据中的个人，不得将数据与其他数据关联以重新识别"
    "个人；三、不得转让、出售或向第三方提供原始数据；四、使用成果中注明数据来源；五、发现数据含有个人信息时立即停止使用"
    "并告知数据提供部门；六、违反本协议的，数据提供部门可撤销授权并依法追究责任。")
AGREEMENT_EN = (
    "Data-use agreement: 1. use the data only for the purpose declared; 2. do not try to identify any person or "
    "link the data with other data to re-identify people; 3. do not pass the raw data on, sell it or give it to a "
    "third party; 4. cite the source in what you publish; 5. stop and tell the provider if you find personal data; "
    "6. a breach lets the provider revoke access and seek remedies under the law.")
AGREEMENT_SHA = sm3_hex(AGREEMENT_ZH.encode())
KEY_PREFIX = "sdk"


def _audit(session: Session, actor: Actor, kind: type[events.Event], rid: str | None, **details: object) -> None:
    record(session, actor, kind(resource_id=rid, details=details))


def developer_actor(dev: PortalDeveloper, ip: str | None = None) -> Actor:
    """How a developer appears in the audit trail (never with platform roles)."""
    return Actor.developer(dev.email, ip)


# -- registration and login -----------------------------------------------------------------

def register(*, session: Session, data: DeveloperCreate, ip: str | None = None,
             password_min_length: int = DEFAULT_MIN_LENGTH) -> PortalDeveloper:
    """Register a developer. The password policy is the platform's (``security.passwords``);
    a name reserved for internal principals (``system``, ``anonymous`` …) is refused."""
    email = data.email.strip().lower()
    phone = data.phone.strip().replace(" ", "").replace("-", "")
    if not valid_email(email):
        raise InvalidInput("邮箱地址格式不正确", "The email address is not valid", details={"field": "email"},
                           code="invalid_email")
    if not valid_mobile(phone):
        raise InvalidInput("手机号码不正确：请填写 11 位中国大陆手机号", "Give an 11-digit mainland mobile number",
                           details={"field": "phone"}, code="invalid_mobile")
    name = normalise_username(data.name)
    if is_reserved(name):
        raise InvalidInput(f"名称“{name}”为系统保留名称，不能使用", f"The name {name!r} is reserved",
                           code="reserved_username", details={"field": "name"})
    weak = password_problem(data.password, username=email.split("@")[0], min_length=password_min_length)
    if weak:
        raise InvalidInput(f"密码不符合要求：{weak[0]}", f"Password refused: {weak[1]}", code="weak_password",
                           details={"field": "password"})
    if session.scalar(select(PortalDeveloper.id).where(PortalDeveloper.email == email)) is not None:
        raise Conflict("该邮箱已注册，请直接登录", "This email is already registered; log in instead",
                       details={"field": "email"}, code="email_taken")
    dev = PortalDeveloper(email=email, phone=phone, name=name, organisation=data.organisation,
                          password_hash=hash_password(data.password), is_active=True)
    session.add(dev)
    session.flush()
    _audit(session, developer_actor(dev, ip), events.PortalDeveloperRegister, str(dev.id))
    return dev


def authenticate(*, session: Session, email: str, password: str, ip: str | None = None) -> PortalDeveloper:
    dev = _check_password(session, email, password)
    _audit(session, developer_actor(dev, ip), events.PortalDeveloperLogin, str(dev.id))
    return dev


def _check_password(session: Session, email: str, password: str) -> PortalDeveloper:
    """The active developer with this email and password (reads only), else ``Unauthenticated``."""
    dev = session.scalar(select(PortalDeveloper).where(PortalDeveloper.email == email.strip().lower()))
    if dev is None:
        burn_verify(password)  # the same time as a wrong password: timing does not tell who is registered
    if dev is None or not dev.is_active or not verify_password(dev.password_hash, password):
        raise Unauthenticated("邮箱或密码不正确", "Wrong email or password",
                              details={"action": "portal.developer.login"}, code="login_failed")
    return dev


def login(*, session: Session, guard: LoginGuard, email: str, password: str, ip: str | None,
          max_age_s: int) -> tuple[PortalDeveloper, str]:
    """A developer's portal login, throttled like the platform's (per email and per address),
    with a server-side session; returns the developer and the session id for the cookie."""
    account = email.strip().lower()
    guard.check(scope="developer", account=account, ip=ip)
    try:
        dev = _check_password(session, email, password)
    except Unauthenticated:
        guard.failed(scope="developer", account=account, ip=ip)
        raise
    guard.succeeded(scope="developer", account=account)  # before this transaction writes (SQLite: one writer)
    _audit(session, developer_actor(dev, ip), events.PortalDeveloperLogin, str(dev.id))
    return dev, start_session(session, dev, ip=ip, max_age_s=max_age_s)


def start_session(session: Session, dev: PortalDeveloper, *, ip: str | None, max_age_s: int) -> str:
    return sessions.start(session, principal="developer", principal_id=dev.id, max_age_s=max_age_s, ip=ip)


def end_session(session: Session, dev: PortalDeveloper | None, sid: object) -> None:
    """Log out: this session ends server-side, so a copy of the cookie stops working too."""
    sessions.end(session, sid=sid, reason="logout")
    if dev is not None:
        _audit(session, developer_actor(dev), events.PortalDeveloperLogout, str(dev.id))


def session_developer(session: Session, developer_id: object, sid: object) -> PortalDeveloper | None:
    """The developer of a live server-side session, or ``None``."""
    if not isinstance(developer_id, int):
        return None
    dev = session.get(PortalDeveloper, developer_id)
    if dev is None or not dev.is_active or not sessions.live(session, sid=sid, principal="developer",
                                                               principal_id=dev.id):
        return None
    return dev


def get_developer(session: Session, developer_id: int) -> PortalDeveloper:
    dev = session.get(PortalDeveloper, developer_id)
    if dev is None or not dev.is_active:
        raise Unauthenticated("请先登录开发者中心", "Log in to the developer centre first",
                              code="developer_login_required")
    return dev


# -- API keys -------------------------------------------------------------------------------

def new_key() -> str:
    return f"{KEY_PREFIX}_{secrets.token_hex(4)}_{secrets.token_urlsafe(32)}"


def create_key(*, session: Session, dev: PortalDeveloper, name: str) -> KeyCreated:
    require_plain_text(name, "name")
    live = session.scalar(select(func.count(PortalApiKey.id)).where(
        PortalApiKey.developer_id == dev.id, PortalApiKey.revoked_at.is_(None))) or 0
    if live >= 10:
        raise Conflict("有效的 API 密钥最多 10 个，请先撤销不用的密钥", "At most 10 live keys; revoke one first",
                       code="too_many_keys")
    key = new_key()
    row = PortalApiKey(developer_id=dev.id, name=name.strip()[:100] or "key", prefix=key.split("_")[1],
                       key_hash=sm3_hex(key.encode()))
    session.add(row)
    session.flush()
    _audit(session, developer_actor(dev), events.PortalKeyCreate, str(row.id), prefix=row.prefix)
    return KeyCreated(**KeyRead.model_validate(row).model_dump(), key=key)


def list_keys(session: Session, dev: PortalDeveloper) -> list[KeyRead]:
    rows = session.scalars(select(PortalApiKey).where(PortalApiKey.developer_id == dev.id)
                           .order_by(PortalApiKey.id.desc()))
    return [KeyRead.model_validate(r) for r in rows]


def revoke_key(*, session: Session, dev: PortalDeveloper, key_id: int) -> KeyRead:
    row = session.get(PortalApiKey, key_id)
    if row is None or row.developer_id != dev.id:
        raise NotFound("没有这个 API 密钥", "No such API key", code="key_not_found")
    if row.revoked_at is None:
        row.revoked_at = utcnow()
        _audit(session, developer_actor(dev), events.PortalKeyRevoke, str(row.id), prefix=row.prefix)
    return KeyRead.model_validate(row)


@dataclass(frozen=True)
class KeyHolder:
    developer_id: int
    key_id: int
    email: str

    @property
    def actor(self) -> Actor:
        return Actor.developer(self.email)


def key_holder(session: Session, raw: str | None) -> KeyHolder | None:
    """The developer behind an API key; ``None`` without a key. A wrong or revoked key is
    refused (403), never silently treated as anonymous."""
    if not raw:
        return None
    raw = raw.strip()
    if raw.lower().startswith("bearer "):
        raw = raw[7:].strip()
    if not raw.startswith(f"{KEY_PREFIX}_"):
        return None  # a platform token or something else: not a portal key
    row = session.scalar(select(PortalApiKey).where(PortalApiKey.key_hash == sm3_hex(raw.encode())))
    if row is None:
        raise PermissionDenied("API 密钥无效", "Invalid API key", code="invalid_key",
                               details={"action": "portal.key.use"})
    if row.revoked_at is not None:
        raise PermissionDenied("API 密钥已被撤销，请在开发者中心创建新的密钥",
                               "This API key has been revoked; create a new one in the developer centre",
                               code="key_revoked", details={"action": "portal.key.use", "key": row.prefix})
    dev = session.get(PortalDeveloper, row.developer_id)
    if dev is None or not dev.is_active:
        raise PermissionDenied("API 密钥所属账号已停用", "The key's account is disabled", code="invalid_key",
                               details={"action": "portal.key.use"})
    row.last_used_at = utcnow()
    return KeyHolder(developer_id=dev.id, key_id=row.id, email=dev.email)


def approved(session: Session, developer_id: int, resource_id: int) -> bool:
    return session.scalar(select(PortalApplication.id).where(
        PortalApplication.developer_id == developer_id, PortalApplication.resource_id == resource_id,
        PortalApplication.status == ApplicationStatus.APPROVED).limit(1)) is not None


def require_data_access(session: Session, ds: PublicDataset, holder: KeyHolder | None) -> None:
    """Rows of a 有条件开放 dataset need a live key whose developer has an approved application."""
    if not ds.conditional:
        return
    details = {"action": "portal.data.read", "resource_type": "catalog.resource", "resource_id": ds.resource.code}
    if holder is None:
        raise PermissionDenied(
            f"“{ds.resource.name}”为有条件开放数据：请在开发者中心申请并获批后，用 API 密钥访问",
            f"{ds.resource.code} is conditional open data: apply in the developer centre and use your API key",
            code="key_required", details=details)
    if not approved(session, holder.developer_id, ds.resource.id):
        raise PermissionDenied(f"您尚未获准使用“{ds.resource.name}”：请先提交申请并等待审核",
                               f"Your application for {ds.resource.code} has not been approved",
                               code="not_approved", details=details)


def count_key_use(session: Session, holder: KeyHolder | None, ds: PublicDataset) -> None:
    if holder is not None:  # written as the transaction commits (see count_use)
        keys = {"day": today(), "key_id": holder.key_id, "resource_id": ds.resource.id}
        before_commit(session, lambda s: upsert_add(s, PortalKeyUsage, keys))


def key_usage(session: Session, dev: PortalDeveloper, days: int = 30) -> list[dict[str, object]]:
    """The developer's calls per day, key and dataset (newest first)."""
    rows = session.execute(
        select(PortalKeyUsage.day, PortalApiKey.name, PortalApiKey.prefix, CatalogResource.code,
               CatalogResource.name, PortalKeyUsage.count)
        .join(PortalApiKey, PortalApiKey.id == PortalKeyUsage.key_id)
        .join(CatalogResource, CatalogResource.id == PortalKeyUsage.resource_id)
        .where(PortalApiKey.developer_id == dev.id)
        .order_by(PortalKeyUsage.day.desc(), PortalApiKey.id).limit(days * 20)).all()
    return [{"day": d.isoformat(), "key": n, "prefix": p, "dataset": c.replace("/", "-"), "title": t, "calls": k}
            for d, n, p, c, t, k in rows]


# -- applications ---------------------------------------------------------------------------

def _app_read(session: Session, row: PortalApplication) -> ApplicationRead:
    res = session.get(CatalogResource, row.resource_id)
    dev = session.get(PortalDeveloper, row.developer_id)
    out = ApplicationRead.model_validate(row)
    out.dataset = dataset_name(res) if res else ""
    out.dataset_title = res.name if res else ""
    out.developer_name = f"{dev.name}（{dev.organisation}）" if dev and dev.organisation else (dev.name if dev else "")
    return out


def apply(*, session: Session, dev: PortalDeveloper, data: ApplicationCreate) -> ApplicationRead:
    """Apply for a conditional dataset; the applicant must accept the data-use agreement."""
    if not data.accept_agreement:
        raise InvalidInput("必须接受数据使用协议才能提交申请", "You must accept the data-use agreement to apply",
                           details={"field": "accept_agreement"}, code="agreement_not_accepted")
    ds = get_dataset(session, data.dataset)
    if not ds.conditional:
        raise Conflict("该数据集为无条件开放，无需申请", "This dataset is open to everyone; no application needed",
                       code="dataset_open_to_all")
    pending = session.scalar(select(PortalApplication).where(
        PortalApplication.developer_id == dev.id, PortalApplication.resource_id == ds.resource.id,
        PortalApplication.status.in_((ApplicationStatus.PENDING, ApplicationStatus.APPROVED))))
    if pending is not None:
        raise Conflict("您已提交过该数据集的申请（待审核或已批准）",
                       "You already have a pending or approved application", code="application_exists")
    row = PortalApplication(developer_id=dev.id, resource_id=ds.resource.id,
                            provider_department_id=ds.resource.provider_department_id, purpose=data.purpose.strip(),
                            agreement_sha=AGREEMENT_SHA, status=ApplicationStatus.PENDING)
    session.add(row)
    session.flush()
    _audit(session, developer_actor(dev), events.PortalApplicationCreate, str(row.id), dataset=ds.name,
           agreement=AGREEMENT_SHA)
    return _app_read(session, row)


def developer_applications(session: Session, dev: PortalDeveloper) -> list[ApplicationRead]:
    rows = session.scalars(select(PortalApplication).where(PortalApplication.developer_id == dev.id)
                           .order_by(PortalApplication.id.desc()))
    return [_app_read(session, r) for r in rows]


def application_queue(*, session: Session, actor: Actor, status: str | None = None) -> list[ApplicationRead]:
    """The steward's queue: applications for their department's datasets (all for the admin)."""
    require(actor, A.APPLICATION_VIEW)
    stmt = select(PortalApplication)
    if not allowed(actor, A.VIEW_ALL):
        if actor.department_id is None:
            return []
        stmt = stmt.where(PortalApplication.provider_department_id == actor.department_id)
    if status:
        stmt = stmt.where(PortalApplication.status == status)
    return [_app_read(session, r) for r in session.scalars(stmt.order_by(PortalApplication.id.desc()).limit(500))]


def decide_application(*, session: Session, actor: Actor, application_id: int, data: ApplicationDecide
                       ) -> ApplicationRead:
    row = session.get(PortalApplication, application_id)
    if row is None:
        raise NotFound("没有这个申请", "No such application", code="application_not_found")
    res = session.get(CatalogResource, row.resource_id)
    if res is None:  # an invariant, not input: a bug if it breaks
        raise RuntimeError("res is unexpectedly None")
    require(actor, A.APPLICATION_DECIDE, resource_ref(res))
    new = APPLICATIONS.next(row.status, ApplicationEvent.APPROVE if data.approve else ApplicationEvent.REFUSE)
    if not data.approve and not (data.reason or "").strip():
        raise InvalidInput("拒绝或撤销申请时须说明理由", "Give a reason when refusing or revoking",
                           details={"field": "reason"}, code="review_reason_missing")
    row.status, row.decided_by, row.decided_at, row.reason = new, actor.username, utcnow(), data.reason
    record(session, actor, events.PortalApplicationDecide(
        resource_id=res.code,
        details={"application": row.id, "status": new, "reason": data.reason}))
    return _app_read(session, row)
