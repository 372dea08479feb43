"""The open Delta Sharing protocol (parquet response format) over grants."""
