"""Actions of the portal package."""

from __future__ import annotations

from shudata.core.types import Actor, ResourceRef, Role
from shudata.security.authz import ADMIN, STEWARD, Action

PUBLISH = Action("portal.dataset.publish", "发布开放数据", "publish open data", roles=STEWARD, scope="department")
WITHDRAW = Action("portal.dataset.withdraw", "撤回开放数据", "withdraw open data", roles=STEWARD, scope="department")
VIEW_GATE = Action("portal.gate.view", "查看开放闸门结果", "view open-data gate results",
                   roles=frozenset({Role.DATA_STEWARD, Role.AUDITOR}), scope="department")
# The open-data page's queue of developers' applications (for a department's stewards, auditors).
APPLICATION_VIEW = Action("portal.application.view", "查看开放数据申请队列", "view the open-data applications queue",
                          roles=frozenset({Role.DATA_STEWARD, Role.AUDITOR}))
APPLICATION_DECIDE = Action("portal.application.decide", "审核开放数据申请", "decide open-data applications",
                            roles=STEWARD, scope="department")


def _addressed_to_own_department(actor: Actor, target: ResourceRef | None) -> bool:
    """指向某部门的需求只能由该部门答复 / a request addressed to a department is answered by that department"""
    return target is None or target.department_id is None or target.department_id == actor.department_id


# Any steward answers a request addressed to no department; one addressed to a department, its stewards.
REQUEST_ANSWER = Action("portal.request.answer", "答复公众数据需求", "answer public data requests", roles=STEWARD,
                        check=_addressed_to_own_department)
# Without it, the open-data page and its queues show only the actor's own department.
VIEW_ALL = Action("portal.department.all", "查看全部部门的开放数据管理", "manage every department's open data",
                  roles=ADMIN)
HARVEST_MANAGE = Action("portal.harvest.manage", "管理数据采集", "manage harvesting", roles=ADMIN)

# The registry's input (gathered by ``shudata.permissions``): every action above, once.
ACTIONS = (PUBLISH, WITHDRAW, VIEW_GATE, APPLICATION_VIEW, APPLICATION_DECIDE, REQUEST_ANSWER, VIEW_ALL,
           HARVEST_MANAGE)
