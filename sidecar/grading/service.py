"""Quiz grading on the server: answer keys never leave catalog.db."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from sidecar.catalog import store
from sidecar.errors import InvalidInput, NotFound

from .models import Answer, QuizAttemptPublic, QuizItemResult

MAX_ANSWER_CHARS = 10_000


def _normalize_output(text: str) -> str:
    return "\n".join(line.rstrip() for line in text.strip().splitlines())


def _normalize_code(text: str) -> str:
    return " ".join(text.split())


def is_correct(item: dict[str, Any], answer: Answer) -> bool:
    key = json.loads(item["answer"])
    kind = item["kind"]
    if answer is None:
        return False
    if kind in ("multiple-choice", "find-the-bug"):
        try:
            return int(answer) == int(key)
        except (TypeError, ValueError):
            return False
    text = str(answer)
    if kind == "predict-output":
        return _normalize_output(text) == _normalize_output(str(key))
    accepted = [str(key), *json.loads(item["accept"] or "[]")]
    return _normalize_code(text) in {_normalize_code(a) for a in accepted}


def grade_quiz(*, catalog_db: Path, quiz_id: str, answers: dict[str, Answer]) -> QuizAttemptPublic:
    with store.connect(catalog_db) as conn:
        quiz = conn.execute("SELECT id, pass_percent FROM quizzes WHERE id = ?", (quiz_id,)).fetchone()
        if quiz is None:
            raise NotFound(f"No quiz with id {quiz_id}.")
        items = [dict(r) for r in conn.execute(
            "SELECT id, kind, answer, accept, explanation_html FROM quiz_items WHERE quiz_id = ? ORDER BY position",
            (quiz_id,))]
    known = {item["id"] for item in items}
    unknown = sorted(set(answers) - known)
    if unknown:
        raise InvalidInput("Some answers are for items that are not in this quiz.", {"unknown_items": unknown})
    too_long = [k for k, v in answers.items() if isinstance(v, str) and len(v) > MAX_ANSWER_CHARS]
    if too_long:
        raise InvalidInput(f"Answers are limited to {MAX_ANSWER_CHARS} characters.", {"items": too_long})
    results = [QuizItemResult(item_id=item["id"], correct=is_correct(item, answers.get(item["id"])),
                              explanation_html=item["explanation_html"]) for item in items]
    score = round(100.0 * sum(r.correct for r in results) / len(results), 1) if results else 0.0
    return QuizAttemptPublic(quiz_id=quiz_id, score_percent=score, passed=score >= quiz["pass_percent"],
                             items=results)
