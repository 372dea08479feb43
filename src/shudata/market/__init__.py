"""C8 数据交易 (data trading): qualified participants, listed products, orders, SM2 contracts, escrow.

Participants and the operator's reviews (:mod:`.participants`), products, listing review and price
plans (:mod:`.products`, :mod:`.plans`), orders (:mod:`.orders`, states in :mod:`.states`), contracts
signed with SM2 (:mod:`.contracts`) and double-entry settlement (:mod:`.settlement`); delivery, the
ledger, valuation and rights registration live in the subpackages of the same names.
"""
