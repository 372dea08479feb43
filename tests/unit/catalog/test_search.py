"""Chinese full-text search: ranking, codes, providers, facets, filters, index maintenance."""

from __future__ import annotations

import pytest

from shudata.catalog import service
from shudata.catalog.schemas import ResourceUpdate, SearchFilters
from shudata.catalog.search import search

RESULTS: dict[str, dict[str, list[tuple[str, float]]]] = {}


@pytest.fixture
def corpus(world, add_entry):
    """Entries of two departments with overlapping words."""
    made = {
        "credit": add_entry(world.steward, "四川省企业信用信息"),
        "annual": add_entry(world.steward, "四川省企业年度报告信息", abstract="企业年报公示数据。"),
        "food": add_entry(world.steward, "四川省食品生产许可信息", abstract="食品生产许可证发放信息。",
                          information_items=[{"name": "许可证编号", "data_type": "C", "length": 30}],
                          update_cycle="每日"),
        "huji": add_entry(world.other_steward, "四川省户籍人口基本信息", abstract="全省户籍人口的基本信息。",
                          category_code="101001", classification="基础",
                          information_items=[{"name": "公民身份号码", "data_type": "C", "length": 18},
                                             {"name": "姓名", "data_type": "C"}],
                          sharing={"type": 2, "condition": "用于政务服务", "method": "库表"}),
        "credit_police": add_entry(world.other_steward, "个人信用记录", abstract="个人失信被执行信息。"),
    }
    return made


def run(rt, actor, q, **filters):
    with rt.transaction() as s:
        return search(session=s, actor=actor, q=q, filters=SearchFilters(**filters))


def test_enterprise_credit_finds_the_credit_entry_first(rt, world, corpus, backend):
    res = run(rt, world.user, "企业信用")
    codes = [h.resource.code for h in res.hits]
    assert codes[0] == corpus["credit"].code
    assert corpus["huji"].code not in codes and corpus["food"].code not in codes
    RESULTS.setdefault("企业信用", {})[backend] = [(h.resource.name, h.score) for h in res.hits]


@pytest.mark.parametrize(("query", "expected"), [
    ("四川省企业信用信息", "credit"),  # the full name
    ("户籍人口", "huji"),  # a word of the name
    ("公民身份号码", "huji"),  # an information item
    ("许可证编号", "food"),  # an item of another entry
    ("年报", "annual"),  # a word of the abstract only
])
def test_queries_rank_the_right_entry_first(rt, world, corpus, query, expected, backend):
    res = run(rt, world.user, query)
    assert res.hits and res.hits[0].resource.code == corpus[expected].code
    RESULTS.setdefault(query, {})[backend] = [(h.resource.name, h.score) for h in res.hits]


def test_search_by_resource_code_and_by_provider(rt, world, corpus):
    by_code = run(rt, world.user, corpus["food"].code)
    assert [h.resource.code for h in by_code.hits][:1] == [corpus["food"].code]
    by_provider = run(rt, world.user, "四川省公安厅")
    assert {h.resource.code for h in by_provider.hits} == {corpus["huji"].code, corpus["credit_police"].code}


def test_facets_count_matches_and_filters_narrow(rt, world, corpus):
    res = run(rt, world.user, "信用")  # names, and the item 统一社会信用代码 of two market entries
    providers = {f.label: f.count for f in res.facets["provider"]}
    assert providers == {"四川省市场监督管理局": 2, "四川省公安厅": 1}
    assert res.total == 3 and res.exact
    assert {f.value: f.count for f in res.facets["update_cycle"]} == {"每月": 3}
    only = run(rt, world.user, "信息", provider=world.police)
    assert {h.resource.provider_name for h in only.hits} == {"四川省公安厅"}
    shared = run(rt, world.user, "信息", sharing_type=2)
    assert [h.resource.code for h in shared.hits] == [corpus["huji"].code]
    assert {f.value for f in shared.facets["sharing_type"]} == {"2"}
    daily = run(rt, world.user, "", update_cycle="每日")
    assert [h.resource.code for h in daily.hits] == [corpus["food"].code]


def test_index_follows_updates_and_deletes(rt, world, corpus):
    code = corpus["food"].code
    with rt.transaction() as s:
        service.update_resource(session=s, actor=world.steward, code=code,
                                data=ResourceUpdate(name="四川省药品经营许可信息"))
    assert run(rt, world.user, "食品生产").total == 0 or code not in [
        h.resource.code for h in run(rt, world.user, "食品生产").hits if "食品" in h.resource.name]
    assert run(rt, world.user, "药品经营").hits[0].resource.code == code
    with rt.transaction() as s:
        service.delete_resource(session=s, actor=world.steward, code=code)
    assert code not in [h.resource.code for h in run(rt, world.user, "药品经营").hits]


def test_unknown_words_find_nothing(rt, world, corpus):
    assert run(rt, world.user, "航天发射场").total == 0


def test_results_are_identical_on_every_backend():
    """Runs after the per-backend tests above (same module, file order)."""
    compared = [q for q, by in RESULTS.items() if len(by) > 1]
    for q in compared:
        first, *others = RESULTS[q].values()
        assert all(o == first for o in others), q
    if not compared:
        pytest.skip("only one backend ran")


def test_candidate_cap_marks_the_total_as_estimated(rt, world, corpus):
    from shudata.catalog.search import match

    with rt.transaction() as s:
        full = match(s, "信息")
        capped = match(s, "信息", cap=2)
    assert full.exact and len(full.ranked) >= 4
    assert not capped.exact and len(capped.ranked) == 2
    assert capped.ranked == full.ranked[:2]  # the best impacts are fetched first


def test_reindex_after_a_department_rename(rt, world, corpus):
    from shudata.catalog.service import rebuild_search_index
    from shudata.core.errors import PermissionDenied
    from shudata.security.models import Department

    with rt.transaction() as s:
        s.get(Department, world.police).name = "四川省公安厅（新）"
    with rt.transaction() as s, pytest.raises(PermissionDenied):
        rebuild_search_index(session=s, actor=world.steward, department_id=world.police)
    with rt.transaction() as s:
        assert rebuild_search_index(session=s, actor=world.other_steward, department_id=world.police) == 2
        assert rebuild_search_index(session=s, actor=world.admin) == 5
    hits = run(rt, world.user, "公安厅（新）").hits
    assert {h.resource.code for h in hits} == {corpus["huji"].code, corpus["credit_police"].code}
    assert run(rt, world.user, "户籍人口").total == 1
    assert_stats_exact(rt)


def test_renaming_a_department_reindexes_its_entries(rt, world, corpus):
    """The rename itself (security service, as the admin API calls it) keeps search current:
    the provider's new name finds its entries, the old one no longer does."""
    from shudata.security.schemas import DepartmentUpdate
    from shudata.security.service import update_department

    assert run(rt, world.user, "成都铁路局").total == 0
    with rt.transaction() as s:
        update_department(session=s, actor=world.admin, department_id=world.police,
                          data=DepartmentUpdate(name="成都铁路局公安处"))
    hits = run(rt, world.user, "成都铁路局").hits
    assert {h.resource.code for h in hits} == {corpus["huji"].code, corpus["credit_police"].code}
    assert_stats_exact(rt)


def assert_stats_exact(rt):
    """Document frequencies equal the postings per term after any sequence of changes."""
    from sqlalchemy import func, select

    from shudata.catalog.models import CatalogSearchDoc, CatalogSearchStat, CatalogSearchTerm

    with rt.transaction() as s:
        counted = dict(s.execute(select(CatalogSearchTerm.term, func.count()).group_by(CatalogSearchTerm.term)).all())
        stored = dict(s.execute(select(CatalogSearchStat.term, CatalogSearchStat.df)).all())
        docs = s.scalar(select(func.count()).select_from(CatalogSearchDoc))
    assert stored.pop("#docs") == docs
    assert stored == counted


def test_stats_stay_exact_through_updates_and_deletes(rt, world, corpus):
    with rt.transaction() as s:
        service.update_resource(session=s, actor=world.steward, code=corpus["credit"].code,
                                data=ResourceUpdate(name="四川省企业信用监管信息", abstract="信用监管。"))
        service.delete_resource(session=s, actor=world.steward, code=corpus["annual"].code)
    assert_stats_exact(rt)
