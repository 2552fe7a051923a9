"""The pieces behind a tutor reply that names the learner's mistake (issue #12): the structural
comparison with the reference (sidecar/agents/policy/structure.py), intents read from what the
learner says, hint rungs the learner's code already satisfies, sources from where the learner is,
a guard that knows what is public, and solutions translated into another language.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from sidecar.agents import guard
from sidecar.agents.guard.guarded import LeakPolicy, secret_answers
from sidecar.agents.guard.translation import check_translation
from sidecar.agents.policy import intents, structure
from sidecar.agents.policy.structure import find_mistakes

REPO = Path(__file__).resolve().parents[1]
EXERCISES = {p.stem: yaml.safe_load(p.read_text(encoding="utf-8"))
             for p in (REPO / "content").rglob("exercises/*.yaml")}


def solution(slug: str) -> str:
    return str(EXERCISES[slug]["solution"])


# (exercise, learner's program, the concept found first, its line)
MISTAKES = [
    ("sum-to-n", 'n = int(input("n: "))\ntotal = 0\nfor i in range(1, n):\n    total = total + i\nprint(total)\n',
     "range-stop", 3),
    ("sum-to-n",
     'n = int(input("n: "))\nfor i in range(1, n + 1):\n    total = 0\n    total = total + i\nprint(total)\n',
     "reset-in-loop", 3),
    ("sum-to-n", 'n = input("n: ")\ntotal = 0\nfor i in range(1, n + 1):\n    total = total + i\nprint(total)\n',
     "input-text", 1),
    ("sum-to-n",
     'n = int(input("n: "))\ntotal = 0\nfor i in range(1, n + 1):\n    total = total + i\n    print(total)\n',
     "print-in-loop", 5),
    ("sum-to-n", 'n = int(input("n: "))\ntotal = 0\nfor i in range(1, n + 1):\n    total + i\nprint(total)\n',
     "discarded-value", 4),
    ("sum-to-n", 'n = int(input("n: "))\ntotal = 0\nfor i in range(1, n + 1)\n    total = total + i\n', "colon", 3),
    ("sum-to-n", 'n = int(input("n: "))\ntotal = 0\nfor i in range(1, n + 1):\n    total = total + n\nprint(total)\n',
     "loop-variable-unused", 3),
    ("countdown", 'n = int(input("Start from: "))\nwhile n > 0:\n    print(n)\nprint("Liftoff!")\n', "endless-loop", 2),
    ("grade-letter",
     'score = int(input("Score: "))\nif score > 90:\n    print("A")\nelif score >= 80:\n    print("B")\n'
     'elif score >= 70:\n    print("C")\nelif score >= 60:\n    print("D")\nelse:\n    print("F")\n', "boundary", 2),
    ("fizzbuzz", 'n = int(input("n: "))\nfor i in range(1, n + 1):\n    if i % 3 == 0:\n        print("Fizz")\n'
     '    elif i % 15 == 0:\n        print("FizzBuzz")\n    elif i % 5 == 0:\n        print("Buzz")\n    else:\n'
     '        print(i)\n', "condition-order", 3),
    ("tip-calculator", 'bill = float(input("Bill amount: "))\nrating = input("How was the service? ")\n'
     'if rating == "great":\n    percent = 20\nelif rating == "good":\n    percent = 15\nelse:\n    percent = 10\n'
     'tip = bill * percent / 100\nprint(f"Tip: {tip:.2f}")\nprint(f"Total: {bill + tip:.2f}")\n', "case", 3),
    ("tip-calculator", 'bill = int(input("Bill amount: "))\nrating = input("How was the service? ").strip().lower()\n'
     'if rating == "great":\n    percent = 20\nelif rating == "good":\n    percent = 15\nelse:\n    percent = 10\n'
     'tip = bill * percent / 100\nprint(f"Tip: {tip:.2f}")\nprint(f"Total: {bill + tip:.2f}")\n', "int-vs-float", 1),
    ("convert-minutes", 'minutes = int(input("Minutes: "))\nhours = minutes / 60\nrest = minutes % 60\n'
     'print(f"{hours} h {rest} min")\n', "true-division", 2),
    ("to-fahrenheit", "def to_fahrenheit(celsius):\n    print(celsius * 9 / 5 + 32)\n", "print-not-return", 2),
    ("make-greeting", 'def greet(name):\n    return "Hello, " + name\n\n\nprint(greet("Ada"))\n',
     "text-punctuation", 2),
    ("greet-by-name", 'name = input("What is your name? ")\nprint("Hello, name!")\n', "text-spelling", 2),
    ("say-hello", 'print("hello, world!")\n', "text-capital", 1),
    ("add-two-numbers", 'a = input("First number: ")\nb = input("Second number: ")\nprint(a + b)\n', "input-text", 1),
    ("shipping-cost", "def shipping_cost(weight, express):\n    cost = 5 + 2 * weight\n    if express:\n"
     "        cost = cost * 2\n    return cost\n", "default", 1),
    ("count-vowels", 'text = input("Text: ")\ncount = 0\nfor ch in text:\n    if ch in "aeiou":\n'
     '        count = count + 1\nprint(count)\n', "case", 4),
    ("leap-year", 'year = int(input("Year: "))\nif year % 4 == 0:\n    print("leap")\n', "missing-else", 2),
    ("sum-to-n", 'n = int(input("n: "))\ntotal = 0\nfor i in range(1, n + 1):\n    total = total + i\nprint("total")\n',
     "quoted-name", 5),
    ("can-vote", "print(True)\n", "hard-coded", 1),
]


@pytest.mark.parametrize(("slug", "code", "concept", "line"), MISTAKES, ids=[f"{m[0]}-{m[2]}" for m in MISTAKES])
def test_the_first_finding_names_the_line_and_the_concept(slug: str, code: str, concept: str, line: int) -> None:
    found = find_mistakes(code, solution(slug))
    assert found, "nothing found"
    first = found[0]
    assert (first.concept, first.line) == (concept, line), found
    said = first.say()
    assert f"Line {line}" in said or f"line {line}" in said
    assert "?" in first.question
    assert concept in structure.SIMPLER  # "explain it again" has a simpler text for it


@pytest.mark.parametrize("slug", sorted(EXERCISES))
def test_findings_never_quote_the_reference(slug: str) -> None:
    """Whatever the learner wrote, a finding quotes only their own lines: none of the reference's
    lines that the learner doesn't have appears in it."""
    ref = solution(slug)
    starter = str(EXERCISES[slug]["starter"])
    attempts = [starter, starter + "\nprint(1)\n", *(m["wrong_code"] for m in EXERCISES[slug]["misconceptions"])]
    for code in attempts:
        for finding in find_mistakes(code, ref):
            for line in ref.splitlines():
                secret = line.strip()
                if len(secret) >= 8 and secret not in code:
                    assert secret not in finding.say(), (slug, finding)


def test_an_unused_loop_variable_is_a_mistake_only_when_the_task_uses_it() -> None:
    # fix-average reads `count` numbers: its own loop never uses `i`, so a learner's need not either.
    fixed = ('count = int(input("How many numbers? "))\ntotal = 0\nfor k in range(count):\n'
             '    total = total + float(input("Number: "))\nif count == 0:\n    print("No numbers to average.")\n'
             'else:\n    print(f"Average: {total / count:.2f}")\n')
    assert all(f.concept != "loop-variable-unused" for f in find_mistakes(fixed, solution("fix-average")))
    # sum-to-n adds the loop variable: leaving it out is the mistake.
    wrong = 'n = int(input("n: "))\ntotal = 0\nfor i in range(1, n + 1):\n    total = total + n\nprint(total)\n'
    assert find_mistakes(wrong, solution("sum-to-n"))[0].concept == "loop-variable-unused"


def test_a_subtotal_reset_by_an_outer_loop_is_not_a_reset_in_loop() -> None:
    """`spent = 0` on each order, summed by the inner loop over its lines, is the right shape; the same
    reset inside the loop that sums is the classic mistake, however deep the loops."""
    ref = "def total(orders):\n    t = 0\n    for o in orders:\n        for x in o:\n            t += x\n    return t\n"
    subtotal = ("def total(orders):\n    best = 0\n    for o in orders:\n        spent = 0\n        for x in o:\n"
                "            spent += x\n        best = max(best, spent)\n    return best\n")
    assert all(f.concept != "reset-in-loop" for f in find_mistakes(subtotal, ref))
    wrong = ("def total(orders):\n    for o in orders:\n        for x in o:\n            t = 0\n"
             "            t += x\n    return t\n")
    assert any(f.concept == "reset-in-loop" and f.line == 4 for f in find_mistakes(wrong, ref))


def test_overwriting_a_total_with_the_item_is_found_but_keeping_an_item_is_not() -> None:
    ref = "total = 0\nfor x in [3, 4]:\n    total = total + x\nprint(total)\n"
    wrong = "total = 0\nfor x in [3, 4]:\n    total = x\nprint(total)\n"
    assert find_mistakes(wrong, ref)[0].concept == "overwrite"
    best = "best = 0\nfor x in [3, 4]:\n    if x > best:\n        best = x\nprint(best)\n"
    assert all(f.concept != "overwrite" for f in find_mistakes(best, ref))
    # A reference that keeps the item itself (the previous one, the start of a run): copying it is the task.
    runs = "prev = None\nfor x in [3, 4]:\n    print(x, prev)\n    prev = x\n"
    assert all(f.concept != "overwrite" for f in find_mistakes(runs, runs.replace("prev", "last")))


def test_the_reference_itself_and_odd_code_find_nothing_or_fail_safe() -> None:
    for slug in EXERCISES:
        assert find_mistakes(solution(slug), solution(slug)) == []
    assert find_mistakes("", solution("sum-to-n")) == []
    assert find_mistakes("x = (" * 200, solution("sum-to-n"))[0].concept in structure.SYNTAX_CONCEPTS
    assert find_mistakes("print(1)\n", "this is not python (") == []


INTENTS = [
    ("I get Tip: 1200.00", "explain"),
    ("I get Tip: 1200.00 instead of Tip: 12.00, why?", "explain"),
    ("it says NameError: name 'total' is not defined", "explain"),
    ("my output is 9 but it should be 10", "explain"),
    ("It prints `Total: 72.0`, what's wrong", "explain"),
    ("any tips?", "hint"),
    ("Can I get a hint?", "hint"),
    ("I get `Tip: 1200.00`, hint please", "hint"),
    ("Explain it again, more simply", "explain_again"),
    ("I still don't get it", "explain_again"),
    ("What do you mean?", "explain_again"),
    ("Can you say that another way?", "explain_again"),
    ("Just give me the full solution code please.", "answer_request"),
    ("I get 6, just tell me the answer", "answer_request"),
    ("I give up", "struggle"),
    ("It prints 0 for every input, I give up", "struggle"),
    ("I got a TypeError, can you review my code?", "review"),
    ("Why does this loop stop?", "explain"),
    ("Is my code right?", "check_answer"),
    ("hello", "greeting"),
]


@pytest.mark.parametrize(("message", "intent"), INTENTS)
def test_intents_come_from_what_the_learner_says_not_from_quoted_output(message: str, intent: str) -> None:
    assert intents.classify(message) == intent


def _exercise(slug: str) -> Any:
    from sidecar.catalog.readers import ExerciseRecord

    data = EXERCISES[slug]
    return ExerciseRecord(id=slug, slug=slug, module_id="m", lesson_id=None, title=data["title"],
                          prompt=data["prompt"], starter=data["starter"], solution=data["solution"],
                          visible_tests=data["tests"]["visible"], hidden_tests=data["tests"]["hidden"],
                          hints=data["hints"], misconceptions=data["misconceptions"], example=data.get("example", ""),
                          **{k: v for k, v in _defaults().items()})


def _defaults() -> dict[str, Any]:
    import dataclasses

    from sidecar.catalog.readers import ExerciseRecord

    named = {"id", "slug", "module_id", "lesson_id", "title", "prompt", "starter", "solution", "visible_tests",
             "hidden_tests", "hints", "misconceptions", "example"}
    out: dict[str, Any] = {}
    for f in dataclasses.fields(ExerciseRecord):
        if f.name in named:
            continue
        if f.default is not dataclasses.MISSING:
            out[f.name] = f.default
        elif f.default_factory is not dataclasses.MISSING:
            out[f.name] = f.default_factory()
        else:
            out[f.name] = 0 if f.type in ("int", int) else False if f.type in ("bool", bool) else None
    return out


def test_the_guard_lets_through_what_the_learner_can_already_see() -> None:
    tip = _exercise("tip-calculator")
    # Right but for the tidying of the rating: most of the solution is the learner's own work.
    learner = ('bill = float(input("Bill amount: "))\nrating = input("How was the service? ")\n'
               'if rating == "great":\n    percent = 20\nelif rating == "good":\n    percent = 15\nelse:\n'
               '    percent = 10\ntip = bill * percent / 100\ntotal = bill + tip\nprint(f"Tip: {tip:.2f}")\n'
               'print(f"Total: {total:.2f}")\n')
    quoting = ("Lines 3 to 11 of yours are fine:\n\n```python\n" + "\n".join(learner.splitlines()[2:]) + "\n```\n\n"
               "The visible test **great service on 60** expects `Tip: 12.00` and `Total: 72.00`, and your "
               "program gets those. What happens when the rating is typed `Great`?")
    policy = LeakPolicy(exercise=tip, protected=True, context=tip.prompt, learner_code=(learner,))
    assert policy.check(quoting) is None
    # The same quote to a learner who hasn't written those lines is the solution.
    assert LeakPolicy(exercise=tip, protected=True, context=tip.prompt).check(quoting) is not None


def test_hidden_tests_expected_values_are_secret_unless_public() -> None:
    tip = _exercise("tip-calculator")
    answers = secret_answers(tip, tip.prompt)
    assert "Tip: 20.00" in answers  # only in a hidden test
    assert not any("12.00" in a for a in answers)  # visible tests are public
    said = LeakPolicy(exercise=tip, protected=True, context=tip.prompt).check("For 100 and Great: Tip: 20.00.")
    assert said is not None and said.kind == "answer"
    total = _exercise("sum-to-n")
    assert "0" not in secret_answers(total, total.prompt)  # one character: too common to tell


def test_a_solution_translated_into_another_language_is_stopped() -> None:
    from bench.bench_tutor_scenarios import javascript

    for slug in ("tip-calculator", "fizzbuzz", "sum-to-n", "grade-letter", "count-vowels"):
        ex = _exercise(slug)
        reply = f"In JavaScript it would be:\n\n```javascript\n{javascript(ex.solution)}\n```\n\nDoes that help?"
        verdict = guard.check_reply(reply, solution=ex.solution, starter=ex.starter)
        assert verdict.leaked and verdict.kind in ("code", "translation"), (slug, verdict)
        alone = check_translation(reply, ex.solution, starter=ex.starter)
        assert alone.leaked and alone.kind == "translation", (slug, alone)
    # A different problem in another language is not the solution.
    other = "```javascript\nlet name = prompt('Name?');\nconsole.log(`Hi ${name}`);\n```"
    assert not guard.check_reply(other, solution=solution("tip-calculator")).leaked


def test_the_learners_own_line_is_public_but_its_fix_is_not() -> None:
    greeting = _exercise("make-greeting")
    learner = 'def greet(name):\n    return f"Hello, {nme}!"\n\n\nprint(greet("Ada"))\n'
    policy = LeakPolicy(exercise=greeting, protected=True, context=greeting.prompt, learner_code=(learner,))
    quoting = "Look at line 2, `return f\"Hello, {nme}!\"`: which name does the f-string use, and which one exists?"
    assert policy.check(quoting) is None
    fixed = "Change it to:\n\n```python\ndef greet(name):\n    return f\"Hello, {name}!\"\n```"
    assert policy.check(fixed) is not None


def test_a_tagged_block_in_another_language_is_foreign_even_when_it_parses_as_python() -> None:
    hello = _exercise("say-hello")
    reply = "In JavaScript:\n\n```javascript\nconsole.log('Hello, World!');\n```"
    assert check_translation(reply, hello.solution, starter=hello.starter).leaked
    assert not check_translation("```javascript\nconsole.log('Bye');\n```", hello.solution,
                                 starter=hello.starter).leaked
