"""The demo's open-data portal: every open entry with data is published through the gate,
and two public data requests (one answered) show the requests page."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session

from shudata.catalog.access import find_resource
from shudata.core.config import Settings
from shudata.core.types import Actor
from shudata.demo.entries import DemoEntry
from shudata.lake.service import latest_version
from shudata.portal import requests
from shudata.portal.models import PortalDataRequest, PortalDataset
from shudata.portal.schemas import DataRequestAnswer, DataRequestCreate
from shudata.portal.service import OPEN_CLASSES, publish

SYSTEM = Actor.system()

REQUESTS = (
    ("希望开放各市州历年常住人口数据", "做区域发展研究，需要 2010 年以来各市州的常住人口，按年份，CSV 即可。", "李同学",
     "已开放“分省年度人口”相关数据，按年份提供，可在数据集页面下载或用 API 获取。"),
    ("建议开放公共自行车站点位置", "希望能开放成都市公共自行车站点的位置和车位数，方便开发出行应用。", "出行应用开发者",
     None),
)


def open_entries(entries: Sequence[DemoEntry]) -> list[DemoEntry]:
    return [e for e in entries if e.source is not None and str(e.open.get("type")) in OPEN_CLASSES]


def ensure_published(session: Session, settings: Settings, entry: DemoEntry) -> str:
    """Publish the entry unless it already is: ``published``, ``refused``, ``existing`` or ``no_data``."""
    res = find_resource(session, entry.code)
    if session.scalar(select(PortalDataset.id).where(PortalDataset.resource_id == res.id)) is not None:
        return "existing"
    if latest_version(session, res.id) is None:  # its file was refused at ingest
        return "no_data"
    return publish(session=session, settings=settings, actor=SYSTEM, resource=entry.code).status


def ensure_requests(session: Session) -> bool:
    if session.scalar(select(PortalDataRequest.id).limit(1)) is not None:
        return False
    for title, text, who, reply in REQUESTS:
        req = requests.create_request(session=session, data=DataRequestCreate(
            title=title, description=text, requester_name=who, contact_email="demo@example.cn"))
        if reply:
            requests.answer(session=session, actor=SYSTEM, request_id=req.id, data=DataRequestAnswer(answer=reply))
    return True
