"""/api/v1 routes of the lake capability (thin: parse, call the service, shape the answer)."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(tags=["lake"])
