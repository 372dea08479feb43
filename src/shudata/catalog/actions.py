"""Actions of the catalog package."""

from __future__ import annotations

from shudata.core.types import Role
from shudata.security.authz import STEWARD, Action

RESOURCE_VIEW = Action("catalog.resource.view", "查看目录", "view the catalog", scope="authenticated")
RESOURCE_CREATE = Action("catalog.resource.create", "登记目录条目", "register catalog entries", roles=STEWARD)
RESOURCE_EDIT = Action("catalog.resource.edit", "编辑目录条目", "edit catalog entries", roles=STEWARD,
                       scope="department")
DATA_UPLOAD = Action("lake.version.create", "上传数据", "upload data", roles=STEWARD, scope="department")
# Raw rows are a department matter: the platform admin reads them only as a steward or
# department user of the owning department; everyone else gets them masked, under a grant.
DATA_READ = Action("lake.version.read", "读取数据", "read data",
                   roles=frozenset({Role.DATA_STEWARD, Role.DEPT_USER}), scope="department", admin=False)
# A demand is filed for the actor's own department; only the platform admin names another.
DEMAND_CREATE = Action("catalog.demand.create", "登记数据需求", "record data demands",
                       roles=frozenset({Role.DATA_STEWARD, Role.DEPT_USER}), scope="department")
DEMAND_LINK = Action("catalog.demand.link", "关联需求与目录", "link demands to entries", roles=STEWARD,
                     scope="department")

DEMAND_VIEW = Action("catalog.demand.view", "查看需求清单", "view demand lists", scope="authenticated")
DASHBOARD_VIEW = Action("catalog.dashboard.view", "查看部门目录看板", "view a department's catalog dashboard",
                        roles=frozenset({Role.DATA_STEWARD, Role.DEPT_USER, Role.AUDITOR}), scope="department")
PLATFORM_DASHBOARD = Action("catalog.dashboard.platform", "查看全平台目录看板", "view the platform catalog dashboard",
                            roles=frozenset({Role.PLATFORM_ADMIN, Role.AUDITOR}))
# The exchange's custody entries (sellers' uploads, shudata.catalog.visibility) are listed to the
# exchange operator, who reviews them; their own department's staff see them as any department's.
CUSTODY_VIEW = Action("catalog.custody.view", "查看数据托管区目录", "see the exchange's custody entries in the catalog",
                      roles=frozenset({Role.MARKET_OPERATOR}), admin=False)

# The registry's input (gathered by ``shudata.permissions``): every action above, once.
ACTIONS = (RESOURCE_VIEW, RESOURCE_CREATE, RESOURCE_EDIT, DATA_UPLOAD, DATA_READ, DEMAND_CREATE, DEMAND_LINK,
           DEMAND_VIEW, DASHBOARD_VIEW, PLATFORM_DASHBOARD, CUSTODY_VIEW)
