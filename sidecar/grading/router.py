from __future__ import annotations

from fastapi import APIRouter

from sidecar.auth.deps import CurrentPrincipal, EngineDep, OptionalPrincipal
from sidecar.db.base import utcnow
from sidecar.deps import SettingsDep

from . import exercises, service
from .models import (
    ChallengePublic,
    HintPublic,
    QuizAttemptCreate,
    QuizAttemptPublic,
    SubmissionCreate,
    SubmissionPublic,
)

router = APIRouter(tags=["grading"])


@router.post("/quizzes/{quiz_id}/attempts", response_model=QuizAttemptPublic, summary="Grade a quiz attempt")
def create_quiz_attempt(quiz_id: str, attempt: QuizAttemptCreate, settings: SettingsDep, engine: EngineDep,
                        principal: OptionalPrincipal) -> QuizAttemptPublic:
    """Score, per-item correctness and explanations. Unanswered items count as wrong. Signed in, the attempt
    is stored, the best score kept, and the first pass earns XP (§8.2) and completes the quiz lesson."""
    result = service.grade_quiz(catalog_db=settings.catalog_db, quiz_id=quiz_id, answers=attempt.answers)
    if principal is None:
        return result
    return service.record_quiz_attempt(engine=engine, catalog_db=settings.catalog_db, user_id=principal.user.id,
                                       attempt=result, answers=attempt.answers,
                                       gamification_enabled=settings.ENABLE_GAMIFICATION)


@router.post("/exercises/{exercise_id}/submissions", response_model=SubmissionPublic,
             summary="Grade code on the server: visible and hidden tests in the sandbox")
def create_submission(exercise_id: str, body: SubmissionCreate, principal: CurrentPrincipal, engine: EngineDep,
                      settings: SettingsDep) -> SubmissionPublic:
    from sidecar.sandbox import get_sandbox

    return exercises.submit(engine=engine, catalog_db=settings.catalog_db, user_id=principal.user.id,
                            exercise_id=exercise_id, code=body.code, client_id=body.submission_id,
                            gamification_enabled=settings.ENABLE_GAMIFICATION, sandbox=get_sandbox())


@router.get("/exercises/{exercise_id}/submissions", response_model=list[SubmissionPublic],
            summary="Your submissions to an exercise, newest first")
def list_submissions(exercise_id: str, principal: CurrentPrincipal, engine: EngineDep) -> list[SubmissionPublic]:
    return exercises.history(engine=engine, user_id=principal.user.id, exercise_id=exercise_id)


@router.post("/exercises/{exercise_id}/hints", response_model=HintPublic, summary="The next rung of the hint ladder")
def next_hint(exercise_id: str, principal: CurrentPrincipal, engine: EngineDep, settings: SettingsDep) -> HintPublic:
    """Recorded per learner (the no-hints bonus); the bottom-out rung needs a failed submission first."""
    return exercises.reveal_hint(engine=engine, catalog_db=settings.catalog_db, user_id=principal.user.id,
                                 exercise_id=exercise_id)


@router.post("/challenges/{lesson_id}/start", response_model=ChallengePublic, summary="Start a timed challenge")
def start_challenge(lesson_id: str, principal: CurrentPrincipal, engine: EngineDep,
                    settings: SettingsDep) -> ChallengePublic:
    """The server's clock starts at the first opening; later calls return the same deadline."""
    start = exercises.start_challenge(engine=engine, catalog_db=settings.catalog_db, user_id=principal.user.id,
                                      lesson_id=lesson_id)
    left = max(0.0, (start.deadline - utcnow()).total_seconds())
    return ChallengePublic(lesson_id=lesson_id, started_at=start.started_at, deadline=start.deadline, seconds_left=left)
