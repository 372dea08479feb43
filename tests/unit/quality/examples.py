"""One example spec per registered rule type (tests fail when a type has no example)."""

from __future__ import annotations

from typing import Any

EXAMPLES: dict[str, dict[str, Any]] = {
    "not_null": {"type": "not_null", "column": "名称"},
    "required": {"type": "required", "columns": ["名称", "地址"]},
    "cn_id": {"type": "cn_id", "column": "身份证号", "allow_15": True},
    "uscc": {"type": "uscc", "column": "信用代码"},
    "org_code": {"type": "org_code", "column": "机构代码"},
    "bank_card": {"type": "bank_card", "column": "卡号"},
    "region_code": {"type": "region_code", "column": "区划"},
    "format": {"type": "format", "format": "mobile", "column": "电话"},
    "date": {"type": "date", "column": "日期", "min": "2000-01-01"},
    "enum": {"type": "enum", "column": "等级", "values": ["5A", "4A"]},
    "range": {"type": "range", "column": "经度", "min": 97, "max": 109},
    "regex": {"type": "regex", "column": "编码", "pattern": "^[0-9]{10}$"},
    "length": {"type": "length", "column": "名称", "min": 2, "max": 50},
    "data_type": {"type": "data_type", "column": "金额", "data_type": "N"},
    "unique": {"type": "unique", "columns": ["名称"]},
    "id_birth": {"type": "id_birth", "id_column": "身份证号", "birth_column": "出生日期"},
    "id_sex": {"type": "id_sex", "id_column": "身份证号", "sex_column": "性别"},
    "id_region": {"type": "id_region", "id_column": "身份证号", "region_column": "区划"},
    "compare": {"type": "compare", "left": "开始", "op": "<=", "right": "结束"},
    "reference": {"type": "reference", "column": "信用代码", "resource": "legal", "ref_column": "代码"},
    "row_count": {"type": "row_count", "min": 1},
    "timeliness": {"type": "timeliness", "column": "日期", "max_age_days": 30},
    "row_count_change": {"type": "row_count_change", "max_change": 0.2},
    "null_rate_change": {"type": "null_rate_change", "column": "地址"},
    "new_categories": {"type": "new_categories", "column": "等级"},
}
