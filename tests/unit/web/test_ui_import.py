"""Page: catalog import from the hand-filled CSV layout, all-or-nothing with a row-by-row report."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from shudata.catalog.models import CatalogResource
from shudata.core.types import Role

pytestmark = pytest.mark.sqlite_only

HEADER = "资源名称,分类代码,摘要,共享类型,共享条件,更新周期,信息项名称,数据类型,数据长度\n"
GOOD = "四川省旅游景区名录,201001,全省A级旅游景区。,1,,每年,景区名称,C,100\n"
BAD = "四川省导游名录,201001,,3,,每月,导游姓名,C,20\n"


def _post(client, csrf: str, text: str, skip: bool = False):
    data = {"skip_invalid": "1"} if skip else {}
    return client.post(f"/catalog/import?csrf_token={csrf}", data=data,
                       files={"file": ("编目表.csv", (HEADER + text).encode("utf-8-sig"), "text/csv")})


def _count(rt) -> int:
    with rt.transaction() as s:
        return int(s.scalar(select(func.count(CatalogResource.id))) or 0)


def test_bad_row_refuses_the_whole_file_and_lists_the_row(client, login, make_department, make_user, rt):
    dept = make_department("四川省文化和旅游厅")
    make_user("ly_steward", Role.DATA_STEWARD, department_id=dept)
    csrf = login("ly_steward")
    assert client.get("/catalog/import").status_code == 200
    r = _post(client, csrf, GOOD + BAD)
    assert r.status_code == 422 and 'id="import-errors"' in r.text and "未导入任何条目" in r.text
    assert _count(rt) == 0
    ok = _post(client, csrf, GOOD + BAD, skip=True)
    assert ok.status_code == 200 and 'id="import-ok"' in ok.text and 'id="import-errors"' in ok.text
    assert _count(rt) == 1


def test_department_user_cannot_import(client, login, make_department, make_user):
    dept = make_department()
    make_user("plain", Role.DEPT_USER, department_id=dept)
    login("plain")
    assert client.get("/catalog/import").status_code == 403
