"""ENABLE_AI_PROCTORING on SQLite and PostgreSQL: consent to camera checks counts only when the setting is
on (otherwise it is stored false and the browser is never told to start them), camera events reach
the reviewer's integrity report, and the built site serves the face detector itself (the ESM bundle,
only the tiny face detector's weights and the licence), precompressed."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from sqlalchemy import text

from sidecar.compiler import assets
from sidecar.db.engine import get_engine
from sidecar.engine import engine_files

COURSE = "00000000-0000-4000-8000-000000000011"  # the minimal fixture course, which has a Silver bank
MODEL_FILES = {"face-api.esm.js", "tiny_face_detector_model-weights_manifest.json", "tiny_face_detector_model.bin",
               "LICENSE"}


def _start(client: Any, consent: bool) -> dict[str, Any]:
    response = client.post(f"/api/assessments/{COURSE}/attempts", json={"consent_camera": consent})
    assert response.status_code == 201, response.text
    return dict(response.json())


def _stored_consent(db_url: str, attempt_id: str) -> bool:
    with get_engine(db_url).begin() as conn:
        return bool(conn.execute(text("SELECT consent_camera FROM assessment_attempts WHERE id = :id"),
                                 {"id": attempt_id}).scalar_one())


def test_consent_is_ignored_when_proctoring_is_off(make_client: Any, db_url: str) -> None:
    client = make_client(db_url)  # ENABLE_AI_PROCTORING defaults to false
    client.signup("ada@example.com", name="Ada")
    assert client.get(f"/api/assessments/{COURSE}").json()["proctoring_available"] is False
    attempt = _start(client, consent=True)
    assert attempt["proctoring"] is False
    assert _stored_consent(db_url, attempt["id"]) is False
    # Resuming does not turn it on either.
    assert client.get(f"/api/assessments/attempts/{attempt['id']}").json()["proctoring"] is False


def test_consent_is_stored_when_proctoring_is_on(make_client: Any, db_url: str) -> None:
    consenting = make_client(db_url, ENABLE_AI_PROCTORING=True)
    consenting.signup("ada@example.com", name="Ada")
    assert consenting.get(f"/api/assessments/{COURSE}").json()["proctoring_available"] is True
    attempt = _start(consenting, consent=True)
    assert attempt["proctoring"] is True and _stored_consent(db_url, attempt["id"]) is True
    # Without the tick the setting alone turns nothing on: consent is explicit.
    declining = make_client(db_url, ENABLE_AI_PROCTORING=True)
    declining.signup("grace@example.com", name="Grace")
    other = _start(declining, consent=False)
    assert other["proctoring"] is False and _stored_consent(db_url, other["id"]) is False


def test_camera_events_reach_the_integrity_report(make_client: Any, db_url: str) -> None:
    learner = make_client(db_url, ENABLE_AI_PROCTORING=True)
    learner.signup("ada@example.com", name="Ada")
    attempt = _start(learner, consent=True)["id"]
    for kind, detail in (("camera_consent", {"checks": "started"}), ("camera_face_missing", {"count": 1}),
                         ("camera_multiple_faces", {"count": 1, "faces": 2})):
        response = learner.post(f"/api/assessments/attempts/{attempt}/events", json={"kind": kind, "detail": detail})
        assert response.status_code == 204, response.text
    reviewer = make_client(db_url, ENABLE_AI_PROCTORING=True)
    reviewer.signup("rita@example.com", name="Rita")
    with get_engine(db_url).begin() as conn:
        conn.execute(text("UPDATE users SET role = 'reviewer' WHERE email = 'rita@example.com'"))
    report = reviewer.get(f"/api/assessments/attempts/{attempt}/integrity")
    assert report.status_code == 200, report.text
    events = [(e["kind"], e["detail"]) for e in report.json()["events"]]
    assert events == [("camera_consent", {"checks": "started"}), ("camera_face_missing", {"count": 1}),
                      ("camera_multiple_faces", {"count": 1, "faces": 2})]


def test_the_site_serves_only_the_tiny_face_detector(make_client: Any, sqlite_url: str,
                                                      minimal_build: Any) -> None:
    folder = minimal_build.site_dir / "assets" / "drona" / assets.PROCTORING_DIR
    served = {path.name for path in folder.iterdir()}
    # The four files and gzip siblings of the compressible ones; no other model of the package.
    assert {name for name in served if not name.endswith(".gz")} == MODEL_FILES
    assert {f"{name}.gz" for name in MODEL_FILES if name != "LICENSE"} <= served
    client = make_client(sqlite_url)
    module = client.get(f"/assets/drona/{assets.PROCTORING_DIR}/face-api.esm.js", headers={"accept-encoding": "gzip"})
    assert module.status_code == 200 and module.headers["content-encoding"] == "gzip"
    assert "javascript" in module.headers["content-type"]
    assert "detectAllFaces" in module.text and "TinyFaceDetectorOptions" in module.text
    manifest = client.get(f"/assets/drona/{assets.PROCTORING_DIR}/tiny_face_detector_model-weights_manifest.json")
    assert manifest.status_code == 200
    assert json.loads(manifest.text)[0]["paths"] == ["tiny_face_detector_model.bin"]
    weights = client.get(f"/assets/drona/{assets.PROCTORING_DIR}/tiny_face_detector_model.bin")
    assert weights.status_code == 200
    assert len(weights.content) == (folder / "tiny_face_detector_model.bin").stat().st_size
    licence = client.get(f"/assets/drona/{assets.PROCTORING_DIR}/LICENSE")
    assert licence.status_code == 200 and "MIT License" in licence.text and "Vladimir Mandic" in licence.text


def test_a_site_without_the_package_still_builds_its_assets(tmp_path: Path) -> None:
    # An engine without face-api (an older checkout or wheel): the copy is skipped, nothing fails;
    # the browser then reports the camera check as unavailable, which the reviewer sees.
    real = engine_files()
    bare = type(real)(root=real.root, pyodide_dir=tmp_path / "no-modules" / "pyodide", esbuild=real.esbuild,
                      bundles=real.bundles, cache_dir=real.cache_dir, installed=False, info={})
    assert assets.copy_proctoring(bare, tmp_path / "out") is None
    assert not (tmp_path / "out" / assets.PROCTORING_DIR).exists()
    assert assets.copy_proctoring(real, tmp_path / "out") == tmp_path / "out" / assets.PROCTORING_DIR
