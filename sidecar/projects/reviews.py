"""Gold projects (§9.3), the reviewer's side: the queue, a submission's detail and files, the decision
(approve issues Gold, return sends it back with feedback), custom proposals, and granting the role.

Scope (docs/certificates.md, "Gold projects and reviewers"): a reviewer acts on learners of their own
organisation, or on every learner when they belong to none (a platform reviewer); a super admin on
every learner. Nobody reviews their own work. Outside the scope a submission or proposal does not
exist (404), so a reviewer cannot learn who submitted elsewhere.

Approving needs a pass under the rubric (rubric.py: 75 % overall and no category below 60 %,
exact Decimals); otherwise it is refused with 422 and the reasons. The decision, the audit entry and
the certificate are written in one transaction (certificates.issue_in_tx), so an approval never
exists without its certificate, nor a certificate without its approval.
"""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Any

from sqlalchemy import Engine

from sidecar.auth.roles import Role, has_role
from sidecar.auth.tables import User
from sidecar.catalog import readers
from sidecar.catalog.service import get_index
from sidecar.certificates import service as certificates
from sidecar.certificates.models import IssuedPublic
from sidecar.certificates.service import Score
from sidecar.db.base import utcnow
from sidecar.db.engine import Tx, read_tx, write_tx
from sidecar.errors import Conflict, Forbidden, InvalidInput, NotFound
from sidecar.settings import Settings

from . import archive, rubric, store
from .models import (
    FileTextPublic,
    ProjectPublic,
    ProposalPublic,
    QueuePublic,
    QueueSubmissionPublic,
    ReviewDetailPublic,
    ReviewerPublic,
    ReviewOutcomePublic,
)
from .tables import GoldProject, ProjectSubmission

MAX_FILE_CHARS = 200_000


# ---- scope --------------------------------------------------------------------------------------------


def in_scope(reviewer: User, learner_org: str | None) -> bool:
    """Whether `reviewer` may act on a learner of organisation `learner_org` (None: no organisation)."""
    if has_role(reviewer.role, Role.SUPER_ADMIN):
        return True
    if not has_role(reviewer.role, Role.REVIEWER):
        return False
    return reviewer.organization_id is None or reviewer.organization_id == learner_org


def _learner(tx: Tx, user_id: str) -> tuple[str, str | None]:
    row = tx.row("SELECT display_name, organization_id FROM users WHERE id = :u", {"u": user_id})
    if row is None:
        raise NotFound("No such learner.")
    return str(row[0]), row[1]


def _visible(tx: Tx, reviewer: User, learner_id: str, what: str) -> str:
    """The learner's name when the reviewer may see their work; NotFound outside the scope."""
    name, org = _learner(tx, learner_id)
    if not in_scope(reviewer, org):
        raise NotFound(f"No {what} with this id.")
    return name


def _not_own(reviewer: User, learner_id: str, what: str) -> None:
    if reviewer.id == learner_id:
        raise Forbidden(f"You cannot review your own {what}; another reviewer must.")


def _course_title(catalog_db: Path, course_id: str) -> str:
    course = get_index(catalog_db=catalog_db).courses.get(course_id)
    return course.title if course is not None else course_id


# ---- the queue and a submission's detail -----------------------------------------------------------------


def queue(*, engine: Engine, catalog_db: Path, reviewer: User) -> QueuePublic:
    # The scope in SQL (an organisation's reviewer reads only their organisation's rows; `where` is a
    # fixed clause, the values are parameters), and in_scope again on each row as a second check.
    scoped = not has_role(reviewer.role, Role.SUPER_ADMIN) and reviewer.organization_id is not None
    where = " AND u.organization_id = :org" if scoped else ""
    params = {"me": reviewer.id, "org": reviewer.organization_id} if scoped else {"me": reviewer.id}
    with read_tx(engine) as tx:
        submissions = tx.rows("SELECT s.id, s.course_id, u.display_name, u.organization_id, s.title, "  # noqa: S608
                              "s.number, s.created_at, s.prereview FROM project_submissions s "
                              "JOIN users u ON u.id = s.user_id WHERE s.status = 'pending' AND s.user_id <> :me"
                              + where + " ORDER BY s.created_at",
                              params)
        proposals = tx.rows("SELECT p.id, p.course_id, u.display_name, u.organization_id, p.title, "  # noqa: S608
                            "p.description, p.updated_at FROM gold_projects p JOIN users u ON u.id = p.user_id "
                            "WHERE p.status = 'proposed' AND p.user_id <> :me" + where + " ORDER BY p.updated_at",
                            params)
        columns = ProjectSubmission.__table__.c
        found = QueuePublic(
            submissions=[QueueSubmissionPublic(
                id=r[0], course_id=r[1], course_title=_course_title(catalog_db, r[1]), learner_name=r[2],
                title=r[4], number=r[5], created_at=tx.from_db(columns.created_at, r[6]),
                suggested_percent=_suggested_percent(tx.from_db(columns.prereview, r[7])))
                for r in submissions if in_scope(reviewer, r[3])],
            proposals=[ProposalPublic(
                project_id=r[0], course_id=r[1], course_title=_course_title(catalog_db, r[1]), learner_name=r[2],
                title=r[4], description=r[5] or "", created_at=tx.from_db(GoldProject.__table__.c.updated_at, r[6]))
                for r in proposals if in_scope(reviewer, r[3])])
    return found


def _suggested_percent(prereview: dict[str, Any] | None) -> float | None:
    criteria = list(((prereview or {}).get("criteria") or {}).values())
    if not criteria or any(c["suggested_points"] is None for c in criteria):
        return None
    total = sum((Decimal(str(c["max_points"])) for c in criteria), Decimal(0))
    suggested = sum((Decimal(str(c["suggested_points"])) for c in criteria), Decimal(0))
    return float(round(rubric.percent(suggested, total), 1))


def detail(*, engine: Engine, settings: Settings, reviewer: User, submission_id: str) -> ReviewDetailPublic:
    with read_tx(engine) as tx:
        submission = store.submission_by_id(tx, submission_id)
        name = _visible(tx, reviewer, submission["user_id"], "submission")
        project = store.project_by_id(tx, submission["project_id"])
        trail = store.audit_trail(tx, submission["project_id"])
    assert project is not None
    return ReviewDetailPublic(submission=store.submission_public(submission, settings),
                              learner_id=submission["user_id"], learner_name=name,
                              project=store.project_public(project), audit=trail)


def file_text(*, engine: Engine, reviewer: User, submission_id: str, path: str) -> FileTextPublic:
    """One file of the submitted project, as text, for reading it in the review."""
    with read_tx(engine) as tx:
        submission = store.submission_by_id(tx, submission_id)
        _visible(tx, reviewer, submission["user_id"], "submission")
        row = tx.row("SELECT data FROM project_archives WHERE submission_id = :s", {"s": submission_id})
    files = archive.unpack_stored(bytes(row[0])) if row is not None else {}
    if path not in files:
        raise NotFound("The submission has no file at this path.")
    text = files[path].decode("utf-8", errors="replace").replace("\x00", "\ufffd")
    return FileTextPublic(path=path, size=len(files[path]), text=text[:MAX_FILE_CHARS],
                          truncated=len(text) > MAX_FILE_CHARS)


# ---- deciding ---------------------------------------------------------------------------------------------


def review(*, engine: Engine, settings: Settings, catalog_db: Path, reviewer: User, submission_id: str,
           decision: str, scores: dict[str, Decimal], comments: dict[str, str], feedback: str) -> ReviewOutcomePublic:
    """Approve (issues Gold) or return a pending submission (see the module's doc)."""
    rules = rubric.load(catalog_db)
    known = {c.key for c in rules.categories}
    if set(comments) - known:
        raise InvalidInput(f"Unknown rubric categories in comments: {', '.join(sorted(set(comments) - known))}.")
    checked = rubric.check_points(rules, scores, complete=decision == "approve")
    verdict = rubric.decide(rules, checked) if decision == "approve" else None
    if verdict is not None and not verdict.passed:
        raise InvalidInput("Approving needs a pass: " + "; ".join(verdict.reasons) + ". Return it with feedback "
                           "instead, or change the scores.", {"reasons": verdict.reasons,
                                                             "percent": float(verdict.overall_percent)})
    if decision == "return" and not feedback.strip():
        raise InvalidInput("Say what to improve: returning a submission needs feedback.")
    complete = len(checked) == len(known)
    overall = rubric.percent(sum(checked.values(), Decimal(0)), rules.max_points) if complete else None
    now = utcnow()
    issued = None
    with write_tx(engine) as tx:
        submission = store.submission_by_id(tx, submission_id, lock=True)
        _visible(tx, reviewer, submission["user_id"], "submission")
        _not_own(reviewer, submission["user_id"], "submission")
        if submission["status"] != "pending":
            raise Conflict(f"This submission was {submission['status']} already.")
        to_state = "approved" if decision == "approve" else "returned"
        stored_review = {"scores": {k: float(v) for k, v in checked.items()},
                         "comments": {k: v.strip() for k, v in comments.items() if v.strip()},
                         "feedback": feedback.strip(), "decision": decision}
        values: dict[str, Any] = {"status": to_state, "review": stored_review,
                                  "percent": float(round(overall, 2)) if overall is not None else None,
                                  "reviewed_by": reviewer.id, "reviewed_at": now}
        if verdict is not None:
            issued = certificates.issue_in_tx(
                tx, settings=settings, catalog_db=catalog_db, db_key=str(engine.url), user_id=submission["user_id"],
                course_id=submission["course_id"], tier="gold",
                scores=[Score(key=c.key, label=c.label, points=float(checked[c.key]), max_points=float(c.max_points))
                        for c in rules.categories],
                evidence={"content_commit": readers.content_commit(catalog_db),
                          "tests_sha256": submission["tests_sha256"], "project_submission_id": submission_id},
                demo_url=submission["demo_url"], exceptional=verdict.exceptional,
                gamification_enabled=settings.ENABLE_GAMIFICATION, at=now)
            values["certificate_id"] = issued.certificate_id
        store.update(tx, ProjectSubmission.__table__, submission_id, values)
        store.audit(tx, project_id=submission["project_id"], submission_id=submission_id, actor_id=reviewer.id,
                    action=decision, from_state="pending", to_state=to_state, at=now,
                    detail={"scores": stored_review["scores"], "percent": values["percent"],
                            "certificate_id": values.get("certificate_id")})
        saved = store.submission_by_id(tx, submission_id)
    public_issued = None
    if issued is not None:
        certificates.publish(engine=engine, settings=settings)  # the transparency log's static copy
        public_issued = IssuedPublic(credential_id=issued.certificate_id, tier="gold",
                                     verify_url=certificates.verify_url(settings, issued.certificate_id),
                                     created=issued.created, xp_awarded=issued.xp_awarded,
                                     new_achievements=issued.new_achievements)
    return ReviewOutcomePublic(submission=store.submission_public(saved, settings), percent=values["percent"],
                               issued=public_issued)


def decide_proposal(*, engine: Engine, reviewer: User, project_id: str, decision: str,
                    feedback: str) -> ProjectPublic:
    """Approve a custom proposal (the learner can then submit) or return it with feedback."""
    if decision == "return" and not feedback.strip():
        raise InvalidInput("Say why: returning a proposal needs feedback.")
    now = utcnow()
    with write_tx(engine) as tx:
        project = store.project_by_id(tx, project_id, lock=True)
        if project is None:
            raise NotFound("No proposal with this id.")
        _visible(tx, reviewer, project["user_id"], "proposal")
        _not_own(reviewer, project["user_id"], "proposal")
        if project["kind"] != "custom" or project["status"] != "proposed":
            raise Conflict("This project is not a proposal waiting for a decision.")
        to_state = "active" if decision == "approve" else "returned"
        store.update(tx, GoldProject.__table__, project_id, {"status": to_state, "feedback": feedback.strip() or None,
                                                             "decided_by": reviewer.id, "updated_at": now})
        store.audit(tx, project_id=project_id, actor_id=reviewer.id, action=f"{decision}_proposal",
                    from_state="proposed", to_state=to_state, at=now,
                    detail={"feedback": feedback.strip()} if feedback.strip() else None)
        saved = store.project_by_id(tx, project_id)
    assert saved is not None
    return store.project_public(saved)


# ---- granting the role --------------------------------------------------------------------------------------


def set_reviewer(*, engine: Engine, email: str, reviewer: bool) -> ReviewerPublic:
    """Grant (or take back) the reviewer role; only between learner and reviewer, so that granting never
    lowers a stronger role (an account has one role)."""
    with write_tx(engine) as tx:
        row = tx.row("SELECT id, email, role, organization_id FROM users WHERE email = :e",
                     {"e": email.strip().lower()})
        if row is None:
            raise NotFound("No account with this email address.")
        if row[2] not in (Role.LEARNER, Role.REVIEWER):
            raise Conflict(f"This account is a {row[2]}; only a learner can become a reviewer (and back).")
        role = Role.REVIEWER if reviewer else Role.LEARNER
        tx.execute("UPDATE users SET role = :r WHERE id = :u", {"r": str(role), "u": row[0]})
    return ReviewerPublic(user_id=str(row[0]), email=str(row[1]), role=str(role), organization_id=row[3])
