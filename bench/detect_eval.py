"""Column-level precision and recall of sensitive-data detection on a labelled set.

The set: real files from ../shared/data (open-data XLS/XLSX and NBS CSVs in GBK and UTF-8,
read with the ingest readers; labels written by hand below) plus generated tables with
realistic noise — spaces and hyphens inside numbers, full-width digits, +86 prefixes,
nulls and junk values, headers without hints, names inside free text — and look-alikes that must *not* be
reported: IDs with wrong check digits, 18-digit serial numbers, phone-like serials,
amounts, categories, ordinary dates. Prints a table per column and JSON lines with
``detect.precision`` and ``detect.recall``. Usage: .venv/bin/python bench/detect_eval.py [--quick]
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
import pyarrow as pa

from shudata.privacy.detect.classify import scan_table
from shudata.privacy.readers import read_file
from shudata.privacy.synthdata import citizens
from shudata.standards.uscc import complete

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data"
REAL: dict[str, dict[str, str]] = {  # file -> labelled columns (others: nothing sensitive)
    "opendata/moe_higher_education_institutions_2017.xls": {},
    "opendata/sichuan_a_grade_scenic_areas.xlsx": {"地址": "ADDRESS", "经度": "GPS_COORDINATE",
                                                   "纬度": "GPS_COORDINATE"},
    "economy/nbs_national_annual_1978-2014/gdp.csv": {},
    "economy/nbs_national_annual_1978-2014/population.csv": {},
    "economy/nbs_province_annual_gbk/gdp_100m_yuan.csv": {},
    "economy/nbs_national_monthly/national_cpi_trade_2016-2020_gbk.csv": {},
}
FULL = str.maketrans("0123456789", "０１２３４５６７８９")


def noisy(values: list[str], rng: np.random.Generator, nulls: float, junk: float) -> list[str | None]:
    out: list[str | None] = []
    for v in values:
        r = rng.random()
        out.append(None if r < nulls else ("不详" if r < nulls + junk else v))
    return out


def generated(seed: int, n: int) -> tuple[pa.Table, dict[str, str]]:
    rng = np.random.default_rng(seed)
    base = citizens(n, seed=seed)
    ids = base.column("身份证号").to_pylist()
    phones = base.column("手机号").to_pylist()
    nul, junk = 0.05 * (seed % 3), 0.03 * (seed % 2)
    wrong = [v[:17] + str((int(v[17]) + 1) % 10 if v[17] != "X" else 0) for v in ids]
    cols: dict[str, list[str | None]] = {
        "身份证号": noisy(ids, rng, nul, junk),
        "证件号码": noisy([f"{v[:6]} {v[6:14]} {v[14:]}" for v in ids], rng, nul, junk),
        "zjhm": noisy([v.translate(FULL) for v in ids], rng, nul, junk),
        "col_7": noisy(ids, rng, nul, junk),  # no header hint at all
        "手机": noisy([f"{p[:3]}-{p[3:7]}-{p[7:]}" if i % 2 else f"+86{p}" for i, p in enumerate(phones)], rng, nul,
                    junk),
        "银行账号": noisy(base.column("银行卡号").to_pylist(), rng, nul, junk),
        "姓名": noisy(base.column("姓名").to_pylist(), rng, nul, junk),
        "住址": noisy(base.column("地址").to_pylist(), rng, nul, junk),
        "出生日期": noisy([str(d) for d in base.column("出生日期").to_pylist()], rng, nul, junk),
        "邮箱": noisy([f"user{i}@{'qq' if i % 2 else '163'}.com" for i in range(n)], rng, nul, junk),
        "车牌号": noisy([f"川A{rng.integers(10000, 99999)}" for _ in range(n)], rng, nul, junk),
        "登录IP": noisy([f"10.{rng.integers(0, 255)}.{rng.integers(0, 255)}.{rng.integers(1, 255)}"
                       for _ in range(n)], rng, nul, junk),
        "统一社会信用代码": noisy([complete(f"91510100MA{rng.integers(1000000, 9999999)}") for _ in range(n)],
                          rng, nul, junk),
        "col_9": noisy(base.column("姓名").to_pylist(), rng, nul, junk),  # names, no header hint
        "col_11": noisy(base.column("地址").to_pylist(), rng, nul, junk),  # addresses, no header hint
        "旧证号": noisy([v[:6] + v[8:17] for v in ids], rng, nul, junk),  # legacy 15-digit IDs
        "备注": [f"客户来电{p}咨询办证进度" if i % 3 == 0 else "材料齐全，已办结" for i, p in enumerate(phones)],
        "来电记录": [f"{nm}来电咨询社保关系转移，已告知所需材料" if i % 2 else "来电咨询医保报销政策，已解答"
                 for i, nm in enumerate(base.column("姓名").to_pylist())],  # names in free text (jieba)
        "处理意见": [["材料齐全，同意办理", "资料不全，请补充营业执照复印件", "已电话回访，群众表示满意"][i % 3]
                 for i in range(n)],  # free text without personal data
        # look-alikes: nothing sensitive
        "订单号": wrong, "流水号": [f"{rng.integers(10**17, 10**18 - 1)}" for _ in range(n)],
        "受理编号": [str(19900000000 + i) for i in range(n)], "金额": [f"{x:.2f}" for x in rng.uniform(0, 1e4, n)],
        "类别": [["户籍", "社保", "医保", "公积金"][i % 4] for i in range(n)],
        "办结日期": [f"2024-0{1 + i % 9}-1{i % 9}" for i in range(n)],
        "城市": [["成都", "绵阳", "德阳", "宜宾"][i % 4] for i in range(n)],
    }
    labels = {"身份证号": "CN_RESIDENT_ID", "证件号码": "CN_RESIDENT_ID", "zjhm": "CN_RESIDENT_ID",
              "col_7": "CN_RESIDENT_ID", "手机": "CN_MOBILE", "银行账号": "BANK_CARD", "姓名": "PERSON_NAME",
              "住址": "ADDRESS", "出生日期": "DATE_OF_BIRTH", "邮箱": "EMAIL", "车牌号": "CN_LICENSE_PLATE",
              "登录IP": "IP_ADDRESS", "统一社会信用代码": "CN_USCC", "备注": "CN_MOBILE", "来电记录": "PERSON_NAME",
              "col_9": "PERSON_NAME", "col_11": "ADDRESS", "旧证号": "CN_RESIDENT_ID"}
    return pa.table(cols), labels


def evaluate(quick: bool) -> dict[str, float]:
    tp = fp = fn = 0
    rows = []
    cases: list[tuple[str, pa.Table, dict[str, str]]] = []
    for rel, labels in REAL.items():
        path = SHARED / rel
        if path.exists():
            cases.append((rel, read_file(path, as_text=True), labels))
    for seed in range(1, 3 if quick else 7):
        table, labels = generated(seed, 300)
        cases.append((f"generated#{seed}", table, labels))
    for name, table, labels in cases:
        rep = scan_table(table, source=name)
        for c in rep.columns:
            truth, got = labels.get(c.column), c.entity
            ok = truth == got
            tp += ok and truth is not None
            fp += got is not None and not ok
            fn += truth is not None and not ok
            if not ok:
                rows.append(f"  MISS {name} {c.column}: label {truth}, detected {got} ({c.evidence[:60]})")
    print("\n".join(rows) or "  every column right")
    return {"precision": tp / max(tp + fp, 1), "recall": tp / max(tp + fn, 1), "tp": tp, "fp": fp, "fn": fn,
            "files": len(cases)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--quick", action="store_true")
    res = evaluate(ap.parse_args().quick)
    print(f"{res['files']} tables: TP {res['tp']}, FP {res['fp']}, FN {res['fn']}")
    for k in ("precision", "recall"):
        print(json.dumps({"figure": f"detect.{k}", "value": round(res[k], 4), "target": None, "unit": "ratio"}))


if __name__ == "__main__":
    main()
