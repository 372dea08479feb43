"""0002 → 0003 (privacy_column_review) on a store holding data: the resources, scan reports and
policies stay, reviews can be recorded and applied, and the downgrade removes only the new table."""

from __future__ import annotations

import pyarrow as pa
from sqlalchemy.orm import Session

from support.migrations import NOW, Step, department, items, resource

STEP = Step("0002_security_sessions", "head", has="security_web_session", adds={"privacy_column_review"})

REPORT = {"source": "scenic", "rows": 2, "sampled_rows": 2, "proposed_grade": 3, "proposed_grade_label": "第3级",
          "sensitive_columns": ["地址"],
          "columns": [{"column": "名称", "entity": None, "confidence": 0.0, "evidence": ""},
                      {"column": "地址", "entity": "ADDRESS", "confidence": 0.9, "evidence": ""}]}
ROWS = [
    department(name="省文化和旅游厅"),
    resource(code="101001/000001", alias="scenic", name="A级景区", information_items=items("名称", "地址")),
    ("privacy_scan_report", {"id": 1, "resource_id": 1, "version": 1, "source": "scenic", "rows": 2,
                             "report": REPORT, "proposed_grade": 3, "created_by": "steward", "created_at": NOW}),
    ("privacy_policy", {"id": 1, "name": "101001-000001-open", "profile": "open",
                        "body": {"name": "101001-000001-open", "profile": "open"}, "revision": 1,
                        "created_by": "steward", "created_at": NOW, "updated_at": NOW}),
]


def test_upgrade_from_0002_keeps_privacy_data_and_records_reviews(db_url: str) -> None:
    from shudata.privacy.models import PrivacyColumnReview, PrivacyPolicy, PrivacyScanReport
    from shudata.privacy.review import apply_reviews, in_force

    with STEP.upgraded(db_url, ROWS) as engine:
        with Session(engine) as s, s.begin():
            report = s.get(PrivacyScanReport, 1)
            assert report is not None and report.report["columns"][1]["entity"] == "ADDRESS"
            assert s.get(PrivacyPolicy, 1) is not None
            s.add(PrivacyColumnReview(resource_id=1, column="地址", entity=None, detected="ADDRESS", reason="景区地址",
                                      reviewed_by="steward"))
        with Session(engine) as s:
            assert set(in_force(s, 1)) == {"地址"}
            findings = {"名称": None, "地址": "ADDRESS"}
            assert apply_reviews(s, 1, findings, lambda: pa.table({"地址": ["x"]}))["地址"] is None
        STEP.downgrade(engine, keeps={"privacy_scan_report", "catalog_resource"})
