from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field

from sidecar.grading.models import Answer, TestResultPublic
from sidecar.progress.models import RewardPublic

DAILY_LIMIT = 15  # items per day's review: a short session, not a backlog to dread


class ReviewItemPublic(BaseModel):
    """One item to recall, without its answer: a quiz item (predict the output, find the bug, ...) or an
    exercise to solve again."""

    item_key: str
    kind: str = Field(description="multiple-choice, predict-output, find-the-bug, code-completion or exercise.")
    origin: Literal["quiz", "exercise", "misconception"]
    title: str
    prompt: str
    code: str | None = None
    choices: list[str] | None = None
    starter: str | None = None
    url: str | None = Field(None, description="Where the learner met it (the lesson page).")
    due: datetime


class RetentionPublic(BaseModel):
    reviews: int = Field(description="Reviews answered (first meetings not counted).")
    recalled: int
    recall_rate: float | None = Field(description="Share of reviews answered right.")
    predicted_recall: float | None = Field(description="FSRS's mean predicted recall for those reviews.")


class ReviewQueuePublic(BaseModel):
    today: str = Field(description="The learner's local day (ISO date).")
    due_count: int = Field(description="Items due now, before the daily limit.")
    session: list[ReviewItemPublic] = Field(description="Today's items still to answer, at most the daily limit.")
    answered_today: int
    correct_today: int
    done_today: bool = Field(description="Today's review is finished (its XP is paid once).")
    xp_awarded_today: int
    cards: int = Field(description="Items in the learner's queue, due or not.")
    next_due: datetime | None
    retention: RetentionPublic


class ReviewAnswerCreate(BaseModel):
    item_key: str = Field(max_length=80)
    answer: Answer = Field(None, description="For a quiz item: the choice's index or the text.")
    code: str | None = Field(None, max_length=50_000, description="For an exercise: the program.")
    review_id: str = Field(min_length=8, max_length=64, pattern=r"^[A-Za-z0-9_-]+$",
                           description="Client-generated id: a retried request is counted once.")


class ReviewAnswerPublic(BaseModel):
    item_key: str
    correct: bool
    duplicate: bool = False
    answer: Answer = Field(None, description="The key, only for a quiz the learner has passed before.")
    explanation_html: str | None = None
    nudge: str | None = None
    review_url: str | None = None
    results: list[TestResultPublic] = Field(default_factory=list, description="An exercise's test results.")
    next_due: datetime
    done_today: bool
    reward: RewardPublic | None = None
