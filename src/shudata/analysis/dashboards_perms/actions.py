"""Actions of the dashboards (仪表板) and the assessment scorecard (评估考核) (issue 18).

Who may *see* a dashboard is its sharing (private: the owner; department: the owner's department;
public: everyone, through the portal) — checked in :mod:`shudata.analysis.dashboards` like a saved
query's visibility (404 otherwise). Its panels' data are always computed as the viewer.
"""

from __future__ import annotations

from shudata.core.types import Role
from shudata.security.authz import Action

# One's own dashboards: no role opens another's (the admin included), like the workbench's saved queries.
DASHBOARD_MANAGE = Action("analysis.dashboard.manage", "创建、修改、删除自己的仪表板",
                          "create, change and delete one's own dashboards", scope="resource", admin=False)
# Publication to the open portal: the steward of the dashboard's department (or the platform admin).
DASHBOARD_PUBLISH = Action("analysis.dashboard.publish", "将本部门的仪表板发布到开放门户",
                           "publish a dashboard of one's department on the open-data portal",
                           roles=frozenset({Role.DATA_STEWARD}), scope="department")
# The departments' assessment (评估考核): the platform operator and the auditors who supervise it.
SCORECARD_VIEW = Action("analysis.scorecard.view", "查看和导出各部门、各市州的评估考核计分卡",
                        "read and export the assessment scorecard of every department and city",
                        roles=frozenset({Role.PLATFORM_ADMIN, Role.AUDITOR}), scope="platform")

ACTIONS = (DASHBOARD_MANAGE, DASHBOARD_PUBLISH, SCORECARD_VIEW)
