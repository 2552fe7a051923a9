from __future__ import annotations

from datetime import timedelta

import anyio.to_thread
from fastapi import APIRouter, Request

from sidecar.auth.deps import CurrentPrincipal, OptionalPrincipal
from sidecar.db.base import clock_offset, set_clock_offset, utcnow
from sidecar.deps import CatalogDbDep, EngineDep, SandboxDep, SettingsDep
from sidecar.errors import NotFound

from . import challenges, exercises, service
from .models import (
    ChallengePublic,
    HintPublic,
    QuizAttemptCreate,
    QuizAttemptPublic,
    SubmissionCreate,
    SubmissionPublic,
    SubmissionStatusPublic,
    TestClockPublic,
    TestClockSet,
)
from .scheduler import grading_queue

router = APIRouter(tags=["grading"])


@router.post("/quizzes/{quiz_id}/attempts", response_model=QuizAttemptPublic, summary="Grade a quiz attempt")
def create_quiz_attempt(quiz_id: str, attempt: QuizAttemptCreate, settings: SettingsDep, catalog_db: CatalogDbDep,
                        engine: EngineDep, principal: OptionalPrincipal) -> QuizAttemptPublic:
    """Score and per-item correctness. A passing attempt also gets the key and the explanations; a failing
    one only which items were wrong, with a nudge where to look again (no key: a retake still means
    something). Multiple-choice answers are indices in the authored order, however the page shuffled them.
    Unanswered items count as wrong. Signed in, the attempt is stored, the best score kept, and the first
    pass earns XP (§8.2) and completes the quiz lesson."""
    result = service.grade_quiz(catalog_db=catalog_db, quiz_id=quiz_id, answers=attempt.answers)
    if principal is None:
        return result
    return service.record_quiz_attempt(engine=engine, catalog_db=catalog_db, user_id=principal.user.id,
                                       attempt=result, answers=attempt.answers,
                                       gamification_enabled=settings.ENABLE_GAMIFICATION)


@router.get("/quizzes/{quiz_id}/attempts/latest", response_model=QuizAttemptPublic | None,
            summary="Your latest attempt at a quiz, reviewed")
def latest_quiz_attempt(quiz_id: str, principal: CurrentPrincipal, engine: EngineDep,
                        catalog_db: CatalogDbDep) -> QuizAttemptPublic | None:
    """The score, whether it passed, your best score and the per-item review of your latest attempt: the
    key and explanations only when that attempt passed. null when you have not tried this quiz yet (so
    that a page asking is not an error); 404 for an unknown quiz."""
    return service.latest_quiz_attempt(engine=engine, catalog_db=catalog_db, user_id=principal.user.id,
                                       quiz_id=quiz_id)


@router.post("/exercises/{exercise_id}/submissions", response_model=SubmissionPublic,
             summary="Grade code on the server: visible and hidden tests in the sandbox")
async def create_submission(exercise_id: str, body: SubmissionCreate, principal: CurrentPrincipal,
                            engine: EngineDep, settings: SettingsDep, catalog_db: CatalogDbDep, sandbox: SandboxDep,
                            request: Request) -> SubmissionPublic:
    """One running submission per learner and a few queued; beyond that, or when the queue is full, 429 with
    Retry-After. A retried submission id is answered from storage, never graded twice."""
    user_id = principal.user.id
    pending = await anyio.to_thread.run_sync(lambda: exercises.prepare_submission(
        engine=engine, catalog_db=catalog_db, user_id=user_id, exercise_id=exercise_id, code=body.code,
        client_id=body.submission_id, gamification_enabled=settings.ENABLE_GAMIFICATION))
    if isinstance(pending, SubmissionPublic):
        return pending
    if settings.GRADER_QUEUE_URL:
        # The grader fleet grades it (sidecar/grading/fleet.py): no learner code runs in this process.
        from . import fleet

        return await fleet.submit(engine=engine, settings=settings, user_id=user_id, pending=pending)
    queue = grading_queue(request.app.state, settings)
    async with queue.turn(user_id):
        graded = await anyio.to_thread.run_sync(
            lambda: exercises.grade_pending(pending=pending, sandbox=sandbox),
            limiter=queue.threads)
    return await anyio.to_thread.run_sync(lambda: exercises.record_submission(
        engine=engine, catalog_db=catalog_db, user_id=user_id, pending=pending, graded=graded,
        gamification_enabled=settings.ENABLE_GAMIFICATION))


@router.get("/exercises/{exercise_id}/submissions", response_model=list[SubmissionPublic],
            summary="Your submissions to an exercise, newest first")
def list_submissions(exercise_id: str, principal: CurrentPrincipal, engine: EngineDep) -> list[SubmissionPublic]:
    return exercises.history(engine=engine, user_id=principal.user.id, exercise_id=exercise_id)


@router.get("/exercises/{exercise_id}/submissions/{submission_id}", response_model=SubmissionStatusPublic,
            summary="Where one of your submissions stands: pending, graded (with the verdict) or failed")
def submission_status(exercise_id: str, submission_id: str, principal: CurrentPrincipal, engine: EngineDep,
                      settings: SettingsDep, catalog_db: CatalogDbDep) -> SubmissionStatusPublic:
    """By the client's submission id. With the grader fleet a submission may still be pending after its
    POST answered 503 `still_grading`; the embedded default grades within the request, so there it is
    graded or unknown (404)."""
    from . import fleet

    return fleet.status(engine=engine, catalog_db=catalog_db, user_id=principal.user.id, exercise_id=exercise_id,
                        client_id=submission_id, gamification_enabled=settings.ENABLE_GAMIFICATION)


@router.post("/exercises/{exercise_id}/hints", response_model=HintPublic, summary="The next rung of the hint ladder")
def next_hint(exercise_id: str, principal: CurrentPrincipal, engine: EngineDep, catalog_db: CatalogDbDep) -> HintPublic:
    """One rung at a time, recorded per learner (the no-hints bonus). The bottom-out rung (the worked answer)
    must be earned first: by default 3 different failed submissions and 5 minutes on the exercise. Until
    then the answer is 409 with `details` saying what is missing (`attempts_needed`, `minutes_needed`)."""
    from . import hints

    return hints.reveal_next(engine=engine, catalog_db=catalog_db, user_id=principal.user.id,
                             exercise_id=exercise_id)


@router.get("/challenges/{lesson_id}", response_model=ChallengePublic, summary="Your state on a timed challenge")
def challenge_state(lesson_id: str, principal: CurrentPrincipal, engine: EngineDep,
                    catalog_db: CatalogDbDep) -> ChallengePublic:
    """Starts nothing: not started, running (seconds_left, deadline), expired or passed; the attempt number,
    when a retake becomes possible, what a submission gets now (timed, practice or locked) and the policy."""
    return challenges.read_state(engine=engine, catalog_db=catalog_db, user_id=principal.user.id,
                                 lesson_id=lesson_id).public()


@router.post("/challenges/{lesson_id}/start", response_model=ChallengePublic, summary="Start a timed challenge")
def start_challenge(lesson_id: str, principal: CurrentPrincipal, engine: EngineDep,
                    catalog_db: CatalogDbDep) -> ChallengePublic:
    """Starts an attempt when the learner presses Start; while one runs, answers it (no new clock). After
    the time is up a retake starts once the cool-down has passed and attempts remain; else 409 with
    `details.retake_at` (or `attempts_left` 0). 409 too once the challenge is passed."""
    return challenges.start(engine=engine, catalog_db=catalog_db, user_id=principal.user.id,
                            lesson_id=lesson_id).public()


@router.post("/test/clock", response_model=TestClockPublic, summary="Move the server's clock (tests, local only)",
             include_in_schema=False)
def set_test_clock(body: TestClockSet, principal: CurrentPrincipal, settings: SettingsDep) -> TestClockPublic:
    """End-to-end tests "come back a day later" without waiting. 404 unless DRONA_TEST_CLOCK is on, which
    settings refuse outside DRONA_ENV=local; the check is repeated here in case settings were built by hand."""
    if not settings.DRONA_TEST_CLOCK or settings.DRONA_ENV != "local":
        raise NotFound("Not found.")
    set_clock_offset(timedelta(seconds=body.offset_seconds))
    return TestClockPublic(offset_seconds=clock_offset().total_seconds(), now=utcnow())
