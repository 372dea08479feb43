"""Contracts (数据交易合同): generated from a Chinese template, signed with SM2 by the buyer, the
seller and the exchange, exported as one self-contained file that anyone can verify.

The **document** is ``number``, ``terms`` (parties with their 统一社会信用代码, product, version,
用途, term, territory, no onward transfer, price, delivery mode, acceptance, liability) and the
rendered ``text``; its **digest** is SM3 over the canonical JSON of those three (sorted keys, no
spaces, UTF-8). The buyer and the seller each sign ``digest``. The exchange signs ``digest`` bound
to the two parties' public keys (``digest|buyer key|seller key``), so it vouches for which key is
whose: a file whose party keys were swapped fails the exchange's signature.

The file (``shudata-market-contract/1``, JSON) carries the document, the digest and the three
signatures with their public keys; :func:`verify_document` checks all of them (and, when given,
that the exchange key is the expected one). ``shudata market verify-contract FILE`` runs it.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass, field
from string import Template
from typing import Any

from shudata.security.crypto import sm2
from shudata.security.crypto.sm3 import sm3_hex

FORMAT = "shudata-market-contract/1"
PARTIES = ("buyer", "seller", "exchange")
PARTY_LABELS = {"buyer": "买方（需方）", "seller": "卖方（供方）", "exchange": "交易所"}

TEMPLATE = Template("""数据交易合同

合同编号：$number

买方（需方）：$buyer_name（统一社会信用代码：$buyer_uscc）
卖方（供方）：$seller_name（统一社会信用代码：$seller_uscc）
交易场所：$exchange_name

第一条 交易标的
卖方向买方提供数据产品“$product_name”（产品编号 $product_code），数据来源为：$sources。
交付的数据均按“$masking_profile”脱敏策略处理，经隐私闸门检查。

第二条 用途与范围
买方仅可将数据用于：$purpose。
使用地域：$territory。使用期限：自交付之日起 $term_days 日。
买方不得向任何第三方转让、转售、转授权或以其他方式提供本数据及其衍生数据（禁止二次转让）。

第三条 价款与支付
价格方案：$plan_name（$plan_kind）。合同价款：人民币 $price_yuan 元。
买方应在合同签署后 $sign_days 日内将价款付入交易所托管账户；逾期未付，本合同失效。
交易所在买方验收后结算：交易所服务费为成交价的 $exchange_fee_pct%$broker_clause，余款付卖方。

第四条 交付方式
交付方式：$delivery_mode。离线文件带有买方专属的数字指纹，可据以追溯泄露来源。

第五条 验收
买方应在交付后 $accept_days 个工作日内验收；期满未提出书面异议的，视为验收合格。
买方对交付有异议的，可向交易所提出争议，由交易所调查处理；争议成立的，托管价款退还买方。

第六条 责任
卖方保证对交易数据享有合法的处理权利（$rights），数据来源合法，已取得必要的授权。
买方违反用途、范围或禁止转让约定的，应承担违约责任，交易所可暂停或撤销其交易资格。
任何一方违约给对方造成损失的，应予赔偿。

第七条 其他
本合同由买方、卖方和交易所以 SM2 数字签名签署，签名覆盖合同全文的 SM3 摘要，三方签名齐备时生效。
""")


def canonical(number: str, terms: dict[str, Any], text: str) -> bytes:
    return json.dumps({"number": number, "terms": terms, "text": text}, ensure_ascii=False, sort_keys=True,
                      separators=(",", ":")).encode("utf-8")


def digest_of(number: str, terms: dict[str, Any], text: str) -> str:
    return sm3_hex(canonical(number, terms, text))


def signed_message(party: str, digest: str, keys: dict[str, str]) -> bytes:
    """What ``party`` signs: the digest; the exchange binds the parties' keys to it."""
    if party == "exchange":
        return f"{digest}|{keys.get('buyer', '')}|{keys.get('seller', '')}".encode()
    return digest.encode()


def render(number: str, terms: dict[str, Any]) -> str:
    broker = terms.get("broker")
    broker_clause = (f"，数商（{broker['name']}）服务费为成交价的 {terms['broker_fee_bp'] / 100:g}%"
                     if broker else "")
    return TEMPLATE.substitute(
        number=number, buyer_name=terms["buyer"]["name"], buyer_uscc=terms["buyer"]["uscc"],
        seller_name=terms["seller"]["name"], seller_uscc=terms["seller"]["uscc"], exchange_name=terms["exchange"],
        product_name=terms["product"]["name"], product_code=terms["product"]["code"],
        sources="；".join(f"{s['name']}（{s['resource']}，第 {s['version']} 版）" for s in terms["product"]["sources"]),
        masking_profile=terms["masking_profile"], purpose=terms["purpose"], territory=terms["territory"],
        term_days=terms["term_days"], plan_name=terms["plan"]["name"], plan_kind=terms["plan"]["kind_label"],
        price_yuan=f"{terms['price_fen'] / 100:,.2f}", sign_days=terms["sign_days"],
        exchange_fee_pct=f"{terms['exchange_fee_bp'] / 100:g}", broker_clause=broker_clause,
        delivery_mode=terms["delivery_mode_label"], accept_days=terms["accept_days"],
        rights="、".join(terms["rights"]) or "未声明")


def document(number: str, terms: dict[str, Any], text: str, signatures: list[dict[str, str]],
             valid_until: dt.datetime) -> dict[str, Any]:
    """The self-contained contract file's content."""
    return {"format": FORMAT, "number": number, "terms": terms, "text": text,
            "digest": digest_of(number, terms, text), "valid_until": valid_until.isoformat(),
            "signatures": signatures}


@dataclass
class Verification:
    ok: bool
    number: str | None = None
    digest_ok: bool = False
    parties: dict[str, bool] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)


def verify_document(doc: Any, *, exchange_key: str | None = None) -> Verification:
    """Check a contract file: format, digest, and the buyer's, seller's and exchange's signatures."""
    if not isinstance(doc, dict) or doc.get("format") != FORMAT:
        return Verification(False, problems=["不是 shudata 数据交易合同文件"])
    number, terms, text = doc.get("number"), doc.get("terms"), doc.get("text")
    if not isinstance(number, str) or not isinstance(terms, dict) or not isinstance(text, str):
        return Verification(False, problems=["合同文件缺少编号、条款或正文"])
    out = Verification(False, number=number)
    digest = digest_of(number, terms, text)
    out.digest_ok = digest == doc.get("digest")
    if not out.digest_ok:
        out.problems.append("合同内容与摘要不符（文件被改动过）")
    sigs = {s.get("party"): s for s in doc.get("signatures", []) if isinstance(s, dict)}
    keys = {p: str(sigs[p].get("public_key", "")) for p in ("buyer", "seller") if p in sigs}
    for party in PARTIES:
        s = sigs.get(party)
        if s is None:
            out.parties[party] = False
            out.problems.append(f"缺少{PARTY_LABELS[party]}的签名")
            continue
        try:
            good = sm2.verify(str(s.get("public_key", "")), signed_message(party, digest, keys),
                              str(s.get("signature", "")))
        except (ValueError, TypeError):
            good = False
        out.parties[party] = good
        if not good:
            out.problems.append(f"{PARTY_LABELS[party]}的签名无效")
    if exchange_key is not None and "exchange" in sigs and sigs["exchange"].get("public_key") != exchange_key:
        out.parties["exchange"] = False
        out.problems.append("交易所签名所用的公钥不是本交易所的公钥")
    out.ok = out.digest_ok and all(out.parties.get(p) for p in PARTIES)
    return out
