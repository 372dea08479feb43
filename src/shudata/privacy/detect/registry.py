"""The recognizer registry: an explicit dict filled by :func:`register_recognizer` calls.

>>> from shudata.privacy.detect.recognizers import register_builtins
>>> reg = RecognizerRegistry()
>>> register_builtins(reg)
>>> reg.get("cn_resident_id").entity
'CN_RESIDENT_ID'
"""

from __future__ import annotations

from shudata.core.errors import InvalidInput
from shudata.privacy.detect.base import PatternRecognizer
from shudata.privacy.detect.names import FINDERS
from shudata.privacy.detect.recognizers import register_builtins
from shudata.privacy.detect.validators import VALIDATORS
from shudata.privacy.entities import ENTITIES


class RecognizerRegistry:
    """Recognizers by name. Built-ins register exactly like extensions."""

    def __init__(self) -> None:
        self._items: dict[str, PatternRecognizer] = {}

    def register(self, recognizer: PatternRecognizer) -> None:
        """Add ``recognizer``; its entity and validator must be known."""
        if recognizer.entity not in ENTITIES:
            raise InvalidInput(f"未知的实体类型：{recognizer.entity}", f"Unknown entity type {recognizer.entity!r}",
                               code="unknown_entity")
        if recognizer.validator is not None and recognizer.validator not in VALIDATORS:
            raise InvalidInput(f"未知的校验函数：{recognizer.validator}", f"Unknown validator {recognizer.validator!r}",
                               code="unknown_validator")
        if recognizer.text_finder is not None and recognizer.text_finder not in FINDERS:
            raise InvalidInput(f"未知的文本查找函数：{recognizer.text_finder}",
                               f"Unknown text finder {recognizer.text_finder!r}", code="unknown_text_finder")
        self._items[recognizer.name] = recognizer

    def get(self, name: str) -> PatternRecognizer:
        return self._items[name]

    def all(self) -> list[PatternRecognizer]:
        return list(self._items.values())


def default_registry() -> RecognizerRegistry:
    """A registry holding the built-in Chinese recognizers."""
    reg = RecognizerRegistry()
    register_builtins(reg)
    return reg
