"""L1: SQLAlchemy 2 plumbing (no domain tables)."""
