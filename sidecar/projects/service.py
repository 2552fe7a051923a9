"""Gold projects (§9.3), the learner's side: the course's options, choosing one or proposing a custom
project, submitting it (an archive or, when allowed, a git URL, with a live demo URL and notes) and
reading the feedback. The reviewer's side is in reviews.py.

A submission is checked and pre-reviewed before anything is stored: the upload is extracted
safely in memory (archive.py), the Project Guide's pre-review runs (prereview.py: the option's
tests in the sandbox, ast and ruff checks, documentation checks), and then one write transaction
stores the submission, its files and the audit entry, after checking again, under the project's
row lock, that nothing else was submitted meanwhile. A learner has at most one submission waiting
for review per course, and none after Gold was issued.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import IO, Any
from urllib.parse import urlsplit

from sqlalchemy import Engine

from sidecar.catalog import readers
from sidecar.catalog.service import get_index
from sidecar.certificates import service as certificates
from sidecar.certificates.models import RequirementPublic
from sidecar.courseware.certcode import GOLD_TIME_LIMIT
from sidecar.credentials.canonical import sha256_hex
from sidecar.db.base import utcnow
from sidecar.db.engine import read_tx, write_tx
from sidecar.errors import Conflict, InvalidInput, NotFound
from sidecar.settings import Settings

from . import archive, gitfetch, prereview, rubric, store
from .models import (
    CategoryPublic,
    GoldStatePublic,
    OptionPublic,
    ProjectPublic,
    RubricPublic,
    SubmissionPublic,
    TestPublic,
)
from .tables import GoldProject, ProjectArchive, ProjectSubmission

MAX_NOTES_CHARS = 5000
MAX_URL_CHARS = 2048


# ---- the course's options -------------------------------------------------------------------------


def _course(catalog_db: Path, course_id: str) -> Any:
    course = get_index(catalog_db=catalog_db).courses.get(course_id)
    if course is None:
        raise NotFound(f"No course with id {course_id} in the catalog.")
    return course


def gold_options(catalog_db: Path, course_id: str) -> list[readers.GoldOption]:
    _course(catalog_db, course_id)
    return readers.gold_options(catalog_db, course_id)


def option(catalog_db: Path, course_id: str, option_id: str) -> readers.GoldOption:
    for found in gold_options(catalog_db, course_id):
        if found.id == option_id:
            return found
    raise NotFound("This course has no project option with this id.")


def options(*, catalog_db: Path, course_id: str) -> list[OptionPublic]:
    """The options as learners see them: never the reference solution, never a hidden test's code."""
    found = []
    for item in gold_options(catalog_db, course_id):
        tests = list(item.tests)
        found.append(OptionPublic(
            id=item.id, title=item.title, summary=item.summary, brief=item.brief,
            requirements=list(item.requirements), entry=item.entry,
            visible_tests=[TestPublic(name=str(t.get("name", "")), code=str(t.get("code", "")))
                           for t in tests if not t.get("hidden")],
            hidden_tests=sum(1 for t in tests if t.get("hidden"))))
    return found


def tests_sha256(tests: list[dict[str, Any]]) -> str:
    """The grader's evidence on the certificate: SHA-256 of the option's tests (canonical JSON)."""
    return sha256_hex(tests)


def rubric_public(catalog_db: Path) -> RubricPublic:
    rules = rubric.load(catalog_db)
    return RubricPublic(categories=[CategoryPublic(key=c.key, label=c.label, max_points=float(c.max_points))
                                    for c in rules.categories],
                        pass_percent=float(rules.pass_percent), min_category_percent=float(rules.min_category_percent))


# ---- the learner's project ----------------------------------------------------------------------------


def state(*, engine: Engine, settings: Settings, catalog_db: Path, user_id: str, course_id: str) -> GoldStatePublic:
    course = _course(catalog_db, course_id)
    with read_tx(engine) as tx:
        project = store.project_of(tx, user_id, course_id)
        submissions = store.submissions_of(tx, user_id, course_id)
    issued = next((s["certificate_id"] for s in submissions if s["certificate_id"]), None)
    return GoldStatePublic(
        course_id=course_id, course_title=course.title, rubric=rubric_public(catalog_db),
        options=len(gold_options(catalog_db, course_id)),
        project=store.project_public(project) if project else None,
        submissions=[store.submission_public(s, settings) for s in submissions], certificate_id=issued,
        verify_url=certificates.verify_url(settings, issued) if issued else None,
        upload_limit_mb=settings.GOLD_UPLOAD_MAX_MB, git_submissions=settings.ALLOW_GIT_SUBMISSIONS)


def _open_work(tx: Any, user_id: str, course_id: str) -> None:
    """Conflict while a submission waits for review or once Gold was issued: the project is then fixed."""
    row = tx.row("SELECT status FROM project_submissions WHERE user_id = :u AND course_id = :c "
                 "AND status IN ('pending', 'approved') ORDER BY number DESC", {"u": user_id, "c": course_id})
    if row is not None and row[0] == "approved":
        raise Conflict("Gold was issued for this course already.")
    if row is not None:
        raise Conflict("Your submission is waiting for a reviewer; the project cannot change until it is reviewed.")


def _save_project(*, engine: Engine, user_id: str, course_id: str, values: dict[str, Any],
                  action: str) -> ProjectPublic:
    now = utcnow()
    with write_tx(engine) as tx:
        _open_work(tx, user_id, course_id)
        project = store.project_of(tx, user_id, course_id, lock=True)
        changes = {**values, "feedback": None, "decided_by": None, "updated_at": now}
        if project is None:
            project_id = str(uuid.uuid4())
            store.insert(tx, GoldProject.__table__, {"id": project_id, "user_id": user_id, "course_id": course_id,
                                                     "created_at": now, **changes})
            before = None
        else:
            project_id, before = project["id"], project["status"]
            store.update(tx, GoldProject.__table__, project_id, changes)
        store.audit(tx, project_id=project_id, actor_id=user_id, action=action, from_state=before,
                    to_state=values["status"], detail={"option_id": values.get("option_id"),
                                                       "title": values["title"]}, at=now)
        saved = store.project_by_id(tx, project_id)
    assert saved is not None
    return store.project_public(saved)


def choose(*, engine: Engine, catalog_db: Path, user_id: str, course_id: str, option_id: str) -> ProjectPublic:
    """Choose a predefined option: active at once (a pending proposal of one's own is replaced)."""
    chosen = option(catalog_db, course_id, option_id)
    return _save_project(engine=engine, user_id=user_id, course_id=course_id, action="choose",
                         values={"kind": "option", "option_id": chosen.id, "title": chosen.title,
                                 "description": None, "status": "active"})


def propose(*, engine: Engine, catalog_db: Path, user_id: str, course_id: str, title: str,
            description: str) -> ProjectPublic:
    """Propose a custom project: it waits for a reviewer, who approves or returns it."""
    _course(catalog_db, course_id)
    return _save_project(engine=engine, user_id=user_id, course_id=course_id, action="propose",
                         values={"kind": "custom", "option_id": None, "title": title.strip(),
                                 "description": description.strip(), "status": "proposed"})


# ---- submitting ---------------------------------------------------------------------------------------


def check_demo_url(url: str) -> str:
    text = url.strip()
    if len(text) > MAX_URL_CHARS or any(ch.isspace() or ord(ch) < 32 for ch in text):
        raise InvalidInput("The demo URL is too long or holds spaces or control characters.")
    parts = urlsplit(text)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise InvalidInput("The demo URL must be an http:// or https:// address of your live project.")
    if parts.username or parts.password:
        raise InvalidInput("The demo URL must not carry credentials.")
    return text


def _check_text(value: str, what: str, limit: int) -> str:
    # Multipart fields skip the JSON body check (sidecar/text.py): refuse what a database cannot store here.
    if len(value) > limit:
        raise InvalidInput(f"{what} is limited to {limit:,} characters.")
    if "\x00" in value or any(0xD800 <= ord(ch) <= 0xDFFF for ch in value):
        raise InvalidInput(f"{what} holds characters that cannot be stored.")
    return value


def _target(catalog_db: Path, project: dict[str, Any]) -> tuple[prereview.Target, str]:
    if project["kind"] != "option" or not project["option_id"]:
        return prereview.Target(entry=None, tests=[]), tests_sha256([])
    chosen = option(catalog_db, project["course_id"], project["option_id"])
    tests = list(chosen.tests)
    # The time limit `drona validate` ran the reference with: the same project must fit in it here.
    return prereview.Target(entry=chosen.entry, tests=tests, time_limit=GOLD_TIME_LIMIT), tests_sha256(tests)


def _ready(engine: Engine, user_id: str, course_id: str) -> dict[str, Any]:
    with read_tx(engine) as tx:
        _open_work(tx, user_id, course_id)
        project = store.project_of(tx, user_id, course_id)
    if project is None:
        raise Conflict("Choose a project option or propose your own project first.")
    if project["status"] != "active":
        raise Conflict("Your proposal has not been approved by a reviewer yet." if project["status"] == "proposed"
                       else "Your proposal was returned: read the feedback, then propose again or choose an option.")
    return project


def submit(*, engine: Engine, settings: Settings, catalog_db: Path, sandbox: Callable[[], Any], user_id: str,
           course_id: str, upload: IO[bytes] | None, git_url: str | None, demo_url: str,
           notes: str) -> SubmissionPublic:
    """Check, pre-review and store a submission (see the module's doc)."""
    _course(catalog_db, course_id)
    demo = check_demo_url(_check_text(demo_url, "The demo URL", MAX_URL_CHARS))
    notes = _check_text(notes, "Notes", MAX_NOTES_CHARS)
    if (upload is None) == (not git_url):
        raise InvalidInput("Send the project either as a .zip archive or as a git URL (one of them).")
    project = _ready(engine, user_id, course_id)
    limits = archive.Limits.for_upload_mb(settings.GOLD_UPLOAD_MAX_MB)
    if upload is not None:
        files = archive.extract_zip(archive.read_upload(upload, limits), limits)
        source, url = "upload", None
    else:
        url = gitfetch.check_url(_check_text(git_url or "", "The git URL", MAX_URL_CHARS), settings)
        files, source = gitfetch.clone(url, limits), "git"
    target, tests_digest = _target(catalog_db, project)
    review = prereview.prereview(texts=archive.texts(files), target=target, demo_url=demo,
                                 rubric=rubric.load(catalog_db), sandbox=sandbox)
    packed = archive.pack(files)
    now = utcnow()
    submission_id = str(uuid.uuid4())
    with write_tx(engine) as tx:
        _open_work(tx, user_id, course_id)
        current = store.project_of(tx, user_id, course_id, lock=True)
        if current is None or current["id"] != project["id"] or current["status"] != "active" \
                or current["option_id"] != project["option_id"]:
            raise Conflict("Your project changed while this was being checked; submit again.")
        count = tx.row("SELECT count(*) FROM project_submissions WHERE project_id = :p", {"p": project["id"]})
        store.insert(tx, ProjectSubmission.__table__, {
            "id": submission_id, "project_id": project["id"], "user_id": user_id, "course_id": course_id,
            "number": int(count[0]) + 1, "option_id": project["option_id"], "title": project["title"],
            "status": "pending", "source": source, "git_url": url, "demo_url": demo, "notes": notes,
            "files": archive.manifest(files), "archive_sha256": _sha256(packed), "tests_sha256": tests_digest,
            "prereview": review, "created_at": now})
        store.insert(tx, ProjectArchive.__table__, {"submission_id": submission_id, "data": packed})
        store.audit(tx, project_id=project["id"], submission_id=submission_id, actor_id=user_id, action="submit",
                    from_state=None, to_state="pending", at=now,
                    detail={"source": source, "files": len(files), "archive_sha256": _sha256(packed)})
        suggested = [c["suggested_points"] for c in review["criteria"].values()]
        store.audit(tx, project_id=project["id"], submission_id=submission_id, actor_id=None, action="prereview",
                    from_state="pending", to_state="pending", at=now,
                    detail={"tests": {k: review["tests"][k] for k in ("passed", "total")} if review["tests"] else None,
                            "suggested_points": sum(p for p in suggested if p is not None)})
        saved = store.submission_by_id(tx, submission_id)
    return store.submission_public(saved, settings)


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def my_submission(*, engine: Engine, settings: Settings, user_id: str, submission_id: str) -> SubmissionPublic:
    """The learner's own submission with the feedback per criterion; anyone else's is a 404."""
    with read_tx(engine) as tx:
        submission = store.submission_by_id(tx, submission_id)
    if submission["user_id"] != user_id:
        raise NotFound("No submission with this id.")
    return store.submission_public(submission, settings)


# ---- the tier's status on course pages (certificates.register_tier_status) ---------------------------


def gold_status(*, engine: Engine, settings: Settings, catalog_db: Path, user_id: str | None,
                course_id: str) -> dict[str, Any]:
    offered = readers.gold_options(catalog_db, course_id)
    rules = rubric.load(catalog_db)
    project: dict[str, Any] | None = None
    latest: dict[str, Any] | None = None
    if user_id is not None:
        with read_tx(engine) as tx:
            project = store.project_of(tx, user_id, course_id)
            latest = next(iter(store.submissions_of(tx, user_id, course_id)), None)
    approved = latest is not None and latest["status"] == "approved"
    pending = latest is not None and latest["status"] == "pending"
    requirements = [
        RequirementPublic(key="project", label="Choose a project option, or have your own proposal approved",
                          done=project is not None and project["status"] == "active",
                          detail=f"{project['title']} ({project['status']})" if project else "not chosen"),
        RequirementPublic(key="submission", label="Submit the project: an archive, a live demo URL and notes",
                          done=latest is not None,
                          detail=f"submission {latest['number']}: {latest['status']}" if latest else "not submitted"),
        RequirementPublic(key="review", label=f"Pass the review: {rules.pass_percent:g} % overall and no category "
                                              f"below {rules.min_category_percent:g} %", done=approved,
                          detail=f"{latest['percent']:g} %" if latest and latest["percent"] is not None else None)]
    return {"available": bool(offered), "eligible": bool(offered) and not approved and not pending,
            "requirements": requirements, "action_url": f"certification/project/?course={course_id}",
            "state": {"project_status": project["status"] if project else None,
                      "project_title": project["title"] if project else None,
                      "submission_id": latest["id"] if latest else None,
                      "submission_status": latest["status"] if latest else None}}


certificates.register_tier_status("gold", gold_status)
