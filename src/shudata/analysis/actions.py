"""Actions of the analysis package (indicator system, early warning; issue 18).

Who sees an indicator is decided by its publication profile (``AnalysisIndicator.publication``):

- ``open`` — anyone, the anonymous public included (``analysis.indicator.read``);
- ``share-conditional`` — any logged-in principal of the platform (``analysis.indicator.read.shared``);
- ``internal`` / ``trade`` — the owner department's staff, the auditors of that department and the
  platform admin (``analysis.indicator.read.internal``).

Alerts of an indicator are seen by whoever sees the indicator; acknowledging one is for the owner
department's staff. Values are computed as the owner department (its own raw data, other departments'
data only through a grant, masked), so reading an indicator never reaches data its readers or its
owner could not.
"""

from __future__ import annotations

from shudata.core.types import Role
from shudata.security.authz import STAFF, STEWARD, Action

INDICATOR_READ = Action("analysis.indicator.read", "查看公开指标", "view open indicators", scope="public")
INDICATOR_READ_SHARED = Action("analysis.indicator.read.shared", "查看有条件共享的指标",
                               "view indicators published for conditional sharing", scope="authenticated")
INDICATOR_READ_INTERNAL = Action("analysis.indicator.read.internal", "查看部门内部指标",
                                 "view a department's internal indicators",
                                 roles=frozenset({Role.DATA_STEWARD, Role.DEPT_USER, Role.AUDITOR}),
                                 scope="department")
INDICATOR_MANAGE = Action("analysis.indicator.manage", "管理指标定义、预警规则并重新计算",
                          "manage indicator definitions and alert rules, recompute", roles=STEWARD,
                          scope="department")
ALERT_SUBSCRIBE = Action("analysis.alert.subscribe", "订阅预警", "subscribe to alerts", scope="authenticated")
ALERT_ACK = Action("analysis.alert.ack", "确认预警", "acknowledge alerts", roles=STAFF, scope="department")

# The registry's input (gathered by ``shudata.permissions``): every action above, once.
ACTIONS = (INDICATOR_READ, INDICATOR_READ_SHARED, INDICATOR_READ_INTERNAL, INDICATOR_MANAGE, ALERT_SUBSCRIBE,
           ALERT_ACK)
