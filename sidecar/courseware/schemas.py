"""Schema checking with learner-readable, line-numbered messages.

The JSON Schemas in `schemas/` are the single source of truth for every content file kind; this
module only turns jsonschema's errors into `path:line: message` problems.
"""

from __future__ import annotations

import json
import re
from functools import cache
from pathlib import Path
from typing import Any

from jsonschema import Draft202012Validator
from jsonschema.exceptions import ValidationError, best_match
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

from sidecar.engine import engine_files

from .problems import Problems
from .yamlsource import Located

KINDS = (
    "domains",
    "track",
    "course",
    "module",
    "lesson",
    "exercise",
    "quiz",
    "achievements",
    "certifications",
    "silver-bank",
    "gold-projects",
)
_UNEXPECTED_RE = re.compile(r"\(([^)]*) (?:was|were) unexpected\)")
_QUOTED_RE = re.compile(r"'([^']*)'")
_JSON_TYPES = {
    dict: "a mapping",
    list: "a list",
    str: "text",
    bool: "true/false",
    int: "a whole number",
    float: "a number",
    type(None): "nothing (null)",
}


def schemas_dir() -> Path:
    return engine_files().schemas_dir


@cache
def registry(directory: str | None = None) -> Registry[Any]:
    """Every schema of the folder by its $id: kinds share parts (attempt-policy.schema.json) by $ref."""
    path = Path(directory) if directory else schemas_dir()
    resources = []
    for file in sorted(path.glob("*.schema.json")):
        schema = json.loads(file.read_text(encoding="utf-8"))
        resource = Resource.from_contents(schema, default_specification=DRAFT202012)
        resources.append((str(schema.get("$id", file.name)), resource))
    return Registry().with_resources(resources)


@cache
def validator(kind: str, directory: str | None = None) -> Draft202012Validator:
    path = Path(directory) if directory else schemas_dir()
    schema = json.loads((path / f"{kind}.schema.json").read_text(encoding="utf-8"))
    return Draft202012Validator(schema, registry=registry(directory),
                                format_checker=Draft202012Validator.FORMAT_CHECKER)


def label(path: tuple[Any, ...]) -> str:
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def _describe(value: Any) -> str:
    return _JSON_TYPES.get(type(value), type(value).__name__)


def _leaf(error: ValidationError) -> ValidationError:
    # oneOf/anyOf say "not valid under any": the closest branch's error is the useful one.
    while error.validator in ("oneOf", "anyOf") and error.context:
        error = best_match(error.context)
    return error


def _message(error: ValidationError) -> list[tuple[tuple[Any, ...], str]]:
    """One or more (path, message) pairs for an error."""
    error = _leaf(error)
    path = tuple(error.absolute_path)
    where = label(path)
    prefix = f"{where}: " if where else ""
    validator_name = error.validator
    if validator_name in ("additionalProperties", "unevaluatedProperties"):
        match = _UNEXPECTED_RE.search(error.message)
        keys = _QUOTED_RE.findall(match.group(1)) if match else []
        if keys:
            return [(path + (key,), f"{label(path + (key,))}: unknown key '{key}'") for key in keys]
        return [(path, f"{prefix}{error.message}")]
    if validator_name == "required":
        missing = _QUOTED_RE.findall(error.message)
        key = missing[0] if missing else "?"
        return [(path, f"{prefix}missing required key '{key}'")]
    if validator_name == "type":
        expected = error.validator_value
        expected_text = " or ".join(expected) if isinstance(expected, list) else str(expected)
        return [(path, f"{prefix}expected {expected_text}, got {_describe(error.instance)}")]
    if validator_name == "enum":
        allowed = ", ".join(str(v) for v in error.validator_value)
        return [(path, f"{prefix}{error.instance!r} is not one of: {allowed}")]
    if validator_name == "pattern":
        if path and path[-1] == "id":
            return [(path, f"{prefix}{error.instance!r} is not a valid id (a lower-case UUID)")]
        return [(path, f"{prefix}{error.instance!r} does not match {error.validator_value}")]
    if validator_name == "format":
        return [(path, f"{prefix}{error.instance!r} is not a valid {error.validator_value}")]
    if validator_name == "contains":
        wanted = error.validator_value.get("description", "a required entry") \
            if isinstance(error.validator_value, dict) else "a required entry"
        return [(path, f"{prefix}must include {wanted[:1].lower() + wanted[1:]}")]
    return [(path, f"{prefix}{error.message}")]


def check(kind: str, doc: Located, file: Path, problems: Problems, directory: str | None = None) -> bool:
    """Validate a loaded document; report every error; True when it is valid."""
    errors = sorted(validator(kind, directory).iter_errors(doc.data), key=lambda e: list(e.absolute_path))
    for error in errors:
        for path, message in _message(error):
            problems.add(file, doc.line_of(path), message)
    return not errors
