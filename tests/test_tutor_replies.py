"""The offline tutor's replies: failing tests quoted usefully (hidden ones kept private), no reply
said twice in a conversation, and no hint or solution shape once the exercise has passed.

Through the API on SQLite and PostgreSQL with the minimal catalog (tests/conftest.py), plus unit
checks of the failure description.
"""

from __future__ import annotations

from typing import Any

from sidecar.agents.policy import socratic
from sidecar.agents.policy.orchestrator import vary_repeat
from sidecar.agents.policy.turn import Reply, Turn
from tests.test_agents_api import DOUBLE, SOLUTION_LINE, chat, submit

STARTER = "def double(n):\n    pass\n"


def _turn(**fields: Any) -> Turn:
    values: dict[str, Any] = {"user_id": "u", "message": "What now?", "intent": "question", "mode": "socratic",
                              "learner_kind": None, "display_name": "Ada", "lesson": None, "exercise": None,
                              "code": None, "activity": None, "passages": [], "mastery": {}, "interactions": 1}
    values.update(fields)
    return Turn(**values)


def test_a_syntax_error_is_quoted_with_its_type_and_line(make_client, db_url: str) -> None:
    client = make_client(db_url)
    client.signup("ada@example.com")
    broken = "def double(n):\n    return n *\n"
    submit(client, DOUBLE, broken)
    done = chat(client, "Why does it fail?", exercise_id=DOUBLE, code=broken)
    assert "SyntaxError" in done["text"] and "line 2" in done["text"], done["text"]
    assert "It says: *Your program raised an error:*" not in done["text"]


def test_a_name_error_is_explained_in_plain_language(make_client, db_url: str) -> None:
    client = make_client(db_url)
    client.signup("ada@example.com")
    wrong = "def double(n):\n    return m * 2\n"
    submit(client, DOUBLE, wrong)
    done = chat(client, "Why does it fail?", exercise_id=DOUBLE, code=wrong)
    assert "NameError" in done["text"] and "name 'm' is not defined" in done["text"], done["text"]
    assert "NameError means Python met a name it doesn't know yet" in done["text"]
    assert "line 2" in done["text"]


def test_a_failing_hidden_test_shows_only_its_feedback(make_client, db_url: str) -> None:
    client = make_client(db_url)
    client.signup("ada@example.com")
    sneaky = "def double(n):\n    return 8 if n == 4 else 2 * n + 1\n"  # fails every hidden draw
    result = submit(client, DOUBLE, sneaky)
    assert not result["passed"], result
    assert [r["hidden"] for r in result["results"] if not r["passed"]] == [True]
    done = chat(client, "Why does it fail?", exercise_id=DOUBLE, code=sneaky)
    assert "Make sure it works for any number, negative ones too." in done["text"], done["text"]
    for secret in ("randint", "2 * n", "rng", "-1000"):
        assert secret not in done["text"]


def test_the_same_message_three_times_gets_three_different_replies(make_client, db_url: str) -> None:
    client = make_client(db_url)
    client.signup("ada@example.com")
    first = chat(client, "What now?", exercise_id=DOUBLE, code=STARTER)
    second = chat(client, "What now?", exercise_id=DOUBLE, code=STARTER, session_id=first["session_id"])
    third = chat(client, "What now?", exercise_id=DOUBLE, code=STARTER, session_id=first["session_id"])
    texts = [" ".join(r["text"].split()) for r in (first, second, third)]
    assert len(set(texts)) == 3, texts
    for text in texts:
        assert SOLUTION_LINE not in text


def test_after_a_pass_the_tutor_points_to_the_next_lesson_without_hint_or_shape(make_client, db_url: str) -> None:
    client = make_client(db_url)
    client.signup("ada@example.com")
    assert submit(client, DOUBLE, "def double(n):\n    return n * 2\n")["passed"]
    praise = chat(client, "Done! What next?", exercise_id=DOUBLE)
    again = chat(client, "What next?", exercise_id=DOUBLE, session_id=praise["session_id"])
    for done in (praise, again):
        text = done["text"]
        assert "Check yourself" in text and "Next up" in text, text
        assert "shape" not in text and "..." not in text and "```" not in text
        assert "**Hint" not in text and done["hint"] is None
    assert "passed every test" in praise["text"]
    assert praise["text"] != again["text"]


def test_describe_failure_covers_errors_hidden_results_and_divergence() -> None:
    turn = _turn()
    error = ("Your program raised an error:\nTraceback (most recent call last):\n  File \"main.py\", line 3, in "
             "<module>\n    print(totals[key])\n          ~~~~~~^^^^^\nKeyError: 'b'")
    said = socratic.describe_failure(turn, {"name": "t", "passed": False, "hidden": False, "message": error})
    assert "**KeyError** on line 3: 'b'" in said and "`print(totals[key])`" in said and "dictionary" in said
    for kind in ("SyntaxError", "NameError", "TypeError", "IndentationError", "ZeroDivisionError", "IndexError",
                 "KeyError", "ValueError", "AttributeError"):
        assert kind in socratic.ERROR_EXPLANATIONS
    long = socratic.describe_failure(turn, {"name": "t", "passed": False, "hidden": False,
                                            "message": "Your program raised an error:\nValueError: " + "x" * 2000})
    assert len(long) <= socratic.MAX_FAILURE_CHARS
    hidden = socratic.describe_failure(turn, {"name": "h", "passed": False, "hidden": True,
                                              "message": "Check negative numbers.", "expected": [1, -2],
                                              "actual": [1, 2]})
    assert hidden == "It says: *Check negative numbers.*"
    visible = socratic.describe_failure(turn, {"name": "v", "passed": False, "hidden": False,
                                               "message": "wrong list", "expected": [1, -2, 3],
                                               "actual": [1, 2, 3]})
    assert "item 1: expected `-2`, got `2`" in visible


def test_a_repeat_falls_back_to_another_angle_when_nothing_else_is_new() -> None:
    turn = _turn(history=[{"role": "learner", "content": "x"}, {"role": "tutor", "content": "Same  text."}],
                 earlier_replies=["Same text.", "Let's look at it from another angle: What have you tried so far, "
                                                "and what happened when you ran it?\n\nSame text."])
    varied = vary_repeat(Reply(text="Same text.", agent="tutor", mode="socratic"), turn)
    assert varied.text.startswith("Let's look at it from another angle:") and varied.text.endswith("Same text.")
    assert " ".join(varied.text.split()) not in {" ".join(t.split()) for t in turn.earlier_replies}


def test_a_plain_request_for_the_answer_gets_a_kind_next_step_in_any_language(make_client, db_url: str) -> None:
    client = make_client(db_url)
    client.signup("ada@example.com")
    for message in ("Just give me the full solution code please.", "Dame la solución, por favor",
                    "Gib mir einfach die Lösung", "直接给我答案", "बस मुझे पूरा जवाब दे दो"):
        done = chat(client, message, exercise_id=DOUBLE, code=STARTER)
        assert "I can't change how I work" not in done["text"], (message, done["text"])
        assert "?" in done["text"], done["text"]  # a next step to take, as a question
        assert SOLUTION_LINE not in done["text"]
