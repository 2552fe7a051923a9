"""Grade passback (LTI Assignment and Grade Services): a completed lesson's score goes to the line item of
each resource link the learner launched it from.

The completion hook (sidecar/progress/completion.py) only writes an outbox row, in the completion's own
transaction: the learner's request never waits on the LMS, and a completion that rolls back queues
nothing. A sender thread per process posts the rows after commit, with retries and back-off. The outbox's
key is the grant (one learner's one link), so a completion is queued once, and a row is claimed before it is
posted (`claimed_until`), so two processes never post it at once. (A process that dies between the LMS's
answer and marking the row sent would post it again later: the same score with the same timestamp, which
AGS treats as the same result.)
"""

from __future__ import annotations

import logging
import threading
from datetime import datetime, timedelta
from typing import Any

from pylti1p3.assignments_grades import AssignmentsGradesService
from pylti1p3.grade import Grade
from pylti1p3.service_connector import ServiceConnector
from sqlalchemy import Engine, select, update

from sidecar.db.base import utcnow
from sidecar.db.engine import Tx, read_session, write_session
from sidecar.db.upsert import insert_ignore
from sidecar.progress.completion import CourseOutcome, read_standing, register_course_hook
from sidecar.settings import Settings

from .adapters import TimeoutSession, platform_row, registration
from .tables import LtiGrant, LtiPlatform, LtiScoreOutbox

logger = logging.getLogger("drona")

SCORE_MAXIMUM = 100
MAX_ATTEMPTS = 12  # about a day and a half of back-off; then the row stays, with its last error, for admins
CLAIM_SECONDS = 120
POLL_SECONDS = 60.0
_GRANTS = LtiGrant.__table__.c


def _backoff(attempts: int) -> timedelta:
    return timedelta(seconds=min(30 * 2 ** max(attempts - 1, 0), 6 * 3600))


def _queue(tx: Tx, *, grant_id: str, user_id: str, sub: str, at: datetime) -> bool:
    score = {"userId": sub, "scoreGiven": SCORE_MAXIMUM, "scoreMaximum": SCORE_MAXIMUM,
             "activityProgress": "Completed", "gradingProgress": "FullyGraded",
             "timestamp": at.isoformat()}
    return insert_ignore(tx, LtiScoreOutbox, {"grant_id": grant_id, "user_id": user_id, "score": score,
                                              "created_at": at, "attempts": 0, "next_attempt_at": at},
                         ["grant_id"])


def queue_if_completed(tx: Tx, *, grant_id: str) -> bool:
    """Queue the grant's score when its lesson is already completed (a launch after the completion)."""
    row = tx.row("SELECT user_id, sub, lesson_id FROM lti_grants WHERE id = :id", {"id": grant_id})
    if row is None or read_standing(tx, user_id=row[0], lesson_id=row[2]).lesson_state != "completed":
        return False
    return _queue(tx, grant_id=grant_id, user_id=row[0], sub=row[1], at=utcnow())


def _on_completion(tx: Tx, *, user_id: str, course_id: str, at: datetime, gamification_enabled: bool,
                   **_: Any) -> CourseOutcome:
    """The completion hook: every not-yet-queued link of this learner into this course whose lesson is now
    completed gets its score queued. Cheap when the learner never came through LTI (one indexed query)."""
    rows = tx.rows("SELECT g.id, g.sub, g.lesson_id FROM lti_grants g WHERE g.user_id = :user_id "
                   "AND g.course_id = :course_id AND NOT EXISTS "
                   "(SELECT 1 FROM lti_score_outbox o WHERE o.grant_id = g.id)",
                   {"user_id": user_id, "course_id": course_id})
    queued = False
    for grant_id, sub, lesson_id in rows:
        if read_standing(tx, user_id=user_id, lesson_id=lesson_id).lesson_state == "completed":
            queued = _queue(tx, grant_id=grant_id, user_id=user_id, sub=sub, at=at) or queued
    if queued:
        wake()  # the sender looks again shortly, by when this transaction has committed
    return CourseOutcome()


register_course_hook(_on_completion)


# ---------------------------------------------------------------------------------------------
# Sending


class _CachedTokens(ServiceConnector):
    """Access tokens per (token endpoint, client, scopes), kept until shortly before they expire."""

    _tokens: dict[str, tuple[str, datetime]] = {}
    _lock = threading.Lock()

    def _get_cached_access_token(self, scope_key: str) -> str | None:
        key = f"{self._registration.get_auth_token_url()}|{self._registration.get_client_id()}|{scope_key}"
        with self._lock:
            found = self._tokens.get(key)
        return found[0] if found is not None and found[1] > utcnow() else None

    def _cache_access_token(self, scope_key: str, access_token: str, expires_in: float) -> None:
        key = f"{self._registration.get_auth_token_url()}|{self._registration.get_client_id()}|{scope_key}"
        with self._lock:
            self._tokens[key] = (access_token, utcnow() + timedelta(seconds=max(float(expires_in) - 60, 0)))


def _post(*, grant: LtiGrant, platform: LtiPlatform, score: dict[str, Any], private_pem: str,
          public_pem: str) -> None:
    reg = registration(platform_row(platform), private_pem=private_pem, public_pem=public_pem)
    connector = _CachedTokens(reg, requests_session=TimeoutSession())
    claim: Any = {"scope": list(grant.scopes), "lineitem": grant.lineitem_url}  # the launch's AGS claim, as stored
    service = AssignmentsGradesService(connector, claim)
    grade = (Grade().set_user_id(score["userId"]).set_score_given(score["scoreGiven"])
             .set_score_maximum(score["scoreMaximum"]).set_activity_progress(score["activityProgress"])
             .set_grading_progress(score["gradingProgress"]).set_timestamp(score["timestamp"]))
    service.put_grade(grade)


def deliver_due(*, engine: Engine, settings: Settings) -> int:
    """Post every due score once; returns how many the platforms accepted."""
    from .service import tool_key  # service imports this module (the hook); the key lives there

    now = utcnow()
    with read_session(engine) as session:
        due = list(session.scalars(select(LtiScoreOutbox.grant_id).where(
            LtiScoreOutbox.sent_at.is_(None), LtiScoreOutbox.next_attempt_at <= now,
            LtiScoreOutbox.attempts < MAX_ATTEMPTS).order_by(LtiScoreOutbox.next_attempt_at).limit(100)))
    if not due:
        return 0
    key = tool_key(engine=engine, settings=settings)
    sent = 0
    for grant_id in due:
        with write_session(engine) as session:
            claimed = session.execute(
                update(LtiScoreOutbox).where(
                    LtiScoreOutbox.grant_id == grant_id, LtiScoreOutbox.sent_at.is_(None),
                    (LtiScoreOutbox.claimed_until.is_(None)) | (LtiScoreOutbox.claimed_until < now))
                .values(claimed_until=now + timedelta(seconds=CLAIM_SECONDS), attempts=LtiScoreOutbox.attempts + 1)
                .returning(LtiScoreOutbox.attempts)).first()
            if claimed is None:
                continue  # another process has it
            row = session.get(LtiScoreOutbox, grant_id)
            grant = session.get(LtiGrant, grant_id)
            platform = session.get(LtiPlatform, grant.platform_id) if grant is not None else None
            assert row is not None
            score, attempts = dict(row.score), int(claimed[0])
            if grant is not None:
                session.expunge(grant)
            if platform is not None:
                session.expunge(platform)
        error: str | None = None
        if grant is None or platform is None:
            error = "the link or its platform was removed"
        else:
            try:
                _post(grant=grant, platform=platform, score=score, private_pem=key.private_pem,
                      public_pem=key.public_pem)
            except Exception as exc:  # noqa: BLE001 - any failure is retried; the learner is not waiting
                error = f"{type(exc).__name__}: {exc}"[:500]
                logger.warning("LTI score for grant %s not accepted (attempt %d): %s", grant_id, attempts, error)
        with write_session(engine) as session:
            done = utcnow()
            values: dict[str, Any] = ({"sent_at": done, "claimed_until": None, "last_error": None} if error is None
                                      else {"claimed_until": None, "last_error": error,
                                            "next_attempt_at": done + _backoff(attempts)})
            session.execute(update(LtiScoreOutbox).where(LtiScoreOutbox.grant_id == grant_id).values(**values))
        sent += error is None
    return sent


_wake = threading.Event()
_senders: dict[str, threading.Thread] = {}
_stops: dict[str, threading.Event] = {}
_senders_lock = threading.Lock()


def wake() -> None:
    _wake.set()


def _run(engine: Engine, settings: Settings, stop: threading.Event) -> None:
    while not stop.is_set():
        woken = _wake.wait(POLL_SECONDS)
        _wake.clear()
        # Woken by a completion, whose transaction commits a moment later: look now and once more soon.
        for pause in ((0.0, 0.5, 2.0) if woken else (0.0,)):
            if stop.wait(pause):
                return
            try:
                deliver_due(engine=engine, settings=settings)
            except Exception:  # noqa: BLE001 - keep sending; the next round retries
                logger.warning("LTI score sender: a round failed", exc_info=True)


def start_sender(*, engine: Engine, settings: Settings) -> None:
    """One sender thread per database in this process (started with the app, stopped with it)."""
    key = str(engine.url)
    with _senders_lock:
        if key in _senders and _senders[key].is_alive():
            return
        stop = threading.Event()
        thread = threading.Thread(target=_run, args=(engine, settings, stop), daemon=True, name="drona-lti-scores")
        _senders[key], _stops[key] = thread, stop
        thread.start()


def stop_sender(*, engine: Engine) -> None:
    key = str(engine.url)
    with _senders_lock:
        stop, thread = _stops.pop(key, None), _senders.pop(key, None)
    if stop is not None:
        stop.set()
        _wake.set()
    if thread is not None:
        thread.join(timeout=5)
