"""Silver assessments over HTTP: the overview, starting an attempt, the four timed sections, integrity
signals, and the reviewer's integrity report. Every endpoint but the overview needs the learner who
owns the attempt (others get 404); the integrity report needs a reviewer or a super admin."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path
from fastapi.responses import Response

from sidecar.auth.deps import CurrentPrincipal, OptionalPrincipal, require_role
from sidecar.auth.roles import Role
from sidecar.deps import CatalogDbDep, EngineDep, SandboxDep, SettingsDep
from sidecar.errors import NotFound

from . import service
from .models import (
    AnswerCreate,
    AssessmentOverviewPublic,
    AttemptCreate,
    AttemptPublic,
    CodeCreate,
    EventCreate,
    IntegrityPublic,
    ReplyCreate,
    SectionKey,
)

router = APIRouter(tags=["assessments"])
Reviewer = Annotated[Any, Depends(require_role(Role.REVIEWER))]
Position = Annotated[int, Path(ge=0, le=100)]


@router.get("/assessments/{course_id}", response_model=AssessmentOverviewPublic,
            summary="A course's Silver assessment: sections, rules, your attempts")
def overview(course_id: str, principal: OptionalPrincipal, engine: EngineDep, settings: SettingsDep,
             catalog_db: CatalogDbDep) -> AssessmentOverviewPublic:
    """The sections with their minutes and points, the pass rule (80 % overall, no section below 60 %),
    the cool-down, your open attempt (resume it) and your past attempts."""
    return service.overview(engine=engine, settings=settings, catalog_db=catalog_db,
                            user_id=principal.user.id if principal else None, course_id=course_id)


@router.post("/assessments/{course_id}/attempts", response_model=AttemptPublic, status_code=201,
             summary="Start a Silver attempt")
def start(course_id: str, body: AttemptCreate, principal: CurrentPrincipal, engine: EngineDep,
          settings: SettingsDep, catalog_db: CatalogDbDep) -> AttemptPublic:
    """Draws this attempt's own random selection from the course's bank. 409 while another attempt is open
    (its id is in the error's details), during the retake cool-down, or once Silver is passed."""
    return service.start_attempt(engine=engine, settings=settings, catalog_db=catalog_db, user_id=principal.user.id,
                                 course_id=course_id, consent_camera=body.consent_camera)


@router.get("/assessments/attempts/{attempt_id}", response_model=AttemptPublic, summary="Resume an attempt")
def state(attempt_id: str, principal: CurrentPrincipal, engine: EngineDep, settings: SettingsDep,
          catalog_db: CatalogDbDep) -> AttemptPublic:
    """Everything saved so far, with each section's server deadline and the seconds left. A section whose
    time ran out is submitted with what was saved before this answer is made."""
    return service.attempt_state(engine=engine, settings=settings, catalog_db=catalog_db, user_id=principal.user.id,
                                 attempt_id=attempt_id)


@router.post("/assessments/attempts/{attempt_id}/sections/{section}/start", response_model=AttemptPublic,
             summary="Start a section's clock")
def start_section(attempt_id: str, section: SectionKey, principal: CurrentPrincipal, engine: EngineDep,
                  settings: SettingsDep, catalog_db: CatalogDbDep) -> AttemptPublic:
    """Sections run in order; the clock starts now and runs on the server."""
    return service.start_section(engine=engine, settings=settings, catalog_db=catalog_db,
                                 user_id=principal.user.id, attempt_id=attempt_id, section=section)


@router.put("/assessments/attempts/{attempt_id}/sections/{section}/items/{position}", response_model=AttemptPublic,
            summary="Save an answer (conceptual, analysis)")
def save_answer(attempt_id: str, section: SectionKey, position: Position, body: AnswerCreate,
                principal: CurrentPrincipal, engine: EngineDep, settings: SettingsDep,
                catalog_db: CatalogDbDep) -> AttemptPublic:
    """Conceptual answers are final and the next question adapts to them; analysis answers can change
    until the section is submitted. 409 once the section's time is up."""
    return service.save_answer(engine=engine, settings=settings, catalog_db=catalog_db, user_id=principal.user.id,
                               attempt_id=attempt_id, section=section, position=position, answer=body.answer,
                               active_ms=body.active_ms)


@router.post("/assessments/attempts/{attempt_id}/sections/coding/items/{position}/submissions",
             response_model=AttemptPublic, summary="Submit code for a coding problem")
def submit_code(attempt_id: str, position: Position, body: CodeCreate, principal: CurrentPrincipal,
                engine: EngineDep, settings: SettingsDep, catalog_db: CatalogDbDep,
                sandbox: SandboxDep) -> AttemptPublic:
    """Graded in the sandbox with the problem's hidden tests; the best submission counts."""
    return service.submit_code(engine=engine, settings=settings, catalog_db=catalog_db, sandbox=sandbox,
                               user_id=principal.user.id, attempt_id=attempt_id, position=position, code=body.code,
                               active_ms=body.active_ms)


@router.post("/assessments/attempts/{attempt_id}/sections/design/replies", response_model=AttemptPublic,
             summary="Answer the Assessor in the design interview")
def design_reply(attempt_id: str, body: ReplyCreate, principal: CurrentPrincipal, engine: EngineDep,
                 settings: SettingsDep, catalog_db: CatalogDbDep) -> AttemptPublic:
    """The Assessor replies with a follow-up question, or closes the interview."""
    return service.design_reply(engine=engine, settings=settings, catalog_db=catalog_db, user_id=principal.user.id,
                                attempt_id=attempt_id, text=body.text)


@router.post("/assessments/attempts/{attempt_id}/sections/{section}/submit", response_model=AttemptPublic,
             summary="Submit a section")
def submit_section(attempt_id: str, section: SectionKey, principal: CurrentPrincipal, engine: EngineDep,
                   settings: SettingsDep, catalog_db: CatalogDbDep) -> AttemptPublic:
    """Scores the section; after the last one the attempt is decided and Silver issued on a pass."""
    return service.submit_section(engine=engine, settings=settings, catalog_db=catalog_db,
                                  user_id=principal.user.id, attempt_id=attempt_id, section=section)


@router.post("/assessments/attempts/{attempt_id}/events", status_code=204, response_class=Response,
             summary="Record an integrity signal")
def record_event(attempt_id: str, body: EventCreate, principal: CurrentPrincipal, engine: EngineDep) -> Response:
    """Focus lost and back, paste sizes, camera check results (never images): kept for a reviewer."""
    service.record_event(engine=engine, user_id=principal.user.id, attempt_id=attempt_id, kind=body.kind,
                         section=body.section, position=body.position, detail=body.detail)
    return Response(status_code=204)


@router.get("/assessments/attempts/{attempt_id}/integrity", response_model=IntegrityPublic,
            summary="An attempt's integrity signals (reviewers)")
def integrity(attempt_id: str, principal: Reviewer, engine: EngineDep) -> IntegrityPublic:
    """Reviewers see attempts of learners in their organisation (platform reviewers and super admins: all)."""
    report = service.integrity(engine=engine, attempt_id=attempt_id)
    scoped = principal.user.role != Role.SUPER_ADMIN and principal.user.organization_id is not None
    if scoped and service.organization_of(engine=engine, user_id=report.user_id) != principal.user.organization_id:
        raise NotFound("No assessment attempt with this id.")
    return report
