"""Issuing, verifying and revoking certificates (§9.4), and where a learner stands on each tier.

One function issues every tier: `issue_in_tx` (inside a caller's write transaction; `issue` opens
its own). It signs an Open Badges 3.0 credential with the issuer's current key (eddsa-rdfc-2022),
gives it a random index in the Bitstring status list (random, so an index says nothing about
issuance order), appends the issuance to the transparency log, stores the row and pays the tier's
XP (§8.2, once: ledger source key `certificate:<tier>:<course id>`) and the certificate
achievements. It is idempotent per (learner, course, tier).

Bronze is issued by the completion path (`progress.completion` hook) the moment its last
requirement is met: that path knows nothing of settings, so the app puts the issuing context
(settings, catalog, database) in a context variable for each request (`use_context`). Silver and
Gold call `issue` from their own domains (assessments, projects) on a pass.

Verification never trusts the row alone: the view is checked against the signed credential (its
digest, holder name, date and achievement), the signature against the published keys, and the
log entry's inclusion proof against the latest signed tree head. Any mismatch shows as "invalid".
"""

from __future__ import annotations

import contextvars
import hashlib
import json
import logging
import secrets
import threading
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import Any

from sqlalchemy import Engine

from sidecar.catalog import readers
from sidecar.catalog.service import get_index
from sidecar.credentials import badge, bundle, integrity, status_list
from sidecar.db.base import utcnow
from sidecar.db.engine import Tx, read_tx, write_tx
from sidecar.errors import Conflict, NotFound
from sidecar.gamification import service as gamification
from sidecar.gamification import xp
from sidecar.gamification.models import AchievementPublic
from sidecar.progress.completion import CourseOutcome, register_course_hook
from sidecar.settings import Settings

from . import documents, issuer, translog
from .models import (
    TIERS,
    CertificatePublic,
    CertificationTierPublic,
    CourseCertificationPublic,
    EvidencePublic,
    IssuedPublic,
    IssuerPublic,
    LogProofPublic,
    OrgPublic,
    RequirementPublic,
    ScorePublic,
    SignatureCheckPublic,
    TierStatusPublic,
    VerificationPublic,
)
from .tables import Certificate

log = logging.getLogger(__name__)
_CERTS = Certificate.__table__.c
STATUS_LIST_PATH = "/api/issuer/status/1"
_COLUMNS = ("id, user_id, course_id, tier, holder_name, course_title, track_title, tier_title, issued_at, scores, "
            "evidence, demo_url, org_name, status_index, credential, credential_sha256, log_index, revoked_at, "
            "revocation_reason")


@dataclass(frozen=True)
class Score:
    """One line of a certificate's scores: a Silver section or a Gold rubric category (Bronze: a quiz)."""

    key: str
    label: str
    points: float
    max_points: float


@dataclass(frozen=True)
class IssueContext:
    settings: Settings
    catalog_db: Path
    db_key: str  # the learner database's URL: the transparency log's cache key


_context: contextvars.ContextVar[IssueContext | None] = contextvars.ContextVar("certificates_context", default=None)


@contextmanager
def use_context(context: IssueContext) -> Iterator[None]:
    """Within the block, completions may issue certificates (Bronze) with this context."""
    token = _context.set(context)
    try:
        yield
    finally:
        _context.reset(token)


# The certificates issued while serving the current request (the app's middleware publishes the log,
# and anchors it, once the response is sent). A mutable list, so that an endpoint running in a worker
# thread (a copy of the request's context) appends to the middleware's own list.
_issued_in_request: contextvars.ContextVar[list[str] | None] = contextvars.ContextVar("certificates_issued",
                                                                                      default=None)


def begin_request() -> list[str]:
    """For the app's middleware: a fresh list of the certificates this request issues."""
    issued: list[str] = []
    _issued_in_request.set(issued)
    return issued


def set_context(context: IssueContext | None) -> None:
    """For the app's request middleware: the context of the request being served (contextvars are per task)."""
    _context.set(context)


@dataclass
class _Issued:
    certificate_id: str
    created: bool
    xp_awarded: int = 0
    new_achievements: list[AchievementPublic] = field(default_factory=list)
    summary: dict[str, Any] = field(default_factory=dict)


# ---- URLs -----------------------------------------------------------------------------------------


def verify_url(settings: Settings, certificate_id: str) -> str:
    return f"{issuer.base_url(settings)}/verify/{certificate_id}"


def _urls(settings: Settings, certificate_id: str) -> dict[str, str]:
    base = issuer.base_url(settings)
    return {"verify_url": verify_url(settings, certificate_id),
            "credential_url": f"{base}/api/certificates/{certificate_id}/credential.json",
            "pdf_url": f"{base}/api/certificates/{certificate_id}/certificate.pdf",
            "bundle_url": f"{base}/api/certificates/{certificate_id}/bundle.json",
            "print_url": f"{base}/certificates/{certificate_id}/print"}


def _iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def _percent(points: float, max_points: float) -> float:
    if max_points <= 0:
        return 0.0
    value = Decimal(str(points)) * 100 / Decimal(str(max_points))
    return float(value.quantize(Decimal("0.1"), rounding=ROUND_HALF_UP))


# ---- issuing --------------------------------------------------------------------------------------


def _tier_xp(tier: str, *, first_attempt: bool, exceptional: bool) -> xp.XpAward:
    if tier == "bronze":
        return xp.bronze_xp()
    if tier == "silver":
        return xp.silver_xp(first_attempt=first_attempt)
    return xp.gold_xp(exceptional=exceptional)


def _status_index(tx: Tx) -> int:
    for _ in range(64):
        candidate = secrets.randbelow(status_list.DEFAULT_SIZE)
        if tx.row("SELECT 1 FROM certificates WHERE status_index = :i", {"i": candidate}) is None:
            return candidate
    raise Conflict("The revocation status list is full; the issuer must start a new list.")


def _credential(*, settings: Settings, certificate_id: str, holder_name: str, course_id: str, course_title: str,
                tier: str, tier_title: str, description: str, issued_at: datetime, scores: list[Score],
                evidence: dict[str, str], demo_url: str | None, status_index: int) -> dict[str, Any]:
    base = issuer.base_url(settings)
    narrative = description or f"{tier_title} of {course_title}."
    achievement = {"id": f"{base}/api/certifications/{course_id}/{tier}", "type": ["Achievement"],
                   "name": f"{course_title}: {tier_title}", "description": narrative,
                   "criteria": {"narrative": narrative}, "achievementType": "Certificate"}
    results = [{"type": ["Result"], "value": f"{score.label}: {_points(score.points)} / {_points(score.max_points)}"}
               for score in scores]
    evidence_items: list[dict[str, Any]] = [{
        "id": verify_url(settings, certificate_id), "type": ["Evidence"], "name": "Grading evidence",
        "narrative": "; ".join(f"{key}: {value}" for key, value in sorted(evidence.items()))}]
    if demo_url:
        evidence_items.append({"id": demo_url, "type": ["Evidence"], "name": "Live project demo"})
    return badge.open_badge(
        credential_url=f"urn:uuid:{certificate_id}",
        issuer={"id": issuer.issuer_id(settings), "type": ["Profile"], "name": settings.ISSUER_NAME, "url": base},
        holder_name=holder_name, achievement=achievement, valid_from=issued_at, results=results,
        evidence=evidence_items,
        status=status_list.status_entry(list_url=base + STATUS_LIST_PATH, index=status_index),
        name=f"{course_title}: {tier_title}")


def _points(value: float) -> str:
    return f"{value:g}"


def issue_in_tx(tx: Tx, *, settings: Settings, catalog_db: Path, db_key: str, user_id: str, course_id: str,
                tier: str, scores: list[Score], evidence: dict[str, str], demo_url: str | None = None,
                first_attempt: bool = False, exceptional: bool = False, gamification_enabled: bool,
                at: datetime | None = None) -> _Issued:
    """Issue (once) inside the caller's write transaction; see the module's doc."""
    if tier not in TIERS:
        raise NotFound(f"No certificate tier {tier!r}.")
    existing = tx.row("SELECT id FROM certificates WHERE user_id = :u AND course_id = :c AND tier = :t",
                      {"u": user_id, "c": course_id, "t": tier})
    if existing is not None:
        return _Issued(certificate_id=str(existing[0]), created=False)
    person = tx.row("SELECT u.display_name, o.name FROM users u LEFT JOIN organizations o "
                    "ON o.id = u.organization_id WHERE u.id = :u", {"u": user_id})
    if person is None:
        raise NotFound("No such learner.")
    course = get_index(catalog_db=catalog_db).courses.get(course_id)
    if course is None:
        raise NotFound(f"No course with id {course_id} in the catalog.")
    track = readers.tracks(catalog_db).get(course.track_id)
    definition = readers.certification_tiers(catalog_db).get(tier)
    tier_title = definition.title if definition else f"{tier.title()} certificate"
    issued_at = (at or utcnow()).replace(microsecond=0)
    certificate_id = str(uuid.uuid4())
    index = _status_index(tx)
    holder = str(person[0])
    unsigned = _credential(settings=settings, certificate_id=certificate_id, holder_name=holder, course_id=course_id,
                           course_title=course.title, tier=tier, tier_title=tier_title,
                           description=definition.description if definition else "", issued_at=issued_at,
                           scores=scores, evidence=evidence, demo_url=demo_url, status_index=index)
    key = issuer.signing_key(tx, settings=settings)
    signed = integrity.sign(unsigned, private_key=key.private_key, verification_method=key.method_id,
                            created=issued_at)
    digest = bundle.credential_digest(signed)
    log_index = translog.append(tx, settings=settings, db_key=db_key, kind="issue", credential_id=certificate_id,
                                event={"type": "issue", "credential_id": signed["id"], "credential_sha256": digest,
                                       "at": _iso(issued_at)}, at=issued_at)
    row = {"id": certificate_id, "user_id": user_id, "course_id": course_id, "tier": tier, "holder_name": holder,
           "course_title": course.title, "track_title": track.title if track else None, "tier_title": tier_title,
           "issued_at": issued_at,
           "scores": [{"key": s.key, "label": s.label, "points": s.points, "max_points": s.max_points}
                      for s in scores],
           "evidence": dict(evidence), "demo_url": demo_url, "org_name": person[1], "status_index": index,
           "credential": signed, "credential_sha256": digest, "log_index": log_index, "xp_awarded": 0}
    columns = ", ".join(row)
    tx.execute(f"INSERT INTO certificates ({columns}) VALUES ({', '.join(':' + k for k in row)})",  # noqa: S608
               {k: tx.to_db(_CERTS[k], v) for k, v in row.items()})
    issued = _Issued(certificate_id=certificate_id, created=True,
                     summary={"credential_id": certificate_id, "tier": tier, "tier_title": tier_title,
                              "course_id": course_id, "course_title": course.title,
                              "verify_url": verify_url(settings, certificate_id)})
    if gamification_enabled:
        issued.xp_awarded = gamification.award_xp(
            session=tx, user_id=user_id, source_key=f"certificate:{tier}:{course_id}",
            award=_tier_xp(tier, first_attempt=first_attempt, exceptional=exceptional))
        tx.execute("UPDATE certificates SET xp_awarded = :x WHERE id = :id", {"x": issued.xp_awarded,
                                                                             "id": certificate_id})
        counts = tx.row("SELECT count(*), SUM(CASE WHEN tier = 'gold' THEN 1 ELSE 0 END) FROM certificates "
                        "WHERE user_id = :u AND revoked_at IS NULL", {"u": user_id})
        issued.new_achievements = gamification.evaluate_achievements(
            session=tx, user_id=user_id, catalog_db=catalog_db,
            extra_metrics={"certificates_earned": int(counts[0] or 0), "gold_certificates": int(counts[1] or 0)})
    return issued


def issue(*, engine: Engine, settings: Settings, catalog_db: Path, user_id: str, course_id: str, tier: str,
          scores: list[Score], evidence: dict[str, str], demo_url: str | None = None, first_attempt: bool = False,
          exceptional: bool = False) -> IssuedPublic:
    """Issue a certificate in a transaction of its own (Silver and Gold on a pass); idempotent."""
    with write_tx(engine) as tx:
        issued = issue_in_tx(tx, settings=settings, catalog_db=catalog_db, db_key=str(engine.url), user_id=user_id,
                             course_id=course_id, tier=tier, scores=scores, evidence=evidence, demo_url=demo_url,
                             first_attempt=first_attempt, exceptional=exceptional,
                             gamification_enabled=settings.ENABLE_GAMIFICATION)
    publish(engine=engine, settings=settings)
    return IssuedPublic(credential_id=issued.certificate_id, tier=tier,
                        verify_url=verify_url(settings, issued.certificate_id), created=issued.created,
                        xp_awarded=issued.xp_awarded, new_achievements=issued.new_achievements)


# ---- Bronze -----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class BronzeStatus:
    eligible: bool
    requirements: list[RequirementPublic]
    scores: list[Score]


def bronze_status(tx: Tx, *, catalog_db: Path, user_id: str | None, course_id: str) -> BronzeStatus:
    """Every module complete and every quiz's best score at least min_quiz_percent (70 %).

    A module is complete when its lessons are, except its quiz lessons, which the quiz rule covers.
    """
    index = get_index(catalog_db=catalog_db)
    course = index.courses.get(course_id)
    if course is None:
        raise NotFound(f"No course with id {course_id} in the catalog.")
    definition = readers.certification_tiers(catalog_db).get("bronze")
    minimum = Decimal(str((definition.rules if definition else {}).get("min_quiz_percent", 70)))
    completed: set[str] = set()
    best: dict[str, float] = {}
    if user_id is not None:
        completed = {str(r[0]) for r in tx.rows(
            "SELECT lesson_id FROM progress WHERE user_id = :u AND course_id = :c AND state = 'completed'",
            {"u": user_id, "c": course_id})}
        best = {str(r[0]): float(r[1]) for r in tx.rows(
            "SELECT quiz_id, MAX(score_percent) FROM quiz_attempts WHERE user_id = :u GROUP BY quiz_id",
            {"u": user_id})}
    quizzes = [q for q in readers.quizzes(catalog_db).values() if q.module_id in course.module_ids]
    # A quiz's lesson completes only at the quiz's own pass mark (often 80 %); for Bronze the quiz
    # rule below (best score ≥ 70 %) stands in for it, so the module rule counts the other lessons.
    quiz_lessons = {q.lesson_id for q in quizzes if q.lesson_id}
    requirements: list[RequirementPublic] = []
    for module_id in course.module_ids:
        module = index.modules[module_id]
        lessons = [lesson_id for lesson_id in module.lesson_ids if lesson_id not in quiz_lessons]
        done = sum(1 for lesson_id in lessons if lesson_id in completed)
        requirements.append(RequirementPublic(
            key=f"module:{module_id}", label=f"Complete the module “{module.title}”",
            done=done == len(lessons), detail=f"{done} of {len(lessons)} lessons"))
    scores: list[Score] = []
    for quiz in quizzes:
        score = best.get(quiz.id)
        # Decimal of the stored value's shortest repr: 69.9 stays below 70, 70.0 reaches it.
        ok = score is not None and Decimal(repr(score)) >= minimum
        requirements.append(RequirementPublic(
            key=f"quiz-score:{quiz.id}", label=f"Score at least {minimum:g} % on “{quiz.title}”", done=ok,
            detail=f"best {score:g} %" if score is not None else "not attempted"))
        scores.append(Score(key=f"quiz-score:{quiz.id}", label=quiz.title,
                            points=round(score or 0.0, 1), max_points=100))
    eligible = bool(course.module_ids) and all(r.done for r in requirements)
    return BronzeStatus(eligible=eligible, requirements=requirements, scores=scores)


def course_tests_sha256(*, catalog_db: Path, course_id: str) -> str:
    """SHA-256 over every test (hidden ones included) of the course's exercises: Bronze's grader evidence."""
    modules = set(get_index(catalog_db=catalog_db).courses[course_id].module_ids)
    tests = [[exercise.id, exercise.tests] for exercise in sorted(readers.exercises(catalog_db).values(),
                                                                  key=lambda e: e.id)
             if exercise.module_id in modules]
    return hashlib.sha256(bundle.canonical_json(tests)).hexdigest()


def _bronze_hook(tx: Tx, *, user_id: str, course_id: str, at: datetime, gamification_enabled: bool) -> CourseOutcome:
    context = _context.get()
    if context is None:
        return CourseOutcome()
    if tx.row("SELECT 1 FROM certificates WHERE user_id = :u AND course_id = :c AND tier = 'bronze'",
              {"u": user_id, "c": course_id}) is not None:
        return CourseOutcome()
    status = bronze_status(tx, catalog_db=context.catalog_db, user_id=user_id, course_id=course_id)
    if not status.eligible:
        return CourseOutcome()
    content = readers.content_commit(context.catalog_db)
    tests = course_tests_sha256(catalog_db=context.catalog_db, course_id=course_id)
    issued = issue_in_tx(tx, settings=context.settings, catalog_db=context.catalog_db, db_key=context.db_key,
                         user_id=user_id, course_id=course_id, tier="bronze", scores=status.scores,
                         evidence={"content_commit": content, "tests_sha256": tests},
                         gamification_enabled=gamification_enabled, at=at)
    pending = _issued_in_request.get()
    if issued.created and pending is not None:
        pending.append(issued.certificate_id)
    return CourseOutcome(xp_awarded=issued.xp_awarded, new_achievements=issued.new_achievements,
                         certificates=[issued.summary] if issued.created else [])


register_course_hook(_bronze_hook)


# ---- tier status (eligibility) --------------------------------------------------------------------

# Silver and Gold live in domains above this one; they register how a learner stands on their tier.
TierStatusProvider = Callable[..., dict[str, Any]]
_providers: dict[str, TierStatusProvider] = {}


def register_tier_status(tier: str, provider: TierStatusProvider) -> None:
    """provider(engine=, settings=, catalog_db=, user_id=, course_id=) -> {available, eligible,
    requirements: [RequirementPublic], state: {...}, action_url}."""
    _providers[tier] = provider


def tier_definitions(*, catalog_db: Path) -> list[CertificationTierPublic]:
    return [CertificationTierPublic(id=t.id, tier=t.tier, title=t.title,
                                    description=t.description, xp=t.xp, rules=t.rules)
            for t in readers.certification_tiers(catalog_db).values()]


def course_status(*, engine: Engine, settings: Settings, catalog_db: Path, user_id: str | None,
                  course_id: str) -> CourseCertificationPublic:
    """Where the learner stands on each tier of a course, with what is still missing."""
    definitions = readers.certification_tiers(catalog_db)
    with read_tx(engine) as tx:
        bronze = bronze_status(tx, catalog_db=catalog_db, user_id=user_id, course_id=course_id)
        earned = {str(r[0]): str(r[1]) for r in tx.rows(
            "SELECT tier, id FROM certificates WHERE user_id = :u AND course_id = :c AND revoked_at IS NULL",
            {"u": user_id, "c": course_id})} if user_id else {}
    course = get_index(catalog_db=catalog_db).courses[course_id]
    tiers: list[TierStatusPublic] = []
    for tier in TIERS:
        definition = definitions.get(tier)
        if tier == "bronze":
            facts: dict[str, Any] = {"available": True, "eligible": bronze.eligible,
                                     "requirements": bronze.requirements, "state": {}, "action_url": None}
        elif tier in _providers:
            facts = _providers[tier](engine=engine, settings=settings, catalog_db=catalog_db, user_id=user_id,
                                     course_id=course_id)
        else:
            facts = {"available": False, "eligible": False, "requirements": [], "state": {}, "action_url": None}
        credential_id = earned.get(tier)
        tiers.append(TierStatusPublic(
            tier=tier, title=definition.title if definition else tier.title(),
            description=definition.description if definition else "", xp=definition.xp if definition else 0,
            earned=credential_id is not None, credential_id=credential_id,
            verify_url=verify_url(settings, credential_id) if credential_id else None, **facts))
    return CourseCertificationPublic(course_id=course_id, course_title=course.title, tiers=tiers)


# ---- reading and verifying --------------------------------------------------------------------------


def _row(tx: Tx, certificate_id: str) -> Any:
    try:
        uuid.UUID(certificate_id)
    except ValueError:
        raise NotFound("No certificate with this id.") from None
    row = tx.row(f"SELECT {_COLUMNS} FROM certificates WHERE id = :id", {"id": certificate_id})  # noqa: S608
    if row is None:
        raise NotFound("No certificate with this id.")
    return row


def _org(tx: Tx, *, user_id: str | None, name: str) -> OrgPublic:
    """The organisation named on the certificate, with its current branding while the holder is still
    one of its members (the company format shows it; the signed credential never carried it)."""
    found = tx.row("SELECT o.name, o.branding FROM users u JOIN organizations o ON o.id = u.organization_id "
                   "WHERE u.id = :u", {"u": user_id}) if user_id else None
    branding = dict(_json_value(found[1]) or {}) if found is not None and found[0] == name else {}
    return OrgPublic(name=name, logo_url=branding.get("logo"), color=branding.get("primary_color"))


def _json_value(value: Any) -> Any:
    return json.loads(value) if isinstance(value, str) else value


def _holder_name(credential: dict[str, Any]) -> Any:
    subject = credential.get("credentialSubject") or {}
    return subject.get("name") if isinstance(subject, dict) else None


def _claims_match(row: Any, credential: dict[str, Any], issued_at: datetime) -> str | None:
    """Why the stored row disagrees with what was signed (None: it agrees)."""
    subject = credential.get("credentialSubject") or {}
    if credential.get("id") != f"urn:uuid:{row[0]}":
        return "the credential's id is not this certificate's"
    if credential.get("validFrom") != _iso(issued_at):
        return "the issue date differs from the signed credential"
    if _holder_name(credential) != row[4]:
        return "the holder's name differs from the signed credential"
    achievement = subject.get("achievement") or {}
    if achievement.get("name") != f"{row[5]}: {row[7]}":
        return "the course or tier differs from the signed credential"
    return None


def _view(tx: Tx, *, settings: Settings, db_key: str, row: Any) -> VerificationPublic:
    certificate_id = str(row[0])
    credential = dict(_json_value(row[14]))
    issued_at = tx.from_db(_CERTS.issued_at, row[8])
    revoked_at = tx.from_db(_CERTS.revoked_at, row[17])
    published = issuer.published_keys(tx, settings=settings)
    check = integrity.verify(credential, resolve_key=issuer.resolver(published))
    signature = SignatureCheckPublic(ok=check.ok, reason=check.reason, verification_method=check.verification_method)
    digest = bundle.credential_digest(credential)
    mismatch = None if digest == row[15] else "the stored credential differs from the one logged at issuance"
    mismatch = mismatch or _claims_match(row, credential, issued_at)
    proof = translog.inclusion(tx, db_key=db_key, index=int(row[16]))
    log_public = None
    if proof is not None:
        logged = (proof.leaf.get("credential_sha256") == digest
                  and proof.leaf.get("credential_id") == credential.get("id"))
        log_public = LogProofPublic(leaf_index=proof.leaf_index, tree_size=proof.tree_size, root_hash=proof.root_hash,
                                    inclusion_proof=proof.inclusion_proof, verified=proof.verified and logged,
                                    tree_head=proof.tree_head)
    if not signature.ok or mismatch or log_public is None or not log_public.verified:
        status = "invalid"
        if mismatch and signature.ok:
            signature = SignatureCheckPublic(ok=False, reason=mismatch, verification_method=check.verification_method)
    elif revoked_at is not None:
        status = "revoked"
    else:
        status = "valid"
    scores = [ScorePublic(key=s["key"], label=s["label"], points=s["points"], max_points=s["max_points"],
                          percent=_percent(s["points"], s["max_points"])) for s in _json_value(row[9]) or []]
    total_max = sum(s.max_points for s in scores)
    overall = _percent(sum(s.points for s in scores), total_max) if total_max else None
    evidence = dict(_json_value(row[10]) or {})
    urls = _urls(settings, certificate_id)
    base = issuer.base_url(settings)
    view: dict[str, Any] = {
        "credential_id": certificate_id, "status": status, "holder_name": row[4], "holder_removed": row[1] is None,
        "course_id": row[2], "course_title": row[5], "track_title": row[6], "tier": row[3], "tier_title": row[7],
        "issued_at": issued_at, "scores": scores, "percent_overall": overall,
        "evidence": EvidencePublic(content_commit=str(evidence.get("content_commit", "unknown")),
                                   tests_sha256=str(evidence.get("tests_sha256", "")),
                                   assessment_attempt_id=evidence.get("assessment_attempt_id"),
                                   project_submission_id=evidence.get("project_submission_id")),
        "demo_url": row[11], "revoked_at": revoked_at, "revocation_reason": row[18],
        "verify_url": urls["verify_url"], "credential_url": urls["credential_url"], "pdf_url": urls["pdf_url"],
        "bundle_url": urls["bundle_url"], "linkedin_url": "", "signature": signature, "log": log_public,
        "issuer": IssuerPublic(id=issuer.issuer_id(settings), name=settings.ISSUER_NAME, url=base),
        "org": _org(tx, user_id=row[1], name=row[12]) if row[12] else None}
    public = VerificationPublic(**view)
    return public.model_copy(update={"linkedin_url": documents.linkedin_url(public.model_dump(mode="json"))})


def verification(*, engine: Engine, settings: Settings, certificate_id: str) -> VerificationPublic:
    with read_tx(engine) as tx:
        return _view(tx, settings=settings, db_key=str(engine.url), row=_row(tx, certificate_id))


def credential_document(*, engine: Engine, certificate_id: str) -> dict[str, Any]:
    with read_tx(engine) as tx:
        return dict(_json_value(_row(tx, certificate_id)[14]))


def verification_bundle(*, engine: Engine, settings: Settings, certificate_id: str) -> dict[str, Any]:
    """Everything `drona verify FILE` needs to check the certificate offline (see credentials.bundle)."""
    with read_tx(engine) as tx:
        row = _row(tx, certificate_id)
        published = issuer.published_keys(tx, settings=settings)
        proof = translog.inclusion(tx, db_key=str(engine.url), index=int(row[16]))
    return {"credential": dict(_json_value(row[14])),
            "verification_methods": issuer.verification_methods(published, settings=settings),
            "status_list": status_list_document(engine=engine, settings=settings),
            "log": None if proof is None else {
                "leaf": proof.leaf, "leaf_index": proof.leaf_index, "tree_size": proof.tree_size,
                "root_hash": proof.root_hash, "inclusion_proof": proof.inclusion_proof, "tree_head": proof.tree_head}}


def my_certificates(*, engine: Engine, settings: Settings, user_id: str) -> list[CertificatePublic]:
    with read_tx(engine) as tx:
        rows = tx.rows(f"SELECT {_COLUMNS} FROM certificates WHERE user_id = :u ORDER BY issued_at DESC",  # noqa: S608
                       {"u": user_id})
        found: list[CertificatePublic] = []
        for row in rows:
            scores = _json_value(row[9]) or []
            total_max = sum(float(s["max_points"]) for s in scores)
            overall = _percent(sum(float(s["points"]) for s in scores), total_max) if total_max else None
            urls = _urls(settings, str(row[0]))
            view = {"credential_id": str(row[0]), "course_title": row[5], "tier": row[3], "tier_title": row[7],
                    "issued_at": tx.from_db(_CERTS.issued_at, row[8]).isoformat(), "verify_url": urls["verify_url"],
                    "issuer": {"name": settings.ISSUER_NAME}}
            found.append(CertificatePublic(
                credential_id=str(row[0]), course_id=row[2], course_title=row[5], tier=row[3], tier_title=row[7],
                issued_at=tx.from_db(_CERTS.issued_at, row[8]),
                status="revoked" if row[17] is not None else "valid", percent_overall=overall,
                linkedin_url=documents.linkedin_url(view), **urls))
    return found


# ---- issuer documents ---------------------------------------------------------------------------------

_status_cache: dict[tuple[Any, ...], dict[str, Any]] = {}
_status_lock = threading.Lock()


def status_list_document(*, engine: Engine, settings: Settings) -> dict[str, Any]:
    """The signed Bitstring Status List credential of revocations (cached until the next revocation)."""
    with write_tx(engine) as tx:
        revoked = tuple(sorted(int(r[0]) for r in tx.rows(
            "SELECT status_index FROM certificates WHERE revoked_at IS NOT NULL", {})))
        key = issuer.signing_key(tx, settings=settings)
        cache_key = (str(engine.url), issuer.base_url(settings), key.method_id, revoked)
        with _status_lock:
            cached = _status_cache.get(cache_key)
        if cached is not None:
            return cached
        list_url = issuer.base_url(settings) + STATUS_LIST_PATH
        at = utcnow().replace(microsecond=0)
        document = status_list.status_list_credential(
            list_url=list_url, issuer_id=issuer.issuer_id(settings), encoded_list=status_list.encode(revoked),
            valid_from=at)
        signed = integrity.sign(document, private_key=key.private_key, verification_method=key.method_id, created=at)
    with _status_lock:
        _status_cache.clear()  # only the newest list is ever served
        _status_cache[cache_key] = signed
    return signed


def issuer_keys(*, engine: Engine, settings: Settings) -> list[dict[str, Any]]:
    with write_tx(engine) as tx:
        issuer.signing_key(tx, settings=settings)  # a fresh install publishes its first key at once
        published = issuer.published_keys(tx, settings=settings)
    methods = issuer.verification_methods(published, settings=settings)
    for method, key in zip(methods, published, strict=True):
        method["created"] = key.created_at
        if key.retired_at:
            method["retired"] = key.retired_at
    return methods


def issuer_profile(*, engine: Engine, settings: Settings) -> dict[str, Any]:
    methods = issuer_keys(engine=engine, settings=settings)
    return badge.issuer_profile(issuer_id=issuer.issuer_id(settings), name=settings.ISSUER_NAME,
                                url=issuer.base_url(settings), keys=methods)


def rotate_key(*, engine: Engine, settings: Settings) -> str:
    with write_tx(engine) as tx:
        issuer.signing_key(tx, settings=settings)
        return issuer.rotate(tx, settings=settings)


# ---- revocation and the log ---------------------------------------------------------------------------


def revoke(*, engine: Engine, settings: Settings, certificate_id: str, reason: str, by_user_id: str) -> None:
    """Revoke (super admin): the status list bit is set and the revocation is logged. Once only."""
    at = utcnow().replace(microsecond=0)
    with write_tx(engine) as tx:
        row = _row(tx, certificate_id)
        if row[17] is not None:
            raise Conflict("This certificate is already revoked.")
        tx.execute("UPDATE certificates SET revoked_at = :at, revocation_reason = :reason, revoked_by = :by "
                   "WHERE id = :id", {"at": tx.to_db(_CERTS.revoked_at, at), "reason": reason, "by": by_user_id,
                                      "id": certificate_id})
        translog.append(tx, settings=settings, db_key=str(engine.url), kind="revoke", credential_id=certificate_id,
                        event={"type": "revoke", "credential_id": f"urn:uuid:{certificate_id}", "reason": reason,
                               "at": _iso(at)}, at=at)
    publish(engine=engine, settings=settings)


def publish(*, engine: Engine, settings: Settings) -> None:
    """Bring the static copy of the transparency log up to date (never fails the caller), then, with
    TIMESTAMP_AUTHORITY_URL set, anchor the latest tree head (outside any transaction: a network call)."""
    folder = translog.published_folder(settings)
    try:
        with read_tx(engine) as tx:
            translog.publish(tx, folder=folder)
    except OSError as exc:
        log.warning("could not publish the transparency log to %s: %s", folder, exc)
    translog.anchor(read=lambda: read_tx(engine), write=lambda: write_tx(engine), settings=settings,
                    db_key=str(engine.url), folder=folder)


def consistency_proof(*, engine: Engine, first: int, second: int) -> dict[str, Any]:
    with read_tx(engine) as tx:
        size = translog.size(tx)
        if not 1 <= first <= second <= size:
            raise NotFound(f"Tree sizes must satisfy 1 ≤ first ≤ second ≤ {size}.")
        head_first, head_second = translog.head_at(tx, first), translog.head_at(tx, second)
        proof = translog.consistency(tx, db_key=str(engine.url), first=first, second=second)
    return {"first": first, "second": second, "proof": proof, "first_head": head_first, "second_head": head_second}


def inclusion_proof(*, engine: Engine, index: int) -> dict[str, Any]:
    with read_tx(engine) as tx:
        proof = translog.inclusion(tx, db_key=str(engine.url), index=index)
    if proof is None:
        raise NotFound("No log entry with this index.")
    return {"leaf": proof.leaf, "leaf_index": proof.leaf_index, "tree_size": proof.tree_size,
            "root_hash": proof.root_hash, "inclusion_proof": proof.inclusion_proof, "tree_head": proof.tree_head,
            "verified": proof.verified}
