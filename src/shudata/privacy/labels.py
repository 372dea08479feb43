"""How the privacy pages and API name operators, profiles and operator parameters: one mapping.

Chinese first, the code kept as secondary text (``部分遮盖（partial_mask）``); English for
``lang=en``. Templates and API labels both read these functions, so a name is written once.

>>> operator_label("partial_mask")
'部分遮盖'
>>> profile_label("share-conditional", "en")
'conditional sharing'
>>> param_label("keep_tail")
'保留末尾字符数'
>>> choice_label("level", "province")
'省级'
"""

from __future__ import annotations

from shudata.core.errors import InvalidInput
from shudata.privacy.operators.base import TECHNIQUE_ZH, Technique
from shudata.privacy.policy import operators
from shudata.privacy.profiles import PROFILES

# English names of the operators (the Chinese ones are each class's ``zh``).
OPERATOR_EN: dict[str, str] = {
    "keep": "keep the value", "mask_all": "mask everything", "partial_mask": "partial masking",
    "pseudonym": "keyed pseudonym (HMAC-SM3)", "sm4_encrypt": "SM4 encryption",
    "fpe_pseudonym": "format-preserving pseudonym", "number_band": "number bands",
    "date_generalize": "date generalisation", "region_generalize": "region-code generalisation",
    "bucket": "buckets", "hierarchy": "hierarchy generalisation", "suppress": "suppression",
    "date_shift": "date shift per entity", "round": "rounding", "noise": "noise",
    "synthetic": "synthetic replacement",
}

TECHNIQUE_EN: dict[Technique, str] = {t: t.value for t in Technique}

# Parameter name → (zh, en); every parameter of every built-in operator has one (tested).
PARAMS: dict[str, tuple[str, str]] = {
    "char": ("遮盖字符", "mask character"),
    "fixed": ("固定替换文本（留空按原长度遮盖）", "fixed replacement (empty: mask each character)"),
    "keep_head": ("保留开头字符数", "characters kept at the start"),
    "keep_tail": ("保留末尾字符数", "characters kept at the end"),
    "key_id": ("密钥", "key"),
    "length": ("令牌字节数", "token bytes"),
    "kind": ("类型", "kind"),
    "width": ("分段宽度", "band width"),
    "lower": ("下限（低于此值合并）", "lower limit (below: one band)"),
    "upper": ("上限（不低于此值合并）", "upper limit (at or above: one band)"),
    "level": ("泛化层级", "level"),
    "boundaries": ("分桶边界（逗号分隔）", "bucket boundaries (comma separated)"),
    "labels": ("分桶名称（逗号分隔，比边界多一个）", "bucket labels (comma separated, one more than boundaries)"),
    "mapping": ("映射（每行“原值=泛化值”）", "mapping (one “value=generalised” a line)"),
    "file": ("ARX 层次文件路径", "ARX hierarchy file"),
    "marker": ("标记文本（留空则置空）", "marker text (empty: NULL)"),
    "entity_column": ("实体列（同一实体偏移相同天数）", "entity column (same shift per entity)"),
    "max_days": ("最大偏移天数", "maximum shift in days"),
    "digits": ("保留小数位（负数取整到十位、百位）", "digits (negative: tens, hundreds)"),
    "scale": ("噪声尺度", "noise scale"),
    "distribution": ("噪声分布", "distribution"),
}

# Literal choices → (zh, en), by parameter.
CHOICES: dict[str, dict[str, tuple[str, str]]] = {
    "level": {"month": ("到月", "month"), "year": ("到年", "year"), "city": ("市州级", "city"),
              "province": ("省级", "province")},
    "kind": {"resident_id": ("居民身份证号", "resident ID"), "mobile": ("手机号", "mobile number"),
             "name": ("姓名", "name"), "address": ("地址", "address"), "company": ("单位名称", "company"),
             "email": ("电子邮箱", "email"), "city": ("城市", "city")},
    "distribution": {"laplace": ("拉普拉斯", "Laplace"), "uniform": ("均匀", "uniform")},
}


# Column type families (operators' ``accepts``) → (zh, en).
FAMILIES: dict[str, tuple[str, str]] = {"string": ("文本", "text"), "integer": ("整数", "integer"),
                                        "float": ("小数", "decimal"), "date": ("日期", "date"),
                                        "any": ("任意类型", "any type"), "other": ("其他", "other")}


def _pick(zh: str, en: str, lang: str) -> str:
    return en if lang == "en" else zh


def operator_label(name: str, lang: str = "zh-CN") -> str:
    """The operator's name for people (its code when unknown)."""
    try:
        zh = operators().get(name).zh
    except InvalidInput:  # an unknown code is shown as itself
        return name
    return _pick(zh, OPERATOR_EN.get(name, name), lang)


def operator_text(name: str, lang: str = "zh-CN") -> str:
    """``部分遮盖（partial_mask）``: the label with the code as secondary text (plain text contexts)."""
    label = operator_label(name, lang)
    return label if label == name else f"{label}（{name}）"


def technique_label(technique: Technique, lang: str = "zh-CN") -> str:
    return _pick(TECHNIQUE_ZH[technique], TECHNIQUE_EN[technique], lang)


def profile_label(name: str, lang: str = "zh-CN") -> str:
    p = PROFILES.get(name)
    return name if p is None else _pick(p.zh, p.en, lang)


def profile_text(name: str, lang: str = "zh-CN") -> str:
    label = profile_label(name, lang)
    return label if label == name else f"{label}（{name}）"


def param_label(name: str, lang: str = "zh-CN") -> str:
    zh, en = PARAMS.get(name, (name, name))
    return _pick(zh, en, lang)


def choice_label(param: str, value: str, lang: str = "zh-CN") -> str:
    zh, en = CHOICES.get(param, {}).get(value, (value, value))
    return _pick(zh, en, lang)


def family_label(family: str, lang: str = "zh-CN") -> str:
    """A column type family in the page's language.

    >>> family_label("float")
    '小数'
    """
    zh, en = FAMILIES.get(family, (family, family))
    return _pick(zh, en, lang)


def operator_catalog(lang: str = "zh-CN") -> list[dict[str, object]]:
    """Every registered operator with its labels (API ``/privacy/operators``, the overview page)."""
    reg = operators()
    out: list[dict[str, object]] = []
    for name in reg.names():
        cls = reg.get(name)
        out.append({"name": name, "label": operator_label(name, lang), "zh": cls.zh,
                    "en": OPERATOR_EN.get(name, name), "technique": cls.technique.value,
                    "technique_label": technique_label(cls.technique, lang), "reversible": cls.reversible,
                    "accepts": sorted(cls.accepts),
                    "accepts_label": "、".join(family_label(a, lang) for a in sorted(cls.accepts))})
    return out
