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


# ---- the boundary: plain data only, the same in every interpreter ---------------------------------
def _one(code: str, test_code: str, **test: object) -> dict[str, object]:
    return run_tests(code, [{"name": "t", "code": test_code, **test}])["results"][0]


def test_plain_values_cross_the_boundary_as_they_are() -> None:
    code = ("def values():\n    return [1, 2.5, float('nan'), 10**40, 'é', b'\\x00\\xff', (1, (2,)), {3, 4},"
            " frozenset({5}), {1: 'a', (2, 3): None}, True, None, 1j]\n")
    test = ("v = values()\nassert v[0] == 1 and type(v[0]) is int and type(v[1]) is float and v[2] != v[2]\n"
            "assert v[3] == 10**40 and v[4] == 'é' and v[5] == b'\\x00\\xff' and v[6] == (1, (2,))\n"
            "assert v[7] == {3, 4} and type(v[8]) is frozenset and v[9] == {1: 'a', (2, 3): None}\n"
            "assert v[10] is True and v[11] is None and v[12] == 1j")
    assert _one(code, test)["passed"] is True


def test_lookalikes_never_pass_for_values() -> None:
    anything = "class A:\n    def __eq__(self, other):\n        return True\ndef add(a, b):\n    return A()\n"
    failed = _one(anything, "assert add(2, 3) == 5")
    assert failed["passed"] is False and "cannot be compared" in str(failed["message"])
    subclass = ("class Five(int):\n    def __eq__(self, other):\n        return True\n"
                "def add(a, b):\n    return Five(1)\n")
    assert _one(subclass, "assert add(2, 3) == 5")["passed"] is False
    lying_str = ("class S(str):\n    def __eq__(self, other):\n        return True\n"
                 "def greet(name):\n    return S('nope')\n")
    assert _one(lying_str, "assert greet('Ada') == 'Hello, Ada!'")["passed"] is False


def test_program_exceptions_arrive_by_name_with_the_learners_traceback() -> None:
    code = "def root(x):\n    if x < 0:\n        raise ValueError('negative')\n    return x ** 0.5\n"
    assert _one(code, "try:\n    root(-1)\nexcept ValueError as e:\n    assert str(e) == 'negative'\n"
                      "else:\n    raise AssertionError('no ValueError')")["passed"] is True
    uncaught = _one(code, "root(-1)")
    assert uncaught["passed"] is False and 'File "main.py", line 3, in root' in str(uncaught["message"])
    custom = "class Oops(Exception):\n    pass\ndef f():\n    raise Oops('x')\n"
    assert "Oops" in str(_one(custom, "f()")["message"])


def test_objects_of_the_program_are_handles() -> None:
    code = ("class Counter:\n    def __init__(self):\n        self.value = 0\n    def increment(self, by=1):\n"
            "        self.value += by\n        return self\nc = Counter()\n")
    test = ("x = Counter()\nx.increment()\nx.increment(by=2)\nassert x.value == 3\nassert c.value == 0\n"
            "assert Counter().increment().increment().value == 2")
    assert _one(code, test)["passed"] is True
    assert "cannot be iterated" in str(_one(code, "list(Counter())")["message"])


def test_what_a_call_prints_is_printed_in_the_test_and_builtins_stay_real() -> None:
    code = ("len = lambda x: 0\nstr = lambda x: 'x'\n"
            "def greet(name):\n    print('side effect')\n    return 'Hi ' + name\n")
    test = ("import contextlib, io\nbuf = io.StringIO()\nwith contextlib.redirect_stdout(buf):\n"
            "    value = greet('Ada')\nassert value == 'Hi Ada' and buf.getvalue() == 'side effect\\n'\n"
            "assert len('abc') == 3 and str(5) == '5'")
    assert _one(code, test)["passed"] is True


def test_arguments_must_be_plain_data() -> None:
    result = _one("def f(x):\n    return x\n", "f(object())")
    assert result["passed"] is False and "plain data" in str(result["message"])


def test_a_syntax_error_quotes_the_learners_line_whatever_main_py_holds_on_disk(tmp_path, monkeypatch) -> None:
    """CPython re-reads a SyntaxError's line from the file named in the error; a stale main.py in the
    working directory (another program's) must not be quoted as the learner's code."""
    (tmp_path / "main.py").write_text("def something_else():\n    pass\n", encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    result = run_tests("x = 1\nprint(Hello, World!)\n", [{"name": "t", "code": "assert True"}])
    message = result["results"][0]["message"]
    assert 'File "main.py", line 2' in message and "print(Hello, World!)" in message, message
    assert "something_else" not in message
