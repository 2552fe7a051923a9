"""Guardrails for the AI tutor (issue 5): answer leaks and prompt injection.

In Socratic and hint modes a reply must not give away the exercise's reference solution or final
answer until the learner has earned the bottom-out hint (that gate is the orchestrator's). This
module is the check the orchestrator runs on every model reply before it is shown:

    verdict = check_reply(reply, solution=ex.solution, starter=ex.starter, final_answers=answers,
                          context=question_and_conversation)
    if verdict.leaked: rewrite or replace the reply, and log verdict.kind / score / detail.

and on every learner message before it reaches the model:

    category = detect_injection(message)   # "override", "role_claim", ... or None

Everything is deterministic and local (no model, no network) and takes well under a millisecond
for a typical reply; see bench/bench_mrbench.py for the answer detector's accuracy.
"""

from __future__ import annotations

from collections.abc import Sequence

from sidecar.agents.guard.answer import check_answer_leak
from sidecar.agents.guard.injection import detect_injection
from sidecar.agents.guard.translation import check_translation
from sidecar.courseware.leak_verdict import NO_LEAK, LeakVerdict
from sidecar.courseware.leaks import DEFAULT_THRESHOLD, check_code_leak, extract_code

__all__ = ["DEFAULT_THRESHOLD", "LeakVerdict", "check_answer_leak", "check_code_leak", "check_reply",
           "check_translation", "detect_injection", "extract_code"]


def check_reply(reply: str, *, solution: str | None, starter: str = "", final_answers: Sequence[str] = (),
                context: str = "", public: Sequence[str] = (), count_inline: bool = False) -> LeakVerdict:
    """Code leak first (the stronger finding), then the solution in another language, then final answers.

    `public` is code the learner already has besides the starter (their own submission, unlocked
    hints); `count_inline` also counts `inline code` spans as shown code (see guard_code).
    """
    if solution:
        code = check_code_leak(reply, solution, starter=starter, public=public, count_inline=count_inline)
        if code.leaked:
            return code
        translated = check_translation(reply, solution, starter=starter, public=public)
        if translated.leaked:
            return translated
    if final_answers:
        answer = check_answer_leak(reply, final_answers, context=context)
        if answer.leaked:
            return answer
    return NO_LEAK
