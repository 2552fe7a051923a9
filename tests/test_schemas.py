"""The JSON Schemas in schemas/ are valid, fully described, closed, and behave as their examples say.

Examples live in tests/schema_examples/<kind>/valid/*.yaml (must validate) and
tests/schema_examples/<kind>/invalid/*.yaml (must not; the first line says why: ``# invalid: ...``).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from jsonschema import Draft202012Validator
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

ROOT = Path(__file__).resolve().parent.parent
SCHEMAS = ROOT / "schemas"
EXAMPLES = Path(__file__).resolve().parent / "schema_examples"

KINDS = [
    "domains",
    "track",
    "course",
    "module",
    "lesson",
    "exercise",
    "quiz",
    "achievements",
    "certifications",
    "attempt-policy",
    "silver-bank",
    "gold-projects",
]
# Parts shared by several kinds, referenced by file name (`"$ref": "attempt-policy.schema.json"`).
SHARED = ("attempt-policy",)
MIN_VALID = 2
MIN_INVALID = 3

# Keywords whose value is one subschema applied to the same instance (so a closed parent keeps it closed).
IN_PLACE_ONE = ("then", "else")
IN_PLACE_MANY = ("allOf", "anyOf", "oneOf")
# Keywords whose subschema only selects or matches instances; it never shapes one, so it need not be closed.
CONDITIONS = ("if", "contains", "not")
# Keywords whose value is one subschema applied to child instances.
CHILD_ONE = ("items", "additionalProperties", "unevaluatedProperties", "unevaluatedItems", "propertyNames")
# Keywords whose value maps names to subschemas.
CHILD_MAP = ("properties", "patternProperties", "$defs", "dependentSchemas")


def schema_path(kind: str) -> Path:
    return SCHEMAS / f"{kind}.schema.json"


def load_schema(kind: str) -> dict[str, Any]:
    return json.loads(schema_path(kind).read_text(encoding="utf-8"))


def validator(kind: str) -> Draft202012Validator:
    registry: Registry[Any] = Registry().with_resources(
        (load_schema(name)["$id"], Resource.from_contents(load_schema(name), default_specification=DRAFT202012))
        for name in KINDS)
    return Draft202012Validator(load_schema(kind), registry=registry,
                                format_checker=Draft202012Validator.FORMAT_CHECKER)


def examples(validity: str) -> list[Any]:
    params = []
    for kind in KINDS:
        for path in sorted((EXAMPLES / kind / validity).glob("*.yaml")):
            params.append(pytest.param(kind, path, id=f"{kind}/{validity}/{path.name}"))
    return params


def walk(
    schema: Any, where: str = "#", *, closed_by_parent: bool = False, condition: bool = False
) -> Iterator[tuple[str, Any, bool, bool]]:
    """Yield (location, subschema, closed_by_parent, is_condition) for the schema and every subschema."""
    yield where, schema, closed_by_parent, condition
    if not isinstance(schema, dict):
        return
    closed_here = (
        closed_by_parent or schema.get("additionalProperties") is False or schema.get("unevaluatedProperties") is False
    )
    for key in IN_PLACE_ONE:
        if key in schema:
            yield from walk(schema[key], f"{where}/{key}", closed_by_parent=closed_here, condition=condition)
    for key in IN_PLACE_MANY:
        for i, sub in enumerate(schema.get(key, [])):
            yield from walk(sub, f"{where}/{key}/{i}", closed_by_parent=closed_here, condition=condition)
    for key in CONDITIONS:
        if key in schema:
            yield from walk(schema[key], f"{where}/{key}", condition=True)
    for key in CHILD_ONE:
        if key in schema:
            yield from walk(schema[key], f"{where}/{key}", condition=condition)
    for i, sub in enumerate(schema.get("prefixItems", [])):
        yield from walk(sub, f"{where}/prefixItems/{i}", condition=condition)
    for key in CHILD_MAP:
        for name, sub in schema.get(key, {}).items():
            yield from walk(sub, f"{where}/{key}/{name}", condition=condition)


def style_problems(schema: Any) -> list[str]:
    """Every subschema has a description; every object shape is closed to unknown keys."""
    problems = []
    for where, sub, closed_by_parent, condition in walk(schema):
        if isinstance(sub, bool):
            # `false` forbids a key inside a described branch; `true` would silently allow anything.
            if sub is not False:
                problems.append(f"{where}: only the `false` boolean schema is allowed")
            continue
        if not isinstance(sub, dict):
            problems.append(f"{where}: not a schema")
            continue
        description = sub.get("description")
        if not isinstance(description, str) or not description.strip():
            problems.append(f"{where}: missing or empty description")
        shapes_object = "properties" in sub or sub.get("type") == "object"
        closed = sub.get("additionalProperties") is False or sub.get("unevaluatedProperties") is False
        if shapes_object and not (closed or closed_by_parent or condition):
            problems.append(f"{where}: object schema without additionalProperties/unevaluatedProperties false")
    return problems


def test_every_kind_has_a_schema_and_examples_only_for_known_kinds() -> None:
    assert sorted(p.name for p in SCHEMAS.glob("*.schema.json")) == sorted(f"{k}.schema.json" for k in KINDS)
    assert sorted(p.name for p in EXAMPLES.iterdir() if p.is_dir()) == sorted(KINDS)


@pytest.mark.parametrize("kind", KINDS)
def test_schema_is_valid_draft_2020_12(kind: str) -> None:
    schema = load_schema(kind)
    Draft202012Validator.check_schema(schema)
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert schema["$id"] == f"https://dronacharya.dev/schemas/{kind}.schema.json"
    assert isinstance(schema.get("title"), str) and schema["title"].strip()


@pytest.mark.parametrize("kind", KINDS)
def test_schema_is_self_contained(kind: str) -> None:
    refs = [sub["$ref"] for _, sub, _, _ in walk(load_schema(kind)) if isinstance(sub, dict) and "$ref" in sub]
    # Within the file, or a shared part of schemas/ (which is tested as a kind of its own).
    assert all(ref.startswith("#/") or ref in {f"{name}.schema.json" for name in SHARED} for ref in refs), refs


@pytest.mark.parametrize("kind", KINDS)
def test_schema_is_described_and_closed(kind: str) -> None:
    assert style_problems(load_schema(kind)) == []


def test_style_check_catches_problems() -> None:
    bad = {
        "description": "root",
        "type": "object",
        "properties": {
            "a": {"type": "string"},
            "b": {"description": "open object", "type": "object", "properties": {}},
        },
        "additionalProperties": False,
    }
    assert style_problems(bad) == [
        "#/properties/a: missing or empty description",
        "#/properties/b: object schema without additionalProperties/unevaluatedProperties false",
    ]


@pytest.mark.parametrize("kind", KINDS)
def test_each_kind_has_enough_examples(kind: str) -> None:
    valid = list((EXAMPLES / kind / "valid").glob("*.yaml"))
    invalid = list((EXAMPLES / kind / "invalid").glob("*.yaml"))
    assert len(valid) >= MIN_VALID, f"{kind}: {len(valid)} valid examples, need {MIN_VALID}"
    assert len(invalid) >= MIN_INVALID, f"{kind}: {len(invalid)} invalid examples, need {MIN_INVALID}"


@pytest.mark.parametrize(("kind", "path"), examples("valid"))
def test_valid_example_validates(kind: str, path: Path) -> None:
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    errors = [f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in validator(kind).iter_errors(data)]
    assert errors == []


@pytest.mark.parametrize(("kind", "path"), examples("invalid"))
def test_invalid_example_is_rejected(kind: str, path: Path) -> None:
    text = path.read_text(encoding="utf-8")
    assert text.startswith("# invalid: "), "the first line must say why: '# invalid: <why>'"
    data = yaml.safe_load(text)
    assert list(validator(kind).iter_errors(data)), "expected at least one validation error"


# A kind-specific field that breaks its rule must be reported once, for that rule, and never also as an
# unknown key: the fields are declared by branches that cannot fail (see the "Declares ..." branches).
BROKEN_CONDITIONAL_FIELDS = [
    ("course", "planned-modules-zero.yaml"),
    ("course", "outline-module-without-objectives.yaml"),
    ("quiz", "predict-output-answer-number.yaml"),
    ("quiz", "one-choice.yaml"),
    ("quiz", "find-the-bug-line-zero.yaml"),
    ("quiz", "code-completion-without-blank.yaml"),
    ("certifications", "gold-without-rubric.yaml"),
    ("certifications", "percent-above-100.yaml"),
    ("certifications", "section-without-minutes.yaml"),
]

# A field of another kind (or not allowed for this value of the discriminator) is an unknown key.
FOREIGN_FIELDS = [
    ("course", "active-with-planned-modules.yaml", "planned_modules"),
    ("course", "outline-on-active.yaml", "outline"),
    ("lesson", "time-limit-on-concept.yaml", "time_limit_minutes"),
    ("quiz", "choices-on-predict-output.yaml", "choices"),
    ("quiz", "accept-on-multiple-choice.yaml", "accept"),
    ("certifications", "silver-field-on-bronze.yaml", "sections"),
]


@pytest.mark.parametrize(
    ("kind", "name"), [pytest.param(k, n, id=f"{k}/invalid/{n}") for k, n in BROKEN_CONDITIONAL_FIELDS]
)
def test_broken_conditional_field_is_not_also_unknown(kind: str, name: str) -> None:
    data = yaml.safe_load((EXAMPLES / kind / "invalid" / name).read_text(encoding="utf-8"))
    errors = list(validator(kind).iter_errors(data))
    assert len(errors) == 1, [e.message for e in errors]
    assert errors[0].validator != "unevaluatedProperties", errors[0].message


@pytest.mark.parametrize(
    ("kind", "name", "key"), [pytest.param(k, n, key, id=f"{k}/invalid/{n}") for k, n, key in FOREIGN_FIELDS]
)
def test_foreign_field_is_rejected_as_unknown(kind: str, name: str, key: str) -> None:
    data = yaml.safe_load((EXAMPLES / kind / "invalid" / name).read_text(encoding="utf-8"))
    errors = list(validator(kind).iter_errors(data))
    assert len(errors) == 1, [e.message for e in errors]
    assert errors[0].validator == "unevaluatedProperties"
    assert f"'{key}'" in errors[0].message
