"""C2 data lake: versioned, atomic Parquet storage of resource data and its ingestion."""
