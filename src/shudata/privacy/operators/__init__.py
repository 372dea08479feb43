"""Masking operators: one module per operator, each a typed frozen spec with ``compile()``."""
