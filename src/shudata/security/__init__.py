"""Accounts, departments, roles, tokens, authorization and classification (C10)."""
