#!/usr/bin/env python3
"""Fuzz the API with schemathesis for a fixed time, signed in; fail on any server error or schema violation.

    .venv/bin/python scripts/fuzz_api.py              # 5 minutes (scripts/test runs this)
    .venv/bin/python scripts/fuzz_api.py --minutes 1  # while developing

What it does, all on this machine:
1. builds the small fixture course (tests/fixtures/minimal) into a throwaway folder, or uses
   --build-dir (a folder holding catalog.db and site/);
2. starts the sidecar (uvicorn, a subprocess) on 127.0.0.1 with a throwaway SQLite database;
3. signs up a learner and takes the session cookie and the CSRF token;
4. runs schemathesis over /openapi.json with that cookie, X-CSRF-Token and a same-origin Origin
   header, until the time budget is spent, with every check schemathesis has but one (EXCLUDED_CHECKS,
   which say why): no server error (5xx), and each response as the OpenAPI document describes it: a
   documented status code, content type and headers, a body that matches the schema (the one error
   shape for errors), a 405 with the right Allow header for a method a path lacks, and so on. Half
   the time, ids in paths and bodies come from the catalog (real exercises, quizzes, lessons,
   tracks: random ids only ever reach the 404), and some fields get values known to be tricky
   (time zones that name a folder, ...). Operations that end the session (sign out, sign out everywhere) get a short
   run of their own at the end, so they don't sign the main run out;
5. prints a summary (requests, operations covered, violations by check and operation) and every
   failing request, from schemathesis's report and from the server's log; exits 1 if there was any.

Only 127.0.0.1 is ever contacted (no proxy, no redirects followed); schemathesis and the server
are stopped when the budget is spent, whatever happens.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from dataclasses import dataclass, field
from http.cookiejar import CookieJar
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
MINIMAL = ROOT / "tests" / "fixtures" / "minimal"
HOST = "127.0.0.1"
# Operations that end the signed-in session: fuzzed last, in a short run of their own.
SESSION_ENDING = r"^/api/auth/(logout|logout-all)$"
# Never fuzzed: the live updates stream stays open until the client leaves (tests/test_live_events.py tests it).
NOT_FUZZED = SESSION_ENDING + r"|^/api/me/events$"
SESSION_ENDING_SECONDS = 20
# Every check this schemathesis has (`--checks all`: a newer version's new checks join by themselves),
# but this one, which is not about whether responses match our OpenAPI document:
EXCLUDED_CHECKS = {
    # "Schema-valid data must be accepted (2xx)": a rule the schema cannot state (a wrong current password,
    # a NUL character in text, either team_id or email but not both) is rightly refused with a 4xx; each
    # such answer is still checked against the documented statuses and the error schema.
    "positive_data_acceptance",
}
# Values known to have broken endpoints before (the security review): schemathesis mixes them in.
TRICKY = {
    "timezones": ["Europe", "America/Argentina", "Europe/", "zone.tab", "localtime", "../etc/passwd", " UTC",
                  "Asia/Kolkata", "UTC", "x" * 300],
}


# The check that reports each kind of failure (schemathesis's failure classes, by name).
CHECK_OF_FAILURE = {
    "ServerError": "not_a_server_error", "ContentTypeServerError": "not_a_server_error",
    "UndefinedStatusCode": "status_code_conformance",
    "MissingContentType": "content_type_conformance", "UndefinedContentType": "content_type_conformance",
    "MalformedMediaType": "content_type_conformance",
    "MissingHeaders": "response_headers_conformance",
    "JsonSchemaError": "response_schema_conformance", "MalformedJson": "response_schema_conformance",
    "ContentDeserializationError": "response_schema_conformance",
    "DiscriminatorMismatch": "response_schema_conformance",
    "AcceptedNegativeData": "negative_data_rejection", "RejectedPositiveData": "positive_data_acceptance",
    "MissingHeaderNotRejected": "missing_required_header", "UnsupportedMethodResponse": "unsupported_method",
    "AllowHeaderMismatch": "allow_header_conformance", "UseAfterFree": "use_after_free",
    "EnsureResourceAvailability": "ensure_resource_availability", "IgnoredAuth": "ignored_auth",
    "ObjectLevelAuthorizationViolation": "object_level_authorization",
    "ResponseTimeExceeded": "max_response_time",  # not a check of its own: --max-response-time
}


@dataclass
class Summary:
    requests: int = 0
    tested: dict[str, int] = field(default_factory=dict)  # operations each run tested
    total_operations: int = 0
    server_errors: list[dict[str, Any]] = field(default_factory=list)  # from schemathesis's report
    # Every failed check (server errors included): (check, operation) -> the runs that found it.
    violations: dict[tuple[str, str], list[str]] = field(default_factory=dict)
    other_failures: list[str] = field(default_factory=list)  # errors schemathesis itself reported
    logged: list[str] = field(default_factory=list)  # "unhandled error" lines of the server log
    reproducers: list[str] = field(default_factory=list)  # curl commands of the failing requests
    runs: list[int] = field(default_factory=list)  # schemathesis exit codes
    unreported: list[str] = field(default_factory=list)  # runs that wrote no report: nothing is known of them
    checks: str = ""  # what ran, in words


def log(message: str) -> None:
    print(f"[fuzz] {message}", flush=True)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


def local_env(**extra: str) -> dict[str, str]:
    """The environment for our children: no proxies (loopback only), our settings."""
    env = {k: v for k, v in os.environ.items() if k.lower() not in ("http_proxy", "https_proxy", "all_proxy")}
    env["NO_PROXY"] = env["no_proxy"] = "*"
    env.update(extra)
    return env


def build_catalog(work: Path) -> Path:
    from sidecar.compiler.build import build

    started = time.monotonic()
    report = build(repo=ROOT, content_dir=MINIMAL / "content", build_dir=work / "build", log=lambda _: None)
    log(f"built the fixture course in {time.monotonic() - started:.0f} s")
    return Path(report.site_dir).parent


def start_server(work: Path, build_dir: Path, port: int, database: Path | None = None, *,
                 database_url: str | None = None, workers: int | None = None,
                 redis_url: str | None = None) -> tuple[subprocess.Popen[bytes], Path]:
    """`drona serve`'s app on SQLite (work/fuzz.db unless `database`; `database_url` for another), offline,
    answering /api/health; also bench/bench_load.py's server (gamification on, its default, as in a
    deployment). With `workers`, `drona serve --no-build --workers N` itself (with `redis_url`, needed above 1)."""
    origin = f"http://{HOST}:{port}"
    server_log = work / "server.log"
    env = local_env(DRONA_ENV="local", APP_URL=origin,
                    DATABASE_URL=database_url or f"sqlite:///{database or work / 'fuzz.db'}",
                    DRONA_BUILD_DIR=str(build_dir), DRONA_DATA_DIR=str(work / "data"),
                    # The tutor's per-learner limit would answer most AI requests with 429 (fine, but
                    # then the fuzzer never reaches the tutor itself).
                    MAX_AI_REQUESTS_PER_MINUTE="100000", EMBEDDING_MODEL="none")
    for name in ("AI_MODEL", "REDIS_URL", "QDRANT_URL", "SMTP_HOST", "ENABLE_GAMIFICATION"):
        env.pop(name, None)
    if redis_url:
        env["REDIS_URL"] = redis_url
    command = [sys.executable, "-m", "uvicorn", "sidecar.app:create_app", "--factory", "--host", HOST, "--port",
               str(port), "--log-level", "warning", "--no-access-log"]
    if workers is not None:
        command = [sys.executable, "-m", "sidecar.cli", "serve", "--no-build", "--build-dir", str(build_dir),
                   "--host", HOST, "--port", str(port), "--workers", str(workers)]
    with server_log.open("wb") as out:
        proc = subprocess.Popen(command, cwd=work, env=env, stdout=out, stderr=subprocess.STDOUT,
                                start_new_session=True)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"the server exited early:\n{server_log.read_text(errors='replace')}")
        try:
            with urllib.request.urlopen(f"{origin}/api/health", timeout=2):  # noqa: S310 - loopback
                return proc, server_log
        except OSError:
            time.sleep(0.2)
    proc.kill()
    raise RuntimeError("the server did not answer within 120 s")


def stop(proc: subprocess.Popen[Any]) -> None:
    if proc.poll() is not None:
        return
    os.killpg(proc.pid, signal.SIGTERM)  # its own process group (start_new_session): it and its children
    try:
        proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()


def sign_up(origin: str) -> dict[str, str]:
    """A fresh learner: the cookies and headers a signed-in browser tab sends."""
    jar = CookieJar()
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar), urllib.request.ProxyHandler({}))
    with opener.open(f"{origin}/api/auth/csrf", timeout=10) as response:
        token = json.load(response)["csrf_token"]
    body = json.dumps({"email": "fuzz@example.com", "password": "fuzzing is fun 123", "display_name": "Fuzz"})
    request = urllib.request.Request(  # noqa: S310 - our own server on the loopback address
        f"{origin}/api/auth/signup", data=body.encode(), method="POST",
        headers={"Content-Type": "application/json", "X-CSRF-Token": token, "Origin": origin})
    with opener.open(request, timeout=10) as response:
        if response.status != 201:
            raise RuntimeError(f"sign-up failed: {response.status}")
    cookies = {c.name: c.value for c in jar}
    if "drona_session" not in cookies or "drona_csrf" not in cookies:
        raise RuntimeError(f"sign-up set no session: {sorted(cookies)}")
    return {"Cookie": "; ".join(f"{k}={v}" for k, v in cookies.items()),
            "X-CSRF-Token": cookies["drona_csrf"],  # bound to the session: the one set at sign-up
            "Origin": origin}


def catalog_ids(build_dir: Path) -> dict[str, list[str]]:
    """Real ids from the built catalog, so that fuzzed requests get past "not found"."""
    import sqlite3

    found: dict[str, list[str]] = {}
    with sqlite3.connect(f"file:{build_dir / 'catalog.db'}?mode=ro", uri=True) as conn:
        for table in ("tracks", "modules", "lessons", "exercises", "quizzes"):
            found[table] = [row[0] for row in conn.execute(f"SELECT id FROM {table} ORDER BY id")]  # noqa: S608
    return {name: ids for name, ids in found.items() if ids}


# The checks' settings, for every run. A 413 (body over the endpoint's limit) rejects data as surely as a
# 422 does: schemathesis's list of rejections lacks it, and a long string that breaks maxLength is often
# also over the limit.
CHECKS_CONFIG = """[checks.negative_data_rejection]
expected-statuses = ["400", "401", "403", "404", "405", "406", "409", "413", "415", "422", "428", "429"]
"""


def write_config(work: Path, ids: dict[str, list[str]]) -> tuple[Path, Path]:
    """Two schemathesis configuration files, both with CHECKS_CONFIG: one alone (random ids) and one with
    catalog ids and tricky values bound to parameters, half of the time."""
    dictionaries = {**ids, **TRICKY}
    bindings = {"path.exercise_id": "exercises", "body.exercise_id": "exercises", "path.quiz_id": "quizzes",
                "path.lesson_id": "lessons", "body.lesson_id": "lessons", "query.lesson_id": "lessons",
                "query.track_id": "tracks", "body.track_id": "tracks", "body.module_id": "modules",
                "body.timezone": "timezones"}
    lines = [CHECKS_CONFIG]
    for name, values in dictionaries.items():
        lines += [f"[dictionaries.{name}]", f"values = {json.dumps(values)}", ""]
    lines.append("[parameters]")
    for key, name in bindings.items():
        if name in dictionaries:
            lines.append(f'"{key}" = {{ dictionary = "{name}", probability = 0.5 }}')
    # Not work/schemathesis.toml: schemathesis reads that one from its working folder in every run, and the
    # random-ids run must not have these values.
    path = work / "catalog-ids.toml"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    plain = work / "random-ids.toml"
    plain.write_text(CHECKS_CONFIG, encoding="utf-8")
    return plain, path


def run_schemathesis(origin: str, headers: dict[str, str], *, seconds: int, work: Path, name: str,
                     include: str | None, exclude: str | None, workers: int, seed: int,
                     config: Path, checks: str | None = None) -> tuple[int, Path]:
    report = work / f"{name}.json"
    command = [str(Path(sys.executable).parent / "schemathesis"), "--config-file", str(config),
               "run", f"{origin}/openapi.json",
               *(["--checks", checks] if checks else
                 ["--checks", "all", "--exclude-checks", ",".join(sorted(EXCLUDED_CHECKS))]),
               "--max-time", str(seconds), "--workers", str(workers),
               "--seed", str(seed), "--max-redirects", "0", "--request-timeout", "60",
               # Its own default of 10 s fails a code review run in the sandbox on a busy 2-core CI machine: how
               # fast we answer is bench/'s business (bench_load.py); here only a hung request is a failure.
               "--max-response-time", "60",
               "--generation-database", "none", "--suppress-health-check", "all", "--no-color",
               "--report", "json", "--report-json-path", str(report), "--report-dir", str(work / "reports")]
    for key, value in headers.items():
        command += ["--header", f"{key}: {value}"]
    if include:
        command += ["--include-path-regex", include]
    if exclude:
        command += ["--exclude-path-regex", exclude]
    log(f"schemathesis ({name}) for {seconds} s")
    output = work / f"{name}.out"
    with output.open("wb") as out:
        proc = subprocess.Popen(command, cwd=work, env=local_env(), stdout=out, stderr=subprocess.STDOUT,
                                start_new_session=True)
        try:
            code = proc.wait(timeout=seconds + 300)  # --max-time stops it; this is the backstop
        except subprocess.TimeoutExpired:
            log("schemathesis did not stop by itself: stopping it")
            stop(proc)
            code = -1
    return code, report


def read_report(name: str, path: Path, summary: Summary, output: Path) -> None:
    """Counts and failures from schemathesis's JSON report (--report json)."""
    if not path.is_file():
        text = output.read_text(errors="replace") if output.is_file() else ""
        summary.other_failures.append(f"no report from schemathesis; the end of its output:\n{text[-3000:]}")
        summary.unreported.append(name)
        return
    data = json.loads(path.read_text(encoding="utf-8"))
    summary.requests += int(data.get("test_cases", {}).get("generated", 0))
    summary.tested[name] = int(data.get("operations", {}).get("tested", 0))
    summary.total_operations = max(summary.total_operations, int(data.get("operations", {}).get("total", 0)))
    for failure in data.get("failures", []):
        check = check_of(failure)
        if check == "not_a_server_error":
            summary.server_errors.append(failure)
        # The report groups failures by kind, with the operations that had one (its counts are per group).
        for operation in failure.get("operations") or ["(the run as a whole)"]:
            summary.violations.setdefault((check, operation), []).append(name)
    for error in data.get("errors", []):
        summary.other_failures.append(f"schemathesis: {error.get('title')} ({error.get('count', 1)}x)")
    # The report names failing operations; the console output has the requests that failed.
    if output.is_file():
        for block in output.read_text(errors="replace").split("Reproduce with:")[1:]:
            curl = next((line.strip() for line in block.splitlines() if line.strip().startswith("curl ")), None)
            if curl:
                summary.reproducers.append(curl)


def check_of(failure: dict[str, Any]) -> str:
    """The check a failure group of the JSON report is about (its failure class's check, else its title)."""
    found = CHECK_OF_FAILURE.get(str(failure.get("type")))
    if found:
        return found
    text = json.dumps(failure).lower()
    if "server error" in text or re.search(r'"status[_a-z]*": 5\d\d', text):
        return "not_a_server_error"
    return str(failure.get("title") or failure.get("type") or "unknown")


def logged_errors(text: str) -> list[str]:
    """Each "unhandled error on METHOD PATH" of the server log (sidecar/errors.py), with its exception."""
    found = []
    for chunk in text.split("unhandled error on ")[1:]:
        lines = chunk.splitlines()
        # The traceback's last exception line (chained tracebacks print several), e.g. "OSError: ...".
        exceptions = [line for line in lines if re.match(r"^[A-Za-z_][\w.]*(Error|Exception|Exit)\b", line)]
        found.append(f"{lines[0].strip()}: {exceptions[-1].strip() if exceptions else '(no traceback)'}")
    return found


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0] if __doc__ else None)
    parser.add_argument("--minutes", type=float, default=5.0, help="time budget for fuzzing (default 5)")
    parser.add_argument("--build-dir", type=Path, help="a built catalog (catalog.db and site/) to use")
    # One worker: the machine has two cores and the server needs one; and schemathesis's coverage
    # phase has hit a thread-safety error in Hypothesis with two.
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--seed", type=int, default=int(time.time()) % 100_000)
    parser.add_argument("--keep", action="store_true", help="keep the work folder (reports, server log)")
    parser.add_argument("--checks", help="schemathesis's checks to run, comma-separated (default: all but "
                                         f"{', '.join(sorted(EXCLUDED_CHECKS))})")
    args = parser.parse_args(argv)
    work = Path(tempfile.mkdtemp(prefix="drona-fuzz-"))
    summary = Summary(checks=args.checks or "")
    server = None
    started = time.monotonic()
    try:
        build_dir = args.build_dir.resolve() if args.build_dir else build_catalog(work)
        port = free_port()
        origin = f"http://{HOST}:{port}"
        server, server_log = start_server(work, build_dir, port)
        headers = sign_up(origin)
        plain, config = write_config(work, catalog_ids(build_dir))
        log(f"server on {origin}, signed in as fuzz@example.com; seed {args.seed}")
        total = max(3, round(args.minutes * 60))
        ending = min(SESSION_ENDING_SECONDS, max(1, total // 10))
        free = (total - ending) // 2
        runs = (("random-ids", free, None, NOT_FUZZED, plain),
                ("catalog-ids", total - ending - free, None, NOT_FUZZED, config),
                ("session-ending", ending, SESSION_ENDING, None, config))
        for name, seconds, include, exclude, config_file in runs:
            code, report = run_schemathesis(origin, headers, seconds=seconds, work=work, name=name, include=include,
                                            exclude=exclude, workers=args.workers, seed=args.seed, config=config_file,
                                            checks=args.checks)
            summary.runs.append(code)
            read_report(name, report, summary, work / f"{name}.out")
        summary.logged = logged_errors(server_log.read_text(errors="replace"))
    finally:
        if server is not None:
            stop(server)
    print_summary(summary, work, time.monotonic() - started)
    failed = has_failed(summary)
    if failed or args.keep:
        log(f"reports and the server log are in {work}")
    else:
        shutil.rmtree(work, ignore_errors=True)
    return 1 if failed else 0


def has_failed(summary: Summary) -> bool:
    """Any failed check (a 5xx or a schema violation), an unhandled error in the server's log, or a run that
    schemathesis itself ended with a failure (an error it could not test past)."""
    return bool(summary.violations or summary.logged or summary.unreported or any(code != 0 for code in summary.runs))


def print_summary(summary: Summary, work: Path, elapsed: float) -> None:
    print()
    print("API fuzzing summary")
    print(f"  time:                {elapsed / 60:.1f} min")
    print(f"  requests sent:       {summary.requests:,}")
    # The runs before the last test the same operations (all but the session-ending ones).
    covered = max((n for name, n in summary.tested.items() if name != "session-ending"), default=0)
    covered += summary.tested.get("session-ending", 0)
    print(f"  operations covered:  {covered} of {summary.total_operations}")
    print(f"  server errors (5xx): {len(summary.server_errors)} in schemathesis's report, "
          f"{len(summary.logged)} in the server log")
    schema = sum(1 for check, _ in summary.violations if check != "not_a_server_error")
    checks = summary.checks or f"all but {', '.join(sorted(EXCLUDED_CHECKS))}"
    print(f"  schema violations:   {schema} (operation and check pairs; checks: {checks})")
    print(f"  other findings:      {len(summary.other_failures)}")
    for (check, operation), runs in sorted(summary.violations.items()):
        print(f"  violation: {check:<30} {operation}  (in {', '.join(runs)})")
    for failure in summary.server_errors[:20]:
        print("  5xx:", json.dumps(failure)[:1500])
    for line in summary.reproducers[:20]:
        print("  request:", line[:1500])
    for line in summary.logged[:20]:
        print("  server log:", line[:300])
    for other in summary.other_failures[:10]:
        print("  note:", other[:300])


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT))
    raise SystemExit(main())
