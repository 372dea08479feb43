"""Developer centre rules: registration checks, keys shown once and hashed, revoked keys 403,
conditional data only with an approved application."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from shudata.core.errors import Conflict, InvalidInput, PermissionDenied, Unauthenticated
from shudata.portal import developers as D
from shudata.portal import service as P
from shudata.portal.models import PortalApiKey
from shudata.portal.schemas import ApplicationCreate, ApplicationDecide, DeveloperCreate
from support.portal import CODES

DEV = DeveloperCreate(email="Dev@Example.cn", phone="139 1234 5678", name="开发者", password="Passw0rd!x")


def test_registration_validates_and_refuses_duplicates(rt, portal_world):
    with rt.transaction() as s:
        for bad in ({"email": "not-an-email"}, {"phone": "12345"}, {"password": "password"}):
            with pytest.raises(InvalidInput):
                D.register(session=s, data=DEV.model_copy(update=bad))
        dev = D.register(session=s, data=DEV)
        assert dev.email == "dev@example.cn" and dev.phone == "13912345678"
        with pytest.raises(Conflict):
            D.register(session=s, data=DEV)
        assert D.authenticate(session=s, email="DEV@example.cn", password="Passw0rd!x").id == dev.id
        with pytest.raises(Unauthenticated):
            D.authenticate(session=s, email="dev@example.cn", password="wrong-pass1")


def test_keys_are_hashed_and_revocation_is_immediate(rt, portal_world):
    with rt.transaction() as s:
        dev = D.register(session=s, data=DEV)
        created = D.create_key(session=s, dev=dev, name="脚本")
        assert created.key.startswith("sdk_")
        stored = s.scalar(select(PortalApiKey))
        assert stored is not None and created.key not in stored.key_hash
        assert D.key_holder(s, created.key).developer_id == dev.id
        assert D.key_holder(s, f"Bearer {created.key}").key_id == created.id
        assert D.key_holder(s, None) is None
        with pytest.raises(PermissionDenied):
            D.key_holder(s, "sdk_0000_forged")
        D.revoke_key(session=s, dev=dev, key_id=created.id)
        with pytest.raises(PermissionDenied) as err:
            D.key_holder(s, created.key)
        assert err.value.code == "key_revoked"


def test_conditional_access_needs_an_approved_application(rt, settings, portal_world):
    with rt.transaction() as s:
        P.publish(session=s, settings=settings, actor=portal_world.steward, resource=CODES["cond"])
        P.publish(session=s, settings=settings, actor=portal_world.steward, resource=CODES["open"])
    with rt.transaction() as s:
        dev = D.register(session=s, data=DEV)
        key = D.create_key(session=s, dev=dev, name="k").key
        cond, opened = P.get_dataset(s, CODES["cond"]), P.get_dataset(s, CODES["open"])
        D.require_data_access(s, opened, None)  # open data: no key needed
        with pytest.raises(PermissionDenied) as err:
            D.require_data_access(s, cond, None)
        assert err.value.code == "key_required"
        holder = D.key_holder(s, key)
        with pytest.raises(PermissionDenied):
            D.require_data_access(s, cond, holder)
        with pytest.raises(InvalidInput):
            D.apply(session=s, dev=dev, data=ApplicationCreate(dataset=cond.name, purpose="企业分析研究",
                                                               accept_agreement=False))
        with pytest.raises(Conflict):
            D.apply(session=s, dev=dev, data=ApplicationCreate(dataset=opened.name, purpose="不需要申请的数据",
                                                               accept_agreement=True))
        app_ = D.apply(session=s, dev=dev, data=ApplicationCreate(dataset=cond.name, purpose="企业分析研究",
                                                                  accept_agreement=True))
        assert app_.status == "pending"
        D.decide_application(session=s, actor=portal_world.steward, application_id=app_.id,
                             data=ApplicationDecide(approve=True))
        D.require_data_access(s, cond, holder)
        revoked = D.decide_application(session=s, actor=portal_world.steward, application_id=app_.id,
                                       data=ApplicationDecide(approve=False, reason="超出用途使用"))
        assert revoked.status == "revoked"
        with pytest.raises(PermissionDenied):
            D.require_data_access(s, cond, holder)
