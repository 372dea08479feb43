"""Actions of the market package (交易主体, 数据产品, 订单, 合同, 结算).

Who acts for a participant: its member accounts (role ``market_member``, linked by
``market_member``) and, for a department selling public data under 授权运营, that department's
data stewards. The services resolve this and pass the target as a ``resource``-scoped reference
owned by the actor when they act for the participant that owns it (``participants.participant_ref``),
so the scope check stays here and is the same for API, pages and CLI. The platform admin does
not trade for a company (``admin=False``); the exchange operator reviews, the regulator reads.
"""

from __future__ import annotations

from shudata.core.types import Role
from shudata.security.authz import Action

OPERATOR = frozenset({Role.MARKET_OPERATOR})
OVERSIGHT = frozenset({Role.MARKET_OPERATOR, Role.REGULATOR})
TRADERS = frozenset({Role.MARKET_MEMBER, Role.DATA_STEWARD})

# Anyone may apply to become a participant (an enterprise signs up with its first account).
PARTICIPANT_REGISTER = Action("market.participant.register", "登记交易主体", "register a market participant",
                              scope="public")
PARTICIPANT_REVIEW = Action("market.participant.review", "审核交易主体（通过、不通过、暂停、撤销、评级）",
                            "review market participants (approve, refuse, suspend, revoke, grade)", roles=OPERATOR,
                            admin=False)
PARTICIPANT_VIEW_ALL = Action("market.participant.view.all", "查看全部交易主体及其资质文件",
                              "view every market participant and its documents", roles=OVERSIGHT, admin=False)
# Act for a participant: its documents, products, plans, orders, contract signatures.
PARTICIPANT_ACT = Action("market.participant.act", "代表本交易主体办理交易业务", "act for one's own market participant",
                         roles=TRADERS, scope="resource", admin=False)
PRODUCT_BROWSE = Action("market.product.browse", "浏览已挂牌的数据产品", "browse listed data products", scope="public")
PRODUCT_REVIEW = Action("market.product.review", "审核数据产品挂牌、摘牌", "review data product listings and de-list",
                        roles=OPERATOR, admin=False)
ORDER_VIEW_ALL = Action("market.order.view.all", "查看全部订单、合同与结算",
                        "view every order, contract and settlement", roles=OVERSIGHT, admin=False)
ORDER_ARBITRATE = Action("market.order.arbitrate", "处理交易争议、确认托管资金、结算",
                         "arbitrate disputes, confirm escrow, settle", roles=OPERATOR, admin=False)

# The registry's input (gathered by ``shudata.permissions``): every action above, once.
ACTIONS = (PARTICIPANT_REGISTER, PARTICIPANT_REVIEW, PARTICIPANT_VIEW_ALL, PARTICIPANT_ACT, PRODUCT_BROWSE,
           PRODUCT_REVIEW, ORDER_VIEW_ALL, ORDER_ARBITRATE)
