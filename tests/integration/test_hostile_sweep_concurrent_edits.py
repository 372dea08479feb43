"""Concurrent edits of one catalog entry, found by the adversarial sweep (2026-12-07).

Twelve ``PATCH /api/v1/resources/{code}`` sent at once to the demo server: 3 answered 200,
9 answered 500 — each edit read revision N and stored revision N + 1, and the later ones hit
the unique (resource, revision) constraint (``IntegrityError``). The later edit is now a
409 ``revision_conflict`` that says to reload, and nothing of it is kept.

The race is reproduced deterministically: the second editor's session holds the entry as it
was before the first editor's change was committed.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from shudata.catalog.models import CatalogResource, CatalogRevision
from shudata.catalog.schemas import ResourceCreate, ResourceUpdate
from shudata.catalog.service import find_resource, register_resource, update_resource
from shudata.core.errors import Conflict
from shudata.core.types import Actor, Role
from shudata.db.runtime import Runtime


@pytest.fixture
def entry(rt: Runtime, make_department: Callable[..., int]) -> tuple[Actor, str]:
    dept = make_department("省公安厅")
    steward = Actor(user_id=9101, username="ce_steward", department_id=dept, roles=frozenset({Role.DATA_STEWARD}))
    data = ResourceCreate.model_validate({
        "code": "101001/000902", "name": "并发修改测试", "abstract": "初始摘要",
        "information_items": [{"name": "名称", "data_type": "C", "length": 20}],
        "sharing": {"type": 1, "method": "接口"}})
    with rt.transaction() as s:
        return steward, register_resource(session=s, actor=steward, data=data).code


def test_second_of_two_concurrent_edits_is_a_409_and_keeps_nothing(rt: Runtime, entry: tuple[Actor, str]) -> None:
    steward, code = entry
    late = rt.sessions()
    try:
        held = find_resource(late, code)  # the second editor read the entry at revision 1 (and keeps it)
        assert held.revision == 1
        with rt.transaction() as s:  # the first editor's change lands meanwhile
            update_resource(session=s, actor=steward, code=code, data=ResourceUpdate(abstract="先到的修改"))
        with pytest.raises(Conflict) as caught:
            update_resource(session=late, actor=steward, code=code, data=ResourceUpdate(abstract="后到的修改"))
        assert caught.value.status == 409 and caught.value.code == "revision_conflict"
        assert "刷新" in caught.value.zh
        late.rollback()
    finally:
        late.close()
    with rt.transaction() as s:
        res = s.scalars(select(CatalogResource).where(CatalogResource.code == code)).one()
        assert (res.revision, res.abstract) == (2, "先到的修改")
        assert s.scalar(select(func.count()).select_from(CatalogRevision)
                        .where(CatalogRevision.resource_id == res.id)) == 2


def test_sequential_edits_through_the_api_still_each_make_a_revision(
        client: TestClient, make_user: Callable[..., Actor], token_for: Callable[[str], dict[str, str]],
        entry: tuple[Actor, str]) -> None:
    steward, code = entry
    make_user("ce_api", Role.DATA_STEWARD, department_id=steward.department_id)
    headers = token_for("ce_api")
    for i in range(3):
        r = client.patch(f"/api/v1/resources/{code}", json={"abstract": f"第 {i} 次"}, headers=headers)
        assert r.status_code == 200, r.text
    assert client.get(f"/api/v1/resources/{code}", headers=headers).json()["revision"] == 4
