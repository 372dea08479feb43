"""0002 → 0003 (privacy_column_review) on a store holding data: the resources, scan reports and
policies stay, reviews can be recorded and applied, and the downgrade removes only the new table."""

from __future__ import annotations

import pyarrow as pa
import sqlalchemy as sa
from sqlalchemy import MetaData, create_engine, inspect
from sqlalchemy.orm import Session

from shudata.db.migrate import downgrade, upgrade
from support.migrations import NOW
from support.migrations import old_row as _row


def _seed_0002(engine: sa.Engine) -> None:
    meta = MetaData()
    meta.reflect(engine)
    assert "privacy_column_review" not in meta.tables  # really the 0002 schema
    items = [{"name": c, "data_type": "C", "length": 50, "description": None} for c in ("名称", "地址")]
    with engine.begin() as conn:
        conn.execute(meta.tables["security_department"].insert().values(
            _row(meta.tables["security_department"], id=1, name="省文化和旅游厅", created_at=NOW)))
        conn.execute(meta.tables["catalog_resource"].insert().values(_row(
            meta.tables["catalog_resource"], id=1, code="101001/000001", alias="scenic", name="A级景区",
            provider_department_id=1, information_items=items, sharing_type=1, created_at=NOW, updated_at=NOW)))
        report = {"source": "scenic", "rows": 2, "sampled_rows": 2, "proposed_grade": 3,
                  "proposed_grade_label": "第3级", "sensitive_columns": ["地址"],
                  "columns": [{"column": "名称", "entity": None, "confidence": 0.0, "evidence": ""},
                              {"column": "地址", "entity": "ADDRESS", "confidence": 0.9, "evidence": ""}]}
        conn.execute(meta.tables["privacy_scan_report"].insert().values(_row(
            meta.tables["privacy_scan_report"], id=1, resource_id=1, version=1, source="scenic", rows=2, report=report,
            proposed_grade=3, created_by="steward", created_at=NOW)))
        conn.execute(meta.tables["privacy_policy"].insert().values(_row(
            meta.tables["privacy_policy"], id=1, name="101001-000001-open", profile="open",
            body={"name": "101001-000001-open", "profile": "open"}, revision=1, created_by="steward",
            created_at=NOW, updated_at=NOW)))


def test_upgrade_from_0002_keeps_privacy_data_and_records_reviews(db_url: str) -> None:
    from shudata.privacy.models import PrivacyColumnReview, PrivacyPolicy, PrivacyScanReport
    from shudata.privacy.review import apply_reviews, in_force

    engine = create_engine(db_url)
    downgrade(engine, "base")
    upgrade(engine, "0002_security_sessions")
    _seed_0002(engine)
    upgrade(engine)
    assert "privacy_column_review" in inspect(engine).get_table_names()
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
    downgrade(engine, "0002_security_sessions")
    names = set(inspect(engine).get_table_names())
    assert "privacy_column_review" not in names and {"privacy_scan_report", "catalog_resource"} <= names
    upgrade(engine)
    engine.dispose()
