"""Actions of the sharing package."""

from __future__ import annotations

from shudata.core.types import Role
from shudata.security.authz import STAFF, STEWARD, Action

REQUEST_CREATE = Action("sharing.request.create", "提交共享申请", "request shared data", roles=STAFF)
REQUEST_DECIDE = Action("sharing.request.decide", "审核共享申请", "decide sharing requests", roles=STEWARD,
                        scope="department", admin=False)
REQUEST_VIEW = Action("sharing.request.view", "查看共享申请", "view sharing requests",
                      roles=frozenset({Role.DATA_STEWARD, Role.DEPT_USER, Role.AUDITOR}))
DISPUTE_RAISE = Action("sharing.dispute.raise", "提出争议", "raise disputes", roles=STAFF, scope="department")
DISPUTE_RESOLVE = Action("sharing.dispute.resolve", "协调争议", "resolve disputes",
                         roles=frozenset({Role.PLATFORM_ADMIN}))
GRANT_REVOKE = Action("sharing.grant.revoke", "撤销授权", "revoke grants", roles=STEWARD, scope="department")
GRANT_USE = Action("sharing.grant.use", "使用授权获取数据", "receive data under a grant", roles=STAFF,
                   scope="department", admin=False)

ACTIONS = (REQUEST_CREATE, REQUEST_DECIDE, REQUEST_VIEW, DISPUTE_RAISE, DISPUTE_RESOLVE, GRANT_REVOKE, GRANT_USE)
