from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field

from sidecar.gamification.models import AchievementPublic
from sidecar.progress.models import RewardPublic
from sidecar.text import JsonInt

Answer = JsonInt | str | None  # JSON's own types: 1.0 or true is not an index


class QuizAttemptCreate(BaseModel):
    answers: dict[str, Answer] = Field(
        description="Item id → answer: a choice index (multiple-choice), the printed output (predict-output), "
        "a 1-based line number (find-the-bug) or the text that fills ____ (code-completion).",
        max_length=200,
    )


class QuizItemResult(BaseModel):
    """One item of a graded attempt. The key and the explanation come only with a passing attempt: after a
    fail the learner sees what was wrong and where to look again, so that a retake still means something."""

    item_id: str
    correct: bool
    given: Answer = Field(None, description="The learner's own answer, as graded (null: unanswered).")
    answer: Answer = Field(None, description="The right answer, only after a passing attempt: the 0-based index "
                           "of the correct choice in the authored order (multiple-choice), the expected output "
                           "(predict-output), the 1-based buggy line (find-the-bug) or the text that fills ____ "
                           "(code-completion).")
    explanation_html: str | None = Field(None, description="The authored explanation, only after a passing "
                                         "attempt (it gives the answer away).")
    nudge: str | None = Field(None, description="A wrong item of a failing attempt: where to look again, "
                              "never the answer.")
    review_url: str | None = Field(None, description="With a nudge: the site-relative URL of the lesson to re-read.")


class QuizAttemptPublic(BaseModel):
    quiz_id: str
    score_percent: float
    passed: bool
    items: list[QuizItemResult]
    revealed: bool = Field(False, description="True when the items carry the key and explanations (a pass).")
    created_at: datetime | None = Field(None, description="When the attempt was stored (signed in only).")
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
    challenge_mode: Literal["timed", "practice"] | None = Field(
        None, description="Challenge lessons: graded in a running timed attempt, or in practice mode (a pass "
        "completes the lesson without the timed XP). Null elsewhere, in listings and for retries.")


class SubmissionStatusPublic(BaseModel):
    submission_id: str
    exercise_id: str
    state: Literal["pending", "graded", "failed"] = Field(
        description="pending: waiting for or being graded on the grader fleet; graded: `submission` holds the "
        "verdict; failed: not graded (send the code again with a new submission id).")
    message: str = ""
    submission: SubmissionPublic | None = None


class HintPublic(BaseModel):
    rung: int
    text: str = Field(description="Markdown.")
    bottom_out: bool
    remaining: int


class AttemptPolicyPublic(BaseModel):
    max_attempts: int | None = Field(description="Timed attempts allowed in all; null: unlimited.")
    cooldown_minutes: int = Field(description="Minutes from one attempt's deadline before the next may start.")
    after_expiry: Literal["practice", "locked"] = Field(
        description="practice: without a running attempt, submissions are graded in practice mode (a pass "
        "completes the lesson without the timed XP); locked: they are refused.")
    practice_xp: bool = Field(description="Whether a practice pass earns the ordinary lesson XP.")


class ChallengePublic(BaseModel):
    lesson_id: str
    status: Literal["not_started", "running", "expired", "passed"] = Field(
        description="not_started: no attempt yet; running: an attempt's clock runs; expired: the latest attempt's "
        "time is up; passed: the lesson is completed.")
    attempt: int = Field(description="The latest attempt's number (0: none started).")
    attempts_left: int | None = Field(description="Attempts that may still be started; null: unlimited.")
    started_at: datetime | None = Field(description="When the latest attempt started.")
    deadline: datetime | None = Field(description="When the latest attempt's time is up.")
    seconds_left: float = Field(description="Of the running attempt; 0 when none runs.")
    retake_at: datetime | None = Field(description="When a new attempt may start, if the cool-down has not passed.")
    can_start: bool = Field(description="Whether POST .../start would start a new attempt now.")
    submission_mode: Literal["timed", "practice", "locked"] = Field(
        description="What a submission made now gets: graded in the running attempt, graded as practice, "
        "or refused.")
    time_limit_minutes: int
    policy: AttemptPolicyPublic
    server_time: datetime = Field(description="The server's clock at the answer.")


class TestClockSet(BaseModel):
    offset_seconds: float = Field(ge=-366 * 86400, le=10 * 366 * 86400,
                                  description="How far the server's clock is ahead of the real one (0: real time).")


class TestClockPublic(BaseModel):
    offset_seconds: float
    now: datetime
