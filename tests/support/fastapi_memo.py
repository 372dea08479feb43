"""Build the test apps' routes from what the first app already worked out (test sessions only).

``create_app`` costs 0.7–3 s on this machine, almost all of it FastAPI reading the ~600
routes' endpoint signatures and building a pydantic ``TypeAdapter`` for every parameter and
response model (``get_typed_signature``, ``analyze_param``, ``create_model_field``) — and
about 900 tests build an app. What those three functions return depends only on their
arguments (the same module-level endpoint functions, annotations and defaults for every
app), and FastAPI only reads the results afterwards (``analyze_param`` mutates copies it
makes itself; body fields are copied before they are changed). So within one test process
each result is computed once and handed out again:

- ``get_typed_signature(call)``: per ``call`` (a function; unhashable callables are not kept);
- ``analyze_param(...)``: per parameter name, *identical* annotation and default objects
  (those of the kept signature) and path parameter names;
- ``create_model_field(name, type_, mode=...)`` without a ``field_info``: per hashable arguments;
- ``get_dependant(...)`` of a sub-dependency (the recursive calls, which pass the parameter's
  ``name``): per arguments — the route's own dependant (``name`` None) stays fresh, since
  FastAPI inserts the route-level dependencies into it;
- ``compile_path(path)`` (FastAPI's routes): per path (the ~600 route patterns overflow the
  ``re`` module's cache of 512, so every app compiled them all again);
- ``_get_body_field(body_params, name, embed_body_fields)`` (a route's combined body field: a pydantic
  model created for every route with several body or form parameters, a third of what was left of
  ``create_app``): per route name and *identical* body parameter fields (those the kept parameter
  analysis returned). FastAPI only reads it (OpenAPI, form detection).

Errors are never kept (a bad signature still fails every time). Only the in-process test
apps use this: the servers that the integration and browser tests start in subprocesses
run FastAPI unchanged.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any

import fastapi.dependencies.utils as dep_utils
from fastapi import routing
from fastapi._compat import Undefined
from starlette.routing import compile_path as starlette_compile_path

_installed = False


def install() -> None:
    """Memoise the three functions in the FastAPI modules that call them (idempotent)."""
    global _installed
    if _installed:
        return

    signatures: dict[Any, inspect.Signature] = {}
    typed_signature: Callable[[Callable[..., Any]], inspect.Signature] = dep_utils.get_typed_signature

    def get_typed_signature(call: Callable[..., Any]) -> inspect.Signature:
        try:
            return signatures[call]
        except KeyError:
            pass
        except TypeError:  # unhashable callable: not kept
            return typed_signature(call)
        signature = typed_signature(call)
        signatures[call] = signature
        return signature

    params: dict[tuple[str, int, int, frozenset[str]], tuple[Any, Any, Any]] = {}
    analyze: Callable[..., Any] = dep_utils.analyze_param

    def analyze_param(*, param_name: str, annotation: Any, value: Any, path_param_names: set[str]) -> Any:
        key = (param_name, id(annotation), id(value), frozenset(path_param_names))
        kept = params.get(key)
        if kept is not None and kept[0] is annotation and kept[1] is value:
            return kept[2]
        details = analyze(param_name=param_name, annotation=annotation, value=value,
                          path_param_names=path_param_names)
        params[key] = (annotation, value, details)  # holds the objects: their ids stay theirs
        return details

    fields: dict[tuple[Any, ...], Any] = {}
    model_field: Callable[..., Any] = routing.create_model_field  # type: ignore[attr-defined]

    def create_model_field(name: str, type_: Any, default: Any = Undefined, field_info: Any = None,
                           alias: str | None = None, mode: str = "validation") -> Any:
        if field_info is None:
            key = (name, type_, default, alias, mode)
            try:
                kept = fields.get(key)
            except TypeError:  # an unhashable type or default: not kept
                return model_field(name, type_, default, field_info, alias, mode)
            if kept is None:
                kept = fields[key] = model_field(name, type_, default, field_info, alias, mode)
            return kept
        return model_field(name, type_, default, field_info, alias, mode)

    dependants: dict[tuple[Any, ...], tuple[Any, Any]] = {}
    dependant_of: Callable[..., Any] = dep_utils.get_dependant

    def get_dependant(*, path: str, call: Callable[..., Any], name: str | None = None,
                      own_oauth_scopes: list[str] | None = None, parent_oauth_scopes: list[str] | None = None,
                      use_cache: bool = True, scope: Any = None, concurrency: Any = None) -> Any:
        kwargs = {"path": path, "call": call, "name": name, "own_oauth_scopes": own_oauth_scopes,
                  "parent_oauth_scopes": parent_oauth_scopes, "use_cache": use_cache, "scope": scope,
                  "concurrency": concurrency}
        if name is None:  # a route's own dependant: FastAPI changes it afterwards
            return dependant_of(**kwargs)
        key = (path, id(call), name, tuple(own_oauth_scopes or ()), tuple(parent_oauth_scopes or ()),
               use_cache, scope, id(concurrency))
        kept = dependants.get(key)
        if kept is not None and kept[0][0] is call and kept[0][1] is concurrency:
            return kept[1]
        dependant = dependant_of(**kwargs)
        dependants[key] = ((call, concurrency), dependant)
        return dependant

    bodies: dict[tuple[str, bool, tuple[int, ...]], tuple[list[Any], Any]] = {}
    body_field_of: Callable[..., Any] = routing._get_body_field  # type: ignore[attr-defined]

    def get_body_field(*, body_params: list[Any], name: str, embed_body_fields: bool) -> Any:
        key = (name, embed_body_fields, tuple(id(p) for p in body_params))
        kept = bodies.get(key)
        if kept is not None and all(a is b for a, b in zip(kept[0], body_params, strict=True)):
            return kept[1]
        field = body_field_of(body_params=body_params, name=name, embed_body_fields=embed_body_fields)
        bodies[key] = (list(body_params), field)  # holds the parameters: their ids stay theirs
        return field

    paths: dict[str, Any] = {}

    def compile_path(path: str) -> Any:
        kept = paths.get(path)
        if kept is None:
            kept = paths[path] = starlette_compile_path(path)
        return kept

    dep_utils.get_typed_signature = get_typed_signature
    dep_utils.analyze_param = analyze_param
    routing.create_model_field = create_model_field  # type: ignore[attr-defined]
    dep_utils.get_dependant = get_dependant
    routing.compile_path = compile_path  # type: ignore[attr-defined]
    routing._get_body_field = get_body_field  # type: ignore[attr-defined]
    _installed = True
