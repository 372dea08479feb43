"""L5 orchestration across capabilities (ingest → check → version; scheduled pulls)."""
