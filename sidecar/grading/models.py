from __future__ import annotations

from pydantic import BaseModel, Field

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
