"""Actions of the quality package."""

from __future__ import annotations

from shudata.core.types import Role
from shudata.security.authz import STAFF, STEWARD, Action

# Rules, check runs, their failure counts and cleaning previews depend on the raw values: they
# are for those who read the data raw (the provider department's staff), and like
# ``lake.version.read`` the platform admin has no bypass — otherwise a saved regex rule and its
# failure count answer yes/no questions about a value (architecture convention 16).
# The service also requires :func:`shudata.catalog.access.can_read_data` for every one of them.
RULES_EDIT = Action("quality.rules.edit", "编辑质量规则与清洗流程", "edit quality rules and cleaning pipelines",
                    roles=STEWARD, scope="department", admin=False)
CHECK_RUN = Action("quality.check.run", "执行质量检查", "run quality checks", roles=STAFF, scope="department",
                   admin=False)
REPORT_VIEW = Action("quality.report.view", "查看质量报告", "view quality reports", roles=STAFF, scope="department",
                     admin=False)
# Quarantined rows are raw rows of the department's data: like ``lake.version.read``, no
# platform-admin bypass (the admin needs the steward role in that department).
QUARANTINE_MANAGE = Action("quality.quarantine.manage", "处理隔离数据", "handle quarantined rows", roles=STEWARD,
                           scope="department", admin=False)
CLEAN_RUN = Action("quality.clean.run", "执行数据清洗", "run cleaning pipelines", roles=STEWARD, scope="department",
                   admin=False)
DASHBOARD_DEPT = Action("quality.dashboard.department", "查看部门质量看板", "view a department's quality dashboard",
                        roles=frozenset({Role.DATA_STEWARD, Role.DEPT_USER, Role.AUDITOR}), scope="department")
DASHBOARD_PLATFORM = Action("quality.dashboard.platform", "查看全平台质量看板", "view the platform quality dashboard",
                            roles=frozenset({Role.PLATFORM_ADMIN, Role.AUDITOR}))
PROFILE_RUN = Action("quality.profile.run", "剖析数据文件", "profile data files", scope="authenticated")

# The registry's input (gathered by ``shudata.permissions``): every action above, once.
ACTIONS = (RULES_EDIT, CHECK_RUN, REPORT_VIEW, QUARANTINE_MANAGE, CLEAN_RUN, DASHBOARD_DEPT, DASHBOARD_PLATFORM,
           PROFILE_RUN)
