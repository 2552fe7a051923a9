"""Request bodies take JSON's own types (sidecar/text.py, JsonBool and JsonInt). Left lax, pydantic turned
0.0 into false and 5.0 or true into 5: bodies the OpenAPI document calls invalid were accepted (the API
fuzzing's negative-data check found `{"weekly_digest": 0.0}`). Every bool and int field of every request
body model the API takes, nested models, lists and dicts included, must refuse the other JSON types."""

from __future__ import annotations

import types
import typing
from typing import Any

from fastapi.routing import APIRoute, iter_route_contexts
from pydantic import BaseModel, ValidationError

from sidecar.app import create_app
from sidecar.settings import Settings


def _body_models(sqlite_url: str) -> set[type[BaseModel]]:
    app = create_app(Settings(DATABASE_URL=sqlite_url))
    found: set[type[BaseModel]] = set()
    for context in iter_route_contexts(app.routes):
        route = context.original_route
        if isinstance(route, APIRoute):
            for param in route.dependant.body_params:
                _collect(param.field_info.annotation, found)
    return found


def _collect(annotation: Any, found: set[type[BaseModel]]) -> None:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        if annotation not in found:
            found.add(annotation)
            for field in annotation.model_fields.values():
                _collect(field.annotation, found)
        return
    for arg in typing.get_args(annotation):
        _collect(arg, found)


def _members(annotation: Any) -> list[Any]:
    """The types a field's value may have (a union's members; Annotated unwrapped)."""
    if typing.get_origin(annotation) is typing.Annotated:
        return _members(typing.get_args(annotation)[0])
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        return [m for arg in typing.get_args(annotation) for m in _members(arg)]
    return [annotation]


def _wrong(annotation: Any) -> list[Any]:
    """JSON values of another type than the field's bool or int (for the field, or inside its list or dict)."""
    members = _members(annotation)
    wrong: list[Any] = []
    takes_text, takes_bool, takes_int = str in members, bool in members, int in members
    if takes_bool:
        wrong += [0.0] + ([] if takes_int else [1]) + ([] if takes_text else ["true"])
    if takes_int:
        wrong += [5.0] + ([] if takes_bool else [True]) + ([] if takes_text else ["5"])
    for member in members:
        origin, args = typing.get_origin(member), typing.get_args(member)
        if origin is list and args:
            wrong += [[value] for value in _wrong(args[0])]
        elif origin is dict and len(args) == 2:
            wrong += [{"key": value} for value in _wrong(args[1])]
    return wrong


def test_every_bool_and_int_of_a_request_body_refuses_other_json_types(sqlite_url: str) -> None:
    models = _body_models(sqlite_url)
    assert len(models) > 40  # the API's request bodies, found through its routes
    checked, accepted = 0, []
    for model in sorted(models, key=lambda m: f"{m.__module__}.{m.__name__}"):
        for name, field in model.model_fields.items():
            key = field.alias or name
            for value in _wrong(field.annotation):
                checked += 1
                try:
                    model.model_validate({key: value})
                except ValidationError as error:
                    if any(e["loc"][:1] == (key,) for e in error.errors()):
                        continue
                accepted.append(f"{model.__module__}.{model.__name__}.{key} = {value!r}")
    assert checked > 40  # bools and ints were found to check
    assert not accepted, "accepted a JSON value of another type:\n" + "\n".join(accepted)
