"""The department quality dashboard links only to pages its viewer may open (issue #14).

Entry pages, runs and the quarantine are for readers of the raw data; the department's
auditor sees the dashboard (scores, counts) but those pages answer it 403, so the dashboard
shows it plain text instead of links that fail. The steward gets the links, and each opens.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import pytest
from tests.unit.quality.conftest import World

from shudata.core.types import Actor, Role

pytestmark = pytest.mark.sqlite_only
LINK = re.compile(r'href="(/quality/(?:resources|runs)/[^"]+)"')


def _links(client: Any, username: str) -> tuple[str, list[str]]:
    client.cookies.clear()
    client.post("/login", data={"username": username, "password": "Tianfu-Data-7", "next": "/"})
    page = client.get("/quality")
    assert page.status_code == 200
    return page.text, LINK.findall(page.text)


def test_the_auditor_sees_scores_without_links_that_would_403(client: Any, world: World, ingested: str,
                                                              make_user: Callable[..., Actor]) -> None:
    make_user("auditor1", Role.AUDITOR, department_id=world.dept)
    html, links = _links(client, "steward1")
    assert {f"/quality/resources/{ingested}", f"/quality/resources/{ingested}/quarantine"} <= set(links)
    assert any(u.startswith("/quality/runs/") for u in links)
    for url in links:
        assert client.get(url).status_code == 200, url
    html, hidden = _links(client, "auditor1")
    assert "四川省A级旅游景区名录" in html and ingested in html
    assert hidden == []
    for url in links:  # what the steward was linked to is indeed closed to the auditor
        assert client.get(url).status_code == 403, url
