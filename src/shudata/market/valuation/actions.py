"""Actions of data asset valuation (数据资产评估)."""

from __future__ import annotations

from shudata.core.types import Role
from shudata.security.authz import Action

# The seller of the product (checked in the service), a 数据评估服务商 member, or the exchange.
VALUATION_CREATE = Action("market.valuation.create", "评估数据产品价值", "value a data product",
                          roles=frozenset({Role.MARKET_MEMBER, Role.DATA_STEWARD, Role.MARKET_OPERATOR}), admin=False)
# Any product, not only the actor's own participant's: the exchange.
VALUATION_ANY = Action("market.valuation.any", "评估任一数据产品", "value any data product",
                       roles=frozenset({Role.MARKET_OPERATOR}), admin=False)
# A listed product's valuation is shown beside its price, to anyone (it is advisory).
VALUATION_VIEW = Action("market.valuation.view", "查看数据产品的评估报告", "view a product's valuation report",
                        scope="public")

ACTIONS = (VALUATION_CREATE, VALUATION_ANY, VALUATION_VIEW)
