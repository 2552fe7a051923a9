from __future__ import annotations

from fastapi import APIRouter

from sidecar.deps import SettingsDep

from . import service
from .models import QuizAttemptCreate, QuizAttemptPublic

router = APIRouter(tags=["grading"])


@router.post("/quizzes/{quiz_id}/attempts", response_model=QuizAttemptPublic, summary="Grade a quiz attempt")
def create_quiz_attempt(quiz_id: str, attempt: QuizAttemptCreate, settings: SettingsDep) -> QuizAttemptPublic:
    """Score, per-item correctness and explanations. Unanswered items count as wrong."""
    return service.grade_quiz(catalog_db=settings.catalog_db, quiz_id=quiz_id, answers=attempt.answers)
