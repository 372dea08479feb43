"""Quality rules (数据质量规则) the demo sets on its base registries, then checks once.

>>> sorted(RULES)
['101001/000001', '102001/000001', '104001/000001', '201001/000001']
"""

from __future__ import annotations

from typing import Any

ID, USCC = "公民身份号码", "统一社会信用代码"

RULES: dict[str, list[dict[str, Any]]] = {
    "101001/000001": [
        {"type": "cn_id", "column": ID, "severity": "block"},
        {"type": "unique", "columns": [ID]},
        {"type": "not_null", "column": "姓名"},
        {"type": "id_birth", "id_column": ID, "birth_column": "出生日期"},
        {"type": "id_sex", "id_column": ID, "sex_column": "性别"},
        {"type": "id_region", "id_column": ID, "region_column": "行政区划代码"},
        {"type": "region_code", "column": "行政区划代码"},
    ],
    "102001/000001": [
        {"type": "uscc", "column": USCC, "severity": "block"},
        {"type": "unique", "columns": [USCC]},
        {"type": "not_null", "column": "机构名称"},
        {"type": "region_code", "column": "行政区划代码"},
    ],
    "104001/000001": [
        {"type": "uscc", "column": USCC, "severity": "block"},
        {"type": "uscc", "column": "决定机关统一社会信用代码"},
        {"type": "unique", "columns": ["决定文书号"]},
    ],
    # the provincial GDP table the market demo sells: its quality score is the valuation's quality factor
    "201001/000001": [
        {"type": "not_null", "column": "地区", "severity": "block"},
        {"type": "unique", "columns": ["地区"]},
        {"type": "not_null", "column": "2024年"},
    ],
}
