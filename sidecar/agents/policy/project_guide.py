"""The Project Guide agent's offline policy (§5.2): milestones, design review, rubric.

Milestones come from the project lesson's own sections and objectives; the rubric from its
tests (correctness, run in the sandbox by the grading service) plus structural criteria drawn
from the lesson's skills and checked with `ast` on the learner's code (never executed here).
"""

from __future__ import annotations

import ast
from typing import Any

from sidecar.agents.policy import socratic, tone
from sidecar.agents.policy.turn import Reply, Turn, cite, read_more

# What a skill tag asks to see in a project's code, as an AST node test.
_SKILL_CHECKS: dict[str, tuple[str, Any]] = {
    "functions": ("defines at least one function", lambda tree: any(isinstance(n, ast.FunctionDef)
                                                                   for n in ast.walk(tree))),
    "return": ("a function returns its result", lambda tree: any(isinstance(n, ast.Return) and n.value is not None
                                                                 for n in ast.walk(tree))),
    "while": ("repeats with a `while` loop", lambda tree: any(isinstance(n, ast.While) for n in ast.walk(tree))),
    "for": ("repeats with a `for` loop", lambda tree: any(isinstance(n, ast.For) for n in ast.walk(tree))),
    "conditionals": ("makes decisions with `if`", lambda tree: any(isinstance(n, ast.If) for n in ast.walk(tree))),
    "input": ("reads input from the player", lambda tree: any(isinstance(n, ast.Call) and getattr(n.func, "id", "")
                                                               == "input" for n in ast.walk(tree))),
}


def milestones(turn: Turn) -> list[str]:
    headings: list[str] = []
    for passage in turn.passages:
        if turn.lesson and passage.lesson_id == turn.lesson.id and passage.heading not in headings:
            headings.append(passage.heading)
    steps = [f"Understand and try: *{h}*" for h in headings if h != (turn.lesson.title if turn.lesson else "")]
    if turn.lesson:
        steps += [f"Make it do this: {o}" for o in turn.lesson.objectives]
    steps.append("Run **Check** and read every test result; fix one thing at a time.")
    return steps


def rubric(turn: Turn) -> list[tuple[str, bool | None]]:
    code = turn.code or (turn.activity.last_code if turn.activity else None) or ""
    rows: list[tuple[str, bool | None]] = []
    try:
        tree: ast.AST | None = ast.parse(code) if code.strip() else None
    except SyntaxError:
        tree = None
        rows.append(("the program is valid Python", False))
    for skill in turn.lesson.skills if turn.lesson else []:
        check = _SKILL_CHECKS.get(skill.rsplit(".", 1)[-1])
        if check:
            rows.append((check[0], check[1](tree) if tree is not None else None))
    if turn.activity is not None and turn.activity.attempts:
        for result in turn.activity.last_results:
            rows.append((f"test: {result['name']}", bool(result["passed"])))
    return rows


def respond(turn: Turn) -> Reply:
    citations = cite(turn.passages)
    rows = rubric(turn)
    mark = {True: "✅", False: "❌", None: "⬜"}
    table = "\n".join(f"- {mark[ok]} {label}" for label, ok in rows)
    failing = socratic.failing_test(turn) is not None
    if (turn.intent in ("review", "check_answer") or failing) and rows:
        missing = [label for label, ok in rows if ok is False]
        verdict = ("Every criterion I can check is met — submit it and celebrate!" if not missing and
                   all(ok for _, ok in rows) else "Here is where your project stands against its rubric:")
        follow = socratic.probing_question(turn) if missing else "What would you add next to make it your own?"
        return Reply(text=tone.join(verdict, table, follow, read_more(citations)), agent="project_guide",
                     mode="scaffolded", citations=citations)
    plan = "\n".join(f"{i}. {step}" for i, step in enumerate(milestones(turn), 1))
    design = ("A design question before you code: which part of the program is the game's *logic* (it could be "
              "a function you test on its own), and which part talks to the player (input and print)?")
    text = tone.join("Let's break the project into milestones:", plan, design,
                     f"The rubric I'll check it against:\n{table}" if table else "", read_more(citations))
    return Reply(text=text, agent="project_guide", mode="scaffolded", citations=citations)
