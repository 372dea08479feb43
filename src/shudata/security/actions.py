"""Actions of the security package (departments, users, tokens) and of the audit trail."""

from __future__ import annotations

from shudata.core.types import Role
from shudata.security.authz import ADMIN, Action

DEPT_MANAGE = Action("security.department.manage", "管理部门", "manage departments", roles=ADMIN)
DEPT_VIEW = Action("security.department.view", "查看部门", "view departments", scope="authenticated")
USER_MANAGE = Action("security.user.manage", "管理用户", "manage users", roles=ADMIN)
USER_VIEW = Action("security.user.view", "查看用户", "view users", roles=frozenset(Role))
# Without it, the user list shows only the actor's own department.
USER_VIEW_ALL = Action("security.user.view.all", "查看全平台的用户", "view every department's users",
                       roles=frozenset({Role.PLATFORM_ADMIN, Role.AUDITOR}))
TOKEN_CREATE = Action("security.token.create", "创建 API 令牌", "create API tokens", scope="authenticated")
# A token is its owner's: anyone logged in revokes their own, the platform admin any.
TOKEN_REVOKE = Action("security.token.revoke", "吊销 API 令牌", "revoke API tokens", scope="resource")
# Everyone with an account changes their own password (the current one is checked).
PASSWORD_CHANGE = Action("security.password.change", "修改本人密码", "change one's own password",
                         scope="authenticated")
AUDIT_READ = Action("audit.read", "查看审计日志", "read the audit trail",
                    roles=frozenset({Role.AUDITOR, Role.PLATFORM_ADMIN}))

# The registry's input (gathered by ``shudata.permissions``): every action above, once.
ACTIONS = (DEPT_MANAGE, DEPT_VIEW, USER_MANAGE, USER_VIEW, USER_VIEW_ALL, TOKEN_CREATE, TOKEN_REVOKE, PASSWORD_CHANGE,
           AUDIT_READ)
