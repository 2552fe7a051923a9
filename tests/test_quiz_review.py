"""Quiz review (issue #13): the key after a pass, nudges without it after a fail, the latest attempt on
reload; on SQLite and PostgreSQL (the db_url fixture)."""

from __future__ import annotations

import html
import json
import re
from typing import Any

from sqlalchemy import func, select

from sidecar.compiler.build import BuildReport
from sidecar.db.engine import get_engine, read_session
from sidecar.grading.tables import QuizAttempt

QUIZ = "00000000-0000-4000-8000-000000000016"  # the minimal content's first-steps/first-quiz
MC, PREDICT, BUG, COMPLETE = (f"00000000-0000-4000-8000-0000000000{n}" for n in ("17", "18", "19", "20"))
RIGHT = {MC: 0, PREDICT: "21", BUG: 2, COMPLETE: "+"}
WRONG = {MC: 1, PREDICT: "21", BUG: 1}  # 25%: one right, two wrong, one unanswered
KEY = {MC: 0, PREDICT: "21", BUG: 2, COMPLETE: "+"}
EXPLAINED = ("print function writes", "Multiplication happens first", "needs a value on both", "four and six")
URL = f"/api/quizzes/{QUIZ}/attempts"
LATEST = f"/api/quizzes/{QUIZ}/attempts/latest"
KEY_FIELDS = ("answer", "explanation_html")


def _items(body: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {item["item_id"]: item for item in body["items"]}


def _assert_no_key(body: dict[str, Any]) -> None:
    assert body["revealed"] is False
    for item in body["items"]:
        assert all(item[field] is None for field in KEY_FIELDS), item
    text = json.dumps(body)
    for needle in EXPLAINED:
        assert needle not in text


def test_a_pass_reveals_the_key_and_the_explanations(make_client, db_url: str) -> None:
    client = make_client(db_url)
    body = client.post(URL, json={"answers": RIGHT}).json()  # signed out: graded, not stored
    assert body["passed"] is True and body["revealed"] is True and body["saved"] is False
    items = _items(body)
    assert {item_id: item["answer"] for item_id, item in items.items()} == KEY
    for item, needle in zip(body["items"], EXPLAINED, strict=True):
        assert needle in item["explanation_html"] and item["correct"] is True and item["nudge"] is None
    assert items[BUG]["given"] == 2 and items[PREDICT]["given"] == "21"


def test_a_fail_says_what_was_wrong_without_the_key(make_client, db_url: str) -> None:
    client = make_client(db_url)
    client.signup("fail@example.com")
    response = client.post(URL, json={"answers": WRONG})
    assert response.status_code == 200
    body = response.json()
    assert body["passed"] is False and body["score_percent"] == 25.0
    _assert_no_key(body)
    items = _items(body)
    assert [items[i]["correct"] for i in (MC, PREDICT, BUG, COMPLETE)] == [False, True, False, False]
    assert items[MC]["given"] == 1 and items[COMPLETE]["given"] is None
    # Wrong items point at the lesson that teaches their skill; a right one needs no nudge.
    assert items[MC]["nudge"].startswith("Not quite.") and "“Printing”" in items[MC]["nudge"]
    assert items[MC]["review_url"] == "demo-track/demo-course/first-steps/printing/"
    assert items[COMPLETE]["nudge"].startswith("No answer given.")
    assert items[PREDICT]["nudge"] is None and items[PREDICT]["review_url"] is None
    # The nudges never state an answer: not the authored output, line or fill-in.
    for item in body["items"]:
        assert "print(\"hi\")" not in (item["nudge"] or "") and "+" not in (item["nudge"] or "")


def test_the_latest_attempt_needs_a_session_and_a_real_quiz(make_client, db_url: str) -> None:
    client = make_client(db_url)
    response = client.get(LATEST)
    assert response.status_code == 401 and response.json()["error"]["code"] == "unauthorized"
    client.signup("latest@example.com")
    assert client.get(LATEST).status_code == 200 and client.get(LATEST).json() is None, "no attempt yet"
    missing = client.get("/api/quizzes/00000000-0000-4000-8000-00000000dead/attempts/latest")
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "not_found"


def test_the_latest_attempt_reveals_the_key_only_when_it_passed(make_client, db_url: str) -> None:
    client = make_client(db_url)
    client.signup("reload@example.com")
    client.post(URL, json={"answers": WRONG})
    failed = client.get(LATEST).json()
    assert failed["passed"] is False and failed["saved"] is True and failed["score_percent"] == 25.0
    _assert_no_key(failed)
    assert _items(failed)[MC]["given"] == 1 and _items(failed)[MC]["nudge"]

    passed_now = client.post(URL, json={"answers": RIGHT}).json()
    xp_before = client.get("/api/gamification/profile").json()["xp"]
    latest = client.get(LATEST).json()
    assert latest["passed"] is True and latest["revealed"] is True and latest["best_score_percent"] == 100.0
    assert {item_id: item["answer"] for item_id, item in _items(latest).items()} == KEY
    assert "Multiplication happens first" in _items(latest)[PREDICT]["explanation_html"]
    assert latest["xp_awarded"] == passed_now["xp_awarded"] > 0
    # Reading the result stores nothing and pays nothing again.
    with read_session(get_engine(db_url)) as session:
        assert session.scalar(select(func.count()).select_from(QuizAttempt)) == 2
    assert client.get("/api/gamification/profile").json()["xp"] == xp_before > 0

    # A later failing retake is the latest: its key stays hidden; the best score is still the pass.
    client.post(URL, json={"answers": WRONG})
    again = client.get(LATEST).json()
    assert again["passed"] is False and again["best_score_percent"] == 100.0
    _assert_no_key(again)


def test_another_learner_never_sees_my_attempt(make_client, db_url: str) -> None:
    mine, theirs = make_client(db_url), make_client(db_url)
    mine.signup("mine@example.com")
    theirs.signup("theirs@example.com")
    mine.post(URL, json={"answers": RIGHT})
    assert theirs.get(LATEST).json() is None


def test_shuffled_choices_grade_by_their_authored_index(make_client, db_url: str,
                                                        minimal_build: BuildReport) -> None:
    """The page shuffles choices on a retake but sends each choice's authored index (its radio's value), so
    grading never depends on the order shown; the page itself holds the choices in authored order only."""
    page = next(p for p in minimal_build.site_dir.rglob("*.html") if f'data-quiz-id="{QUIZ}"' in p.read_text())
    tag = next(t for t in re.findall(r"<div [^>]*>", page.read_text()) if f'data-item-id="{MC}"' in t)
    config_attr = re.search(r'data-config="([^"]*)"', tag)
    assert config_attr is not None
    config = json.loads(html.unescape(config_attr.group(1)))
    choices = config["choices"]
    assert choices == ['print("hi")', 'show("hi")'] and set(config) == {"choices"}
    client = make_client(db_url)
    for shown_order in ([0, 1], [1, 0]):
        for position, authored in enumerate(shown_order):
            body = client.post(URL, json={"answers": {MC: authored}}).json()
            assert _items(body)[MC]["correct"] is (choices[authored] == 'print("hi")'), (shown_order, position)
    # The index may come as text (a form value); anything else is simply wrong, never a 500.
    assert _items(client.post(URL, json={"answers": {MC: "0"}}).json())[MC]["correct"] is True
    assert _items(client.post(URL, json={"answers": {MC: "print"}}).json())[MC]["correct"] is False


def test_the_static_site_holds_no_key(minimal_build: BuildReport) -> None:
    """Nothing of the key in the built quiz page: no explanation, no answer field, no expected output."""
    page = next(p for p in minimal_build.site_dir.rglob("*.html") if f'data-quiz-id="{QUIZ}"' in p.read_text())
    text = html.unescape(page.read_text())
    for needle in EXPLAINED:
        assert needle not in text
    assert '"answer"' not in text and "expected_output" not in text and '"10"' not in text
