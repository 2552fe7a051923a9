"""Recording learning events as xAPI 1.0.3 statements, in the transaction of the event itself.

Every domain that sees a learner learn (progress, grading, agents, assessments, review) calls
`record` inside its own write transaction, with the Session or the driver-level `Tx` it already
holds: a submission that rolls back leaves no statement, and one that commits always has one.

- The statement id is a UUID derived (uuid5) from the event's own idempotency key, so a replayed
  event produces the same id and the insert is ignored (`ON CONFLICT (id) DO NOTHING`): never two
  statements for one event, on SQLite and PostgreSQL.
- The actor is an account on this site (`homePage`: APP_URL; `name`: the user id), never an email:
  statements may leave for an external LRS, and a user id says nothing about the person.
- Objects are IRIs under the site (`{APP_URL}/xapi/activities/{object_type}/{object_id}`).
- Each statement is validated with Ralph's pydantic models of xAPI (`ralph-malph`) before it is
  stored: an invalid statement is a bug, and fails the event loudly rather than reaching an LRS.
- When an LRS is configured (LRS_URL), the statement also enters `xapi_lrs_outbox` in the same
  transaction; `sidecar/xapi/forward.py` sends it later, with retries.

Cost: one statement is a dictionary, one pydantic validation (about 100 µs, IRI checks memoised:
see below) and one or two INSERTs on the caller's connection.
"""

from __future__ import annotations

import functools
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote

from ralph.models.xapi.base import common as _ralph_common
from ralph.models.xapi.base.statements import BaseXapiStatement
from sqlalchemy.orm import Session

from sidecar.db.base import utcnow
from sidecar.db.engine import Tx
from sidecar.db.upsert import insert_ignore
from sidecar.settings import Settings, get_settings

from . import verbs
from .tables import LrsOutbox, XapiStatement

XAPI_VERSION = "1.0.3"
FALLBACK_HOME_PAGE = "https://dronacharya.invalid"
PLATFORM = "Dronacharya"
# Statement ids: uuid5 in this namespace of "{user}|{verb}|{object type}|{object id}|{event key}".
NAMESPACE = uuid.uuid5(uuid.NAMESPACE_URL, "https://dronacharya.dev/xapi/statements")


# Ralph checks every IRI with rfc3987's `parse`, about 20 µs each and a dozen per statement, though
# nearly all of them (the verb, the activity types, the site's lessons and skills) repeat from one
# statement to the next. The check depends only on the string, so its successes are remembered
# (failures raise each time, as before): the same validation, about 5 times cheaper.
if not hasattr(_ralph_common.parse, "cache_info"):
    _ralph_common.parse = functools.lru_cache(maxsize=16384)(_ralph_common.parse)


@dataclass(frozen=True)
class RecordConfig:
    home_page: str  # the site's public base URL: the actor's account homePage and the root of object IRIs
    forward: bool  # an LRS is configured: enqueue every new statement for forwarding


_config: RecordConfig | None = None


def config_from(settings: Settings) -> RecordConfig:
    home = (settings.APP_URL or "").strip().rstrip("/") or FALLBACK_HOME_PAGE
    return RecordConfig(home_page=home, forward=bool(settings.LRS_URL))


def configure(settings: Settings | RecordConfig) -> None:
    """Set where statements point and whether they are forwarded (the app and the CLI do, at start)."""
    global _config
    _config = settings if isinstance(settings, RecordConfig) else config_from(settings)


def current_config() -> RecordConfig:
    global _config
    if _config is None:
        _config = config_from(get_settings())
    return _config


def statement_id(*, key: str, user_id: str, verb: str, object_type: str, object_id: str) -> str:
    """The deterministic id of the statement for one event (its idempotency key)."""
    return str(uuid.uuid5(NAMESPACE, f"{user_id}|{verb}|{object_type}|{object_id}|{key}"))


def activity_iri(home_page: str, object_type: str, object_id: str) -> str:
    return f"{home_page}/xapi/activities/{object_type}/{quote(str(object_id), safe='')}"


def extension_iri(home_page: str, name: str) -> str:
    return f"{home_page}/xapi/extensions/{quote(name, safe='')}"


def _duration(seconds: float) -> str:
    return f"PT{max(0.0, round(seconds, 2)):g}S"


def _timestamp(at: datetime) -> str:
    if at.tzinfo is None:
        at = at.replace(tzinfo=UTC)
    return at.astimezone(UTC).isoformat()


def build_statement(*, sid: str, home_page: str, user_id: str, verb: str, object_type: str, object_id: str,
                    course_id: str | None, skills: list[str], success: bool | None, score: float | None,
                    duration_s: float | None, timestamp: datetime,
                    extensions: Mapping[str, Any] | None) -> dict[str, Any]:
    """The full xAPI statement (plain JSON) for one event; `validate` checks it."""
    iri, display = verbs.VERBS[verb]
    statement: dict[str, Any] = {
        "id": sid,
        "actor": {"objectType": "Agent", "account": {"homePage": home_page, "name": user_id}},
        "verb": {"id": iri, "display": {"en-US": display}},
        "object": {"objectType": "Activity", "id": activity_iri(home_page, object_type, object_id),
                   "definition": {"type": verbs.activity_type(object_type)}},
        "timestamp": _timestamp(timestamp),
        "version": XAPI_VERSION,
    }
    result: dict[str, Any] = {}
    if success is not None:
        result["success"] = bool(success)
    if score is not None:
        result["score"] = {"scaled": round(min(1.0, max(0.0, float(score))), 4)}
    if duration_s is not None:
        result["duration"] = _duration(float(duration_s))
    if verb == "completed":
        result["completion"] = True
    if result:
        statement["result"] = result
    context: dict[str, Any] = {"platform": PLATFORM}
    activities: dict[str, Any] = {}
    if course_id:
        activities["grouping"] = [{"objectType": "Activity", "id": activity_iri(home_page, "course", course_id),
                                   "definition": {"type": verbs.activity_type("course")}}]
    if skills:
        activities["other"] = [{"objectType": "Activity", "id": activity_iri(home_page, "skill", skill),
                                "definition": {"type": verbs.activity_type("skill")}} for skill in skills]
    if activities:
        context["contextActivities"] = activities
    if extensions:
        context["extensions"] = {extension_iri(home_page, name): value for name, value in extensions.items()
                                 if value is not None}
        if not context["extensions"]:
            del context["extensions"]
    statement["context"] = context
    return statement


def validate(statement: Mapping[str, Any]) -> None:
    """Raise pydantic's ValidationError unless `statement` is valid xAPI (Ralph's models)."""
    BaseXapiStatement.model_validate(statement)


@dataclass(frozen=True)
class Prepared:
    """A built and validated statement, ready to store: `prepare` does the work outside any transaction."""

    id: str
    values: dict[str, Any]  # the xapi_statements row


def prepare(*, key: str, user_id: str, verb: str, object_type: str, object_id: str, course_id: str | None = None,
            skills: Iterable[str] = (), success: bool | None = None, score: float | None = None,
            duration_s: float | None = None, timestamp: datetime,
            extensions: Mapping[str, Any] | None = None) -> Prepared:
    """Build and validate the statement of one event (no I/O: hot paths call it before taking a lock)."""
    if verb not in verbs.VERBS:
        raise ValueError(f"unknown xAPI verb {verb!r}")
    if object_type not in verbs.ACTIVITY_TYPES:
        raise ValueError(f"unknown xAPI object type {object_type!r}")
    conf = current_config()
    sid = statement_id(key=key, user_id=user_id, verb=verb, object_type=object_type, object_id=object_id)
    skill_list = list(dict.fromkeys(str(s) for s in skills if s))
    if timestamp.tzinfo is None:
        timestamp = timestamp.replace(tzinfo=UTC)
    statement = build_statement(sid=sid, home_page=conf.home_page, user_id=user_id, verb=verb,
                                object_type=object_type, object_id=object_id, course_id=course_id,
                                skills=skill_list, success=success, score=score, duration_s=duration_s,
                                timestamp=timestamp, extensions=extensions)
    validate(statement)
    return Prepared(id=sid, values={
        "id": sid, "user_id": user_id, "verb": verb, "object_type": object_type, "object_id": str(object_id)[:64],
        "course_id": course_id, "skills": skill_list, "success": success,
        "score": None if score is None else min(1.0, max(0.0, float(score))), "duration_s": duration_s,
        "timestamp": timestamp, "statement": statement})


def store(db: Session | Tx, prepared: Prepared, *, now: datetime | None = None) -> bool:
    """Insert a prepared statement in the caller's transaction (and queue it for the LRS, if one is set).
    False when a statement with its id is there already: the event was recorded before."""
    now = now or utcnow()
    fresh = insert_ignore(db, XapiStatement, {**prepared.values, "stored": now}, ["id"])
    if fresh and current_config().forward:
        insert_ignore(db, LrsOutbox, {"statement_id": prepared.id, "attempts": 0, "next_attempt_at": now,
                                      "last_error": None, "created_at": now}, ["statement_id"])
    return fresh


def record(*, db: Session | Tx, key: str, user_id: str, verb: str, object_type: str, object_id: str,
           course_id: str | None = None, skills: Iterable[str] = (), success: bool | None = None,
           score: float | None = None, duration_s: float | None = None, timestamp: datetime,
           extensions: Mapping[str, Any] | None = None) -> str:
    """Record one learning event as an xAPI statement in the caller's transaction; returns its id.

    `key` is the event's own idempotency key (unique among this learner's events of this verb and
    object): the same key gives the same statement id, and a second record of it changes nothing.
    `score` is scaled 0..1. `extensions` are short names, written as IRIs under the site.
    """
    prepared = prepare(key=key, user_id=user_id, verb=verb, object_type=object_type, object_id=object_id,
                       course_id=course_id, skills=skills, success=success, score=score, duration_s=duration_s,
                       timestamp=timestamp, extensions=extensions)
    store(db, prepared)
    return prepared.id
