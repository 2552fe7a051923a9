"""Gold projects over HTTP: the learner's flow under /api/projects, the reviewer's under /api/reviews.

Learners see only their own project and submissions (anyone else's are 404). The reviewer endpoints
need the reviewer role (or super admin) and act only within the reviewer's scope (reviews.py);
granting the role needs a super admin.
"""

from __future__ import annotations

import re
from typing import Annotated

from fastapi import APIRouter, Depends, File, Form, UploadFile

from sidecar.auth.deps import CurrentPrincipal, Principal, require_role
from sidecar.auth.roles import Role
from sidecar.deps import CatalogDbDep, EngineDep, SandboxDep, SettingsDep
from sidecar.settings import Settings
from sidecar.web.limits import KIB, RouteLimit

from . import reviews, service
from .models import (
    ChoiceCreate,
    FileTextPublic,
    GoldStatePublic,
    OptionPublic,
    ProjectPublic,
    ProposalCreate,
    ProposalDecisionCreate,
    QueuePublic,
    ReviewCreate,
    ReviewDetailPublic,
    ReviewerGrant,
    ReviewerPublic,
    ReviewOutcomePublic,
    SubmissionPublic,
)

router = APIRouter(tags=["projects"])
Reviewer = Annotated[Principal, Depends(require_role(Role.REVIEWER))]
SuperAdmin = Annotated[Principal, Depends(require_role(Role.SUPER_ADMIN))]
UPLOAD_PATH = re.compile(r"^/api/projects/[^/]+/submissions$")


def upload_limit(settings: Settings) -> RouteLimit:
    """The body limit of a submission: the archive (GOLD_UPLOAD_MAX_MB) plus the form's text fields."""
    return RouteLimit(frozenset({"POST"}), UPLOAD_PATH, settings.GOLD_UPLOAD_MAX_MB * 1024 * KIB + 64 * KIB)


# ---- the learner ---------------------------------------------------------------------------------------


@router.get("/projects/{course_id}/options", response_model=list[OptionPublic],
            summary="A course's Gold project options")
def list_options(course_id: str, catalog_db: CatalogDbDep) -> list[OptionPublic]:
    """What to build and what "done" looks like, with the requirements and the visible tests. Public."""
    return service.options(catalog_db=catalog_db, course_id=course_id)


@router.get("/projects/{course_id}", response_model=GoldStatePublic, summary="Your Gold project for a course")
def my_project(course_id: str, principal: CurrentPrincipal, engine: EngineDep, settings: SettingsDep,
               catalog_db: CatalogDbDep) -> GoldStatePublic:
    """The rubric, your project (option or proposal) and your submissions with feedback per criterion."""
    return service.state(engine=engine, settings=settings, catalog_db=catalog_db, user_id=principal.user.id,
                         course_id=course_id)


@router.post("/projects/{course_id}/choice", response_model=ProjectPublic, summary="Choose a project option")
def choose(course_id: str, body: ChoiceCreate, principal: CurrentPrincipal, engine: EngineDep,
           catalog_db: CatalogDbDep) -> ProjectPublic:
    """Active at once. 409 while a submission waits for review or once Gold was issued."""
    return service.choose(engine=engine, catalog_db=catalog_db, user_id=principal.user.id, course_id=course_id,
                          option_id=body.option_id)


@router.post("/projects/{course_id}/proposal", response_model=ProjectPublic, summary="Propose your own project")
def propose(course_id: str, body: ProposalCreate, principal: CurrentPrincipal, engine: EngineDep,
            catalog_db: CatalogDbDep) -> ProjectPublic:
    """Pending until a reviewer approves it (then you can submit) or returns it with feedback."""
    return service.propose(engine=engine, catalog_db=catalog_db, user_id=principal.user.id, course_id=course_id,
                           title=body.title, description=body.description)


@router.post("/projects/{course_id}/submissions", response_model=SubmissionPublic, status_code=201,
             summary="Submit your project for review")
def submit(course_id: str, principal: CurrentPrincipal, engine: EngineDep, settings: SettingsDep,
           catalog_db: CatalogDbDep, sandbox: SandboxDep,
           demo_url: Annotated[str, Form(max_length=2048, description="Your live demo (http or https).")],
           notes: Annotated[str, Form(max_length=5000, description="What the reviewer should know.")] = "",
           archive: Annotated[UploadFile | None, File(description="The project as a .zip archive (at most "
                                                     "GOLD_UPLOAD_MAX_MB).")] = None,
           git_url: Annotated[str | None, Form(max_length=2048, description="Instead of an archive, when the "
                                               "server allows git URLs (git:// or https://).")] = None,
           ) -> SubmissionPublic:
    """multipart/form-data: an archive or a git URL, a live demo URL and notes. The archive is extracted
    safely (no absolute paths, no `..`, no symlinks, bounded size and file count: a zip bomb is a 422).
    The Project Guide pre-reviews it at once (the option's tests in the sandbox, ast and ruff checks,
    documentation checks) and suggests points per criterion; a reviewer decides."""
    return service.submit(engine=engine, settings=settings, catalog_db=catalog_db, sandbox=sandbox,
                          user_id=principal.user.id, course_id=course_id,
                          upload=archive.file if archive is not None else None, git_url=git_url,
                          demo_url=demo_url, notes=notes)


@router.get("/projects/submissions/{submission_id}", response_model=SubmissionPublic,
            summary="One of your submissions, with feedback")
def my_submission(submission_id: str, principal: CurrentPrincipal, engine: EngineDep,
                  settings: SettingsDep) -> SubmissionPublic:
    """The pre-review and, once reviewed, the scores and comments per criterion and the overall feedback."""
    return service.my_submission(engine=engine, settings=settings, user_id=principal.user.id,
                                 submission_id=submission_id)


# ---- the reviewer -------------------------------------------------------------------------------------------


@router.get("/reviews/queue", response_model=QueuePublic, summary="Gold submissions and proposals to review")
def review_queue(principal: Reviewer, engine: EngineDep, catalog_db: CatalogDbDep) -> QueuePublic:
    """Pending submissions and custom proposals of learners in your scope (your organisation, or everyone for a
    platform reviewer), oldest first; never your own."""
    return reviews.queue(engine=engine, catalog_db=catalog_db, reviewer=principal.user)


@router.get("/reviews/submissions/{submission_id}", response_model=ReviewDetailPublic,
            summary="A submission to review")
def review_detail(submission_id: str, principal: Reviewer, engine: EngineDep,
                  settings: SettingsDep) -> ReviewDetailPublic:
    """The files, notes, demo URL, the Project Guide's pre-review and the audit trail."""
    return reviews.detail(engine=engine, settings=settings, reviewer=principal.user, submission_id=submission_id)


@router.get("/reviews/submissions/{submission_id}/files/{path:path}", response_model=FileTextPublic,
            summary="Read a file of a submitted project")
def review_file(submission_id: str, path: str, principal: Reviewer, engine: EngineDep) -> FileTextPublic:
    return reviews.file_text(engine=engine, reviewer=principal.user, submission_id=submission_id, path=path)


@router.post("/reviews/submissions/{submission_id}", response_model=ReviewOutcomePublic,
             summary="Approve or return a submission")
def review_submission(submission_id: str, body: ReviewCreate, principal: Reviewer, engine: EngineDep,
                      settings: SettingsDep, catalog_db: CatalogDbDep) -> ReviewOutcomePublic:
    """Points per rubric category (0..its maximum) and comments. Approve only on a pass (75 % overall and no
    category below 60 %; otherwise 422 with the reasons): it issues Gold. Return needs feedback. 403 on your
    own submission, 409 once decided."""
    return reviews.review(engine=engine, settings=settings, catalog_db=catalog_db, reviewer=principal.user,
                          submission_id=submission_id, decision=body.decision, scores=dict(body.scores),
                          comments=dict(body.comments), feedback=body.feedback)


@router.post("/reviews/proposals/{project_id}", response_model=ProjectPublic,
             summary="Approve or return a custom project proposal")
def review_proposal(project_id: str, body: ProposalDecisionCreate, principal: Reviewer,
                    engine: EngineDep) -> ProjectPublic:
    """Approve: the learner can submit it. Return needs feedback. 403 on your own proposal."""
    return reviews.decide_proposal(engine=engine, reviewer=principal.user, project_id=project_id,
                                   decision=body.decision, feedback=body.feedback)


@router.put("/reviews/reviewers", response_model=ReviewerPublic, summary="Grant or take back the reviewer role")
def set_reviewer(body: ReviewerGrant, principal: SuperAdmin, engine: EngineDep) -> ReviewerPublic:
    """Super admin. A reviewer in an organisation reviews that organisation's learners; one without an
    organisation reviews everyone's. Only a learner becomes a reviewer (and back)."""
    return reviews.set_reviewer(engine=engine, email=body.email, reviewer=body.reviewer)
