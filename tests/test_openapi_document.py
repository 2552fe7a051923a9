"""The OpenAPI document says what the API really answers: every error in the one error shape, the statuses
a route's handler raises, media types and headers.

scripts/fuzz_api.py checks the running API against the document with schemathesis (response schema, status
code, content type and header conformance); these tests keep the document from regressing without a
server: each asserts what a schemathesis run would otherwise report as a violation.
"""

from __future__ import annotations

import json
import typing
from collections.abc import Iterator
from typing import Any

import jsonschema
import pytest
from fastapi.routing import APIRoute, iter_route_contexts

from sidecar.auth.deps import CurrentPrincipal

ERROR_REF = {"$ref": "#/components/schemas/ErrorResponse"}


@pytest.fixture
def client(make_client: Any, sqlite_url: str) -> Any:
    # The document does not depend on the database; one (SQLite) is enough for the real answers below.
    return make_client(sqlite_url)


@pytest.fixture
def document(client: Any) -> dict[str, Any]:
    return dict(client.get("/openapi.json").json())


def _calls(dependant: Any) -> Iterator[Any]:
    for sub in dependant.dependencies:
        yield sub.call
        yield from _calls(sub)


def _documented(document: dict[str, Any], method: str, path: str, response: Any) -> dict[str, Any]:
    """Assert a real response is what the document says `method path` answers (status, media type, body)."""
    described = document["paths"][path][method.lower()]["responses"]
    where = f"{method} {path} -> {response.status_code}: {response.text[:200]}"
    assert str(response.status_code) in described, where
    entry = described[str(response.status_code)]
    media_type = response.headers["content-type"].split(";")[0].strip()
    assert media_type in entry.get("content", {}), (where, media_type, entry.get("content"))
    schema = entry["content"][media_type].get("schema")
    if schema and media_type.endswith("json"):
        jsonschema.validate(response.json(), {**schema, "components": document["components"]})
    for header in entry.get("headers", {}):
        assert header in response.headers, (where, header)
    return dict(entry)


def test_every_operation_that_needs_a_session_documents_401_with_the_error_body(client: Any,
                                                                                 document: dict[str, Any]) -> None:
    needs_session = typing.get_args(CurrentPrincipal)[1].dependency
    checked = 0
    for context in iter_route_contexts(client.app.routes):
        route = context.original_route
        if not isinstance(route, APIRoute) or not context.include_in_schema:
            continue
        if needs_session not in set(_calls(route.dependant)):
            continue
        for method in context.methods or ():
            responses = document["paths"][context.path_format][method.lower()]["responses"]
            where = f"{method} {context.path_format}"
            assert "401" in responses, where
            assert responses["401"]["content"] == {"application/json": {"schema": ERROR_REF}}, where
            assert responses["401"]["description"].startswith("Not signed in"), where
            checked += 1
    assert checked > 60  # the learner's, the organisations', the admins' operations


def test_every_error_response_is_the_error_body_and_429_names_retry_after(document: dict[str, Any]) -> None:
    assert "HTTPValidationError" not in json.dumps(document)
    errors = 0
    for path, item in document["paths"].items():
        for method, operation in item.items():
            for status, entry in operation["responses"].items():
                if int(status) < 400:
                    continue
                errors += 1
                assert entry["content"] == {"application/json": {"schema": ERROR_REF}}, (method, path, status)
                if status == "429":
                    assert set(entry["headers"]) == {"Retry-After"}, (method, path)
    assert errors > 400
    # The grading queue refuses with 429 too (sidecar/grading/scheduler.py).
    for path in ("/api/exercises/{exercise_id}/submissions", "/api/review/answers", "/api/auth/login"):
        assert "429" in document["paths"][path]["post"]["responses"], path


def test_streams_and_credentials_document_their_media_types(document: dict[str, Any]) -> None:
    def media_types(path: str, method: str) -> set[str]:
        return set(document["paths"][path][method]["responses"]["200"]["content"])

    assert media_types("/api/ai/chat", "post") == {"text/event-stream"}
    assert media_types("/api/me/events", "get") == {"text/event-stream"}
    assert media_types("/api/issuer/status/1", "get") == {"application/vc+ld+json"}
    assert media_types("/api/certificates/{credential_id}/credential.json", "get") == {"application/vc+ld+json"}
    assert media_types("/api/certificates/{credential_id}/certificate.pdf", "get") == {"application/pdf"}


def test_errors_a_handler_raises_are_documented(client: Any, document: dict[str, Any]) -> None:
    # What schemathesis found undocumented (status_code_conformance): each is now declared by its route.
    wrong = client.post("/api/auth/login", json={"email": "nobody@example.com", "password": "not the password"})
    assert wrong.status_code == 401
    assert "not right" in _documented(document, "POST", "/api/auth/login", wrong)["description"]
    lti = client.get("/api/lti/login")
    assert lti.status_code == 403
    _documented(document, "GET", "/api/lti/login", lti)
    refused = client.get("/api/sso/callback", params={"error": "access_denied"})
    assert refused.status_code == 403
    _documented(document, "GET", "/api/sso/callback", refused)


def test_real_answers_match_the_document(client: Any, document: dict[str, Any]) -> None:
    status_list = client.get("/api/issuer/status/1")
    assert status_list.status_code == 200
    _documented(document, "GET", "/api/issuer/status/1", status_list)
    # A literal segment is its own resource: Allow lists what the document says .../import takes, not the
    # DELETE of an invitation whose id would be "import" (schemathesis's allow_header_conformance).
    options = client.options("/api/orgs/some-org/invitations/import")
    assert options.status_code == 405 and options.headers["allow"] == "POST"
    signed_out = client.post("/api/orgs/some-org/invitations/import", json={"csv": "x"})
    assert signed_out.status_code == 401
    _documented(document, "POST", "/api/orgs/{org_id}/invitations/import", signed_out)
    client.signup("stream@example.com")
    chat = client.post("/api/ai/chat", json={"message": "What is a variable?"})
    assert chat.status_code == 200
    entry = _documented(document, "POST", "/api/ai/chat", chat)
    event_schema = entry["content"]["text/event-stream"]["schema"]
    events = [dict(line.split(": ", 1) for line in block.splitlines() if not line.startswith(":"))
              for block in chat.text.strip().split("\n\n")]
    assert [e["event"] for e in events][0] == "start" and events[-1]["event"] == "done", events
    for event in events:
        jsonschema.validate(event, event_schema)
        assert isinstance(json.loads(event["data"]), dict)
