"""Portal search: only visible datasets, Chinese text, facets, sorting."""

from __future__ import annotations

import pytest

from shudata.core.errors import InvalidInput
from shudata.portal import service as P
from shudata.portal.search import DatasetFilters, search_datasets
from support.portal import CODES


def _names(result):
    return [h.dataset.name for h in result.hits]


def test_text_search_finds_only_visible(rt, published):
    with rt.transaction() as s:
        r = search_datasets(s, q="常住人口")
        assert _names(r) == ["301001-000001"] and r.total == 1
        assert search_datasets(s, q="内部名录").total == 0  # 不予开放
        assert search_datasets(s, q="编号清单").total == 0  # never published
        assert search_datasets(s, q="名录").total == 2  # 志愿者名录 + 企业联系名录


def test_browse_facets_and_filters(rt, published):
    with rt.transaction() as s:
        r = search_datasets(s)
        assert r.total == 3
        classes = {f.value: f.count for f in r.facets["open_class"]}
        assert classes == {"无条件开放": 2, "有条件开放": 1}
        themes = {f.value for f in r.facets["theme"]}
        assert themes == {"人口", "社会", "法人"}
        dept = r.facets["department"][0]
        assert dept.label == "省统计局" and dept.count == 3
        only = search_datasets(s, filters=DatasetFilters(open_class="有条件开放"))
        assert _names(only) == ["301001-000003"]
        assert search_datasets(s, filters=DatasetFilters(theme="人口")).total == 1
        assert search_datasets(s, filters=DatasetFilters(tags=("测试", "社会"))).total == 1
        assert search_datasets(s, q="名录", filters=DatasetFilters(theme="法人")).total == 1


def test_sorting_by_downloads(rt, published):
    with rt.transaction() as s:
        ds = P.get_dataset(s, CODES["cond"])
        P.count_use(s, ds, "download", 5)
    with rt.transaction() as s:
        assert _names(search_datasets(s, sort="downloads"))[0] == "301001-000003"
        assert _names(search_datasets(s, q="名录", sort="downloads"))[0] == "301001-000003"
        assert _names(search_datasets(s, sort="name"))[0] == "301001-000003"  # 企… sorts first by code point


def test_bad_sort_and_long_query_refused(rt, published):
    with rt.transaction() as s:
        with pytest.raises(InvalidInput):
            search_datasets(s, sort="id; drop table x")
        with pytest.raises(InvalidInput):
            search_datasets(s, q="字" * 201)
