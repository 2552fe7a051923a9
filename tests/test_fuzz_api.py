"""scripts/fuzz_api.py reads schemathesis's report right: every failed check fails the run, by operation.

The fuzzing itself runs in scripts/test (5 minutes against a real server); these tests feed the script's
report reader the JSON report schemathesis writes, so a violation can never pass as a mere note.
"""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path
from types import ModuleType

import pytest

from sidecar.settings import REPO_ROOT


@pytest.fixture(scope="module")
def fuzz_api() -> ModuleType:
    spec = importlib.util.spec_from_file_location("fuzz_api", REPO_ROOT / "scripts" / "fuzz_api.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["fuzz_api"] = module  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module


def _report(tmp_path: Path, name: str, failures: list[dict[str, object]]) -> tuple[Path, Path]:
    report = tmp_path / f"{name}.json"
    report.write_text(json.dumps({"test_cases": {"generated": 40}, "operations": {"tested": 3, "total": 5},
                                  "failures": failures, "errors": []}), encoding="utf-8")
    output = tmp_path / f"{name}.out"
    output.write_text("Reproduce with:\n\n    curl -X GET http://127.0.0.1:1/api/x\n", encoding="utf-8")
    return report, output


def test_the_excluded_checks_exist_and_every_failure_kind_has_its_check(fuzz_api: ModuleType) -> None:
    from schemathesis.checks import CHECKS, load_all_checks
    from schemathesis.failure_codes import FAILURE_CLASSES

    load_all_checks()
    names = set(CHECKS.get_all_names())
    assert set(fuzz_api.EXCLUDED_CHECKS) < names  # a renamed check would make --exclude-checks fail
    assert {"response_schema_conformance", "status_code_conformance", "content_type_conformance",
            "response_headers_conformance", "not_a_server_error"} <= names - set(fuzz_api.EXCLUDED_CHECKS)
    ours = {cls.__name__ for cls in FAILURE_CLASSES if not cls.__name__.startswith("GraphQL")
            and cls.__name__ not in ("UnexpectedGraphQLResponse", "CustomFailure")}
    assert ours <= set(fuzz_api.CHECK_OF_FAILURE), ours - set(fuzz_api.CHECK_OF_FAILURE)
    assert set(fuzz_api.CHECK_OF_FAILURE.values()) - {"max_response_time"} <= names


def test_schema_violations_fail_the_run_by_operation_and_check(fuzz_api: ModuleType, tmp_path: Path,
                                                               capsys: pytest.CaptureFixture[str]) -> None:
    summary = fuzz_api.Summary()
    report, output = _report(tmp_path, "random-ids", [
        {"type": "JsonSchemaError", "code": "ST108", "title": "Response violates schema", "count": 3,
         "operations": ["GET /api/a", "POST /api/b"]},
        {"type": "UndefinedStatusCode", "code": "ST103", "title": "Undocumented status code", "count": 1,
         "operations": ["GET /api/a"]}])
    fuzz_api.read_report("random-ids", report, summary, output)
    report, output = _report(tmp_path, "catalog-ids", [
        {"type": "JsonSchemaError", "code": "ST108", "title": "Response violates schema", "count": 1,
         "operations": ["GET /api/a"]}])
    fuzz_api.read_report("catalog-ids", report, summary, output)
    assert summary.violations == {("response_schema_conformance", "GET /api/a"): ["random-ids", "catalog-ids"],
                                  ("response_schema_conformance", "POST /api/b"): ["random-ids"],
                                  ("status_code_conformance", "GET /api/a"): ["random-ids"]}
    assert summary.server_errors == [] and summary.other_failures == []
    assert fuzz_api.has_failed(summary)
    fuzz_api.print_summary(summary, tmp_path, 60.0)
    printed = capsys.readouterr().out
    assert "schema violations:   3 " in printed
    assert "violation: status_code_conformance        GET /api/a  (in random-ids)" in printed
    assert "violation: response_schema_conformance    GET /api/a  (in random-ids, catalog-ids)" in printed


def test_server_errors_count_as_server_errors(fuzz_api: ModuleType, tmp_path: Path) -> None:
    summary = fuzz_api.Summary()
    report, output = _report(tmp_path, "random-ids", [
        {"type": "ServerError", "code": "ST101", "title": "Server error", "count": 1,
         "operations": ["POST /api/c"]}])
    fuzz_api.read_report("random-ids", report, summary, output)
    assert [f["operations"] for f in summary.server_errors] == [["POST /api/c"]]
    assert summary.violations == {("not_a_server_error", "POST /api/c"): ["random-ids"]}
    assert summary.reproducers == ["curl -X GET http://127.0.0.1:1/api/x"]
    assert fuzz_api.has_failed(summary)


def test_a_clean_run_passes_and_a_missing_report_does_not(fuzz_api: ModuleType, tmp_path: Path) -> None:
    summary = fuzz_api.Summary(runs=[0, 0, 0])
    report, output = _report(tmp_path, "random-ids", [])
    fuzz_api.read_report("random-ids", report, summary, output)
    assert summary.requests == 40 and not fuzz_api.has_failed(summary)
    summary.runs.append(1)  # schemathesis ended a run with an error of its own
    assert fuzz_api.has_failed(summary)
    missing = fuzz_api.Summary()
    fuzz_api.read_report("x", tmp_path / "none.json", missing, tmp_path / "none.out")
    assert missing.other_failures[0].startswith("no report") and fuzz_api.has_failed(missing)
