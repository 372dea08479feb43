"""The portal's action layer called directly (no HTTP): the CKAN actions as the API and the
CLI call them, their own checks (visibility, conditional data, parameters), and the pages'
queries."""

from __future__ import annotations

import datetime as dt

import orjson
import pytest
from sqlalchemy import select

from shudata.audit.models import AuditEntry
from shudata.core.errors import InvalidInput, NotFound, PermissionDenied
from shudata.core.types import Actor
from shudata.portal import developers as D
from shudata.portal import service as P
from shudata.portal.ckan import group_name
from shudata.portal.logic import datastore as DS
from shudata.portal.logic import pages
from shudata.portal.logic.context import Context
from shudata.portal.logic.datastore import encode_result
from shudata.portal.logic.params import Params
from shudata.portal.logic.registry import ACTIONS, call_action
from shudata.portal.schemas import ApplicationCreate, ApplicationDecide, DeveloperCreate
from support.portal import CODES

OPEN, PEOPLE, COND, CLOSED = (CODES[k].replace("/", "-") for k in ("open", "people", "cond", "closed"))


def act(rt, settings, name, *, key=None, **params):
    """Call action ``name`` as the public (or as the holder of ``key``); the result as JSON."""
    with rt.transaction() as s:
        ctx = Context.build(session=s, settings=settings, name=name, raw_key=key, base_url="http://portal.test/")
        return orjson.loads(encode_result(call_action(name, ctx, Params(params))))


def developer(rt, steward, *, approve: bool, email: str) -> str:
    with rt.transaction() as s:
        dev = D.register(session=s, data=DeveloperCreate(email=email, phone="13812345678", name="开发者",
                                                         password="Dev-Passw0rd!2024"))
        key = D.create_key(session=s, dev=dev, name="k")
        app = D.apply(session=s, dev=dev, data=ApplicationCreate(dataset=COND, purpose="研究交通与人口",
                                                                 accept_agreement=True))
    if approve:
        with rt.transaction() as s:
            D.decide_application(session=s, actor=steward, application_id=app.id,
                                 data=ApplicationDecide(approve=True))
    return key.key


CKAN_METADATA_ACTIONS = {
    "status_show", "package_list", "package_search", "package_show", "resource_show", "organization_list",
    "organization_show", "group_list", "group_show", "tag_list", "tag_show", "license_list", "help_show",
    "current_package_list_with_resources", "package_autocomplete", "resource_search", "package_activity_list"}


def test_every_action_is_registered_and_documented():
    assert CKAN_METADATA_ACTIONS | {"datastore_search", "datastore_search_sql"} <= set(ACTIONS)
    for name in CKAN_METADATA_ACTIONS:  # help_show answers with the docstring
        assert len(ACTIONS[name].__doc__ or "") > 20, name


def test_metadata_actions_show_visible_datasets_only(rt, settings, published):
    assert act(rt, settings, "package_list") == sorted([OPEN, PEOPLE, COND])
    pkg = act(rt, settings, "package_show", id=PEOPLE)
    assert pkg["name"] == PEOPLE and pkg["resources"][0]["url"].startswith("http://portal.test/")
    found = act(rt, settings, "package_search", q="人口", **{"facet.field": '["groups"]'})
    assert found["results"][0]["name"] == OPEN and group_name("人口") in found["facets"]["groups"]
    assert act(rt, settings, "status_show")["site_url"] == "http://portal.test"
    with pytest.raises(NotFound):
        act(rt, settings, "package_show", id=CLOSED)  # 不予开放: never visible
    with pytest.raises(NotFound):
        act(rt, settings, "resource_show", id=f"{CLOSED}-csv")


def test_conditional_rows_need_an_approved_key(rt, settings, published):
    open_rows = act(rt, settings, "datastore_search", resource_id=f"{PEOPLE}-csv", limit=2)
    assert open_rows["total"] == 10 and open_rows["records"][0]["姓名"] == "张*"
    assert open_rows["_links"]["next"].startswith(f"/api/3/action/datastore_search?resource_id={PEOPLE}-csv")
    with pytest.raises(PermissionDenied) as denied:
        act(rt, settings, "datastore_search", resource_id=f"{COND}-csv")
    assert denied.value.code == "key_required"
    unapproved = developer(rt, published.steward, approve=False, email="wait@example.com")
    with pytest.raises(PermissionDenied) as denied:
        act(rt, settings, "datastore_search", key=unapproved, resource_id=f"{COND}-csv")
    assert denied.value.code == "not_approved"
    with pytest.raises(PermissionDenied) as denied:
        act(rt, settings, "datastore_search_sql", key=unapproved, sql=f'SELECT count(*) AS n FROM "{COND}-csv"')
    assert denied.value.code == "not_approved"
    key = developer(rt, published.steward, approve=True, email="ok@example.com")
    assert act(rt, settings, "datastore_search", key=key, resource_id=f"{COND}-csv")["total"] == 10
    with pytest.raises(PermissionDenied) as denied:
        act(rt, settings, "package_list", key="sdk_wrong_key")
    assert denied.value.code == "invalid_key"


def test_datastore_pages_from_the_cache_answer_as_computed_ones(rt, settings, published):
    """A page is kept on its second request (issue #14: not every page once asked for); the
    kept page answers the third exactly as the first was computed, a short last page too."""
    for offset, limit in ((8, 4), (0, 3)):
        answers, kept = [], [len(DS._PAGES.items)]
        for _ in range(3):
            answers.append(act(rt, settings, "datastore_search", resource_id=f"{OPEN}-csv", offset=offset,
                               limit=limit))
            kept.append(len(DS._PAGES.items))
        # asked once: not stored; the second request stores it, the third is served from it
        assert kept[1] == kept[0] and kept[2] == kept[0] + 1 and kept[3] == kept[2]
        assert answers[0] == answers[1] == answers[2]
        assert len(answers[2]["records"]) == min(limit, 10 - offset) and answers[2]["total"] == 10
        assert f"offset={offset + min(limit, 10 - offset)}" in answers[2]["_links"]["next"]


def test_sql_action_reads_published_rows_and_is_audited(rt, settings, published):
    out = act(rt, settings, "datastore_search_sql", sql=f'SELECT count(*) AS n FROM "{OPEN}-csv"')
    assert out["records"] == [{"n": 10}] and out["records_truncated"] is False
    with rt.transaction() as s:
        entry = s.scalars(select(AuditEntry).where(AuditEntry.action == "portal.api.datastore_search_sql")).one()
        assert entry.actor == "anonymous" and entry.resource_id == OPEN


@pytest.mark.parametrize(("name", "params", "field"), [
    ("package_search", {"rows": "ten"}, "rows"),  # not an integer
    ("package_list", {"offset": "-1"}, "offset"),  # below the minimum
    ("organization_list", {"all_fields": "maybe"}, "all_fields"),  # not a flag
    ("datastore_search", {"resource_id": f"{OPEN}-csv", "records_format": "xml"}, "records_format"),
    ("package_show", {}, "id"),  # missing
])
def test_bad_parameters_name_their_field(rt, settings, published, name, params, field):
    with pytest.raises(InvalidInput) as bad:
        act(rt, settings, name, **params)
    assert bad.value.code == "validation_error" and bad.value.details == {"field": field}


def test_unknown_action_and_unreadable_body_are_refused(rt, settings):
    with rt.transaction() as s:
        ctx = Context(session=s, settings=settings, actor=Actor.anonymous())
        with pytest.raises(NotFound) as unknown:
            call_action("package_create", ctx, Params({}))
        assert unknown.value.code == "action_not_found"
        with pytest.raises(InvalidInput):
            call_action("status_show", ctx, Params({}, "请求体不是有效的 JSON / the body is not valid JSON"))


def test_home_summary_and_usage_stats(rt, settings, published):
    act(rt, settings, "package_show", id=OPEN)  # one API use
    with rt.transaction() as s:
        home = pages.home_summary(s)
        assert home.counts["datasets"] == 3 and home.counts["api_calls"] == 1
        assert {d.name for d, _ in home.newest} == {OPEN, PEOPLE, COND}
        stats = pages.usage_stats(s, days=7)
        assert stats["per_dataset"][0]["name"] == OPEN and stats["per_dataset"][0]["api_calls"] == 1
        assert len(stats["chart"]["days"]) == 7 and sum(stats["chart"]["daily"]["api"]) == 1
        assert stats["chart"]["days"][-1] == P.today().isoformat()
        old = pages.usage_stats(s, days=7, today=P.today() - dt.timedelta(days=30))
        assert sum(old["chart"]["daily"]["api"]) == 0


def test_download_checks_access_and_version(rt, settings, published):
    with rt.transaction() as s:
        with pytest.raises(PermissionDenied):
            pages.open_download(s, name=COND, version=None, holder=None, by_key=False)
        with pytest.raises(NotFound) as missing:
            pages.open_download(s, name=OPEN, version=9, holder=None, by_key=False)
        assert missing.value.code == "version_not_published"
        ds = pages.open_download(s, name=OPEN, version=1, holder=None, by_key=False)
        assert ds.publication.version == 1
    with rt.transaction() as s:
        assert P.get_dataset(s, OPEN).dataset.downloads == 1


def test_steward_entries_are_the_departments_openable_entries(rt, published):
    with rt.transaction() as s:
        rows = {e["name"]: e for e in pages.steward_entries(s, published.provider)}
        assert set(rows) == {OPEN, PEOPLE, COND, CODES["planted"].replace("/", "-")}  # 不予开放 is not listed
        assert rows[OPEN]["published"] and rows[OPEN]["latest"] == 1
        assert pages.steward_entries(s, published.provider + 999) == []
        assert {d for _, d in pages.departments(s)} >= {"省统计局", "省民政厅"}
