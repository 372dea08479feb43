"""Engines behind one protocol. Only this package imports duckdb (and, lazily, pyspark)."""
