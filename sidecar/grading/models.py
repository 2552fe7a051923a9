from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field

from sidecar.gamification.models import AchievementPublic
from sidecar.progress.models import RewardPublic

Answer = int | str | None


class QuizAttemptCreate(BaseModel):
    answers: dict[str, Answer] = Field(
        description="Item id → answer: a choice index (multiple-choice), the printed output (predict-output), "
        "a 1-based line number (find-the-bug) or the text that fills ____ (code-completion).",
        max_length=200,
    )


class QuizItemResult(BaseModel):
    item_id: str
    correct: bool
    explanation_html: str


class QuizAttemptPublic(BaseModel):
    quiz_id: str
    score_percent: float
    passed: bool
    items: list[QuizItemResult]
    saved: bool = Field(False, description="True when signed in: the attempt is stored and may earn XP.")
    xp_awarded: int = 0
    best_score_percent: float | None = None
    new_achievements: list[AchievementPublic] = []
    reward: RewardPublic | None = Field(None, description="What the attempt earned and the learner's totals after "
                                        "it (signed in only).")


class SubmissionCreate(BaseModel):
    code: str = Field(max_length=50_000)
    submission_id: str | None = Field(None, min_length=8, max_length=64, pattern=r"^[A-Za-z0-9_-]+$",
                                      description="Client-generated id: a retried request is graded once.")


class TestResultPublic(BaseModel):
    name: str
    passed: bool
    message: str = Field(description="For hidden tests, the authored feedback only.")
    hidden: bool


class SubmissionPublic(BaseModel):
    id: str
    submission_id: str
    exercise_id: str
    passed: bool
    status: str = Field(description="ok, timeout, memory, crashed or output_limit.")
    message: str
    results: list[TestResultPublic]
    xp_awarded: int
    lesson_id: str | None
    lesson_state: str
    new_achievements: list[AchievementPublic]
    duplicate: bool
    created_at: datetime
    reward: RewardPublic | None = Field(None, description="What the submission earned and the learner's totals "
                                        "after it (a retry: nothing earned again); null in listings.")


class HintPublic(BaseModel):
    rung: int
    text: str = Field(description="Markdown.")
    bottom_out: bool
    remaining: int


class ChallengePublic(BaseModel):
    lesson_id: str
    started_at: datetime
    deadline: datetime
    seconds_left: float
