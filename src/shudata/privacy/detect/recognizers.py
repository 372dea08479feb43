"""Built-in recognizers for Chinese personal and sensitive data.

Patterns are RE2 (run by Arrow over a sample); context words are compared with the
lower-cased header (Chinese, pinyin initials, English).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from shudata.privacy.detect.base import PatternRecognizer as R

if TYPE_CHECKING:  # the registry imports this module for its default recognizers
    from shudata.privacy.detect.registry import RecognizerRegistry

PROVINCE_ABBR = "京津沪渝冀豫云辽黑湘皖鲁新苏浙赣鄂桂甘晋蒙陕吉闽贵粤青藏川宁琼"
PLATE_LETTER = "A-HJ-NP-Z"

BUILTINS: tuple[R, ...] = (
    R(name="cn_resident_id", entity="CN_RESIDENT_ID", patterns=(r"^\d{17}[\dX]$", r"^\d{15}$"),
      context=("身份证", "证件", "sfz", "sfzh", "zjhm", "id_card", "idcard", "id_no", "idno", "公民身份号码"),
      validator="cn_resident_id", text_pattern=r"\d{17}[\dXx]"),
    R(name="cn_uscc", entity="CN_USCC", patterns=(r"^[0-9A-HJ-NPQRTUWXY]{2}\d{6}[0-9A-HJ-NPQRTUWXY]{10}$",),
      context=("统一社会信用代码", "信用代码", "tyshxydm", "uscc", "credit_code"), validator="uscc",
      text_pattern=r"[0-9A-HJ-NPQRTUWXY]{2}\d{6}[0-9A-HJ-NPQRTUWXY]{10}"),
    R(name="bank_card", entity="BANK_CARD", patterns=(r"^\d{15,19}$",),
      context=("银行卡", "卡号", "账号", "帐号", "yhk", "yhkh", "card", "account", "bank"), validator="bank_card",
      text_pattern=r"\d{15,19}"),
    R(name="cn_mobile", entity="CN_MOBILE", patterns=(r"^(\+?86)?1[3-9]\d{9}$",),
      context=("手机", "电话", "联系方式", "sjh", "sjhm", "lxdh", "mobile", "phone", "tel"), validator="cn_mobile",
      text_pattern=r"1[3-9]\d{9}"),
    R(name="cn_landline", entity="CN_LANDLINE", patterns=(r"^0\d{2,3}-?\d{7,8}$",),
      context=("电话", "座机", "固话", "lxdh", "gddh", "phone", "tel", "landline"), validator="cn_landline",
      text_pattern=r"0\d{2,3}-\d{7,8}"),
    R(name="email", entity="EMAIL", patterns=(r"^[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}$",),
      context=("邮箱", "电子邮件", "yx", "dzyx", "email", "mail"), validator="email",
      text_pattern=r"[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}", strip_separators=False),
    R(name="ipv4", entity="IP_ADDRESS", patterns=(r"^(\d{1,3}\.){3}\d{1,3}$",),
      context=("ip", "ip地址", "ipdz", "address"), validator="ip_address",
      text_pattern=r"\b(?:\d{1,3}\.){3}\d{1,3}\b"),
    R(name="ipv6", entity="IP_ADDRESS", patterns=(r"^[0-9A-Fa-f:]*:[0-9A-Fa-f:]+$",),
      context=("ip", "ipv6", "ip地址"), validator="ip_address", strip_separators=False),
    R(name="cn_license_plate", entity="CN_LICENSE_PLATE",
      patterns=(f"^[{PROVINCE_ABBR}][{PLATE_LETTER}][{PLATE_LETTER}0-9]{{4}}[{PLATE_LETTER}0-9挂学警港澳]$",
                f"^[{PROVINCE_ABBR}][{PLATE_LETTER}](?:[DF][{PLATE_LETTER}0-9]\\d{{4}}|\\d{{5}}[DF])$"),
      context=("车牌", "号牌", "cph", "hphm", "plate", "vehicle"),
      text_pattern=f"[{PROVINCE_ABBR}][{PLATE_LETTER}][{PLATE_LETTER}0-9]{{5,6}}"),
    R(name="cn_passport", entity="CN_PASSPORT", patterns=(r"^[EGDSP]\d{8}$", r"^E[A-HJ-NP-Z]\d{7}$"),
      context=("护照", "hz", "hzhm", "passport")),
    R(name="hk_macau_permit", entity="HK_MACAU_PERMIT", patterns=(r"^[CWH]\d{8}$", r"^C[A-HJ-NP-Z]\d{7}$"),
      context=("港澳", "通行证", "gatxz", "permit", "hk_macau")),
    R(name="taiwan_permit", entity="TAIWAN_PERMIT", patterns=(r"^T\d{8}$", r"^\d{8}$", r"^\d{10}[A-Z]?$"),
      context=("台湾", "台胞", "赴台", "twtxz", "tbz", "taiwan"), needs_context=True),
    R(name="military_id", entity="MILITARY_ID", patterns=(r"^[\p{Han}]{1,2}字第\d{6,8}号$",),
      context=("军官证", "士兵证", "警官证", "jgz", "military", "police"), strip_separators=False,
      text_pattern=r"[\p{Han}]{1,2}字第\d{6,8}号"),
    R(name="gps", entity="GPS_COORDINATE", patterns=(r"^-?\d{1,3}\.\d{4,}[,，\s]+-?\d{1,3}\.\d{4,}$",),
      context=("经纬度", "坐标", "位置", "jwd", "gps", "location", "latlng", "coordinate"), validator="gps",
      strip_separators=False),
    R(name="date_of_birth", entity="DATE_OF_BIRTH",
      patterns=(r"^\d{4}[-/.年]?\d{1,2}[-/.月]?\d{1,2}日?(?:[ T].*)?$",),
      context=("出生", "生日", "csrq", "sr", "birth", "dob", "birthday"), validator="date", needs_context=True,
      strip_separators=False),
    R(name="person_name", entity="PERSON_NAME", patterns=(r"^[\p{Han}·]{2,4}$",),
      context=("姓名", "名字", "联系人", "负责人", "法定代表人", "法人", "xm", "name", "contact"),
      validator="person_name", strip_separators=False),
    # names inside free text (备注: 客户张伟来电…): jieba's nr tags, kept only if the surname table agrees
    R(name="person_name_text", entity="PERSON_NAME", patterns=(), validator="person_name",
      text_finder="jieba_person_names", strip_separators=False),
    # organisation names (企业名称, 学校名称): not personal; a person's name inside one is not a person
    R(name="organization", entity="ORGANIZATION", patterns=(r"^.*[\p{Han}].*$",),
      context=("企业名称", "单位名称", "公司名称", "机构名称", "学校名称", "医院名称", "商户名称", "店名",
               "字号", "单位", "企业", "机构", "主管部门", "qymc", "dwmc", "jgmc", "company", "organization",
               "organisation", "org"),
      validator="organization", strip_separators=False),
    R(name="address", entity="ADDRESS", patterns=(r"^.*[\p{Han}].*$",),
      context=("地址", "住址", "住所", "户籍", "dz", "zz", "address", "addr"), validator="address",
      strip_separators=False),
)


def register_builtins(registry: RecognizerRegistry) -> None:
    """Register every built-in recognizer in ``registry``."""
    for rec in BUILTINS:
        registry.register(rec)
