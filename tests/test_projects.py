"""Gold projects end to end on SQLite and PostgreSQL: options, choosing and proposing, a real zip upload
pre-reviewed in the real sandbox, the reviewer's decision under the rubric's edges, Gold issued and
verifiable, the reviewer's scope and permissions, unsafe archives, and git URLs (refused when off,
fetched from a local `git daemon` when on)."""

from __future__ import annotations

import io
import shutil
import socket
import stat
import subprocess
import time
import zipfile
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from alembic import command
from sqlalchemy import inspect, text

from sidecar.auth.roles import Role, has_role
from sidecar.catalog import readers
from sidecar.compiler.build import BuildReport, build
from sidecar.credentials.canonical import sha256_hex
from sidecar.db.engine import get_engine
from sidecar.db.migrate import alembic_config, current_revision, upgrade
from sidecar.projects import prereview, rubric
from sidecar.settings import REPO_ROOT
from tests.conftest import MINIMAL, client_factory

COURSE = "00000000-0000-4000-8000-000000000011"
OPTION = "00000000-0000-4000-8000-000000000901"
DEMO = "https://lena.example.com/inventory"
HIDDEN_CODE = "assert add({'pear': 1}, 'pear', 2) == {'pear': 3}"
needs_sandbox = pytest.mark.skipif(shutil.which("node") is None
                                   or not (REPO_ROOT / "node_modules" / "pyodide" / "pyodide.mjs").is_file(),
                                   reason="needs Node.js and node_modules/pyodide (npm ci)")

GOLD_YAML = f"""\
options:
  - id: {OPTION}
    title: Inventory tracker
    summary: Keep stock counts for a small shop.
    brief: |
      Build `inventory.py` with `add(stock, item, n)`, which returns a new stock dict with `n` more of
      `item`, and `total(stock)`, the number of items in stock.
    requirements: ["add returns a new dict and never changes its argument", "total sums every count"]
    entry: inventory.py
    tests:
      - name: adds a new item
        code: |
          assert add({{}}, "apple", 3) == {{"apple": 3}}
      - name: totals the stock
        code: |
          assert total({{"a": 1, "b": 2}}) == 3
      - name: adds to an item already in stock
        hidden: true
        code: |
          {HIDDEN_CODE}
        feedback: Adding to an item you already have should increase its count.
    reference:
      inventory.py: |
        from helpers import merged

        def add(stock, item, n):
            return merged(stock, item, n)

        def total(stock):
            return sum(stock.values())
      helpers.py: |
        def merged(stock, item, n):
            result = dict(stock)
            result[item] = result.get(item, 0) + n
            return result
"""

README = """# Inventory tracker

Keeps stock counts for a small shop. """ + "It is small, tested and documented. " * 25 + """

## Install

    pip install -r requirements.txt

## Usage

    python inventory.py

## Tests

    python -m pytest

## Deploy

Deployed on a small VM behind nginx.
"""

GOOD = {
    "inventory.py": '"""Stock counts."""\n\nfrom helpers import merged\n\n\ndef add(stock, item, n):\n'
                    '    """A new stock with n more of item."""\n    return merged(stock, item, n)\n\n\n'
                    'def total(stock):\n    """How many items are in stock."""\n    return sum(stock.values())\n',
    "helpers.py": '"""Helpers."""\n\n\ndef merged(stock, item, n):\n    """A copy of stock with n more of item."""\n'
                  '    result = dict(stock)\n    result[item] = result.get(item, 0) + n\n    return result\n',
    "README.md": README,
    "requirements.txt": "",
    "tests/test_inventory.py": "from inventory import add, total\n\n\n"
                               + "".join(f"def test_case_{i}():\n    assert total(add({{}}, 'a', {i})) == {i}\n\n\n"
                                         for i in range(8)),
}
# Adds but forgets what is in stock: the hidden test fails.
FORGETFUL = {**GOOD, "helpers.py": 'def merged(stock, item, n):\n    result = dict(stock)\n    result[item] = n\n'
                                   '    return result\n'}


@pytest.fixture(scope="module")
def gold_build(tmp_path_factory: pytest.TempPathFactory) -> BuildReport:
    """The minimal course with a Gold option of its own (certification/gold.yaml)."""
    content = tmp_path_factory.mktemp("gold-content")
    shutil.copytree(MINIMAL / "content", content, dirs_exist_ok=True)
    folder = content / "tracks" / "demo-track" / "demo-course" / "certification"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "gold.yaml").write_text(GOLD_YAML, encoding="utf-8")
    return build(repo=REPO_ROOT, content_dir=content, build_dir=tmp_path_factory.mktemp("gold-build"),
                 log=lambda _: None)


@pytest.fixture
def make_client(gold_build: BuildReport) -> Iterator[Any]:
    yield from client_factory(gold_build, serve_site=False)


def zip_of(files: dict[str, str | bytes], *, folder: str = "") -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as out:
        for path, data in files.items():
            out.writestr(folder + path, data)
    return buffer.getvalue()


def submit(client: Any, archive: bytes | None = None, **fields: str) -> Any:
    data = {"demo_url": DEMO, "notes": "Run it with python inventory.py.", **fields}
    files = {"archive": ("project.zip", archive, "application/zip")} if archive is not None else None
    return client.post(f"/api/projects/{COURSE}/submissions", data=data, files=files)


def set_user(db_url: str, email: str, *, role: str | None = None, org: str | None = None) -> None:
    with get_engine(db_url).begin() as conn:
        if role is not None:
            conn.execute(text("UPDATE users SET role = :r WHERE email = :e"), {"r": role, "e": email})
        if org is not None:
            conn.execute(text("UPDATE users SET organization_id = :o WHERE email = :e"), {"o": org, "e": email})


def make_org(db_url: str, org_id: str, name: str) -> str:
    with get_engine(db_url).begin() as conn:
        conn.execute(text("INSERT INTO organizations (id, name, created_at) VALUES (:i, :n, CURRENT_TIMESTAMP)"),
                     {"i": org_id, "n": name})
    return org_id


def super_admin(make_client: Any, db_url: str) -> Any:
    admin = make_client(db_url)
    admin.signup("root@example.com", name="Root")
    set_user(db_url, "root@example.com", role="super_admin")
    return admin


def reviewer(make_client: Any, db_url: str, admin: Any, email: str, name: str, org: str | None = None) -> Any:
    """An account made a reviewer through the API (super admin), then moved into `org`."""
    client = make_client(db_url)
    client.signup(email, name=name)
    granted = admin.put("/api/reviews/reviewers", json={"email": email, "reviewer": True})
    assert granted.status_code == 200 and granted.json()["role"] == "reviewer", granted.text
    if org is not None:
        set_user(db_url, email, org=org)
    return client


def scores(**points: float) -> dict[str, float]:
    full = {"code_quality": 25, "functionality": 30, "testing": 20, "documentation": 15, "deployment": 10}
    return {**full, **points}


# ---- the rubric -----------------------------------------------------------------------------------------


def test_the_role_implies_learner_and_super_admin_has_it() -> None:
    assert has_role("reviewer", Role.REVIEWER) and has_role("reviewer", Role.LEARNER)
    assert has_role("super_admin", Role.REVIEWER)
    assert not has_role("learner", Role.REVIEWER) and not has_role("enterprise_admin", Role.REVIEWER)


@pytest.mark.parametrize(("points", "passed", "reason"), [
    # 75 % overall, functionality at 17.7 / 30 = 59 %: fails on the category alone.
    (scores(code_quality=22, functionality=Decimal("17.7"), testing=15, documentation=Decimal("12.3"), deployment=8),
     False, "Functionality is at 59 %"),
    # Exactly 75 % with every category at 60 % or more: passes.
    (scores(code_quality=22, functionality=18, testing=15, documentation=12, deployment=8), True, None),
    # 74.9 %: fails, nothing rounds it up.
    (scores(code_quality=22, functionality=18, testing=15, documentation=Decimal("11.9"), deployment=8),
     False, "the overall score is 74.9 %"),
])
def test_the_pass_rule_edges(gold_build: BuildReport, points: dict[str, Any], passed: bool,
                             reason: str | None) -> None:
    rules = rubric.load(gold_build.site_dir.parent / "catalog.db")
    assert [c.key for c in rules.categories] == ["code_quality", "functionality", "testing", "documentation",
                                                "deployment"]
    verdict = rubric.decide(rules, {k: Decimal(str(v)) for k, v in points.items()})
    assert verdict.passed is passed
    if reason is None:
        assert verdict.reasons == [] and verdict.overall_percent == 75
    else:
        assert any(reason in r for r in verdict.reasons), verdict.reasons
        assert len(verdict.reasons) == 1


def test_scores_outside_a_category_are_refused(gold_build: BuildReport) -> None:
    from sidecar.errors import InvalidInput

    rules = rubric.load(gold_build.site_dir.parent / "catalog.db")
    with pytest.raises(InvalidInput, match="out of 30"):
        rubric.decide(rules, {k: Decimal(v) for k, v in scores(functionality=31).items()})
    with pytest.raises(InvalidInput, match="missing: deployment"):
        rubric.decide(rules, {k: Decimal(v) for k, v in scores().items() if k != "deployment"})


# ---- the pre-review without the sandbox --------------------------------------------------------------


def test_the_pre_review_tells_a_careful_project_from_a_careless_one(gold_build: BuildReport) -> None:
    rules = rubric.load(gold_build.site_dir.parent / "catalog.db")
    custom = prereview.Target(entry=None, tests=[])

    def run(files: dict[str, str]) -> dict[str, Any]:
        return prereview.prereview(texts=files, target=custom, demo_url=DEMO, rubric=rules,
                                   sandbox=lambda: pytest.fail("a custom project has no tests to run"))

    careless = run({"main.py": "def f(x):\n    try:\n        return 1 / x\n    except:\n        pass\n",
                    "broken.py": "def (:\n"})
    careful = run(dict(GOOD))
    bad, good = careless["criteria"], careful["criteria"]
    assert careless["tests"] is None and bad["functionality"]["suggested_points"] is None
    messages = " ".join(f["message"] for f in bad["code_quality"]["findings"])
    assert "bare `except:`" in messages and "does not parse" in messages and "no docstring" in messages
    assert bad["testing"]["suggested_points"] == 0 and good["testing"]["suggested_points"] == 20
    assert bad["documentation"]["suggested_points"] < 2 < 13 <= good["documentation"]["suggested_points"]
    assert good["code_quality"]["suggested_points"] > bad["code_quality"]["suggested_points"]
    assert good["deployment"]["suggested_points"] == 10
    assert careful["ruff"]["ran"] is True and "ruff checked" in careful["ruff"]["note"]


# ---- the whole flow ---------------------------------------------------------------------------------------


@needs_sandbox
def test_gold_from_option_to_a_verifiable_certificate(make_client: Any, db_url: str,
                                                      gold_build: BuildReport) -> None:
    learner = make_client(db_url)
    learner.signup("lena@example.com", name="Lena Learner")
    options = learner.get(f"/api/projects/{COURSE}/options")
    assert options.status_code == 200, options.text
    assert [o["id"] for o in options.json()] == [OPTION]
    assert options.json()[0]["hidden_tests"] == 1 and len(options.json()[0]["visible_tests"]) == 2
    assert "reference" not in options.text and "pear" not in options.text and "merged" not in options.text

    assert submit(learner, zip_of(GOOD)).status_code == 409  # nothing chosen yet
    chosen = learner.post(f"/api/projects/{COURSE}/choice", json={"option_id": OPTION})
    assert chosen.status_code == 200 and chosen.json()["status"] == "active", chosen.text

    # Packed inside a top-level folder, as hosting sites export projects: unwrapped.
    sent = submit(learner, zip_of(GOOD, folder="inventory-main/"))
    assert sent.status_code == 201, sent.text
    submission = sent.json()
    assert submission["status"] == "pending" and submission["source"] == "upload"
    assert {f["path"] for f in submission["files"]} == set(GOOD)
    assert submission["tests"]["passed"] == submission["tests"]["total"] == 3, submission["tests"]
    criteria = {c["key"]: c for c in submission["criteria"]}
    assert criteria["functionality"]["suggested_points"] == 30
    assert all(c["points"] is None for c in criteria.values())
    assert "ruff checked" in submission["ruff"]
    assert submit(learner, zip_of(GOOD)).status_code == 409  # one waiting submission at a time
    assert learner.post(f"/api/projects/{COURSE}/choice", json={"option_id": OPTION}).status_code == 409

    admin = super_admin(make_client, db_url)
    rita = reviewer(make_client, db_url, admin, "rita@example.com", "Rita Reviewer")
    queue = rita.get("/api/reviews/queue").json()
    assert [s["id"] for s in queue["submissions"]] == [submission["id"]]
    assert queue["submissions"][0]["learner_name"] == "Lena Learner"
    assert queue["submissions"][0]["suggested_percent"] is not None
    read = rita.get(f"/api/reviews/submissions/{submission['id']}/files/inventory.py")
    assert read.status_code == 200 and "def add" in read.json()["text"]

    url = f"/api/reviews/submissions/{submission['id']}"
    comments = {"functionality": "Every test passes.", "documentation": "Clear README."}
    # The edges through the API: 75 % overall with one category at 59 %, then 74.9 %: both refused.
    at_59 = rita.post(url, json={"decision": "approve", "comments": comments, "scores": scores(
        code_quality=22, functionality=17.7, testing=15, documentation=12.3, deployment=8)})
    assert at_59.status_code == 422 and "Functionality is at 59 %" in at_59.json()["error"]["message"]
    at_749 = rita.post(url, json={"decision": "approve", "scores": scores(
        code_quality=22, functionality=18, testing=15, documentation=11.9, deployment=8)})
    assert at_749.status_code == 422 and "74.9 %" in at_749.json()["error"]["message"]
    assert rita.post(url, json={"decision": "return", "scores": {}}).status_code == 422  # feedback needed
    approved = rita.post(url, json={"decision": "approve", "comments": comments, "feedback": "Well done.",
                                    "scores": scores(code_quality=22, functionality=18, testing=15,
                                                     documentation=12, deployment=8)})
    assert approved.status_code == 200, approved.text
    outcome = approved.json()
    assert outcome["percent"] == 75 and outcome["issued"]["tier"] == "gold" and outcome["issued"]["created"]
    assert rita.post(url, json={"decision": "return", "feedback": "again"}).status_code == 409

    # The learner sees the feedback per criterion.
    mine = learner.get(f"/api/projects/submissions/{submission['id']}").json()
    assert mine["status"] == "approved" and mine["feedback"] == "Well done."
    by_key = {c["key"]: c for c in mine["criteria"]}
    assert by_key["functionality"]["points"] == 18 and by_key["functionality"]["comment"] == "Every test passes."
    assert by_key["deployment"]["comment"] is None

    credential = outcome["issued"]["credential_id"]
    verified = make_client(db_url).get(f"/api/verify/{credential}")  # signed out: anyone can verify
    assert verified.status_code == 200
    view = verified.json()
    assert view["status"] == "valid" and view["tier"] == "gold" and view["demo_url"] == DEMO
    assert view["holder_name"] == "Lena Learner" and view["percent_overall"] == 75
    assert view["evidence"]["project_submission_id"] == submission["id"]
    option = readers.gold_options(gold_build.site_dir.parent / "catalog.db", COURSE)[0]
    assert view["evidence"]["tests_sha256"] == sha256_hex(option.tests)
    assert {s["key"]: s["points"] for s in view["scores"]}["functionality"] == 18
    page = make_client(db_url).get(f"/verify/{credential}")
    assert page.status_code == 200 and DEMO in page.text

    tiers = {t["tier"]: t for t in learner.get(f"/api/certifications/{COURSE}").json()["tiers"]}
    assert tiers["gold"]["available"] and tiers["gold"]["earned"]
    assert all(r["done"] for r in tiers["gold"]["requirements"])
    state = learner.get(f"/api/projects/{COURSE}").json()
    assert state["certificate_id"] == credential and state["rubric"]["pass_percent"] == 75

    trail = rita.get(url).json()["audit"]
    assert [(a["action"], a["from_state"], a["to_state"]) for a in trail] == [
        ("choose", None, "active"), ("submit", None, "pending"), ("prereview", "pending", "pending"),
        ("approve", "pending", "approved")]
    assert trail[-1]["actor_name"] == "Rita Reviewer" and trail[2]["actor_id"] is None
    assert trail[-1]["detail"]["certificate_id"] == credential


def test_gold_status_before_anything_is_done(make_client: Any, db_url: str) -> None:
    signed_out = make_client(db_url)
    tiers = {t["tier"]: t for t in signed_out.get(f"/api/certifications/{COURSE}").json()["tiers"]}
    gold = tiers["gold"]
    assert gold["available"] and not gold["earned"]
    assert [r["key"] for r in gold["requirements"]] == ["project", "submission", "review"]
    assert not any(r["done"] for r in gold["requirements"])
    assert gold["action_url"] == f"certification/project/?course={COURSE}"


# ---- who may do what ------------------------------------------------------------------------------------


def test_reviewers_act_only_in_their_scope_and_never_on_their_own_work(make_client: Any, db_url: str) -> None:
    anonymous = make_client(db_url)
    assert anonymous.get(f"/api/projects/{COURSE}").status_code == 401
    assert anonymous.get("/api/reviews/queue").status_code == 401
    assert submit(anonymous, zip_of(GOOD)).status_code == 401
    assert anonymous.get(f"/api/projects/{COURSE}/options").status_code == 200  # the options are public

    north = make_org(db_url, "00000000-0000-4000-8000-00000000a001", "North")
    south = make_org(db_url, "00000000-0000-4000-8000-00000000a002", "South")
    admin = super_admin(make_client, db_url)
    nora = reviewer(make_client, db_url, admin, "nora@example.com", "Nora North", org=north)
    sam = reviewer(make_client, db_url, admin, "sam@example.com", "Sam South", org=south)
    pat = reviewer(make_client, db_url, admin, "pat@example.com", "Pat Platform")
    ada = make_client(db_url)
    ada.signup("ada@example.com", name="Ada")
    set_user(db_url, "ada@example.com", org=north)
    bob = make_client(db_url)
    bob.signup("bob@example.com", name="Bob")

    # Learners cannot review or grant; a stronger role is never lowered by a grant.
    assert ada.get("/api/reviews/queue").status_code == 403
    assert ada.put("/api/reviews/reviewers", json={"email": "bob@example.com", "reviewer": True}).status_code == 403
    set_user(db_url, "bob@example.com", role="enterprise_admin")
    assert admin.put("/api/reviews/reviewers", json={"email": "bob@example.com",
                                                     "reviewer": True}).status_code == 409
    set_user(db_url, "bob@example.com", role="learner")

    proposal = ada.post(f"/api/projects/{COURSE}/proposal", json={
        "title": "Recipe scaler", "description": "Scales a recipe's ingredients for any number of people."})
    assert proposal.status_code == 200 and proposal.json()["status"] == "proposed", proposal.text
    assert submit(ada, zip_of(GOOD)).status_code == 409  # not approved yet
    project_id = proposal.json()["id"]
    assert [p["project_id"] for p in nora.get("/api/reviews/queue").json()["proposals"]] == [project_id]
    assert sam.get("/api/reviews/queue").json()["proposals"] == []
    assert sam.post(f"/api/reviews/proposals/{project_id}", json={"decision": "approve"}).status_code == 404
    returned = nora.post(f"/api/reviews/proposals/{project_id}", json={"decision": "return",
                                                                       "feedback": "Say who it is for."})
    assert returned.status_code == 200 and returned.json()["status"] == "returned"
    assert ada.get(f"/api/projects/{COURSE}").json()["project"]["feedback"] == "Say who it is for."
    ada.post(f"/api/projects/{COURSE}/proposal", json={
        "title": "Recipe scaler", "description": "Scales a home cook's recipe for any number of guests."})
    assert nora.post(f"/api/reviews/proposals/{project_id}", json={"decision": "approve"}).status_code == 200

    sent = submit(ada, zip_of(GOOD))
    assert sent.status_code == 201, sent.text
    submission = sent.json()["id"]
    assert sent.json()["tests"] is None  # a custom project: no authored tests, the reviewer judges it
    url = f"/api/reviews/submissions/{submission}"
    assert bob.get(f"/api/projects/submissions/{submission}").status_code == 404  # learners see their own only
    assert bob.post(url, json={"decision": "return", "feedback": "no"}).status_code == 403
    for outsider in (sam,):  # another organisation's reviewer: it does not exist for them
        assert outsider.get(url).status_code == 404
        assert outsider.get(f"{url}/files/README.md").status_code == 404
        assert outsider.post(url, json={"decision": "return", "feedback": "no"}).status_code == 404
        assert outsider.get("/api/reviews/queue").json()["submissions"] == []
    assert [s["id"] for s in pat.get("/api/reviews/queue").json()["submissions"]] == [submission]

    # A reviewer's own work goes to another reviewer.
    own = nora.post(f"/api/projects/{COURSE}/proposal", json={
        "title": "Budget planner", "description": "Plans a monthly budget from a list of expenses."}).json()
    assert nora.post(f"/api/reviews/proposals/{own['id']}", json={"decision": "approve"}).status_code == 403
    assert own["id"] not in [p["project_id"] for p in nora.get("/api/reviews/queue").json()["proposals"]]
    assert pat.post(f"/api/reviews/proposals/{own['id']}", json={"decision": "approve"}).status_code == 200
    mine = submit(nora, zip_of(GOOD)).json()["id"]
    assert nora.post(f"/api/reviews/submissions/{mine}",
                     json={"decision": "return", "feedback": "mine"}).status_code == 403
    assert mine not in [s["id"] for s in nora.get("/api/reviews/queue").json()["submissions"]]

    done = nora.post(url, json={"decision": "return", "feedback": "Add tests for rounding.",
                                "comments": {"testing": "Rounding is untested."}, "scores": {"testing": 8}})
    assert done.status_code == 200 and done.json()["submission"]["status"] == "returned"
    assert done.json()["issued"] is None
    back = ada.get(f"/api/projects/submissions/{submission}").json()
    assert back["feedback"] == "Add tests for rounding."
    assert {c["key"]: c["comment"] for c in back["criteria"]}["testing"] == "Rounding is untested."
    again = submit(ada, zip_of(GOOD))  # returned: the learner may submit again
    assert again.status_code == 201 and again.json()["number"] == 2


# ---- unsafe uploads ---------------------------------------------------------------------------------------


def _zip_with(entries: list[tuple[zipfile.ZipInfo | str, bytes]]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as out:
        for info, data in entries:
            out.writestr(info, data, compress_type=zipfile.ZIP_DEFLATED)
    return buffer.getvalue()


def _symlink() -> zipfile.ZipInfo:
    info = zipfile.ZipInfo("secrets.py")
    info.external_attr = (stat.S_IFLNK | 0o777) << 16
    return info


UNSAFE = {
    "absolute path": (_zip_with([("/etc/cron.d/evil", b"x"), ("inventory.py", b"")]), "absolute path"),
    "climbing path": (_zip_with([("../../evil.py", b"x")]), "climbs out"),
    "windows climbing path": (_zip_with([("a\\..\\..\\evil.py", b"x")]), "climbs out"),
    "symbolic link": (_zip_with([(_symlink(), b"/etc/passwd")]), "symbolic link"),
    "one inflating entry": (_zip_with([("zeros.txt", bytes(6 * 1024 * 1024))]), "zip bomb"),
    "many inflating entries": (_zip_with([(f"z{i}.txt", bytes(900 * 1024)) for i in range(8)]), "zip bomb"),
    "too many files": (_zip_with([(f"f{i}.py", b"") for i in range(1001)]), "more than 1000 files"),
    "not a zip": (b"PK\x03\x04 this is not really a zip archive", "not a zip"),
}


@pytest.mark.parametrize("case", list(UNSAFE))
def test_unsafe_archives_are_refused(make_client: Any, db_url: str, case: str) -> None:
    client = make_client(db_url, GOLD_UPLOAD_MAX_MB=1)
    client.signup("eve@example.com")
    client.post(f"/api/projects/{COURSE}/choice", json={"option_id": OPTION})
    data, message = UNSAFE[case]
    refused = submit(client, data)
    assert refused.status_code == 422, refused.text
    assert message in refused.json()["error"]["message"]
    assert client.get(f"/api/projects/{COURSE}").json()["submissions"] == []


def test_oversized_uploads_and_bad_fields_are_refused(make_client: Any, db_url: str) -> None:
    client = make_client(db_url, GOLD_UPLOAD_MAX_MB=1)
    client.signup("eve@example.com")
    client.post(f"/api/projects/{COURSE}/choice", json={"option_id": OPTION})
    import os

    too_big = submit(client, os.urandom(1024 * 1024 + 100 * 1024))
    assert too_big.status_code == 413 and too_big.json()["error"]["code"] == "too_large"
    assert submit(client, zip_of(GOOD), demo_url="javascript:alert(1)").status_code == 422
    assert submit(client, zip_of(GOOD), demo_url="https://user:pw@example.com/").status_code == 422
    both = submit(client, zip_of(GOOD), git_url="https://example.com/x.git")
    assert both.status_code == 422 and "one of them" in both.json()["error"]["message"]
    assert submit(client, None).status_code == 422
    assert submit(client, zip_of(GOOD), notes="bad\x00byte").status_code == 422
    assert client.get(f"/api/projects/{COURSE}").json()["submissions"] == []


# ---- git URLs -------------------------------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
def git_daemon(tmp_path: Path) -> Iterator[int]:
    """A local `git daemon` on 127.0.0.1 serving project.git (the FORGETFUL project)."""
    if shutil.which("git") is None:
        pytest.fail("git is required for the git submission tests")
    work = tmp_path / "work"
    work.mkdir()
    for path, content in FORGETFUL.items():
        (work / path).parent.mkdir(parents=True, exist_ok=True)
        (work / path).write_text(content, encoding="utf-8")
    env = {"GIT_CONFIG_NOSYSTEM": "1", "HOME": str(tmp_path), "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@x",
           "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@x", "PATH": "/usr/bin:/bin"}
    for args in (["init", "-q", "-b", "main"], ["add", "."], ["commit", "-q", "-m", "project"]):
        subprocess.run(["git", *args], cwd=work, env=env, check=True)
    served = tmp_path / "served"
    served.mkdir()
    subprocess.run(["git", "clone", "-q", "--bare", str(work), str(served / "project.git")], env=env, check=True)
    port = _free_port()
    daemon = subprocess.Popen(["git", "daemon", "--reuseaddr", "--export-all", "--listen=127.0.0.1",
                               f"--port={port}", f"--base-path={served}", str(served)], env=env)
    try:
        deadline = time.monotonic() + 10
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
                break
            except OSError:
                assert time.monotonic() < deadline, "git daemon did not start"
                time.sleep(0.05)
        yield port
    finally:
        daemon.terminate()
        daemon.wait(timeout=10)


def test_git_urls_are_refused_while_turned_off(make_client: Any, db_url: str) -> None:
    client = make_client(db_url)
    client.signup("gil@example.com")
    client.post(f"/api/projects/{COURSE}/choice", json={"option_id": OPTION})
    refused = submit(client, git_url="git://127.0.0.1:9418/project.git")
    assert refused.status_code == 422 and "turned off" in refused.json()["error"]["message"]


@needs_sandbox
def test_git_urls_are_fetched_from_allowed_hosts_only(make_client: Any, db_url: str, git_daemon: int) -> None:
    host = f"127.0.0.1:{git_daemon}"
    client = make_client(db_url, ALLOW_GIT_SUBMISSIONS=True, GIT_SUBMISSION_HOSTS=[host])
    client.signup("gil@example.com")
    client.post(f"/api/projects/{COURSE}/choice", json={"option_id": OPTION})
    for url, message in [(f"git://localhost:{git_daemon}/project.git", "does not fetch from"),
                         (f"http://{host}/project.git", "Only git:// and https://"),
                         (f"git://someone:secret@{host}/project.git", "credentials"),
                         (f"git://127.0.0.1:{git_daemon + 1}/project.git", "does not fetch from"),
                         (f"git://{host}/missing.git", "could not be fetched"),
                         ("ext::sh%20-c%20touch%20/tmp/pwned", "Only git:// and https://")]:
        refused = submit(client, git_url=url)
        assert refused.status_code == 422 and message in refused.json()["error"]["message"], (url, refused.text)
    fetched = submit(client, git_url=f"git://{host}/project.git")
    assert fetched.status_code == 201, fetched.text
    body = fetched.json()
    assert body["source"] == "git" and body["git_url"] == f"git://{host}/project.git"
    assert {f["path"] for f in body["files"]} == set(FORGETFUL)
    tests = body["tests"]
    assert (tests["passed"], tests["total"]) == (2, 3)
    hidden = next(r for r in tests["results"] if r["hidden"])
    assert not hidden["passed"] and "Adding to an item you already have" in hidden["message"]
    assert "pear" not in fetched.text  # a hidden test's code never reaches the learner
    assert {c["key"]: c["suggested_points"] for c in body["criteria"]}["functionality"] == 20


# ---- the schema and the API document ---------------------------------------------------------------------


def test_migration_0009_upgrades_and_downgrades(db_url: str) -> None:
    tables = {"gold_projects", "project_submissions", "project_archives", "project_audit"}
    engine = get_engine(db_url)
    config = alembic_config(db_url)
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.downgrade(config, "0008")
    assert current_revision(db_url) == "0008"
    assert not tables & set(inspect(engine).get_table_names())
    upgrade(db_url)
    assert tables <= set(inspect(engine).get_table_names())
    assert "uq_gold_projects_user_course" in {c["name"] for c in inspect(engine).get_unique_constraints(
        "gold_projects")}


def test_the_endpoints_are_in_the_openapi_document(make_client: Any, sqlite_url: str) -> None:
    paths = make_client(sqlite_url).get("/openapi.json").json()["paths"]
    wanted = {("/api/projects/{course_id}/options", "get"), ("/api/projects/{course_id}", "get"),
              ("/api/projects/{course_id}/choice", "post"), ("/api/projects/{course_id}/proposal", "post"),
              ("/api/projects/{course_id}/submissions", "post"), ("/api/projects/submissions/{submission_id}", "get"),
              ("/api/reviews/queue", "get"), ("/api/reviews/submissions/{submission_id}", "get"),
              ("/api/reviews/submissions/{submission_id}", "post"), ("/api/reviews/proposals/{project_id}", "post"),
              ("/api/reviews/reviewers", "put")}
    for path, method in wanted:
        assert paths[path][method]["summary"], (path, method)
    upload = paths["/api/projects/{course_id}/submissions"]["post"]["requestBody"]["content"]
    assert "multipart/form-data" in upload
