"""The registration certificate (数据权益登记证书) as a PDF: what the exchange signed, its SM2
signature and a QR code to the public verification page."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from reportlab.lib.pagesizes import A4
from reportlab.lib.units import mm
from reportlab.platypus import Flowable, Paragraph, Spacer, Table, TableStyle

from shudata.market.valuation.pdf import build, esc, qr_drawing, styles, table

VERIFY_PATH = "/market/rights/certificates/"


def verify_url(base_url: str, number: str) -> str:
    """The public verification page of certificate ``number`` (what the QR code holds)."""
    return f"{base_url.rstrip('/')}{VERIFY_PATH}{quote(number)}"


def _party(p: dict[str, str] | None) -> str:
    return f"{p['name']}（统一社会信用代码 {p['uscc']}）" if p else "—"


def rows(content: dict[str, Any]) -> list[list[object]]:
    """The certificate's fields as (label, value) rows — shared by the PDF and the public page."""
    out: list[list[object]] = [
        ["证书编号", content["number"]], ["登记类型", content["type_label"]], ["权利类型", content["right_label"]],
        ["权利人", _party(content.get("holder"))],
    ]
    if content.get("licensor"):
        out.append(["许可方 / 转让方", _party(content["licensor"])])
    out += [["登记对象", content["subject"]], ["数据产品", content.get("product") or "—"]]
    if content.get("scope"):
        out.append(["权利范围", content["scope"]])
    validity = " 至 ".join(v or "长期" for v in (content.get("valid_from"), content.get("valid_until")))
    out += [["有效期", validity if content.get("valid_from") else "自登记之日起"],
            ["公示期", " 至 ".join(v or "—" for v in content.get("notice") or ["—", "—"])]]
    if content.get("replaces"):
        out.append(["取代证书", content["replaces"]])
    if content.get("under"):
        out.append(["所依据的证书", content["under"]])
    out += [["登记申请号", content["registration"]], ["发证时间", content.get("issued_at") or "—"],
            ["登记机构", content["issuer"]]]
    return out


def certificate_pdf(content: dict[str, Any], *, signature: str, public_key: str, url: str) -> bytes:
    st = styles()
    width = A4[0] - 36 * mm
    qr = Table([[qr_drawing(url), Paragraph(f"扫描二维码或访问下列地址查验本证书：<br/>{esc(url)}", st["small"])]],
               colWidths=[36 * mm, width - 36 * mm])
    qr.setStyle(TableStyle([("VALIGN", (0, 0), (-1, -1), "MIDDLE")]))
    story: list[Flowable] = [
        Paragraph("数据权益登记证书", st["title"]),
        Paragraph(f"依据《关于构建数据基础制度更好发挥数据要素作用的意见》，经合规审查及公示，{esc(content['issuer'])}"
                  f"对下列数据权益予以登记。", st["body"]),
        Spacer(1, 4 * mm),
        table(rows(content), [34 * mm, width - 34 * mm], header=False),
        Spacer(1, 5 * mm),
        qr,
        Spacer(1, 3 * mm),
        Paragraph("交易所 SM2 签名（对证书内容的规范 JSON，GB/T 32918，SM3 摘要）：", st["small"]),
        Paragraph(esc(signature), st["small"]),
        Paragraph(f"签名公钥：{esc(public_key)}", st["small"]),
        Paragraph("证书状态以公开查验页为准：注销、撤销或被转移 / 变更登记取代的证书不再有效。", st["small"]),
    ]
    return build(story, title=f"数据权益登记证书 {content['number']}")
