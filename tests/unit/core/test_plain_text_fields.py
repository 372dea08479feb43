"""Free text a person types in these input schemas refuses control characters (NUL, ESC, a
right-to-left override) — found after the forms sweep: an inquiry's message reached the store with
them (tests/e2e/test_hostile_forms.py). Tabs and line breaks are text."""

from __future__ import annotations

from typing import Annotated, Any

import pytest
from pydantic import BaseModel, TypeAdapter, ValidationError

from shudata.analysis.schemas import IndicatorWrite
from shudata.catalog.schemas import ResourceUpdate
from shudata.market.schemas import OfferCreate, OrderCreate
from shudata.portal.schemas import DeveloperCreate
from shudata.privacy.schemas import KeyCreate
from shudata.sharing.schemas import RequestCreate

FIELDS: list[tuple[type[BaseModel], str]] = [
    (OrderCreate, "message"), (OfferCreate, "note"), (IndicatorWrite, "name_en"), (IndicatorWrite, "unit"),
    (IndicatorWrite, "description"), (ResourceUpdate, "comment"), (DeveloperCreate, "organisation"),
    (KeyCreate, "purpose"), (RequestCreate, "purpose_text"),
]


def _field(model: type[BaseModel], name: str) -> TypeAdapter[Any]:
    info = model.model_fields[name]
    return TypeAdapter(Annotated[info.annotation, *info.metadata])  # type: ignore[name-defined]


@pytest.mark.parametrize(("model", "name"), FIELDS, ids=[f"{m.__name__}.{n}" for m, n in FIELDS])
def test_free_text_refuses_control_characters(model: type[BaseModel], name: str) -> None:
    field = _field(model, name)
    assert field.validate_python("用于\t区域经济\n研究") == "用于\t区域经济\n研究"
    for bad in ("用于研究\x00", "用于\x1b[2J研究", "\u202e究研于用"):
        with pytest.raises(ValidationError, match="控制字符"):
            field.validate_python(bad)
