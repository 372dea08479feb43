"""Data trading (数据交易): qualified participants, listed products and price plans, orders with
SM2-signed contracts and double-entry escrow settlement; delivery, ledger and rights in subpackages."""
