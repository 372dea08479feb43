"""Column-level precision and recall of sensitive-data detection, per entity type and overall.

The labelled set:

* every real table of ../shared/data (economy, opendata, regions, environment, transport,
  disaster, public_services), read with the ingest readers, each column labelled by hand
  in ``tests/data/detect/labels.yaml`` (entity type or ``none``; a file the readers cannot
  read is listed there as skipped). When ../shared is absent, the copies kept in the repo
  (``tests/data/detect/real``, ``tests/data/ingest/real``) are used;
* generated personal tables (:func:`shudata.privacy.synthdata.citizens`) with realistic
  noise — spaces and hyphens inside numbers, full-width digits, +86 prefixes, nulls and junk
  values, headers without hints, names inside free text — and look-alikes that must *not*
  be reported: IDs with wrong check digits, 18-digit serial numbers, phone-like serials,
  amounts, categories, ordinary dates;
* generated enterprise registers (:func:`shudata.privacy.synthorgs.enterprises`): company
  names (some holding the owner's name), business scopes, legal representatives; delivery orders
  (a mobile and an address, no name column; notes naming the addressee in a fifth of the rows);
  individual businesses (a trade name holding the owner's name, the owner's name and ID, the place
  of business).

Detection runs as in production (:func:`~shudata.privacy.detect.classify.scan_table`: the table
context decides whether an address or coordinate is personal). The overall figures count a
column as right when its personal entity type is right (an organisation name and ``none`` are
both "not personal"); per entity, ORGANIZATION is reported too.

Prints the misses, a table per entity and JSON lines ``detect.column_precision`` (target 0.97),
``detect.column_recall`` (target 0.98) and ``detect.column_precision.<ENTITY>`` / ``…recall.<ENTITY>``.
Usage: .venv/bin/python bench/detect_eval.py [--quick]
"""

from __future__ import annotations

import argparse
import json
import time
from collections import Counter
from pathlib import Path

import numpy as np
import pyarrow as pa
import yaml

from shudata.privacy.detect.classify import scan_table
from shudata.privacy.readers import read_file
from shudata.privacy.synthdata import citizens
from shudata.privacy.synthorgs import enterprises
from shudata.standards.uscc import complete

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared" / "data"
LABELS = ROOT / "tests" / "data" / "detect" / "labels.yaml"
COPIES = (ROOT / "tests" / "data" / "detect" / "real", ROOT / "tests" / "data" / "ingest" / "real")
NOT_PERSONAL = frozenset({"ORGANIZATION"})
TARGETS = {"precision": 0.97, "recall": 0.98}
FULL = str.maketrans("0123456789", "０１２３４５６７８９")
Labels = dict[str, str | None]


def load_labels(path: Path = LABELS) -> tuple[dict[str, Labels], dict[str, str]]:
    """(file or glob → column → entity or None, skipped file → reason)."""
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    files = {k: {str(c): (None if e in (None, "none") else str(e)) for c, e in cols.items()}
             for k, cols in data["files"].items()}
    return files, dict(data.get("skipped") or {})


def real_files(key: str) -> list[Path]:
    """The files a label key names: under ../shared/data when present, else the repo's copies."""
    if SHARED.is_dir():
        return sorted(SHARED.glob(key))
    name = Path(key).name
    return sorted({p for d in COPIES for p in d.glob(name)})


def real_cases() -> list[tuple[str, pa.Table, Labels]]:
    files, _ = load_labels()
    out = []
    for key, labels in files.items():
        for path in real_files(key):
            table = read_file(path, as_text=True)
            unlabelled = set(table.column_names) - set(labels)
            if unlabelled:
                raise SystemExit(f"{path}: columns without a label in {LABELS.name}: {sorted(unlabelled)}")
            out.append((str(path.relative_to(SHARED) if SHARED in path.parents else path.name), table, labels))
    return out


def noisy(values: list[str], rng: np.random.Generator, nulls: float, junk: float) -> list[str | None]:
    out: list[str | None] = []
    for v in values:
        r = rng.random()
        out.append(None if r < nulls else ("不详" if r < nulls + junk else v))
    return out


def generated(seed: int, n: int) -> tuple[pa.Table, Labels]:
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
    labels: Labels = {c: None for c in cols}
    labels.update({"身份证号": "CN_RESIDENT_ID", "证件号码": "CN_RESIDENT_ID", "zjhm": "CN_RESIDENT_ID",
                   "col_7": "CN_RESIDENT_ID", "手机": "CN_MOBILE", "银行账号": "BANK_CARD", "姓名": "PERSON_NAME",
                   "住址": "ADDRESS", "出生日期": "DATE_OF_BIRTH", "邮箱": "EMAIL", "车牌号": "CN_LICENSE_PLATE",
                   "登录IP": "IP_ADDRESS", "统一社会信用代码": "CN_USCC", "备注": "CN_MOBILE",
                   "来电记录": "PERSON_NAME", "col_9": "PERSON_NAME", "col_11": "ADDRESS", "旧证号": "CN_RESIDENT_ID"})
    return pa.table(cols), labels


# An enterprise register is about enterprises: the domicile is the company's, the legal
# representative is a person; company names holding an owner's name and business scopes are not.
ENTERPRISE_LABELS: Labels = {"企业名称": "ORGANIZATION", "经营范围": None, "法定代表人": "PERSON_NAME", "住所": None,
                             "注册资金": None, "统一社会信用代码": "CN_USCC", "企业类型": None}


def orders(seed: int, n: int) -> tuple[pa.Table, Labels]:
    """Delivery orders: no name column — a mobile says the rows are about persons — and notes that
    name the addressee next to a person word only now and then."""
    rng = np.random.default_rng(seed)
    base = citizens(n, seed=seed + 100)
    names = base.column("姓名").to_pylist()
    notes = [f"请联系{nm}先生，放门卫" if i % 5 == 0 else ["放快递柜", "工作日送货", "送货前电话联系"][i % 3]
             for i, nm in enumerate(names)]
    table = pa.table({"订单号": [f"DD{rng.integers(10**11, 10**12)}" for _ in range(n)],
                      "收货手机": base.column("手机号"), "收货地址": base.column("地址"), "订单备注": notes,
                      "金额": [f"{x:.2f}" for x in rng.uniform(5, 500, n)]})
    return table, {"订单号": None, "收货手机": "CN_MOBILE", "收货地址": "ADDRESS", "订单备注": "PERSON_NAME",
                   "金额": None}


def individual_businesses(seed: int, n: int) -> tuple[pa.Table, Labels]:
    """个体工商户: a trade name (an organisation) run by a person identified by ID number, so the
    place of business is the person's address."""
    base = citizens(n, seed=seed + 200)
    names = base.column("姓名").to_pylist()
    shops = [f"{nm}{['副食店', '理发店', '五金经营部', '小吃店'][i % 4]}" for i, nm in enumerate(names)]
    table = pa.table({"字号名称": shops, "经营者": names, "经营者身份证号": base.column("身份证号"),
                      "经营场所": base.column("地址")})
    return table, {"字号名称": "ORGANIZATION", "经营者": "PERSON_NAME", "经营者身份证号": "CN_RESIDENT_ID",
                   "经营场所": "ADDRESS"}


EMPLOYERS = ("四川蜀道建设有限公司", "成都天府软件园有限公司", "四川省人民医院", "成都市第七中学",
             "绵阳市涪城区供销合作社", "宜宾五粮液股份有限公司")


def employees(seed: int, n: int) -> tuple[pa.Table, Labels]:
    """An employee list: a few employers repeat beside names that differ, so the rows are about the
    employees — their plain 地址 is personal, the employer's name is their attribute (not personal)."""
    base = citizens(n, seed=seed + 300)
    posts = [["会计", "工程师", "护士", "教师"][i % 4] for i in range(n)]
    table = pa.table({"姓名": base.column("姓名"), "工作单位": [EMPLOYERS[i % len(EMPLOYERS)] for i in range(n)],
                      "地址": base.column("地址"), "岗位": posts})
    return table, {"姓名": "PERSON_NAME", "工作单位": None, "地址": "ADDRESS", "岗位": None}


def generated_cases(quick: bool) -> list[tuple[str, pa.Table, Labels]]:
    seeds = range(1, 3 if quick else 7)
    out = [(f"citizens#{s}", *generated(s, 300)) for s in seeds]
    out += [(f"enterprises#{s}", enterprises(400, seed=s), ENTERPRISE_LABELS) for s in seeds]
    out += [(f"orders#{s}", *orders(s, 300)) for s in seeds]
    out += [(f"individual_businesses#{s}", *individual_businesses(s, 300)) for s in seeds]
    out += [(f"employees#{s}", *employees(s, 300)) for s in seeds]
    return out


def personal(entity: str | None) -> str | None:
    return None if entity in NOT_PERSONAL else entity


def evaluate(quick: bool) -> dict[str, object]:
    per: dict[str, Counter[str]] = {}
    overall: Counter[str] = Counter()
    misses = []
    cases = real_cases() + generated_cases(quick)
    for name, table, labels in cases:
        for c in scan_table(table, source=name).columns:
            truth, got = labels.get(c.column), c.entity
            for ent in {truth, got} - {None}:
                assert ent is not None
                cnt = per.setdefault(ent, Counter())
                cnt["tp" if truth == got else ("fp" if got == ent else "fn")] += 1
            t, g = personal(truth), personal(got)
            overall["tp"] += t is not None and t == g
            overall["fp"] += g is not None and t != g
            overall["fn"] += t is not None and t != g
            overall["tn"] += t is None and g is None
            if truth != got:
                misses.append(f"  MISS {name} {c.column}: label {truth}, detected {got} ({c.evidence[:70]})")
    return {"per": per, "overall": overall, "misses": misses, "tables": len(cases)}


def ratio(num: int, den: int) -> float:
    return round(num / den, 4) if den else 1.0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--quick", action="store_true", help="fewer generated tables (real tables all)")
    t0 = time.perf_counter()
    res = evaluate(ap.parse_args().quick)
    _, skipped = load_labels()
    print("\n".join(res["misses"]) or "  every column right")  # type: ignore[arg-type]
    for path, why in skipped.items():
        print(f"  skipped {path}: {why}")
    per: dict[str, Counter[str]] = res["per"]  # type: ignore[assignment]
    o: Counter[str] = res["overall"]  # type: ignore[assignment]
    print(f"{res['tables']} tables in {time.perf_counter() - t0:.1f} s; personal columns: TP {o['tp']}, FP {o['fp']}, "
          f"FN {o['fn']}, TN {o['tn']}")
    print(f"{'entity':<18}{'TP':>5}{'FP':>5}{'FN':>5}{'precision':>11}{'recall':>8}")
    for ent in sorted(per):
        c = per[ent]
        print(f"{ent:<18}{c['tp']:>5}{c['fp']:>5}{c['fn']:>5}{ratio(c['tp'], c['tp'] + c['fp']):>11}"
              f"{ratio(c['tp'], c['tp'] + c['fn']):>8}")
    figures = {"precision": ratio(o["tp"], o["tp"] + o["fp"]), "recall": ratio(o["tp"], o["tp"] + o["fn"])}
    for k, v in figures.items():
        print(json.dumps({"figure": f"detect.column_{k}", "value": v, "target": TARGETS[k], "unit": "ratio"}))
    for ent in sorted(per):
        c = per[ent]
        for k, v in (("precision", ratio(c["tp"], c["tp"] + c["fp"])), ("recall", ratio(c["tp"], c["tp"] + c["fn"]))):
            print(json.dumps({"figure": f"detect.column_{k}.{ent}", "value": v, "target": None, "unit": "ratio"}))


if __name__ == "__main__":
    main()
