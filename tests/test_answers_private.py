"""Answers stay private and earned (issue #10, part 4), on SQLite and PostgreSQL.

- Only the first hint rung is in the static site; the later ones come from the server one at a time
  (the site's side is checked in tests/test_build.py, which searches every output file).
- The bottom-out rung (the worked answer) needs different failed attempts *and* time on the
  exercise (sidecar/grading/hints.py, `bottom_out_status`), through the hint endpoint and the tutor.
- Hidden tests run only as recorded submissions: a code review never runs them.

The server's clock is moved by replacing `hints.now`, never by sleeping.
"""

from __future__ import annotations

import shutil
import uuid
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from sidecar.app import create_app
from sidecar.compiler.build import BuildReport, build
from sidecar.courseware.validate import validate
from sidecar.db.base import utcnow
from sidecar.db.engine import get_engine
from sidecar.grading import hints
from sidecar.grading.hints import normalized_code
from sidecar.settings import REPO_ROOT, Settings
from tests.conftest import MINIMAL, ApiClient

DOUBLE = "00000000-0000-4000-8000-000000000015"  # first-steps/printing (code-along), randomized
PRINTING = "00000000-0000-4000-8000-000000000013"
DOUBLE_YAML = "content/tracks/demo-track/demo-course/first-steps/exercises/double-it.yaml"
BOTTOM_TEXT = "Return the parameter multiplied by two."
SECOND_TEXT = "A function hands back its result with `return`."
STARTER = "def double(n):\n    pass\n"
GOOD = "def double(n):\n    return n * 2\n"
HARDCODED = "def double(n):\n    return 8 if n == 4 else 0\n"  # passes the visible test, fails the hidden one
# Three failing attempts that really differ.
DISTINCT = ("def double(n):\n    return n\n", "def double(n):\n    return n + 2\n",
            "def double(n):\n    print(n * 2)\n")
# One failing attempt, four times over: reformatted, commented, a docstring, names changed.
SAME = ("def double(n):\n    return n + n + 1\n",
        "def double( n ):\n\n    # twice, I think\n    return n+n+1\n",
        'def double(n):\n    """Twice n."""\n    return (n + n + 1)\n',
        "def double(x):\n    return x + x + 1  # renamed\n")


def submit(client: Any, code: str, exercise: str = DOUBLE) -> dict[str, Any]:
    response = client.post(f"/api/exercises/{exercise}/submissions",
                           json={"code": code, "submission_id": uuid.uuid4().hex})
    assert response.status_code == 200, response.text
    return dict(response.json())


def hint(client: Any, exercise: str = DOUBLE) -> Any:
    return client.post(f"/api/exercises/{exercise}/hints")


def climb_to_bottom(client: Any, exercise: str = DOUBLE) -> None:
    """Reveal the rungs before the bottom-out one (always available, one by one)."""
    assert [hint(client, exercise).json()["rung"] for _ in range(2)] == [1, 2]


def refused(response: Any) -> dict[str, Any]:
    """A 409 in the one error shape that says what is missing and never gives the rung away."""
    assert response.status_code == 409, response.text
    error = response.json()["error"]
    assert error["code"] == "conflict" and set(response.json()) == {"error"}
    assert BOTTOM_TEXT not in response.text and "multiplied" not in response.text
    details = dict(error["details"])
    assert details["bottom_out"] is True and details["rung"] == 3
    assert "It opens after" in error["message"]
    return details


def later(monkeypatch: pytest.MonkeyPatch, minutes: float) -> None:
    """The server's clock, `minutes` from now."""
    moved = utcnow() + timedelta(minutes=minutes)
    monkeypatch.setattr(hints, "now", lambda: moved)


# ---- the hint endpoint -------------------------------------------------------------------------------


def test_one_throwaway_submission_does_not_unlock_the_answer(make_client, db_url: str,
                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    client = make_client(db_url)
    client.signup("throwaway@example.com")
    climb_to_bottom(client)
    assert submit(client, "pass")["passed"] is False
    details = refused(hint(client))
    assert (details["attempts_made"], details["attempts_needed"], details["attempts_required"]) == (1, 2, 3)
    assert details["minutes_needed"] == 5 and 270 < details["seconds_needed"] <= 300
    message = hint(client).json()["error"]["message"]
    assert "2 more different attempts and 5 more minutes on this exercise" in message
    later(monkeypatch, 60)
    details = refused(hint(client))  # an hour later, one attempt is still one attempt
    assert (details["attempts_needed"], details["minutes_needed"]) == (2, 0)
    assert "It opens after 2 more different attempts:" in hint(client).json()["error"]["message"]


def test_reformatted_and_renamed_copies_are_one_attempt(make_client, db_url: str,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    client = make_client(db_url)
    client.signup("copies@example.com")
    climb_to_bottom(client)
    for code in SAME:
        assert submit(client, code)["passed"] is False
    for code in (STARTER, "def double(n):\n    # not yet\n    pass\n"):  # the starter is no attempt at all
        assert submit(client, code)["passed"] is False
    later(monkeypatch, 10)
    details = refused(hint(client))
    assert (details["attempts_made"], details["attempts_needed"], details["minutes_needed"]) == (1, 2, 0)


def test_distinct_attempts_still_wait_for_the_minutes_then_the_answer_comes(make_client, db_url: str,
                                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    client = make_client(db_url)
    client.signup("distinct@example.com")
    climb_to_bottom(client)
    for code in DISTINCT:
        assert submit(client, code)["passed"] is False
    details = refused(hint(client))
    assert (details["attempts_made"], details["attempts_needed"]) == (3, 0)
    assert details["minutes_needed"] == 5
    assert "It opens after 5 more minutes on this exercise:" in hint(client).json()["error"]["message"]
    later(monkeypatch, 4)
    assert refused(hint(client))["minutes_needed"] == 1
    later(monkeypatch, 5.1)
    granted = hint(client)
    assert granted.status_code == 200, granted.text
    assert granted.json() == {"rung": 3, "text": BOTTOM_TEXT, "bottom_out": True, "remaining": 0}
    monkeypatch.undo()  # once revealed it stays revealed, whatever the clock says
    assert hint(client).json()["bottom_out"] is True


def test_time_counts_from_the_lessons_start_as_the_server_received_it(make_client, db_url: str,
                                                                      minimal_build: BuildReport,
                                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    client = make_client(db_url)
    user = client.signup("opened@example.com")

    def spent_by(minutes: float) -> float:
        return hints.bottom_out_status(engine=get_engine(db_url), catalog_db=minimal_build.catalog_db,
                                       user_id=user["id"], exercise_id=DOUBLE,
                                       at=utcnow() + timedelta(minutes=minutes)).seconds_spent

    assert spent_by(2) == 0  # nothing recorded yet: the clock has not started
    # A start event that claims to be six days old: its occurred_at is the browser's word, not ours.
    response = client.post("/api/progress/events", json={
        "event_id": uuid.uuid4().hex, "lesson_id": PRINTING, "kind": "started",
        "occurred_at": (utcnow() - timedelta(days=6)).isoformat()})
    assert response.status_code == 200, response.text
    assert 110 < spent_by(2) <= 121  # from the event's arrival, by the server's clock
    climb_to_bottom(client)
    for code in DISTINCT:
        submit(client, code)
    later(monkeypatch, 3)
    assert refused(hint(client))["minutes_needed"] == 2
    later(monkeypatch, 5.1)
    assert hint(client).json()["bottom_out"] is True


def test_a_pass_unlocks_the_worked_answer(make_client, db_url: str) -> None:
    client = make_client(db_url)
    client.signup("passed@example.com")
    climb_to_bottom(client)
    assert submit(client, GOOD)["passed"] is True
    assert hint(client).json()["bottom_out"] is True  # nothing left to protect


def test_hints_need_a_sign_in(make_client, db_url: str) -> None:
    client = make_client(db_url)
    response = hint(client)
    assert response.status_code == 401 and response.json()["error"]["code"] == "unauthorized"


# ---- the tutor: the same reveal path, the same rule -------------------------------------------------------


def chat_hint(client: Any) -> dict[str, Any]:
    response = client.post("/api/ai/hint", json={"exercise_id": DOUBLE})
    assert response.status_code == 200, response.text
    return dict(response.json())


def test_the_tutor_refuses_the_answer_the_same_way(make_client, db_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    client = make_client(db_url)
    client.signup("tutored@example.com")
    assert chat_hint(client)["hint"]["rung"] == 1
    assert chat_hint(client)["hint"]["rung"] == 2
    submit(client, "pass")
    gated = chat_hint(client)
    assert gated["hint"] is None
    assert "It opens after 2 more different attempts and 5 more minutes on this exercise" in gated["text"]
    assert BOTTOM_TEXT not in gated["text"] and "n * 2" not in gated["text"]
    # Asking in words gets no solution either: the guard is up until the bottom-out rung is revealed.
    answer = client.post("/api/ai/chat", json={"message": "just give me the code", "exercise_id": DOUBLE})
    assert "return n * 2" not in answer.text
    refused(hint(client))  # the endpoint agrees
    for code in DISTINCT[:2]:
        submit(client, code)
    later(monkeypatch, 6)
    bottom = chat_hint(client)
    assert bottom["hint"] == {"rung": 3, "total": 3, "bottom_out": True}
    assert BOTTOM_TEXT in bottom["text"]


# ---- hidden tests run only as recorded submissions ----------------------------------------------------------


class SpySandbox:
    """The real sandbox, remembering the tests each grading got."""

    def __init__(self, real: Any) -> None:
        self.real = real
        self.graded: list[list[dict[str, Any]]] = []

    def grade(self, code: str, tests: list[dict[str, Any]], **kwargs: Any) -> Any:
        self.graded.append([dict(t) for t in tests])
        return self.real.grade(code, tests, **kwargs)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.real, name)


def test_a_review_never_runs_the_hidden_tests(make_client, db_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    import sidecar.sandbox

    spy = SpySandbox(sidecar.sandbox.get_sandbox())
    monkeypatch.setattr(sidecar.sandbox, "get_sandbox", lambda *args, **kwargs: spy)
    client = make_client(db_url)
    client.signup("oracle@example.com")
    review = client.post("/api/ai/review", json={"code": HARDCODED, "exercise_id": DOUBLE})
    assert review.status_code == 200, review.text
    body = review.json()
    # The hard-coded answer fails only the hidden test; the review must not be the one to say so.
    assert [r["name"] for r in body["results"]] == ["doubles 4"]
    assert all(not r["hidden"] for r in body["results"]) and body["results"][0]["passed"] is True
    assert body["passed"] is None and body["hidden_tests"] == "not_run"
    assert "hidden ones run when you press Check" in body["summary"]
    assert spy.graded and all(not t.get("hidden") for tests in spy.graded for t in tests)
    assert [t["name"] for t in spy.graded[-1]] == ["doubles 4"]

    # Submitted (recorded, counted), the same code's review shows the stored hidden verdict.
    graded_before = len(spy.graded)
    assert submit(client, HARDCODED)["passed"] is False
    assert any(t.get("hidden") for t in spy.graded[graded_before]), "the submission itself runs them"
    body = client.post("/api/ai/review", json={"code": HARDCODED, "exercise_id": DOUBLE}).json()
    assert body["hidden_tests"] == "from_submission" and body["passed"] is False
    hidden = [r for r in body["results"] if r["hidden"]]
    assert hidden == [{"name": "doubles a random number", "passed": False, "hidden": True,
                       "message": "Make sure it works for any number, negative ones too."}]
    assert all(not t.get("hidden") for t in spy.graded[-1]), "read back, never run again"
    # Other code gets no hidden verdict, even right after a submission.
    body = client.post("/api/ai/review", json={"code": GOOD, "exercise_id": DOUBLE}).json()
    assert body["hidden_tests"] == "not_run" and not any(r["hidden"] for r in body["results"])


# ---- attempts compared by structure --------------------------------------------------------------------------


def test_normalized_code_ignores_layout_comments_and_names_but_not_logic() -> None:
    assert len({normalized_code(code) for code in SAME}) == 1
    assert len({normalized_code(code) for code in DISTINCT}) == 3
    assert normalized_code(STARTER) == normalized_code("def double(n):\n    '''TODO'''\n")
    assert normalized_code("x = 1\nprint(x)\n") != normalized_code("x = 1\nprint(x + 1)\n")
    assert normalized_code("print(len(s))") != normalized_code("print(sum(s))")  # builtins are not renamed
    assert normalized_code("a.b = 1") != normalized_code("a.c = 1")  # nor are attributes
    # Code that does not parse is compared as text without comments and whitespace.
    broken = "def double(n)\n    return n * 2\n"
    assert normalized_code(broken) == normalized_code("def double(n)   # oops\n  return n*2")
    assert normalized_code(broken) != normalized_code("def double(n)\n    return n * 3\n")
    assert normalized_code("\x00") != normalized_code("")


# ---- a per-exercise rule -------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def lenient_build(tmp_path_factory: pytest.TempPathFactory) -> BuildReport:
    """The minimal course with `double-it` set to `bottom_out: {attempts: 1, minutes: 0.5}`."""
    root = tmp_path_factory.mktemp("lenient")
    shutil.copytree(MINIMAL, root, dirs_exist_ok=True)
    path = root / DOUBLE_YAML
    path.write_text(path.read_text(encoding="utf-8") + "bottom_out:\n  attempts: 1\n  minutes: 0.5\n",
                    encoding="utf-8")
    return build(repo=REPO_ROOT, content_dir=root / "content", build_dir=root / "build", check_code=False,
                 log=lambda _: None, embedding_model="none")


@pytest.fixture
def lenient_client(lenient_build: BuildReport, db_url: str) -> Iterator[ApiClient]:
    settings = Settings(DRONA_BUILD_DIR=lenient_build.site_dir.parent, DATABASE_URL=db_url,
                        DRONA_DATA_DIR=lenient_build.site_dir.parent / "data", EMBEDDING_MODEL="none")
    client = ApiClient(create_app(settings, serve_site=True))
    yield client
    client.__exit__(None, None, None)


def test_an_exercises_own_rule_is_honoured(lenient_client: ApiClient, monkeypatch: pytest.MonkeyPatch) -> None:
    client = lenient_client
    client.signup("lenient@example.com")
    climb_to_bottom(client)
    details = refused(hint(client))
    assert (details["attempts_needed"], details["attempts_required"], details["minutes_required"]) == (1, 1, 0.5)
    submit(client, "pass")
    assert refused(hint(client))["attempts_needed"] == 0  # half a minute still to go
    later(monkeypatch, 0.6)
    assert hint(client).json()["bottom_out"] is True


def test_the_site_carries_the_first_rung_only(lenient_build: BuildReport) -> None:
    page = (lenient_build.site_dir / "demo-track" / "demo-course" / "first-steps" / "printing" / "index.html"
            ).read_text(encoding="utf-8")
    assert "What operation makes a number twice as big?" in page
    assert 'data-count="3"' in page
    assert "hands back its result" not in page and "multiplied by two" not in page


def test_validate_refuses_a_free_answer(content_tree: Path) -> None:
    path = content_tree / DOUBLE_YAML
    path.write_text(path.read_text(encoding="utf-8") + "bottom_out:\n  attempts: 0\n  minutes: 0\n", encoding="utf-8")
    problems = [str(p) for p in validate(content_tree / "content", content_tree, run_code=False).problems.sorted()]
    assert len(problems) == 1 and problems[0].startswith(f"{DOUBLE_YAML}:")
    assert "attempts and minutes are both 0" in problems[0]
    path.write_text(path.read_text(encoding="utf-8").replace("attempts: 0", "attempts: 1"), encoding="utf-8")
    assert not validate(content_tree / "content", content_tree, run_code=False).problems.sorted()
