"""The sharing part of the demo: the department user ``consumer`` (成都市大数据中心) with

- an active grant with a masking profile (法人单位基础信息, 无条件共享 → granted at once),
- a pending 有条件 request (人口基础信息, waiting for 省公安厅's steward), and
- a refused request (流动人口居住登记信息, 不予共享 with its legal basis),

so a new user sees the workflow at once. Idempotent: nothing is filed twice.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select
from sqlalchemy.orm import Session

from shudata.catalog.access import find_resource
from shudata.core.config import Settings
from shudata.core.types import Role
from shudata.demo.accounts import DemoUser
from shudata.security.models import User
from shudata.security.service import actor_for
from shudata.sharing.models import SharingRequest
from shudata.sharing.schemas import Purpose, RequestCreate
from shudata.sharing.service import request_access

CONSUMER = DemoUser("consumer", "成都市大数据中心数据使用者", Role.DEPT_USER, "cddata")

REQUESTS: tuple[tuple[str, tuple[str, ...], Purpose, str], ...] = (
    ("102001/000001", ("统一社会信用代码", "机构名称", "法定代表人", "成立日期", "登记状态", "行政区划代码"),
     Purpose.COLLABORATION, "《优化营商环境条例》第三十七条：政务数据共享支撑“一网通办”企业开办"),
    ("101001/000001", ("公民身份号码", "姓名", "户籍地址", "行政区划代码"),
     Purpose.DATA_VERIFICATION, "成都市居民服务“一卡通”开卡时核验身份信息"),
    ("303001/000001", ("公民身份号码", "居住地址"), Purpose.WORK_REFERENCE, "分析人口流动趋势"),
)


def load_sharing(session: Session, settings: Settings) -> int:
    """File the demo requests of ``consumer`` that do not exist yet; return how many were filed."""
    user = session.scalar(select(User).where(User.username == CONSUMER.username))
    if user is None:
        return 0
    actor = actor_for(user)
    filed = 0
    today = dt.date.today()
    for code, fields, purpose, basis in REQUESTS:
        res = find_resource(session, code)
        exists = session.scalar(select(SharingRequest.id).where(SharingRequest.resource_id == res.id,
                                                               SharingRequest.requester == actor.username))
        if exists is not None:
            continue
        items = {str(i["name"]) for i in res.information_items or []}
        request_access(session=session, actor=actor, settings=settings, data=RequestCreate(
            resource=code, fields=[f for f in fields if f in items], purpose=purpose, basis=basis,
            use_from=today, use_until=today + dt.timedelta(days=365)))
        filed += 1
    return filed
