"""The shared test harness: the same code runs in Pyodide, in validation and on the server."""

from __future__ import annotations

from sidecar.courseware.harness import MAX_OUTPUT_CHARS, run_program, run_tests


def test_passing_and_failing_tests_with_messages() -> None:
    tests = [
        {"name": "adds", "code": "assert add(2, 3) == 5, f'add(2, 3) gave {add(2, 3)}'"},
        {"name": "negative", "code": "assert add(-1, -1) == -2", "hidden": True, "feedback": "Try negatives."},
    ]
    good = run_tests("def add(a, b):\n    return a + b\n", tests)
    assert good["passed"] and [r["passed"] for r in good["results"]] == [True, True]
    bad = run_tests("def add(a, b):\n    return abs(a) + b\n", tests)
    assert not bad["passed"]
    assert bad["results"][0]["passed"] is True
    assert bad["results"][1] == {"name": "negative", "passed": False, "message": "Try negatives.", "hidden": True}


def test_hidden_test_never_reveals_details() -> None:
    tests = [{"name": "secret", "code": "assert output == 'the secret 8675309\\n', output", "hidden": True}]
    result = run_tests("print('nope')", tests)["results"][0]
    assert "8675309" not in result["message"] and "nope" not in result["message"]


def test_output_stdin_and_rerun() -> None:
    code = "name = input('Name? ')\nprint(f'Hi {name}')\n"
    tests = [{"name": "greets", "stdin": "Ada\n", "code": "assert output == 'Name? Hi Ada\\n', repr(output)\n"
                                                             "assert run('Bo\\n') == 'Name? Hi Bo\\n'"}]
    assert run_tests(code, tests)["passed"]
    missing = run_tests(code, [{"name": "no input", "code": "pass"}])["results"][0]
    assert not missing["passed"] and "EOFError" in missing["message"]


def test_program_errors_show_learner_frames_only() -> None:
    result = run_tests("x = 1\ny = x / 0\n", [{"name": "t", "code": "pass"}])["results"][0]
    assert 'File "main.py", line 2' in result["message"]
    assert "ZeroDivisionError" in result["message"]
    assert "harness" not in result["message"]
    assert "SyntaxError" in run_tests("def (:\n", [{"name": "t", "code": "pass"}])["results"][0]["message"]


def test_missing_function_is_a_readable_failure() -> None:
    result = run_tests("", [{"name": "t", "code": "assert add(1, 2) == 3"}])["results"][0]
    assert result["message"] == "NameError: name 'add' is not defined"


def test_rng_is_seeded_per_run() -> None:
    tests = [{"name": "r", "code": "assert rng.randint(1, 10**9) == rng_expected"}]
    import random

    expected = random.Random(42).randint(1, 10**9)
    assert run_tests(f"rng_expected = {expected}", tests, seed=42)["passed"]
    assert not run_tests(f"rng_expected = {expected}", tests, seed=43)["passed"]


def test_exit_and_output_cap() -> None:
    assert run_tests("import sys\nsys.exit(0)", [{"name": "t", "code": "pass"}])["passed"]
    failed = run_tests("import sys\nsys.exit(3)", [{"name": "t", "code": "pass"}])["results"][0]
    assert "status 3" in failed["message"]
    capped = run_tests("print('x' * 10**6)", [{"name": "t", "code": "assert len(output) == LIMIT"}],)
    assert not capped["passed"]
    sized = run_tests(f"LIMIT = {MAX_OUTPUT_CHARS}\nprint('x' * 10**6)",
                      [{"name": "t", "code": "assert len(output) == LIMIT"}])
    assert sized["passed"]


def test_run_program_returns_traceback_or_none(capsys) -> None:
    assert run_program("print('hello')") is None
    assert capsys.readouterr().out == "hello\n"
    error = run_program("def f():\n    return 1 / 0\nf()\n")
    assert error is not None and "line 2, in f" in error and "ZeroDivisionError" in error
