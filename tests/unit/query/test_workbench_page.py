"""The workbench page (``/query``): in the main menu, served with the locally vendored editor
and chart scripts, ``?saved=`` opening only a query the user may see."""

from __future__ import annotations

import re
from pathlib import Path

from tests.unit.web.conftest import PASSWORD, csrf_of

STATIC = Path(__file__).resolve().parents[3] / "src" / "shudata" / "web" / "ui" / "static"


def _login(client, username: str) -> str:
    r = client.post("/login", data={"username": username, "password": PASSWORD}, follow_redirects=False)
    assert r.status_code == 303, r.text
    return csrf_of(client.get("/query").text)


def test_page_is_in_the_menu_and_loads_only_local_assets(client, world):
    _login(client, "a_user")
    html = client.get("/query").text
    assert 'href="/query"' in html and "SQL 工作台" in html
    assert 'aria-current="page"' in html.split('href="/query"', 1)[1][:80]
    for src in re.findall(r'(?:src|href)="(/static/[^"]+)"', html):
        assert client.get(src).status_code == 200, src
        assert (STATIC / src.removeprefix("/static/")).is_file()
    assert not re.search(r'(?:src|href)="https?://', html)  # no CDN
    assert 'data-timeout-s="1.0"' in html  # the limit the timer counts against
    assert "codemirror/codemirror.js" in html and "js/result_chart.js" in html and "js/workbench.js" in html


def test_saved_query_opens_for_its_department_and_is_404_for_others(client, world, token_for, make_user):
    from shudata.core.types import Role

    make_user("a_colleague", Role.DEPT_USER, department_id=world.dept_a)
    shared = client.post("/api/v1/query/saved", headers=token_for("a_user"), json={
        "name": "城市分布", "sql": 'SELECT "城市", count(*) AS n FROM people GROUP BY 1',
        "visibility": "department"}).json()
    private = client.post("/api/v1/query/saved", headers=token_for("a_user"), json={
        "name": "私人", "sql": "SELECT 42 AS answer"}).json()
    _login(client, "a_colleague")
    page = client.get(f"/query?saved={shared['id']}")
    assert page.status_code == 200 and "GROUP BY 1" in page.text
    assert client.get(f"/query?saved={private['id']}").status_code == 404


def test_page_needs_a_login(client, world):
    r = client.get("/query", follow_redirects=False)
    assert r.status_code in (302, 303, 401) and "SELECT" not in r.text
