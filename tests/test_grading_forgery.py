"""Forged passes through the API (issue #10), on SQLite and PostgreSQL: programs that try to
decide their own verdict (the reported JavaScript-bridge forge, objects equal to anything,
patched builtins and capture buffers, frame tricks) earn nothing and complete nothing, and the
next honest submission is graded as usual."""

from __future__ import annotations

import uuid

import pytest

DOUBLE = "00000000-0000-4000-8000-000000000015"  # first-steps/printing (code-along, 50 XP), randomized
PRINTING = "00000000-0000-4000-8000-000000000013"
GOOD = "def double(n):\n    return n * 2\n"

FORGERIES = {
    # The reported forge: reach Pyodide's JS bridge through `_imp` and rewrite result messages.
    "js-bridge": ("import importlib._bootstrap as b, importlib.machinery as m\n"
                  "core = b._imp.create_builtin(m.ModuleSpec('_pyodide_core', None))\n"
                  "def double(n):\n    return 0\n"),
    "equals-anything": ("class A:\n    def __eq__(self, other):\n        return True\n    __hash__ = None\n"
                        "def double(n):\n    return A()\n"),
    "int-lookalike": ("class Any(int):\n    def __eq__(self, other):\n        return True\n"
                      "def double(n):\n    return Any(0)\n"),
    "patched-builtins": ("import builtins\nbuiltins.AssertionError = KeyError\nbuiltins.abs = lambda *a: 0\n"
                         "builtins.str = lambda *a: '8'\ndef double(n):\n    return None\n"),
    "frames": ("import sys\ndef double(n):\n    f = sys._getframe()\n    while f.f_back:\n        f = f.f_back\n"
               "        f.f_locals.update(passed=True, result=True)\n    return None\n"),
    "capture-buffer": ("import io, sys\nio.StringIO.getvalue = lambda self: '8\\n'\nsys.stdout = io.StringIO()\n"
                       "def double(n):\n    return str(n * 2)\n"),
    "exit-early": "import os\nos._exit(0)\n",
}


def _submit(client, code: str):
    return client.post(f"/api/exercises/{DOUBLE}/submissions", json={"code": code, "submission_id": uuid.uuid4().hex})


@pytest.mark.parametrize("name", sorted(FORGERIES))
def test_a_forged_pass_earns_nothing(make_client, db_url: str, name: str) -> None:
    client = make_client(db_url)
    client.signup(f"forger-{name}@example.com")
    before = client.get("/api/gamification/profile").json()["xp"]
    response = _submit(client, FORGERIES[name])
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["passed"] is False and body["xp_awarded"] == 0 and body["lesson_state"] != "completed", body
    assert not any(r["passed"] for r in body["results"] if r["hidden"]), body
    assert client.get("/api/gamification/profile").json()["xp"] == before
    states = {item["lesson_id"]: item["state"] for item in client.get("/api/progress").json()["lessons"]}
    assert states.get(PRINTING, "not_started") != "completed"
    honest = _submit(client, GOOD).json()
    assert honest["passed"] is True and honest["lesson_state"] == "completed"


def test_no_sandbox_is_a_503_not_a_500(make_client, sqlite_url: str, monkeypatch) -> None:
    import sidecar.sandbox as sandbox_module

    def unavailable(*_args: object) -> object:
        raise sandbox_module.SandboxUnavailable("Node.js is not installed")

    monkeypatch.setattr(sandbox_module, "get_sandbox", unavailable)
    client = make_client(sqlite_url)
    client.signup("no-sandbox@example.com")
    response = _submit(client, GOOD)
    assert response.status_code == 503, response.text
    assert response.json()["error"]["code"] == "unavailable" and "not graded" in response.json()["error"]["message"]
