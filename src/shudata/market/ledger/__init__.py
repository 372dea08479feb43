"""存证账本 / the market ledger: every market event appended to an SM3 hash chain whose head is
signed by the exchange with SM2 at checkpoints (every ``market_ledger_checkpoint_every`` entries)."""
