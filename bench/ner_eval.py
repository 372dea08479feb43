"""Person-name precision and recall of the free-text detector on public Chinese NER corpora.

RESEARCH USE ONLY. The corpora under ../shared/data/ner (CLUENER2020 dev, Weibo NER dev+test,
the first 1000 MSRA NER test sentences; see their PROVENANCE.md) have research-only or
unclear licences: this script reads them in place for internal evaluation, never copies
them, and prints only counts and figures (no corpus text unless ``--show`` is given for
local error analysis). When ../shared is absent it says so and exits 0.

The detector is :func:`shudata.privacy.detect.names.person_names` (jieba's ``nr`` tags
checked against the surname table), i.e. what free-text columns are scanned with.
Measured per corpus:

* mentions: predicted names vs labelled person-name mentions in the same text (multiset
  match of the strings); recall also over the labelled names the detector is built for,
  2–4 Chinese characters starting with a surname in the table ("Chinese names");
* texts: does a text contain a person name (what column classification needs).

Weibo's nominal person mentions (PER.NOM, e.g. 老师) are not names and are not counted.

Usage: .venv/bin/python bench/ner_eval.py [--quick] [--limit N] [--show K]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

from shudata.privacy.detect.names import person_names
from shudata.privacy.detect.validators import surnames

NER = Path(__file__).resolve().parents[2] / "shared" / "data" / "ner"
Sample = tuple[str, list[str]]  # text, labelled person-name mentions


def _bio_mentions(chars: list[str], tags: list[str], label: str) -> list[str]:
    out, cur = [], ""
    for ch, tag in zip(chars, tags, strict=True):
        if tag == f"B-{label}":
            if cur:
                out.append(cur)
            cur = ch
        elif tag == f"I-{label}" and cur:
            cur += ch
        else:
            if cur:
                out.append(cur)
            cur = ""
    if cur:
        out.append(cur)
    return out


def cluener(path: Path) -> Iterator[Sample]:
    for line in path.read_text(encoding="utf-8").splitlines():
        rec = json.loads(line)
        names = rec.get("label", {}).get("name", {})
        yield rec["text"], [n for n, spans in names.items() for _ in spans]


def weibo(path: Path) -> Iterator[Sample]:
    chars: list[str] = []
    tags: list[str] = []
    for line in [*path.read_text(encoding="utf-8").splitlines(), ""]:
        if not line.strip():
            if chars:
                yield "".join(chars), _bio_mentions(chars, tags, "PER.NAM")
            chars, tags = [], []
            continue
        token, tag = line.rsplit("\t", 1)
        chars.append(token[:-1])  # "<char><position in jieba word>"
        tags.append(tag)


def msra(sentences: Path, tags: Path) -> Iterator[Sample]:
    for s, t in zip(sentences.read_text(encoding="utf-8").splitlines(),
                    tags.read_text(encoding="utf-8").splitlines(), strict=True):
        chars, labels = s.split(" "), t.split(" ")
        yield "".join(chars), _bio_mentions(chars, labels, "PER")


def corpora() -> dict[str, list[Sample]]:
    return {
        "cluener2020_dev": list(cluener(NER / "cluener2020_dev.jsonl")),
        "weibo_ner_dev_test": [*weibo(NER / "weibo_ner_2nd_conll.dev"), *weibo(NER / "weibo_ner_2nd_conll.test")],
        "msra_test_first1000": list(msra(NER / "msra_ner_test_first1000.sentences.txt",
                                         NER / "msra_ner_test_first1000.tags.txt")),
    }


def chinese_name(name: str) -> bool:
    single, compound = surnames()
    return 2 <= len(name) <= 4 and all("\u4e00" <= c <= "\u9fff" or c == "·" for c in name) and (
        name[0] in single or name[:2] in compound)


def evaluate(samples: list[Sample], show: int = 0) -> dict[str, float]:
    tp = fp = fn = fn_cn = gold_cn = 0
    t_tp = t_fp = t_fn = 0
    errors: Counter[str] = Counter()
    chars = 0
    t0 = time.perf_counter()
    for text, gold in samples:
        pred = person_names(text)
        chars += len(text)
        hit = Counter(pred) & Counter(gold)
        n_hit = sum(hit.values())
        tp += n_hit
        fp += len(pred) - n_hit
        fn += len(gold) - n_hit
        missed = Counter(gold) - hit
        gold_cn += sum(1 for g in gold if chinese_name(g))
        fn_cn += sum(c for g, c in missed.items() if chinese_name(g))
        t_tp += bool(pred) and bool(gold)
        t_fp += bool(pred) and not gold
        t_fn += bool(gold) and not pred
        if show:
            errors.update(f"FP {p}" for p in (Counter(pred) - hit).elements())
            errors.update(f"FN {g}" for g in missed.elements())
    seconds = time.perf_counter() - t0
    if show:
        print("  most frequent errors: " + ", ".join(f"{e}×{c}" for e, c in errors.most_common(show)))
    return {"texts": len(samples), "mentions": tp + fn, "precision": tp / max(tp + fp, 1),
            "recall": tp / max(tp + fn, 1), "recall_chinese": (gold_cn - fn_cn) / max(gold_cn, 1),
            "chinese_mentions": gold_cn, "text_precision": t_tp / max(t_tp + t_fp, 1),
            "text_recall": t_tp / max(t_tp + t_fn, 1), "chars_per_s": chars / max(seconds, 1e-9)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--limit", type=int, default=None, help="texts per corpus (default: all)")
    ap.add_argument("--quick", action="store_true", help="the first 300 texts of each corpus")
    ap.add_argument("--show", type=int, default=0, help="print the K most frequent errors (corpus strings)")
    args = ap.parse_args()
    if not (NER / "PROVENANCE.md").exists():
        print(f"NER corpora not found at {NER} (../shared is absent): skipped. This evaluation is optional and "
              "research-only.")
        sys.exit(0)
    print("RESEARCH USE ONLY: corpora with research-only or unclear licences, read in place from "
          f"{NER} (see PROVENANCE.md); nothing is copied.")
    person_names("预热")  # load jieba's dictionary and tagger before timing
    for name, samples in corpora().items():
        res = evaluate(samples[: args.limit or (300 if args.quick else None)], args.show)
        print(f"{name}: {res['texts']} texts, {res['mentions']} name mentions ({res['chinese_mentions']} Chinese "
              f"names): mention precision {res['precision']:.3f}, recall {res['recall']:.3f} (Chinese names "
              f"{res['recall_chinese']:.3f}); texts with a name: precision {res['text_precision']:.3f}, recall "
              f"{res['text_recall']:.3f}; {res['chars_per_s']:,.0f} characters/s")
        for k in ("precision", "recall", "recall_chinese", "text_precision", "text_recall"):
            print(json.dumps({"figure": f"ner.{name}.{k}", "value": round(res[k], 4), "target": None,
                              "unit": "ratio"}))


if __name__ == "__main__":
    main()
