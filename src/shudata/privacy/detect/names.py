"""Chinese person names inside free text: jieba's part-of-speech tags plus the surname table.

jieba's tagger (``jieba.posseg``, dictionary + HMM) marks person names ``nr``; a tagged word
counts as a name only if it also passes the surname-table validator
(:func:`~shudata.privacy.detect.validators.person_name`: 2–4 Chinese characters starting
with a known single or compound surname, not a place). A compound surname that jieba tags
apart from the given name (欧阳/ns 娜娜/nrt) is joined back. Texts without any surname
character are never tagged, and a column is judged on at most :data:`MAX_TEXTS` of its
sampled values, so scans and the export gate stay fast (the tagger runs at roughly 10–40
thousand characters per second).

Measured on public NER corpora by ``bench/ner_eval.py`` (research use only).

>>> person_names("客户张伟来电咨询办证进度")
['张伟']
>>> person_names("材料齐全，已办结")
[]
"""

from __future__ import annotations

import functools
import logging
import re
from collections.abc import Callable
from typing import Any

from shudata.privacy.detect.validators import person_name, surnames

NAME_FLAGS = frozenset({"nr", "nrfg"})  # jieba: person name; nrt (transliterated) joins compounds only
GIVEN_FLAGS = NAME_FLAGS | {"nrt", "ns"}  # a given name after a compound surname tagged on its own
FUNCTION_WORD = re.compile(r"^[upcdrmqxyefk]")  # particles, prepositions, pronouns, numerals… never a given name
MAX_CHARS = 2000  # characters of one value tagged
COMMON_WORD_FREQ = 100  # two-character dictionary words this frequent are common words (文明, 明白) though tagged nr


@functools.cache
def _posseg() -> Any:
    import jieba  # noqa: PLC0415 - jieba (dictionary) loads on the first name scan
    import jieba.posseg  # noqa: PLC0415 - jieba (dictionary) loads on the first name scan

    jieba.setLogLevel(logging.WARNING)
    return jieba.posseg


@functools.cache
def _freq() -> dict[str, int]:
    _posseg()
    import jieba  # noqa: PLC0415 - jieba (dictionary) loads on the first name scan

    jieba.initialize()
    freq: dict[str, int] = jieba.dt.FREQ
    return freq


@functools.cache
def _surname_chars() -> re.Pattern[str]:
    single, compound = surnames()
    chars = "".join(sorted(single | {c[0] for c in compound}))
    return re.compile(f"[{re.escape(chars)}]")


def person_names(text: str) -> list[str]:
    """Person names found in ``text`` (in order, repeats kept)."""
    text = text[:MAX_CHARS]
    if not _surname_chars().search(text):
        return []
    single, compound = surnames()
    freq = _freq()
    words = [(w.word, w.flag) for w in _posseg().cut(text)]
    found = []
    i = 0
    while i < len(words):
        word, flag = words[i]
        common = len(word) == 2 and freq.get(word, 0) >= COMMON_WORD_FREQ
        cand = word if flag in NAME_FLAGS and not common else None
        nxt = words[i + 1] if i + 1 < len(words) else ("", "")
        surname = (word in compound and nxt[1] in GIVEN_FLAGS) or (
            word in single and flag in NAME_FLAGS and not FUNCTION_WORD.match(nxt[1]))
        if surname and 1 <= len(nxt[0]) <= 2 and person_name(word + nxt[0]):
            cand = word + nxt[0]  # 欧阳/ns 娜娜/nrt, 赵/nr 新民/n
            i += 1
        if cand is not None and person_name(cand):
            found.append(cand)
        i += 1
    return found


FINDERS: dict[str, Callable[[str], list[str]]] = {"jieba_person_names": person_names}
