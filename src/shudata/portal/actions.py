"""Actions of the portal package."""

from __future__ import annotations

from shudata.core.types import Role
from shudata.security.authz import STEWARD, Action

PUBLISH = Action("portal.dataset.publish", "发布开放数据", "publish open data", roles=STEWARD, scope="department")
WITHDRAW = Action("portal.dataset.withdraw", "撤回开放数据", "withdraw open data", roles=STEWARD, scope="department")
VIEW_GATE = Action("portal.gate.view", "查看开放闸门结果", "view open-data gate results",
                   roles=frozenset({Role.DATA_STEWARD, Role.AUDITOR}), scope="department")
APPLICATION_DECIDE = Action("portal.application.decide", "审核开放数据申请", "decide open-data applications",
                            roles=STEWARD, scope="department")
REQUEST_ANSWER = Action("portal.request.answer", "答复公众数据需求", "answer public data requests", roles=STEWARD)
HARVEST_MANAGE = Action("portal.harvest.manage", "管理数据采集", "manage harvesting",
                        roles=frozenset({Role.PLATFORM_ADMIN}))

ACTIONS = (PUBLISH, WITHDRAW, VIEW_GATE, APPLICATION_DECIDE, REQUEST_ANSWER, HARVEST_MANAGE)
