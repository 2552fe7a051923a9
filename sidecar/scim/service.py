"""SCIM 2.0 provisioning (RFC 7643/7644): an organisation's identity provider creates, updates,
deactivates and removes its people and groups here, with a bearer token the organisation's admin made.

The token picks the organisation: every query below is scoped to it, so a token never sees nor changes
another organisation's users or groups. Accounts, memberships and teams are changed only through
orgs.service (seats are checked there, in one place, and every change is audited "by": "scim").

A SCIM User is a row of scim_users beside the account it describes: its id is SCIM's own, stable id;
userName, name, displayName, emails and externalId are kept as the IdP sent them. The account's own
email (its sign-in address) is set once, at creation or linking, and never changed from here: an IdP
renaming an address must not move another person's account. `active: false` takes the person out of the
organisation (their seat frees, their sessions end); `active: true` brings them back, seat-checked.
Groups are teams the IdP created (scim_groups); their members are SCIM users of the organisation.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Engine, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from sidecar.audit import service as audit
from sidecar.auth import security
from sidecar.auth import service as auth
from sidecar.auth.tables import User
from sidecar.db.base import utcnow
from sidecar.db.engine import read_session, write_session
from sidecar.errors import NotFound
from sidecar.orgs import service as orgs

from .models import ScimTokenCreated, ScimTokenPublic
from .tables import ScimGroup, ScimToken, ScimUser

USER_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:User"
GROUP_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:Group"
LIST_SCHEMA = "urn:ietf:params:scim:api:messages:2.0:ListResponse"
PATCH_SCHEMA = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
SEARCH_SCHEMA = "urn:ietf:params:scim:api:messages:2.0:SearchRequest"
ERROR_SCHEMA = "urn:ietf:params:scim:api:messages:2.0:Error"
BY = "scim"
MAX_RESULTS = 200  # a page; IdPs page with startIndex/count
TOKEN_USE_WRITE_EVERY = timedelta(minutes=1)  # last_used_at: not a write on every request


class ScimError(Exception):
    """An error in SCIM's own body (RFC 7644 §3.12): the protocol's, the one exception to the JSON error shape."""

    def __init__(self, status: int, detail: str, scim_type: str | None = None) -> None:
        super().__init__(detail)
        self.status, self.detail, self.scim_type = status, detail, scim_type

    def body(self) -> dict[str, Any]:
        body: dict[str, Any] = {"schemas": [ERROR_SCHEMA], "status": str(self.status), "detail": self.detail}
        if self.scim_type:
            body["scimType"] = self.scim_type
        return body


def _invalid(detail: str, scim_type: str = "invalidValue") -> ScimError:
    return ScimError(400, detail, scim_type)


# ---- tokens (under /api, for the organisation's admins) --------------------------------------------------


def _token_public(row: ScimToken) -> ScimTokenPublic:
    return ScimTokenPublic(id=row.id, name=row.name, created_at=row.created_at, last_used_at=row.last_used_at)


def create_token(*, engine: Engine, actor: User, org_id: str, name: str, base_url: str) -> ScimTokenCreated:
    orgs.get_org(engine=engine, actor=actor, org_id=org_id)  # its admins and super admins; others: 404
    secret = "scim_" + security.new_token()
    with write_session(engine) as session:
        row = ScimToken(id=str(uuid.uuid4()), organization_id=org_id, name=" ".join(name.split()),
                        token_hash=security.token_hash(secret), created_by=actor.id, created_at=utcnow())
        session.add(row)
        audit.record(session, actor_id=actor.id, organization_id=org_id, action="scim.token.create",
                     target_type="scim_token", target_id=row.id, details={"name": row.name})
        return ScimTokenCreated(**_token_public(row).model_dump(), token=secret, base_url=base_url)


def list_tokens(*, engine: Engine, actor: User, org_id: str) -> list[ScimTokenPublic]:
    orgs.get_org(engine=engine, actor=actor, org_id=org_id)
    with read_session(engine) as session:
        rows = session.scalars(select(ScimToken).where(ScimToken.organization_id == org_id,
                                                       ScimToken.revoked_at.is_(None))
                               .order_by(ScimToken.created_at.desc())).all()
        return [_token_public(row) for row in rows]


def revoke_token(*, engine: Engine, actor: User, org_id: str, token_id: str) -> None:
    orgs.get_org(engine=engine, actor=actor, org_id=org_id)
    with write_session(engine) as session:
        row = session.get(ScimToken, token_id, with_for_update=True)
        if row is None or row.organization_id != org_id or row.revoked_at is not None:
            raise NotFound("No such SCIM token.")
        row.revoked_at = utcnow()
        audit.record(session, actor_id=actor.id, organization_id=org_id, action="scim.token.revoke",
                     target_type="scim_token", target_id=row.id, details={"name": row.name})


def organization_for_token(*, engine: Engine, token: str) -> str | None:
    """The organisation a live bearer token acts for, or None (unknown or revoked)."""
    digest = security.token_hash(token)
    now = utcnow()
    with read_session(engine) as session:
        row = session.scalar(select(ScimToken).where(ScimToken.token_hash == digest))
        if row is None or row.revoked_at is not None:
            return None
        org_id, token_id, last = row.organization_id, row.id, row.last_used_at
    if last is None or now - last > TOKEN_USE_WRITE_EVERY:
        with write_session(engine) as session:
            fresh = session.get(ScimToken, token_id)
            if fresh is not None:
                fresh.last_used_at = now
    return org_id


# ---- filters (RFC 7644 §3.4.2.2) -------------------------------------------------------------------------

_TOKEN = re.compile(r'\s*(?:(?P<str>"(?:[^"\\]|\\.)*")|(?P<punct>[()\[\]])|(?P<word>[^\s()\[\]"]+))')
_OPS = {"eq", "ne", "co", "sw", "ew", "gt", "ge", "lt", "le", "pr"}
_CASE_EXACT = {"id", "externalid"}  # RFC 7643: caseExact; the rest of ours compare without case
Matcher = Callable[[dict[str, Any]], bool]


def _tokens(text: str) -> list[tuple[str, str]]:
    found: list[tuple[str, str]] = []
    pos = 0
    text = text.strip()
    while pos < len(text):
        match = _TOKEN.match(text, pos)
        if match is None or match.end() == pos:
            raise _invalid(f"Cannot read the filter near {text[pos:pos + 20]!r}.", "invalidFilter")
        kind = match.lastgroup or "word"
        found.append((kind, match.group(kind)))
        pos = match.end()
    return found


def _strip_urn(path: str) -> str:
    for schema in (USER_SCHEMA, GROUP_SCHEMA):
        if path.lower().startswith(schema.lower() + ":"):
            return path[len(schema) + 1:]
    return path


def _get(resource: dict[str, Any], name: str) -> Any:
    for key, value in resource.items():
        if key.lower() == name.lower():
            return value
    return None


def _values(resource: dict[str, Any], path: str) -> list[Any]:
    """The values at an attribute path (`userName`, `name.givenName`, `emails.value`), flattened."""
    parts = _strip_urn(path).split(".")
    current: list[Any] = [resource]
    for part in parts:
        nxt: list[Any] = []
        for item in current:
            if isinstance(item, dict):
                value = _get(item, part)
                if isinstance(value, list):
                    nxt.extend(value)
                elif value is not None:
                    nxt.append(value)
        current = nxt
    return current


def _compare(op: str, have: Any, want: Any, exact: bool) -> bool:
    if isinstance(have, bool) or isinstance(want, bool):
        return op in ("eq", "ne") and ((have == want) == (op == "eq"))
    if isinstance(have, dict):
        have = have.get("value")
    if have is None:
        return False
    a, b = str(have), str(want) if want is not None else ""
    if not exact:
        a, b = a.lower(), b.lower()
    return {"eq": a == b, "ne": a != b, "co": b in a, "sw": a.startswith(b), "ew": a.endswith(b),
            "gt": a > b, "ge": a >= b, "lt": a < b, "le": a <= b}[op]


class _FilterParser:
    def __init__(self, text: str) -> None:
        self.tokens = _tokens(text)
        self.pos = 0

    def peek(self) -> tuple[str, str] | None:
        return self.tokens[self.pos] if self.pos < len(self.tokens) else None

    def take(self) -> tuple[str, str]:
        token = self.peek()
        if token is None:
            raise _invalid("The filter ends too soon.", "invalidFilter")
        self.pos += 1
        return token

    def keyword(self, *words: str) -> str | None:
        token = self.peek()
        if token and token[0] == "word" and token[1].lower() in words:
            self.pos += 1
            return token[1].lower()
        return None

    def parse(self) -> Matcher:
        matcher = self.expr()
        if self.peek() is not None:
            raise _invalid(f"Unexpected {self.peek()[1]!r} in the filter.", "invalidFilter")  # type: ignore[index]
        return matcher

    def expr(self) -> Matcher:
        parts = [self.term()]
        while self.keyword("or"):
            parts.append(self.term())
        return parts[0] if len(parts) == 1 else (lambda r: any(part(r) for part in parts))

    def term(self) -> Matcher:
        parts = [self.factor()]
        while self.keyword("and"):
            parts.append(self.factor())
        return parts[0] if len(parts) == 1 else (lambda r: all(part(r) for part in parts))

    def factor(self) -> Matcher:
        if self.keyword("not"):
            inner = self.factor()
            return lambda r: not inner(r)
        token = self.take()
        if token == ("punct", "("):
            inner = self.expr()
            if self.take() != ("punct", ")"):
                raise _invalid("A '(' in the filter is not closed.", "invalidFilter")
            return inner
        if token[0] != "word" or not re.fullmatch(r"[A-Za-z][\w:.$-]*", token[1]):
            raise _invalid(f"Expected an attribute in the filter, not {token[1]!r}.", "invalidFilter")
        path = token[1]
        if self.peek() == ("punct", "["):  # emails[type eq "work" and value co "@"]
            self.take()
            inner = self.expr()
            if self.take() != ("punct", "]"):
                raise _invalid("A '[' in the filter is not closed.", "invalidFilter")
            return lambda r: any(isinstance(v, dict) and inner(v) for v in _values(r, path))
        op_token = self.take()
        op = op_token[1].lower()
        if op_token[0] != "word" or op not in _OPS:
            raise _invalid(f"Unknown filter operator {op_token[1]!r}.", "invalidFilter")
        if op == "pr":
            return lambda r: any(v not in (None, "", [], {}) for v in _values(r, path))
        kind, raw = self.take()
        want: Any
        if kind == "str":
            want = raw[1:-1].replace('\\"', '"').replace("\\\\", "\\")
        elif kind == "word" and raw.lower() in ("true", "false"):
            want = raw.lower() == "true"
        elif kind == "word" and raw.lower() == "null":
            want = None
        elif kind == "word" and re.fullmatch(r"-?\d+(\.\d+)?", raw):
            want = raw
        else:
            raise _invalid(f"Cannot read the filter's value {raw!r}.", "invalidFilter")
        exact = _strip_urn(path).split(".")[-1].lower() in _CASE_EXACT
        return lambda r: any(_compare(op, v, want, exact) for v in _values(r, path))


def parse_filter(text: str | None) -> Matcher | None:
    if text is None or not text.strip():
        return None
    if len(text) > 2000:
        raise _invalid("The filter is too long.", "invalidFilter")
    return _FilterParser(text).parse()


# ---- projection and paging -------------------------------------------------------------------------------

_ALWAYS = {"id", "schemas", "meta"}


def project(resource: dict[str, Any], attributes: list[str], excluded: list[str]) -> dict[str, Any]:
    """The resource cut to `attributes` (or without `excludedAttributes`); id, schemas and meta always stay."""
    if attributes:
        wanted: dict[str, set[str] | None] = {}
        for path in attributes:
            head, _, sub = _strip_urn(path).partition(".")
            if sub and wanted.get(head.lower(), set()) is not None:
                wanted.setdefault(head.lower(), set()).add(sub.lower())  # type: ignore[union-attr]
            else:
                wanted[head.lower()] = None
        kept: dict[str, Any] = {}
        for key, value in resource.items():
            if key.lower() in _ALWAYS:
                kept[key] = value
            elif key.lower() in wanted:
                subs = wanted[key.lower()]
                if subs is None or not isinstance(value, dict | list):
                    kept[key] = value
                elif isinstance(value, dict):
                    kept[key] = {k: v for k, v in value.items() if k.lower() in subs}
                else:
                    kept[key] = [{k: v for k, v in item.items() if k.lower() in subs} for item in value
                                 if isinstance(item, dict)]
        return kept
    if excluded:
        drop = {_strip_urn(path).lower() for path in excluded}
        return {k: v for k, v in resource.items() if k.lower() in _ALWAYS or k.lower() not in drop}
    return resource


@dataclass(frozen=True)
class Query:
    filter: str | None = None
    start_index: int = 1
    count: int | None = None
    attributes: tuple[str, ...] = ()
    excluded: tuple[str, ...] = ()


def _list_response(resources: list[dict[str, Any]], query: Query) -> dict[str, Any]:
    matcher = parse_filter(query.filter)
    if matcher is not None:
        resources = [r for r in resources if matcher(r)]
    start = max(1, query.start_index)
    count = MAX_RESULTS if query.count is None else max(0, min(query.count, MAX_RESULTS))
    page = resources[start - 1:start - 1 + count]
    return {"schemas": [LIST_SCHEMA], "totalResults": len(resources), "startIndex": start,
            "itemsPerPage": len(page),
            "Resources": [project(r, list(query.attributes), list(query.excluded)) for r in page]}


# ---- users -----------------------------------------------------------------------------------------------


def _iso(value: datetime) -> str:
    return value.isoformat().replace("+00:00", "Z")


def _user_resource(row: ScimUser, base: str) -> dict[str, Any]:
    resource: dict[str, Any] = {"schemas": [USER_SCHEMA], "id": row.id}
    if row.external_id is not None:
        resource["externalId"] = row.external_id
    resource["userName"] = row.user_name
    if row.name:
        resource["name"] = row.name
    if row.display_name is not None:
        resource["displayName"] = row.display_name
    if row.emails:
        resource["emails"] = row.emails
    if row.active is not None:
        resource["active"] = row.active
    resource["meta"] = {"resourceType": "User", "created": _iso(row.created_at),
                        "lastModified": _iso(row.updated_at), "location": f"{base}/Users/{row.id}"}
    return resource


_NAME_SUBS = ("formatted", "familyName", "givenName", "middleName", "honorificPrefix", "honorificSuffix")
_EMAIL_SUBS = ("value", "display", "type", "primary")


def _text(value: Any, what: str, limit: int) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise _invalid(f"{what} must be a string.")
    if len(value) > limit:
        raise _invalid(f"{what} is longer than {limit} characters.")
    return value


def _bool(value: Any, what: str) -> bool:
    # Entra ID sends booleans in PATCH values as the strings "True" and "False".
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in ("true", "false"):
        return value.lower() == "true"
    raise _invalid(f"{what} must be true or false.")


@dataclass
class _UserFields:
    user_name: str
    external_id: str | None
    display_name: str | None
    name: dict[str, Any] | None
    emails: list[dict[str, Any]] | None
    active: bool | None


def _user_fields(doc: dict[str, Any]) -> _UserFields:
    """The attributes we keep, checked; others (phone numbers, the enterprise extension...) are ignored."""
    user_name = _text(_get(doc, "userName"), "userName", 320)
    if not user_name or not user_name.strip():
        raise _invalid("userName is required.")
    name = _get(doc, "name")
    if name is not None:
        if not isinstance(name, dict):
            raise _invalid("name must be an object.")
        name = {sub: _text(_get(name, sub), f"name.{sub}", 255) for sub in _NAME_SUBS}
        name = {k: v for k, v in name.items() if v is not None} or None
    emails = _get(doc, "emails")
    if emails is not None:
        if not isinstance(emails, list) or len(emails) > 20:
            raise _invalid("emails must be a list (of at most 20).")
        kept = []
        for item in emails:
            if not isinstance(item, dict):
                raise _invalid("Each of emails must be an object.")
            entry: dict[str, Any] = {}
            for sub in _EMAIL_SUBS:
                value = _get(item, sub)
                if value is not None:
                    entry[sub] = _bool(value, "emails.primary") if sub == "primary" else _text(value, f"emails.{sub}",
                                                                                                320)
            kept.append(entry)
        emails = kept or None
    active = _get(doc, "active")
    return _UserFields(user_name=user_name.strip(), external_id=_text(_get(doc, "externalId"), "externalId", 255),
                       display_name=_text(_get(doc, "displayName"), "displayName", 255), name=name, emails=emails,
                       active=None if active is None else _bool(active, "active"))


def _account_email(fields: _UserFields) -> str:
    """The address the account signs in with: the primary email, else the first, else a userName that is one."""
    emails = fields.emails or []
    chosen = next((e.get("value") for e in emails if e.get("primary") and e.get("value")), None)
    chosen = chosen or next((e.get("value") for e in emails if e.get("value")), None)
    if not chosen and "@" in fields.user_name:
        chosen = fields.user_name
    if not chosen:
        raise _invalid("A user needs an email address (emails, or a userName that is one): it is their sign-in.")
    return str(chosen)


def _display(fields: _UserFields) -> str:
    name = fields.name or {}
    given = " ".join(str(name.get(k) or "") for k in ("givenName", "familyName")).strip()
    return fields.display_name or name.get("formatted") or given or fields.user_name


def _user_row(session: Session, org_id: str, scim_id: str, *, lock: bool = False) -> ScimUser:
    row = session.get(ScimUser, scim_id, with_for_update=lock)
    if row is None or row.organization_id != org_id:
        raise ScimError(404, f"No User {scim_id}.")
    return row


def _user_name_taken(session: Session, org_id: str, user_name: str, besides: str | None) -> None:
    other = session.scalar(select(ScimUser.id).where(ScimUser.organization_id == org_id,
                                                     ScimUser.user_name_key == user_name.lower()))
    if other is not None and other != besides:
        raise ScimError(409, f"userName {user_name!r} is already taken in this organisation.", "uniqueness")


def _store(row: ScimUser, fields: _UserFields) -> None:
    row.user_name, row.user_name_key = fields.user_name, fields.user_name.lower()
    row.external_id, row.display_name, row.name, row.emails = (fields.external_id, fields.display_name, fields.name,
                                                               fields.emails)
    row.updated_at = utcnow()


def _committed(action: Callable[[], Any]) -> Any:
    """Run one write transaction; a unique index losing a race (two creates of one userName) is SCIM's 409."""
    try:
        return action()
    except IntegrityError:
        raise ScimError(409, "That userName or account is already provisioned here.", "uniqueness") from None


def create_user(*, engine: Engine, org_id: str, base: str, doc: dict[str, Any]) -> dict[str, Any]:
    fields = _user_fields(doc)
    email = _account_email(fields)

    def create() -> dict[str, Any]:
        with write_session(engine) as session:
            _user_name_taken(session, org_id, fields.user_name, None)
            user_id = orgs.provision_member(session, org_id=org_id, email=email, display_name=_display(fields),
                                            by=BY, join=fields.active is not False)
            if session.scalar(select(ScimUser.id).where(ScimUser.organization_id == org_id,
                                                        ScimUser.user_id == user_id)) is not None:
                raise ScimError(409, "This account is already provisioned here, under another userName.",
                                "uniqueness")
            now = utcnow()
            row = ScimUser(id=str(uuid.uuid4()), organization_id=org_id, user_id=user_id, active=fields.active,
                           created_at=now)
            _store(row, fields)
            session.add(row)
            session.flush()
            return _user_resource(row, base)

    return dict(_committed(create))


def get_user(*, engine: Engine, org_id: str, base: str, scim_id: str) -> dict[str, Any]:
    with read_session(engine) as session:
        return _user_resource(_user_row(session, org_id, scim_id), base)


def list_users(*, engine: Engine, org_id: str, base: str, query: Query) -> dict[str, Any]:
    parse_filter(query.filter)  # a bad filter is a 400 before anything is read
    with read_session(engine) as session:
        statement = select(ScimUser).where(ScimUser.organization_id == org_id)
        # The request every IdP makes before a create: answered from the index, not by reading them all.
        simple = re.fullmatch(r'\s*userName\s+eq\s+"((?:[^"\\]|\\.)*)"\s*', query.filter or "", re.IGNORECASE)
        if simple:
            statement = statement.where(ScimUser.user_name_key == simple.group(1).replace('\\"', '"').lower())
        rows = session.scalars(statement.order_by(ScimUser.created_at, ScimUser.id)).all()
        return _list_response([_user_resource(row, base) for row in rows], query)


def _all_users(session: Session, org_id: str, base: str) -> list[dict[str, Any]]:
    rows = session.scalars(select(ScimUser).where(ScimUser.organization_id == org_id)
                           .order_by(ScimUser.created_at, ScimUser.id)).all()
    return [_user_resource(row, base) for row in rows]


def _set_active(session: Session, org_id: str, row: ScimUser, active: bool | None) -> bool:
    """Join or leave the organisation as `active` says (left out: active, RFC 7643's default); True when the
    person was taken out (their sessions are to end)."""
    was, row.active = row.active is not False, active
    if (active is not False) == was:
        return False
    if active is not False:
        email = auth.emails_of(session=session, user_ids={row.user_id}).get(row.user_id)
        if email is None:
            raise ScimError(404, f"No User {row.id}.")
        orgs.provision_member(session, org_id=org_id, email=email, display_name=row.display_name or row.user_name,
                              by=BY)
        return False
    orgs.withdraw_member(session, org_id=org_id, user_id=row.user_id, by=BY)
    return True


def replace_user(*, engine: Engine, org_id: str, base: str, scim_id: str, doc: dict[str, Any]) -> dict[str, Any]:
    fields = _user_fields(doc)

    def replace() -> tuple[dict[str, Any], str | None]:
        with write_session(engine) as session:
            row = _user_row(session, org_id, scim_id, lock=True)
            _user_name_taken(session, org_id, fields.user_name, row.id)
            _store(row, fields)
            ended = _set_active(session, org_id, row, fields.active)
            return _user_resource(row, base), row.user_id if ended else None

    resource, ended = _committed(replace)
    if ended:
        auth.logout_everywhere(engine=engine, user_id=ended)  # after the commit: they are no longer a member
    return dict(resource)


def patch_user(*, engine: Engine, org_id: str, base: str, scim_id: str, body: dict[str, Any]) -> dict[str, Any]:
    operations = _operations(body)
    with read_session(engine) as session:
        doc = _user_resource(_user_row(session, org_id, scim_id), base)
    for op, path, value in operations:
        _apply(doc, op, path, value, multi={"emails"}, complex_={"name"})
    return replace_user(engine=engine, org_id=org_id, base=base, scim_id=scim_id, doc=doc)


def delete_user(*, engine: Engine, org_id: str, scim_id: str) -> None:
    with write_session(engine) as session:
        row = _user_row(session, org_id, scim_id, lock=True)
        user_id = row.user_id
        was_member = orgs.withdraw_member(session, org_id=org_id, user_id=user_id, by=BY)
        session.delete(row)
    if was_member:
        auth.logout_everywhere(engine=engine, user_id=user_id)


# ---- PATCH (RFC 7644 §3.5.2), applied to the resource as a document, then saved as a PUT ------------------


def _operations(body: dict[str, Any]) -> list[tuple[str, str | None, Any]]:
    schemas = body.get("schemas")
    if not isinstance(schemas, list) or PATCH_SCHEMA not in schemas:
        raise _invalid(f"A PATCH names the schema {PATCH_SCHEMA}.", "invalidSyntax")
    raw = body.get("Operations")
    if not isinstance(raw, list) or not raw or len(raw) > 1000:
        raise _invalid("A PATCH has 1 to 1000 Operations.", "invalidSyntax")
    found: list[tuple[str, str | None, Any]] = []
    for item in raw:
        if not isinstance(item, dict):
            raise _invalid("Each operation is an object.", "invalidSyntax")
        op = str(_get(item, "op") or "").lower()  # Entra ID sends "Replace", "Add"
        if op not in ("add", "replace", "remove"):
            raise _invalid(f"Unknown operation {_get(item, 'op')!r}: add, replace or remove.", "invalidSyntax")
        path = _get(item, "path")
        if path is not None and (not isinstance(path, str) or not path.strip()):
            raise _invalid("An operation's path must be a string.", "invalidPath")
        if op == "remove" and path is None:
            raise _invalid("A remove needs a path.", "noTarget")
        if op != "remove" and "value" not in {k.lower() for k in item}:
            raise _invalid(f"An {op} needs a value.", "invalidValue")
        found.append((op, path, _get(item, "value")))
    return found


_PATH = re.compile(r"^(?P<attr>[A-Za-z$][\w$-]*)(?:\[(?P<filter>.*)\])?(?:\.(?P<sub>[A-Za-z$][\w$-]*))?$")


def _key(doc: dict[str, Any], name: str) -> str:
    """The document's own spelling of an attribute (names are case-insensitive), or `name`."""
    return next((key for key in doc if key.lower() == name.lower()), name)


def _same_value(a: Any, b: Any) -> bool:
    va = a.get("value") if isinstance(a, dict) else a
    vb = b.get("value") if isinstance(b, dict) else b
    return va is not None and va == vb


def _apply(doc: dict[str, Any], op: str, path: str | None, value: Any, *, multi: set[str],
           complex_: set[str]) -> None:
    if path is None:
        if not isinstance(value, dict):
            raise _invalid("An operation without a path takes an object of attributes.")
        for name, item in value.items():
            # Entra ID puts paths as keys ("name.givenName"); schema URNs name the core attributes.
            _apply(doc, op, _strip_urn(name), item, multi=multi, complex_=complex_)
        return
    match = _PATH.match(_strip_urn(path.strip()))
    if match is None:
        raise _invalid(f"Cannot read the path {path!r}.", "invalidPath")
    attr, filter_text, sub = match.group("attr"), match.group("filter"), match.group("sub")
    if attr.lower() in ("id", "meta", "schemas"):
        raise _invalid(f"{attr} cannot be changed.", "mutability")
    key = _key(doc, attr)
    current = doc.get(key)
    if filter_text is not None:
        matcher = parse_filter(filter_text)
        if matcher is None or attr.lower() not in multi:
            raise _invalid(f"The path {path!r} names no multi-valued attribute.", "invalidPath")
        items = [i for i in (current or []) if isinstance(i, dict)]
        hits = [i for i in items if matcher(i)]
        if op == "remove":
            if sub:
                for item in hits:
                    item.pop(_key(item, sub), None)
            else:
                items = [i for i in items if i not in hits]
        elif sub:
            if not hits:
                # emails[type eq "work"].value with no work email yet: make it (as Okta and Entra expect).
                equal = re.fullmatch(r'\s*(\w+)\s+eq\s+"([^"]*)"\s*', filter_text, re.IGNORECASE)
                if equal is None:
                    raise _invalid(f"No value matches {path!r}.", "noTarget")
                hits = [{equal.group(1): equal.group(2)}]
                items.append(hits[0])
            for item in hits:
                item[_key(item, sub)] = value
        else:
            if not hits:
                raise _invalid(f"No value matches {path!r}.", "noTarget")
            replaced = value if isinstance(value, dict) else {"value": value}
            items = [replaced if i in hits else i for i in items]
        doc[key] = items
        return
    if sub:
        if attr.lower() in multi:
            items = [i for i in (current or []) if isinstance(i, dict)] or ([{}] if op != "remove" else [])
            for item in items:
                if op == "remove":
                    item.pop(_key(item, sub), None)
                else:
                    item[_key(item, sub)] = value
            doc[key] = items
            return
        holder = current if isinstance(current, dict) else {}
        if op == "remove":
            holder.pop(_key(holder, sub), None)
        else:
            holder[_key(holder, sub)] = value
        doc[key] = holder
        return
    if op == "remove":
        if attr.lower() in multi and value is not None:
            # Remove the listed values only (Entra ID's form for group members).
            gone = value if isinstance(value, list) else [value]
            doc[key] = [i for i in (current or []) if not any(_same_value(i, g) for g in gone)]
        else:
            doc.pop(key, None)
        return
    if attr.lower() in multi:
        values = value if isinstance(value, list) else [value]
        if op == "add":
            kept = list(current or [])
            kept += [v for v in values if not any(_same_value(v, k) or v == k for k in kept)]
            values = kept
        doc[key] = values
        return
    if attr.lower() in complex_ and isinstance(value, dict) and op == "add" and isinstance(current, dict):
        doc[key] = {**current, **value}
        return
    if attr.lower() in complex_ and isinstance(value, dict) and isinstance(current, dict) and op == "replace":
        doc[key] = {**current, **value}
        return
    doc[key] = value


# ---- groups (the organisation's teams the IdP created) ---------------------------------------------------


def _group_resources(session: Session, org_id: str, base: str, rows: list[ScimGroup]) -> list[dict[str, Any]]:
    team_ids = {row.team_id for row in rows}
    names = orgs.team_names(session, org_id=org_id, team_ids=team_ids)
    members = orgs.team_members_of(session, team_ids=team_ids)
    account_ids = set().union(*members.values()) if members else set()
    scim_users = {u.user_id: u for u in session.scalars(select(ScimUser).where(
        ScimUser.organization_id == org_id, ScimUser.user_id.in_(account_ids)))} if account_ids else {}
    found = []
    for row in rows:
        resource: dict[str, Any] = {"schemas": [GROUP_SCHEMA], "id": row.team_id}
        if row.external_id is not None:
            resource["externalId"] = row.external_id
        resource["displayName"] = names.get(row.team_id, "")
        # Members the IdP knows (SCIM users); people added to the team on the organisation page are not its.
        listed = sorted((scim_users[a] for a in members.get(row.team_id, set()) if a in scim_users),
                        key=lambda u: u.user_name_key)
        # No `display`: it is read-only here, and an IdP compares the members it sent with those it reads back.
        resource["members"] = [{"value": u.id, "$ref": f"{base}/Users/{u.id}", "type": "User"} for u in listed]
        resource["meta"] = {"resourceType": "Group", "created": _iso(row.created_at),
                            "lastModified": _iso(row.updated_at), "location": f"{base}/Groups/{row.team_id}"}
        found.append(resource)
    return found


def _group_row(session: Session, org_id: str, group_id: str, *, lock: bool = False) -> ScimGroup:
    row = session.get(ScimGroup, group_id, with_for_update=lock)
    if row is None or row.organization_id != org_id:
        raise ScimError(404, f"No Group {group_id}.")
    return row


def _member_accounts(session: Session, org_id: str, members: Any) -> set[str]:
    """The accounts of the SCIM users a Group's members name; each must be a User of this organisation."""
    if members is None:
        return set()
    if not isinstance(members, list) or len(members) > 10_000:
        raise _invalid("members must be a list.")
    ids = set()
    for item in members:
        value = _get(item, "value") if isinstance(item, dict) else None
        if not isinstance(value, str) or not value:
            raise _invalid("Each member needs a value: the id of a User.")
        ids.add(value)
    rows = {row[0]: row[1] for row in session.execute(select(ScimUser.id, ScimUser.user_id).where(
        ScimUser.organization_id == org_id, ScimUser.id.in_(ids)))} if ids else {}
    unknown = ids - set(rows)
    if unknown:
        raise _invalid(f"No User of this organisation has the id {sorted(unknown)[0]}.")
    return set(rows.values())


def _group_fields(doc: dict[str, Any]) -> tuple[str, str | None]:
    name = _text(_get(doc, "displayName"), "displayName", 120)
    if not name or not name.strip():
        raise _invalid("displayName is required.")
    return name, _text(_get(doc, "externalId"), "externalId", 255)


def create_group(*, engine: Engine, org_id: str, base: str, doc: dict[str, Any]) -> dict[str, Any]:
    name, external_id = _group_fields(doc)
    with write_session(engine) as session:
        accounts = _member_accounts(session, org_id, _get(doc, "members"))
        team_id = orgs.provision_team(session, org_id=org_id, name=name, by=BY)
        now = utcnow()
        row = ScimGroup(team_id=team_id, organization_id=org_id, external_id=external_id, created_at=now,
                        updated_at=now)
        session.add(row)
        # Only active members are in the organisation: an inactive user waits outside its teams.
        orgs.change_team_members(session, org_id=org_id, team_id=team_id, add=_active(session, accounts),
                                 remove=set(), by=BY)
        session.flush()
        return _group_resources(session, org_id, base, [row])[0]


def _active(session: Session, accounts: set[str]) -> set[str]:
    if not accounts:
        return set()
    return set(session.scalars(select(ScimUser.user_id).where(ScimUser.user_id.in_(accounts),
                                                              or_(ScimUser.active.is_(None),
                                                                  ScimUser.active.is_(True)))))


def get_group(*, engine: Engine, org_id: str, base: str, group_id: str) -> dict[str, Any]:
    with read_session(engine) as session:
        return _group_resources(session, org_id, base, [_group_row(session, org_id, group_id)])[0]


def list_groups(*, engine: Engine, org_id: str, base: str, query: Query) -> dict[str, Any]:
    parse_filter(query.filter)
    with read_session(engine) as session:
        rows = list(session.scalars(select(ScimGroup).where(ScimGroup.organization_id == org_id)
                                    .order_by(ScimGroup.created_at, ScimGroup.team_id)))
        return _list_response(_group_resources(session, org_id, base, rows), query)


def replace_group(*, engine: Engine, org_id: str, base: str, group_id: str, doc: dict[str, Any]) -> dict[str, Any]:
    name, external_id = _group_fields(doc)
    with write_session(engine) as session:
        row = _group_row(session, org_id, group_id, lock=True)
        wanted = _active(session, _member_accounts(session, org_id, _get(doc, "members")))
        orgs.rename_team(session, org_id=org_id, team_id=row.team_id, name=name, by=BY)
        # The IdP's members are replaced; members it does not know (added on the organisation page) stay.
        known = set(session.scalars(select(ScimUser.user_id).where(ScimUser.organization_id == org_id)))
        have = orgs.team_members_of(session, team_ids={row.team_id})[row.team_id]
        orgs.change_team_members(session, org_id=org_id, team_id=row.team_id, add=wanted - have,
                                 remove=(have & known) - wanted, by=BY)
        row.external_id, row.updated_at = external_id, utcnow()
        session.flush()
        return _group_resources(session, org_id, base, [row])[0]


def patch_group(*, engine: Engine, org_id: str, base: str, group_id: str, body: dict[str, Any]) -> dict[str, Any]:
    operations = _operations(body)
    with read_session(engine) as session:
        doc = _group_resources(session, org_id, base, [_group_row(session, org_id, group_id)])[0]
    for op, path, value in operations:
        _apply(doc, op, path, value, multi={"members"}, complex_=set())
    return replace_group(engine=engine, org_id=org_id, base=base, group_id=group_id, doc=doc)


def delete_group(*, engine: Engine, org_id: str, group_id: str) -> None:
    with write_session(engine) as session:
        row = _group_row(session, org_id, group_id, lock=True)
        team_id = row.team_id
        session.delete(row)
        session.flush()
        orgs.delete_team(session, org_id=org_id, team_id=team_id, by=BY)


def search(*, engine: Engine, org_id: str, base: str, query: Query, types: tuple[str, ...]) -> dict[str, Any]:
    """POST .search: the users' and groups' lists together (or one of them), filtered and paged as one."""
    parse_filter(query.filter)
    resources: list[dict[str, Any]] = []
    with read_session(engine) as session:
        if "User" in types:
            resources += _all_users(session, org_id, base)
        if "Group" in types:
            rows = list(session.scalars(select(ScimGroup).where(ScimGroup.organization_id == org_id)
                                        .order_by(ScimGroup.created_at, ScimGroup.team_id)))
            resources += _group_resources(session, org_id, base, rows)
    return _list_response(resources, query)

