"""PDF output for the market's documents (valuation reports, rights certificates) with reportlab.

Chinese is set in reportlab's built-in CID font ``STSong-Light`` (Adobe-GB1), which every PDF
reader supplies, so no font file ships with the platform. QR codes are drawn from ``segno``'s
module matrix as vector squares.
"""

from __future__ import annotations

import io
from collections.abc import Mapping, Sequence
from typing import Any

import segno
from reportlab.graphics.shapes import Drawing, Rect
from reportlab.lib import colors
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.cidfonts import UnicodeCIDFont
from reportlab.platypus import Flowable, Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle
from reportlab.platypus.flowables import KeepTogether

from shudata.market.valuation.report import ValuationReport

FONT = "STSong-Light"


def _font() -> str:
    if FONT not in pdfmetrics.getRegisteredFontNames():
        pdfmetrics.registerFont(UnicodeCIDFont(FONT))
    return FONT


def styles() -> dict[str, ParagraphStyle]:
    f = _font()
    base = ParagraphStyle("body", fontName=f, fontSize=10.5, leading=16, wordWrap="CJK")
    return {
        "title": ParagraphStyle("title", parent=base, fontSize=18, leading=26, alignment=1, spaceAfter=6),
        "h2": ParagraphStyle("h2", parent=base, fontSize=13, leading=20, spaceBefore=8, spaceAfter=4),
        "body": base,
        "small": ParagraphStyle("small", parent=base, fontSize=8.5, leading=12, textColor=colors.HexColor("#555555")),
        "cell": ParagraphStyle("cell", parent=base, fontSize=9, leading=13),
    }


def esc(text: object) -> str:
    return str(text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def table(rows: Sequence[Sequence[object]], widths: Sequence[float], *, header: bool = True) -> Table:
    st = styles()["cell"]
    data = [[Paragraph(esc(c), st) for c in row] for row in rows]
    t = Table(data, colWidths=list(widths), repeatRows=1 if header else 0)
    style: list[Any] = [("GRID", (0, 0), (-1, -1), 0.4, colors.HexColor("#999999")),
                        ("VALIGN", (0, 0), (-1, -1), "TOP")]
    if header:
        style.append(("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#eef2f7")))
    t.setStyle(TableStyle(style))
    return t


def qr_drawing(url: str, size: float = 32 * mm) -> Drawing:
    """The QR code of ``url`` (error correction M) as vector squares."""
    qr = segno.make(url, error="m", micro=False)
    matrix = [list(row) for row in qr.matrix]
    n = len(matrix) + 8  # 4-module quiet zone on each side
    cell = size / n
    d = Drawing(size, size)
    for y, row in enumerate(matrix):
        for x, dark in enumerate(row):
            if dark:
                d.add(Rect((x + 4) * cell, size - (y + 5) * cell, cell, cell, fillColor=colors.black,
                           strokeColor=None, strokeWidth=0))
    return d


def build(story: list[Flowable], *, title: str) -> bytes:
    buf = io.BytesIO()
    doc = SimpleDocTemplate(buf, pagesize=A4, title=title, author="蜀数 shudata 数据交易平台",
                            leftMargin=18 * mm, rightMargin=18 * mm, topMargin=16 * mm, bottomMargin=16 * mm)
    doc.build(story)
    return buf.getvalue()


def valuation_pdf(report: ValuationReport | Mapping[str, Any]) -> bytes:
    """The report (or its kept :meth:`~ValuationReport.as_dict` form) as a PDF (A4, Chinese):
    object, purpose, inputs and steps of each approach, assumptions, conclusion, advisory notice."""
    st = styles()
    d = report.as_dict() if isinstance(report, ValuationReport) else dict(report)
    width = A4[0] - 36 * mm
    story: list[Flowable] = [
        Paragraph("数据资产评估报告（参考）", st["title"]),
        Paragraph(esc(d["basis"]), st["small"]),
        Spacer(1, 4 * mm),
        table([["评估对象", d["product"]], ["评估目的", d["purpose"]], ["评估基准日", d["basis_date"]],
               ["质量评分", "—" if d["quality_score"] is None else f"{d['quality_score']:g}"],
               ["评估人", d["valuer"] or "—"], ["生成时间", d["generated_at"]],
               ["评估结论", f"{d['conclusion']['label']}：{d['conclusion']['value']} 元"]],
              [30 * mm, width - 30 * mm], header=False),
    ]
    for m in d["methods"]:
        rows: list[list[object]] = [["项目", "计算", "数值"]]
        rows += [[s["label"], s["formula"], s["value"]] for s in m["steps"]]
        story += [Paragraph(f"{esc(m['label'])}：{esc(m['value'])} 元", st["h2"]),
                  table(rows, [34 * mm, width - 64 * mm, 30 * mm])]
    story.append(Paragraph("评估假设", st["h2"]))
    story += [Paragraph(f"{i}. {esc(a)}", st["body"]) for i, a in enumerate(d["assumptions"], start=1)]
    if d["notes"]:
        story.append(Paragraph("提示", st["h2"]))
        story += [Paragraph(esc(n), st["body"]) for n in d["notes"]]
    story.append(KeepTogether([Paragraph("声明", st["h2"]), Paragraph(esc(d["advisory"]), st["body"])]))
    return build(story, title=f"数据资产评估报告 {d['product']}")
