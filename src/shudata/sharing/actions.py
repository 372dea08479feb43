"""Actions of the sharing package."""

from __future__ import annotations

from shudata.core.types import Role
from shudata.security.authz import ADMIN, STAFF, STEWARD, Action

REQUEST_CREATE = Action("sharing.request.create", "提交共享申请", "request shared data", roles=STAFF)
REQUEST_DECIDE = Action("sharing.request.decide", "审核共享申请", "decide sharing requests", roles=STEWARD,
                        scope="department", admin=False)
REQUEST_VIEW = Action("sharing.request.view", "查看共享申请", "view sharing requests",
                      roles=frozenset({Role.DATA_STEWARD, Role.DEPT_USER, Role.AUDITOR}))
# Without it, the queues show only the actor's own department's requests.
REQUEST_VIEW_ALL = Action("sharing.request.view.all", "查看全平台的共享申请",
                          "view every department's sharing requests",
                          roles=frozenset({Role.PLATFORM_ADMIN, Role.AUDITOR}))
DISPUTE_RAISE = Action("sharing.dispute.raise", "提出争议", "raise disputes", roles=STAFF, scope="department")
DISPUTE_RESOLVE = Action("sharing.dispute.resolve", "协调争议", "resolve disputes", roles=ADMIN)
GRANT_REVOKE = Action("sharing.grant.revoke", "撤销授权", "revoke grants", roles=STEWARD, scope="department")
# The target is the grant (its consumer department and state): revoked or expired grants give nothing.
GRANT_USE = Action("sharing.grant.use", "使用授权获取数据", "receive data under a grant", roles=STAFF,
                   scope="grant", admin=False)
# A department's usable grants (API, 已获授权 page, Delta Sharing shares): its own staff and auditors.
GRANT_LIST = Action("sharing.grant.list", "查看本部门获得的授权", "list a department's grants",
                    roles=frozenset({Role.DATA_STEWARD, Role.DEPT_USER, Role.AUDITOR}), scope="department")
# A webhook on new versions of a granted entry is a way of receiving its data.
GRANT_SUBSCRIBE = Action("sharing.grant.subscribe", "登记授权数据的推送地址", "subscribe a webhook to a grant",
                         roles=STAFF, scope="grant", admin=False)
# Escalations and disputes are addressed to nobody in particular: the platform admin reads them.
NOTICE_PLATFORM = Action("sharing.notice.platform", "接收平台级通知", "receive platform-wide notices", roles=ADMIN)
NODE_MANAGE = Action("sharing.node.manage", "管理平台节点", "manage federation nodes", roles=ADMIN)

# The registry's input (gathered by ``shudata.permissions``): every action above, once.
ACTIONS = (REQUEST_CREATE, REQUEST_DECIDE, REQUEST_VIEW, REQUEST_VIEW_ALL, DISPUTE_RAISE, DISPUTE_RESOLVE,
           GRANT_REVOKE, GRANT_USE, GRANT_LIST, GRANT_SUBSCRIBE, NOTICE_PLATFORM, NODE_MANAGE)
