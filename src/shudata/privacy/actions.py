"""Actions of the privacy package (authorization vocabulary).

Raw data is a department matter (architecture convention 16): scan reports, grades, risk
reports, anonymisation and DP releases on a resource are computed on its raw values, so like
``lake.version.read`` the platform admin has no bypass on them, and the services also require
:func:`shudata.catalog.access.can_read_data`. A resource's masking policy is its provider
department's decision: only that department's data stewards manage it (``POLICY_MANAGE_DEPT``,
no admin bypass); the platform admin manages the platform-wide policies nobody else owns.
"""

from __future__ import annotations

from shudata.security.authz import ADMIN, STAFF, STEWARD, Action

SCAN = Action("privacy.scan", "扫描敏感数据", "scan data for sensitive information", roles=STEWARD,
              scope="department", admin=False)
SCAN_FILE = Action("privacy.scan.file", "扫描文件中的敏感数据", "scan a file for sensitive information",
                   roles=STAFF)
# A scan of an uploaded file (no catalog entry) is its uploader's alone, the platform admin's too.
SCAN_FILE_VIEW = Action("privacy.scan.file.view", "查看自己上传文件的扫描报告",
                        "view the scan report of a file you uploaded", roles=STAFF | ADMIN, scope="resource",
                        admin=False)
SCAN_VIEW = Action("privacy.scan.view", "查看敏感数据扫描报告", "view scan reports", roles=STAFF, scope="department",
                   admin=False)
GRADE_CONFIRM = Action("privacy.grade.confirm", "确认分类分级", "confirm a classification grade", roles=STEWARD,
                       scope="department", admin=False)
# A steward overrules what detection says a column holds ("not personal", another entity).
DETECTION_REVIEW = Action("privacy.detection.review", "复核敏感数据识别结果",
                          "overrule what detection found in a column", roles=STEWARD, scope="department", admin=False)
# New policies not bound to a resource, and the platform-wide ones (created by the admin).
POLICY_MANAGE = Action("privacy.policy.manage", "管理脱敏策略", "manage masking policies", roles=STEWARD)
# A resource's policy (``<code>-<profile>``) and a department's own policies: its stewards only.
POLICY_MANAGE_DEPT = Action("privacy.policy.manage.department", "管理本部门资源的脱敏策略",
                            "manage a department's masking policies", roles=STEWARD, scope="department", admin=False)
POLICY_MANAGE_PLATFORM = Action("privacy.policy.manage.platform", "管理平台通用脱敏策略",
                                "manage platform-wide masking policies", roles=ADMIN)
# Which grants and publications mask with a resource's policy: its department's stewards (and the admin).
POLICY_USAGE = Action("privacy.policy.usage", "查看脱敏策略被哪些授权和开放数据使用",
                      "see which grants and publications use a masking policy", roles=STEWARD, scope="department")
POLICY_VIEW = Action("privacy.policy.view", "查看脱敏策略", "view masking policies", scope="authenticated")
MASK = Action("privacy.mask", "脱敏导出数据", "export masked data", roles=STAFF, scope="department", admin=False)
MASK_FILE = Action("privacy.mask.file", "脱敏处理文件", "mask a file", roles=STAFF)
KEY_MANAGE = Action("privacy.key.manage", "管理脱敏密钥", "manage masking keys", roles=ADMIN)
KEY_VIEW = Action("privacy.key.view", "查看脱敏密钥清单", "list masking keys", roles=STEWARD)
# A plaintext is raw data: only the provider department of the resource the ciphertext came from
# (shudata.privacy.decrypt), the platform admin who holds the keys included in the refusal.
DECRYPT = Action("privacy.decrypt", "解密 SM4 密文", "decrypt SM4 ciphertext", roles=STAFF, scope="department",
                 admin=False)
RISK = Action("privacy.risk", "评估重识别风险与匿名化", "assess re-identification risk and anonymise", roles=STAFF,
              scope="department", admin=False)
DP_QUERY = Action("privacy.dp.query", "差分隐私统计查询", "run differentially private aggregates",
                  scope="authenticated")
DP_BUDGET = Action("privacy.dp.budget", "管理隐私预算", "manage privacy budgets", roles=ADMIN)

# The registry's input (gathered by ``shudata.permissions``): every action above, once.
ACTIONS = (SCAN, SCAN_FILE, SCAN_FILE_VIEW, SCAN_VIEW, GRADE_CONFIRM, DETECTION_REVIEW, POLICY_MANAGE,
           POLICY_MANAGE_DEPT, POLICY_MANAGE_PLATFORM, POLICY_USAGE, POLICY_VIEW, MASK, MASK_FILE, KEY_MANAGE,
           KEY_VIEW, DECRYPT, RISK, DP_QUERY, DP_BUDGET)
