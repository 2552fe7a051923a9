"""The Assessor's and Code Reviewer's endpoints: adaptive questions, and code review with tests."""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import Engine

from sidecar.agents.api.models import AssessCreate, AssessPublic, FindingPublic, ReviewCreate, ReviewPublic
from sidecar.agents.memory import state as learner_state
from sidecar.agents.policy.content import get_content
from sidecar.agents.quiz import assessor
from sidecar.catalog import readers
from sidecar.errors import InvalidInput, NotFound
from sidecar.grading import exercises as grading
from sidecar.grading.service import is_correct
from sidecar.learner_model import online as learner_model
from sidecar.onboarding import service as onboarding
from sidecar.settings import Settings


def _items(settings: Settings, body: AssessCreate) -> list[dict[str, Any]]:
    if body.onboarding:
        if not body.track_id:
            raise InvalidInput("The onboarding check needs a track_id.")
        return onboarding.skill_check_items(catalog_db=settings.catalog_db, track_id=body.track_id)
    scope, value = ("module", body.module_id) if body.module_id else ("track", body.track_id)
    if body.lesson_id:
        lesson = get_content(settings.catalog_db).lessons.get(body.lesson_id)
        if lesson is None:
            raise NotFound("No lesson with that id.")
        scope, value = "module", lesson.module_id  # a lesson's skills are practised across its module
    if value is None:
        raise InvalidInput("Say what to assess: lesson_id, module_id or track_id.")
    rows = (readers.quiz_items(settings.catalog_db, module_id=value) if scope == "module"
            else readers.quiz_items(settings.catalog_db, track_id=value))
    if not rows:
        raise NotFound("There are no questions for that part of the catalog yet.")
    return rows


def assess(*, engine: Engine, settings: Settings, user_id: str, body: AssessCreate) -> AssessPublic:
    items = _items(settings, body)
    stored = bool(body.attempt_id) and not body.onboarding
    if stored:
        # Store first (each answer once per attempt id), then read the estimates that include them.
        by_id = {i["id"]: i for i in items}
        for item_id, answer in body.answers.items():
            item = by_id.get(item_id)
            if item is not None:
                learner_state.record_result(engine=engine, user_id=user_id, skills=json.loads(item["skills"]),
                                            correct=is_correct(item, answer),
                                            source_key=f"assess:{body.attempt_id}:{item_id}",
                                            multiple_choice=item["kind"] == "multiple-choice",
                                            model_params=settings.LEARNER_MODEL_PARAMS)
    prior = {} if body.onboarding else learner_state.refresh_mastery(engine=engine, catalog_db=settings.catalog_db,
                                                                     user_id=user_id,
                                                                     model_params=settings.LEARNER_MODEL_PARAMS)
    # The learner model's state for folding unstored answers (none when onboarding: a fresh start).
    tracker = (learner_model.Tracker(learner_model.params(settings.LEARNER_MODEL_PARAMS)) if body.onboarding
               else learner_state.tracker(engine=engine, user_id=user_id, model_params=settings.LEARNER_MODEL_PARAMS))
    step = assessor.adaptive_step(items, body.answers, onboarding=body.onboarding, prior=prior,
                                  fold_answers=not stored, tracker=tracker)
    if body.onboarding and step.done and body.track_id:
        onboarding.record_skill_check(engine=engine, user_id=user_id, track_id=body.track_id,
                                      known_skills=step.known_skills,
                                      correct=sum(1 for f in step.feedback if f["correct"]), total=len(step.feedback))
    return AssessPublic(item=step.item, feedback=step.feedback, estimates=step.estimates,
                        known_skills=step.known_skills, done=step.done)


def _review_grading(*, engine: Engine, settings: Settings, user_id: str, exercise_id: str,
                    code: str) -> dict[str, Any]:
    """The tests a review may show: the visible ones, run now, and never the hidden ones.

    Hidden tests run only in a recorded submission (POST /api/exercises/{id}/submissions): run here,
    they would be a free oracle that no attempt count, XP rule or hint gate ever sees. When the
    learner's latest recorded submission is this very code, its stored hidden-test results (their
    feedback only) come along, read back, not run again.
    """
    from sidecar.grading.fleet import sandbox_for

    record = readers.exercise(settings.catalog_db, exercise_id)
    # The exercise's own memory budget, as its submissions get (when the catalog sets one).
    memory = record.memory_mb
    graded = sandbox_for(settings).grade(code, record.visible_tests, seed=0, time_limit=record.time_limit,
                                 **({"memory_mb": memory} if memory else {}))
    results = [{"name": r["name"], "passed": r["passed"], "message": r["message"], "hidden": False}
               for r in graded.results]
    activity = grading.activity(engine=engine, catalog_db=settings.catalog_db, user_id=user_id,
                                exercise_id=exercise_id)
    stored = activity.last_code == code
    hidden = [dict(r) for r in activity.last_results if r["hidden"]] if stored else []
    return {"passed": bool(graded.passed) and all(r["passed"] for r in hidden), "status": graded.status,
            "message": graded.message, "results": results + hidden, "hidden_from_submission": stored}


def review(*, engine: Engine, settings: Settings, user_id: str, body: ReviewCreate) -> ReviewPublic:
    from sidecar.agents.review.reviewer import review_code

    solution, skills, graded, results = None, [], None, []
    if body.exercise_id:
        content = get_content(settings.catalog_db)
        exercise = content.exercises.get(body.exercise_id)
        if exercise is None:
            raise NotFound(f"No exercise with id {body.exercise_id}.")
        solution = exercise.solution
        lesson = content.lessons.get(exercise.lesson_id or "")
        skills = lesson.skills if lesson else []
        graded = _review_grading(engine=engine, settings=settings, user_id=user_id, exercise_id=body.exercise_id,
                                 code=body.code)
        results = graded["results"]
    result = review_code(body.code, grading=graded, solution=solution, lesson_skills=skills)
    summary, passed = result.summary, result.passed
    hidden = "not_graded" if graded is None else "from_submission" if graded["hidden_from_submission"] else "not_run"
    if hidden == "not_run":
        summary += (" Only the visible tests ran here: the hidden ones run when you press Check, which "
                    "grades and records your solution.")
        if passed:
            passed = None  # the visible tests pass; without the hidden ones there is no verdict yet
    return ReviewPublic(summary=summary, debugging_steps=list(result.debugging_steps), passed=passed,
                        findings=[FindingPublic(line=f.line, category=f.category, severity=f.severity,
                                                message=f.message, question=f.question, rule=f.rule)
                                  for f in result.findings], results=results, hidden_tests=hidden)
