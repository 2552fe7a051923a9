"""Questions that lead a learner to the next step without taking it for them.

Every question is built from authored material (misconceptions, test feedback, objectives) or
from the learner's own code, never from the reference solution.
"""

from __future__ import annotations

import re

from sidecar.agents.policy.turn import Turn


def matching_misconception(turn: Turn) -> dict[str, str] | None:
    code = turn.code or (turn.activity.last_code if turn.activity else None) or ""
    if not code or turn.exercise is None:
        return None
    for mc in turn.exercise.misconceptions:
        pattern = mc.get("pattern")
        try:
            if pattern and re.search(pattern, code):
                return mc
        except re.error:
            continue
    return None


def failing_test(turn: Turn) -> dict[str, str] | None:
    if turn.activity is None or not turn.activity.last_results:
        return None
    return next((r for r in turn.activity.last_results if not r["passed"]), None)


def objective(turn: Turn) -> str | None:
    """One of the lesson's objectives, a different one as the conversation goes on."""
    if turn.lesson and turn.lesson.objectives:
        objectives = turn.lesson.objectives
        return objectives[max(turn.interactions - 1, 0) % len(objectives)]
    return None


def probing_question(turn: Turn) -> str:
    """The most specific question available for where the learner is."""
    mc = matching_misconception(turn)
    if mc:
        return mc["question"]
    failing = failing_test(turn)
    if failing:
        said = failing.get("message", "").strip().splitlines()
        detail = f" It says: *{said[0][:200]}*" if said else ""
        return (f"Your last submission did not pass the test **{failing['name']}**.{detail} "
                "What does your program print for that case, and what should it print instead?")
    if turn.exercise is not None:
        if not (turn.code or "").strip() or (turn.code or "").strip() == turn.exercise.starter.strip():
            return ("Before writing code: in your own words, what should the program do, step by step, for the "
                    "example in the task? Write the steps as comments first.")
        return ("Pick the example from the task and trace your program by hand: what is the value of each variable "
                "after each line? Where does it first differ from what you expect?")
    goal = objective(turn)
    if goal:
        return f"This lesson is about: *{goal}* How would you put that into your own words, with a small example?"
    return "What have you tried so far, and what happened when you ran it?"


def checkin_question(turn: Turn) -> str:
    """§7.3 check-in: verify understanding every few interactions."""
    goal = objective(turn)
    if goal:
        return f"**Quick check-in:** before we go on, explain in one or two sentences how you would: *{goal}*"
    return "**Quick check-in:** in one sentence, what is the main idea you've used so far?"
