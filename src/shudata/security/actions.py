"""Actions of the security package (departments, users, tokens)."""

from __future__ import annotations

from shudata.core.types import Role
from shudata.security.authz import Action

ADMIN = frozenset({Role.PLATFORM_ADMIN})

DEPT_MANAGE = Action("security.department.manage", "管理部门", "manage departments", roles=ADMIN)
DEPT_VIEW = Action("security.department.view", "查看部门", "view departments", scope="authenticated")
USER_MANAGE = Action("security.user.manage", "管理用户", "manage users", roles=ADMIN)
USER_VIEW = Action("security.user.view", "查看用户", "view users", roles=frozenset(Role))
TOKEN_CREATE = Action("security.token.create", "创建 API 令牌", "create API tokens", scope="authenticated")
AUDIT_READ = Action("audit.read", "查看审计日志", "read the audit trail",
                    roles=frozenset({Role.AUDITOR, Role.PLATFORM_ADMIN}))

ACTIONS = (DEPT_MANAGE, DEPT_VIEW, USER_MANAGE, USER_VIEW, TOKEN_CREATE, AUDIT_READ)
