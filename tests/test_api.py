"""The sidecar API and the embedded site server, against a real built catalog."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from sidecar.app import create_app
from sidecar.compiler.build import BuildReport
from sidecar.settings import Settings
from sidecar.web import static

QUIZ = "00000000-0000-4000-8000-000000000016"
MC, PREDICT, BUG, COMPLETE = (f"00000000-0000-4000-8000-0000000000{n}" for n in ("17", "18", "19", "20"))


@pytest.fixture
def client(make_client, sqlite_url: str) -> TestClient:
    return make_client(sqlite_url)


def _assert_error(response, status: int, code: str) -> dict:
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"error"} and body["error"]["code"] == code and body["error"]["message"]
    return body["error"]


def test_health(client: TestClient) -> None:
    response = client.get("/api/health")
    assert response.status_code == 200
    assert response.json()["status"] == "ok" and response.json()["catalog"] is True


def test_catalog_tree(client: TestClient) -> None:
    body = client.get("/api/catalog").json()
    assert [d["slug"] for d in body["domains"]] == ["tech"]
    (track,) = body["tracks"]
    assert track["slug"] == "demo-track" and track["domain"] == "tech"
    (course,) = track["courses"]
    module, second, third = course["modules"]
    assert [lesson["type"] for lesson in third["lessons"]] == ["challenge"]
    assert [lesson["type"] for lesson in second["lessons"]] == ["concept", "reflection"]
    lessons = {lesson["slug"]: lesson for lesson in module["lessons"]}
    assert list(lessons) == ["printing", "check-yourself"]
    assert lessons["printing"]["type"] == "code-along"
    assert lessons["printing"]["exercise_ids"] == ["00000000-0000-4000-8000-000000000015"]
    assert lessons["check-yourself"]["quiz_ids"] == [QUIZ]
    assert lessons["printing"]["url"] == "demo-track/demo-course/first-steps/printing/"


def test_catalog_unavailable_before_a_build(tmp_path, sqlite_url: str) -> None:
    client = TestClient(create_app(Settings(DRONA_BUILD_DIR=tmp_path, DATABASE_URL=sqlite_url)))
    error = _assert_error(client.get("/api/catalog"), 503, "unavailable")
    assert "drona build" in error["message"]
    assert client.get("/api/health").json()["catalog"] is False


def test_quiz_all_correct(client: TestClient) -> None:
    answers = {MC: 0, PREDICT: "21\n", BUG: 2, COMPLETE: " + "}
    body = client.post(f"/api/quizzes/{QUIZ}/attempts", json={"answers": answers}).json()
    assert body["score_percent"] == 100.0 and body["passed"] is True
    assert all(item["correct"] for item in body["items"])
    assert "Multiplication happens first" in body["items"][1]["explanation_html"]


def test_quiz_partly_wrong(client: TestClient) -> None:
    answers = {MC: 1, PREDICT: "21", BUG: 1}
    body = client.post(f"/api/quizzes/{QUIZ}/attempts", json={"answers": answers}).json()
    assert body["score_percent"] == 25.0 and body["passed"] is False
    assert [item["correct"] for item in body["items"]] == [False, True, False, False]


def test_state_changes_need_the_csrf_token(client: TestClient) -> None:
    body = {"answers": {MC: 0}}
    error = _assert_error(client.post(f"/api/quizzes/{QUIZ}/attempts", json=body, headers={"X-CSRF-Token": "forged"}),
                          403, "forbidden")
    assert "CSRF" in error["message"]
    assert client.post(f"/api/quizzes/{QUIZ}/attempts", json=body).status_code == 200


def test_quiz_errors_have_one_shape(client: TestClient) -> None:
    _assert_error(client.post("/api/quizzes/nope/attempts", json={"answers": {}}), 404, "not_found")
    error = _assert_error(client.post(f"/api/quizzes/{QUIZ}/attempts", json={"answers": {"ghost": 1}}),
                          422, "invalid_input")
    assert error["details"] == {"unknown_items": ["ghost"]}
    _assert_error(client.post(f"/api/quizzes/{QUIZ}/attempts", json={"answers": [1, 2]}), 422, "invalid_input")
    _assert_error(client.post(f"/api/quizzes/{QUIZ}/attempts", content=b"{not json",
                              headers={"content-type": "application/json"}), 422, "invalid_input")
    _assert_error(client.get("/api/nothing-here"), 404, "not_found")


def test_openapi_describes_every_endpoint(client: TestClient) -> None:
    paths = client.get("/openapi.json").json()["paths"]
    assert {"/api/health", "/api/catalog", "/api/quizzes/{quiz_id}/attempts"} <= set(paths)


def test_site_is_served_cross_origin_isolated(client: TestClient) -> None:
    response = client.get("/")
    assert response.status_code == 200 and "Learn by doing" in response.text
    assert response.headers["cross-origin-opener-policy"] == "same-origin"
    assert response.headers["cross-origin-embedder-policy"] == "require-corp"
    assert response.headers["cache-control"] == "no-cache"
    lesson = client.get("/demo-track/demo-course/first-steps/printing/")
    assert lesson.status_code == 200 and "drona-exercise" in lesson.text


def test_pyodide_is_precompressed_and_cached_for_long(client: TestClient, minimal_build: BuildReport) -> None:
    (version_dir,) = (minimal_build.site_dir / "pyodide").iterdir()
    url = f"/pyodide/{version_dir.name}/pyodide.asm.wasm"
    response = client.get(url, headers={"accept-encoding": "gzip"})
    assert response.status_code == 200
    assert response.headers["content-encoding"] == "gzip"
    assert response.headers["content-type"] == "application/wasm"
    assert "immutable" in response.headers["cache-control"]
    # httpx decodes gzip: the body is the real wasm module.
    assert response.content[:4] == b"\0asm"
    assert len(response.content) == (version_dir / "pyodide.asm.wasm").stat().st_size
    plain = client.get(url, headers={"accept-encoding": "identity"})
    assert "content-encoding" not in plain.headers and plain.content[:4] == b"\0asm"
    # The start-up snapshot depends on the engine's scripts as well as Pyodide: revalidated, not immutable.
    if (version_dir / "snapshot.bin").exists():  # made where Node.js is installed (CI has it)
        snapshot = client.get(f"/pyodide/{version_dir.name}/snapshot.bin")
        assert snapshot.status_code == 200 and snapshot.headers["cache-control"] == "no-cache"
    assert static.cache_control(f"pyodide/{version_dir.name}/snapshot.bin") == "no-cache"


def test_missing_page_is_404(client: TestClient) -> None:
    assert client.get("/no/such/page/").status_code == 404
