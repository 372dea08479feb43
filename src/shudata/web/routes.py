"""The app's routes as one flat list, and ``HEAD`` wherever ``GET`` is.

FastAPI's ``APIRoute`` answers only the methods it declares (Starlette's plain routes add
``HEAD`` to ``GET`` themselves). :func:`add_head_routes` runs once at the end of
``create_app``: for every ``GET`` API route whose path has no ``HEAD`` route of its own, it
adds a ``HEAD`` route to the same endpoint, with the same dependencies (the route-level
authorisation runs as for ``GET``) and the same route class (a route that matches only some
``Accept`` headers, like the DCAT negotiation's, keeps doing so). The added routes come after every other route, so a
route that declares ``HEAD`` itself (downloads answering ``HEAD`` with ``Content-Length`` and
``Range`` support) always matches first. The server sends no body for ``HEAD`` (uvicorn
drops it), and the added routes stay out of the OpenAPI document.
"""

from __future__ import annotations

from collections.abc import Iterator
from importlib import resources
from typing import Any

from fastapi import FastAPI, routing
from fastapi.routing import APIRoute


def all_routes(app: FastAPI) -> Iterator[Any]:
    """Every route of ``app``, routers included (each with its full path and dependencies)."""
    iter_contexts = getattr(routing, "iter_route_contexts", None)  # FastAPI ≥ 0.16x includes routers lazily
    yield from iter_contexts(app.routes) if iter_contexts else app.routes


def api_routes(app: FastAPI) -> Iterator[Any]:
    """The FastAPI (``APIRoute``) routes of ``app``."""
    for route in all_routes(app):
        if isinstance(getattr(route, "original_route", route), APIRoute):
            yield route


def add_head_routes(app: FastAPI) -> int:
    """Answer ``HEAD`` wherever ``GET`` is answered; returns how many routes were added."""
    routes = list(api_routes(app))
    has_head = {r.path_format for r in routes if "HEAD" in (r.methods or ())}
    added = 0
    for r in routes:  # in the GET routes' order, each with its own route class (its own matching rules)
        if "GET" not in (r.methods or ()) or r.path_format in has_head:
            continue
        app.router.add_api_route(
            r.path, r.endpoint, methods=["HEAD"], include_in_schema=False, name=f"{r.name}:head",
            dependencies=list(r.dependencies), response_model=r.response_model, status_code=r.status_code,
            response_class=r.response_class, route_class_override=type(getattr(r, "original_route", r)))
        added += 1
    return added


def static_path(*parts: str) -> str:
    """A file under the UI's ``static`` folder, as a filesystem path."""
    return str(resources.files("shudata.web.ui").joinpath("static", *parts))
