"""Readers that turn uploaded files (CSV, XLS, XLSX, JSON, Parquet) into lake versions."""
