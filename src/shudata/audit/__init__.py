"""Tamper-evident audit trail: append-only, SM3 hash-chained, verifiable by command."""
