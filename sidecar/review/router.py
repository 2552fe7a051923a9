from __future__ import annotations

import anyio.to_thread
from fastapi import APIRouter, Request

from sidecar.auth.deps import CurrentPrincipal
from sidecar.db.base import utcnow
from sidecar.deps import CatalogDbDep, EngineDep, SandboxDep, SettingsDep
from sidecar.grading import exercises as grading_exercises
from sidecar.grading.models import SubmissionPublic
from sidecar.grading.scheduler import grading_queue

from . import service
from .models import ReviewAnswerCreate, ReviewAnswerPublic, ReviewQueuePublic

router = APIRouter(tags=["review"])


@router.get("/review", response_model=ReviewQueuePublic, summary="Today's spaced review and your retention")
def get_queue(principal: CurrentPrincipal, engine: EngineDep, catalog_db: CatalogDbDep) -> ReviewQueuePublic:
    """Items come from what you met (quiz items you answered, exercises you passed or tripped on) and return on
    FSRS's schedule; at most the daily limit a day."""
    return service.queue(engine=engine, catalog_db=catalog_db, user_id=principal.user.id, now=utcnow())


@router.post("/review/answers", response_model=ReviewAnswerPublic, summary="Answer a due review item")
async def answer(body: ReviewAnswerCreate, principal: CurrentPrincipal, engine: EngineDep, settings: SettingsDep,
                 catalog_db: CatalogDbDep, sandbox: SandboxDep, request: Request) -> ReviewAnswerPublic:
    """Graded on the server (a quiz item against its key, an exercise in the sandbox); the answer rates the item
    for FSRS. Finishing the day's due items pays the day's review XP, once. A retried review id counts once."""
    user_id = principal.user.id
    now = utcnow()
    prepared = await anyio.to_thread.run_sync(lambda: service.prepare_answer(
        engine=engine, catalog_db=catalog_db, user_id=user_id, body=body, now=now))
    if isinstance(prepared, ReviewAnswerPublic):
        return prepared
    if prepared.quiz_item is not None:
        correct, shown = await anyio.to_thread.run_sync(lambda: service.grade_quiz_item(
            engine=engine, catalog_db=catalog_db, user_id=user_id, prepared=prepared, body=body))
        results = []
    else:
        submission = await _grade_exercise(request, engine=engine, settings=settings, catalog_db=catalog_db,
                                           sandbox=sandbox, user_id=user_id, exercise_id=prepared.exercise_id or "",
                                           code=body.code or "", client_id=f"review-{body.review_id}")
        correct, shown, results = submission.passed, {}, submission.results
    return await anyio.to_thread.run_sync(lambda: service.record_answer(
        engine=engine, catalog_db=catalog_db, user_id=user_id, body=body, correct=correct, shown=shown,
        results=results, now=utcnow(), gamification_enabled=settings.ENABLE_GAMIFICATION))


async def _grade_exercise(request: Request, *, engine: EngineDep, settings: SettingsDep, catalog_db: CatalogDbDep,
                          sandbox: SandboxDep, user_id: str, exercise_id: str, code: str,
                          client_id: str) -> SubmissionPublic:
    """An exercise review is a submission like any other: the same fair queue, the same sandbox and judge."""
    pending = await anyio.to_thread.run_sync(lambda: grading_exercises.prepare_submission(
        engine=engine, catalog_db=catalog_db, user_id=user_id, exercise_id=exercise_id, code=code,
        client_id=client_id, gamification_enabled=settings.ENABLE_GAMIFICATION))
    if isinstance(pending, SubmissionPublic):
        return pending
    queue = grading_queue(request.app.state, settings)
    async with queue.turn(user_id):
        graded = await anyio.to_thread.run_sync(
            lambda: grading_exercises.grade_pending(pending=pending, sandbox=sandbox), limiter=queue.threads)
    return await anyio.to_thread.run_sync(lambda: grading_exercises.record_submission(
        engine=engine, catalog_db=catalog_db, user_id=user_id, pending=pending, graded=graded,
        gamification_enabled=settings.ENABLE_GAMIFICATION))
