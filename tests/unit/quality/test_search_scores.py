"""Catalog search sorts and filters by quality score through the ``catalog_quality_scores`` hook
the quality package implements (the catalog does not import the quality package)."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from sqlalchemy import select
from tests.unit.quality.conftest import World

from shudata.catalog import search
from shudata.catalog.models import CatalogResource
from shudata.catalog.schemas import SearchFilters
from shudata.quality.models import QualityRun


@pytest.fixture
def scored(world: World, add_resource: Callable[..., str]) -> dict[str, str]:
    codes = {name: add_resource(world.dept, f"景区{name}", ["名称"]) for name in ("甲", "乙", "丙")}
    with world.rt.transaction() as s:
        ids = {r.code: r.id for r in s.scalars(select(CatalogResource).where(CatalogResource.code.in_(codes.values())))}
        for name, score in (("甲", 95.0), ("甲", 60.0), ("乙", 90.0)):  # 甲's newest run scores 60
            s.add(QualityRun(resource_id=ids[codes[name]], version=1, kind="check", rows=10, passed=True,
                             overall_score=score, scores={"overall": score}, columns=[], created_by="t"))
    return codes


def _hits(world: World, codes: dict[str, str], **kw: object) -> list[tuple[str, float | None]]:
    names = {v: k for k, v in codes.items()}
    with world.rt.transaction() as s:
        res = search.search(session=s, actor=world.steward, q="", limit=100, **kw)  # type: ignore[arg-type]
    return [(names[h.resource.code], h.resource.quality_score) for h in res.hits if h.resource.code in names]


def test_sort_and_filter_by_the_newest_score(world: World, scored: dict[str, str]) -> None:
    assert _hits(world, scored, sort="quality") == [("乙", 90.0), ("甲", 60.0), ("丙", None)]
    assert _hits(world, scored, filters=SearchFilters(min_quality=70)) == [("乙", 90.0)]
    assert _hits(world, scored, filters=SearchFilters(min_quality=60), sort="quality") == [("乙", 90.0), ("甲", 60.0)]
    newest_first = _hits(world, scored)  # relevance (newest entries first when browsing), scores shown
    assert [n for n, _ in newest_first] == ["丙", "乙", "甲"] and dict(newest_first)["甲"] == 60.0


def test_without_the_provider_no_entry_has_a_score(world: World, scored: dict[str, str]) -> None:
    world.rt.plugins.unregister(name="shudata.quality.providers")  # this test's runtime only
    assert {sc for _n, sc in _hits(world, scored)} == {None}
    assert _hits(world, scored, filters=SearchFilters(min_quality=0)) == []
