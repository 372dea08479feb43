"""C3 query engine: the SQL sandbox over lake versions (DuckDB in-process; Spark later)."""
