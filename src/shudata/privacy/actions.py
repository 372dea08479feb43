"""Actions of the privacy package (authorization vocabulary)."""

from __future__ import annotations

from shudata.core.types import Role
from shudata.security.authz import STAFF, STEWARD, Action

ADMIN = frozenset({Role.PLATFORM_ADMIN})

SCAN = Action("privacy.scan", "扫描敏感数据", "scan data for sensitive information", roles=STEWARD,
              scope="department")
SCAN_FILE = Action("privacy.scan.file", "扫描文件中的敏感数据", "scan a file for sensitive information",
                   roles=STAFF)
SCAN_VIEW = Action("privacy.scan.view", "查看敏感数据扫描报告", "view scan reports", roles=STAFF, scope="department")
GRADE_CONFIRM = Action("privacy.grade.confirm", "确认分类分级", "confirm a classification grade", roles=STEWARD,
                       scope="department")
POLICY_MANAGE = Action("privacy.policy.manage", "管理脱敏策略", "manage masking policies", roles=STEWARD)
POLICY_VIEW = Action("privacy.policy.view", "查看脱敏策略", "view masking policies", scope="authenticated")
MASK = Action("privacy.mask", "脱敏导出数据", "export masked data", roles=STAFF, scope="department")
MASK_FILE = Action("privacy.mask.file", "脱敏处理文件", "mask a file", roles=STAFF)
KEY_MANAGE = Action("privacy.key.manage", "管理脱敏密钥", "manage masking keys", roles=ADMIN)
KEY_VIEW = Action("privacy.key.view", "查看脱敏密钥清单", "list masking keys", roles=STEWARD)
DECRYPT = Action("privacy.decrypt", "解密 SM4 密文", "decrypt SM4 ciphertext", roles=ADMIN)
RISK = Action("privacy.risk", "评估重识别风险与匿名化", "assess re-identification risk and anonymise", roles=STAFF,
              scope="department")
DP_QUERY = Action("privacy.dp.query", "差分隐私统计查询", "run differentially private aggregates",
                  scope="authenticated")
DP_BUDGET = Action("privacy.dp.budget", "管理隐私预算", "manage privacy budgets", roles=ADMIN)

ACTIONS = (SCAN, SCAN_FILE, SCAN_VIEW, GRADE_CONFIRM, POLICY_MANAGE, POLICY_VIEW, MASK, MASK_FILE, KEY_MANAGE,
           KEY_VIEW, DECRYPT, RISK, DP_QUERY, DP_BUDGET)
