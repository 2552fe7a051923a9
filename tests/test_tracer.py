"""The Visualization canvas's tracer (sidecar/courseware/tracer.py), run in CPython as the worker runs it
in Pyodide: steps, frames, aliasing, output, input(), errors and the step limit."""

from __future__ import annotations

import io
import json
import sys
from typing import Any

import pytest

from sidecar.courseware.tracer import MAX_ITEMS, MAX_OBJECTS, trace_json, trace_program


def _vars(step: dict[str, Any], frame: int = -1) -> dict[str, Any]:
    return dict((name, value) for name, value in step["frames"][frame]["vars"])


def test_two_names_on_one_list_point_at_one_box() -> None:
    trace = trace_program("a = [1, 2]\nb = a\nb.append(3)\nc = [1, 2, 3]\nprint(a)\n")
    last = trace["steps"][-1]
    names = _vars(last)
    assert names["a"] == names["b"] and "r" in names["a"], "an alias is the same reference"
    assert names["c"] != names["a"], "an equal list is another object"
    box = last["heap"][str(names["a"]["r"])]
    assert box == {"t": "list", "items": [{"p": "1"}, {"p": "2"}, {"p": "3"}], "more": 0}
    # Before line 3 ran, the shared list had two items; after it, three: each step is its own picture.
    before = next(s for s in trace["steps"] if s["line"] == 3)
    assert len(before["heap"][str(names["a"]["r"])]["items"]) == 2
    assert trace["output"] == "[1, 2, 3]\n" and trace["error"] is None and not trace["truncated"]


def test_each_line_is_a_step_in_order_and_calls_push_a_frame() -> None:
    code = "def double(n):\n    result = n * 2\n    return result\n\nx = double(21)\nprint(x)\n"
    steps = trace_program(code)["steps"]
    assert [(s["event"], s["line"]) for s in steps] == [
        ("line", 1), ("line", 5), ("call", 1), ("line", 2), ("line", 3), ("return", 3), ("line", 6), ("return", 6)]
    inside = steps[4]
    assert [f["name"] for f in inside["frames"]] == ["<module>", "double"]
    assert _vars(inside) == {"n": {"p": "21"}, "result": {"p": "42"}}
    assert steps[5]["frames"][-1]["ret"] == {"p": "42"}, "the return step shows the value returned"
    assert "ret" not in steps[-1]["frames"][-1], "the module's end returns nothing worth showing"
    assert _vars(steps[-1])["x"] == {"p": "42"}
    # A function is an object on the heap, named with its parameters.
    assert {"t": "function", "name": "double(n)"} in steps[-1]["heap"].values()


def test_recursion_shows_every_frame() -> None:
    code = "def fact(n):\n    if n <= 1:\n        return 1\n    return n * fact(n - 1)\n\nprint(fact(4))\n"
    steps = trace_program(code)["steps"]
    deepest = max(steps, key=lambda s: len(s["frames"]))
    assert [f["name"] for f in deepest["frames"]] == ["<module>", "fact", "fact", "fact", "fact"]
    assert [_vars(deepest, i)["n"]["p"] for i in range(1, 5)] == ["4", "3", "2", "1"]


def test_output_is_cut_at_each_step() -> None:
    trace = trace_program("print('one')\nprint('two')\nprint('three')\n")
    by_line = {s["line"]: s["out"] for s in trace["steps"] if s["event"] == "line"}
    assert trace["output"][:by_line[1]] == ""
    assert trace["output"][:by_line[2]] == "one\n"
    assert trace["output"][:by_line[3]] == "one\ntwo\n"


def test_input_reads_stdin_and_the_typed_line_is_echoed(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sys, "stdin", io.StringIO("Ada\n"))
    trace = trace_program("name = input('Name: ')\nprint('Hi', name)\n")
    assert trace["output"] == "Name: Ada\nHi Ada\n"
    assert _vars(trace["steps"][-1])["name"] == {"p": "'Ada'"}
    assert "input" not in _vars(trace["steps"][-1]), "the tracer's own input() is not a learner variable"


def test_input_past_the_end_is_an_eof_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sys, "stdin", io.StringIO(""))
    trace = trace_program("x = input()\n")
    assert trace["error"] and trace["error"].splitlines()[-1].startswith("EOFError")


def test_an_error_is_a_step_and_the_traceback_names_the_learners_line() -> None:
    trace = trace_program("items = [1, 2]\nprint(items[5])\n")
    assert trace["steps"][-1]["event"] == "exception" and trace["steps"][-1]["exception"] == "IndexError"
    assert 'File "main.py", line 2' in trace["error"] and trace["error"].endswith("IndexError: list index out of range")


def test_a_syntax_error_has_no_steps() -> None:
    trace = trace_program("print('unclosed'\n")
    assert trace["steps"] == [] and trace["error"] and "SyntaxError" in trace["error"]


def test_the_step_limit_stops_an_endless_loop() -> None:
    trace = trace_program("n = 0\nwhile True:\n    n += 1\n", max_steps=300)
    assert trace["truncated"] and len(trace["steps"]) == 300 and trace["error"] is None
    assert int(_vars(trace["steps"][-1])["n"]["p"]) > 100


def test_a_bare_except_cannot_swallow_the_step_limit_for_long() -> None:
    code = "n = 0\nfor i in range(5000):\n    try:\n        n += 1\n    except:\n        pass\n"
    trace = trace_program(code, max_steps=200)
    assert trace["truncated"] and len(trace["steps"]) == 200


def test_the_standard_library_is_not_stepped_into() -> None:
    trace = trace_program("import json\ntext = json.dumps({'a': [1, 2]})\nprint(text)\n")
    assert {f["name"] for s in trace["steps"] for f in s["frames"]} == {"<module>"}
    assert "json" not in _vars(trace["steps"][-1]), "modules are not drawn as variables"


def test_dicts_sets_tuples_and_objects_are_drawn() -> None:
    code = ("class Point:\n    def __init__(self, x, y):\n        self.x = x\n        self.y = y\n\n"
            "p = Point(1, 2)\nd = {'origin': p, 'n': 3}\ns = {3, 1, 2}\nt = (p, p)\n")
    last = trace_program(code)["steps"][-1]
    names, heap = _vars(last), last["heap"]
    point = heap[str(names["p"]["r"])]
    assert point == {"t": "object", "class": "Point", "attrs": [["x", {"p": "1"}], ["y", {"p": "2"}]], "more": 0}
    assert heap[str(names["d"]["r"])]["entries"] == [[{"p": "'origin'"}, names["p"]], [{"p": "'n'"}, {"p": "3"}]]
    assert heap[str(names["s"]["r"])]["items"] == [{"p": "1"}, {"p": "2"}, {"p": "3"}], "a set in a stable order"
    assert heap[str(names["t"]["r"])]["items"] == [names["p"], names["p"]]
    assert heap[str(names["Point"]["r"])] == {"t": "class", "name": "Point"}


def test_big_containers_and_heaps_are_capped_and_counted() -> None:
    code = "big = list(range(500))\nmany = [[[j] for j in range(30)] for i in range(30)]\nprint(len(many))\n"
    last = trace_program(code, max_steps=20_000)["steps"][-1]
    names = _vars(last)
    big = last["heap"][str(names["big"]["r"])]
    assert len(big["items"]) == MAX_ITEMS and big["more"] == 500 - MAX_ITEMS
    assert len(last["heap"]) <= MAX_OBJECTS and last["omitted"] > 0


def test_a_failing_repr_does_not_break_the_picture() -> None:
    code = ("class Odd:\n    __slots__ = ()\n    def __repr__(self):\n        raise RuntimeError('no')\n\n"
            "x = Odd()\ny = 10 ** 5000\n")
    trace = trace_program(code)
    assert trace["error"] is None
    last = trace["steps"][-1]
    assert last["heap"][str(_vars(last)["x"]["r"])]["repr"] == "<Odd>"
    assert _vars(last)["y"] == {"p": "<int>"}


def test_ids_are_stable_across_steps_even_when_objects_die() -> None:
    code = "for i in range(3):\n    item = [i]\n    keep = item\n"
    steps = trace_program(code)["steps"]
    refs = [_vars(s)["item"]["r"] for s in steps if "item" in _vars(s)]
    assert len(set(refs)) == 3, "each new list is a new box, never a reused number"


def test_the_json_form_is_one_parseable_document() -> None:
    text = trace_json("x = 'é'\nprint(x)\n")
    data = json.loads(text)
    assert data["output"] == "é\n" and data["code"] == "x = 'é'\nprint(x)\n" and data["max_steps"] == 1000


def test_an_async_program_is_traced_on_the_simulated_clock() -> None:
    """asyncio.run works under the tracer too (the harness's virtual clock): the coroutines' lines are
    steps, asyncio's own are not, and the gathered sleeps finish without waiting."""
    code = ("import asyncio\nasync def tick(n):\n    await asyncio.sleep(n)\n    return n\n"
            "async def main():\n    got = await asyncio.gather(tick(2), tick(1))\n    print(got)\n"
            "asyncio.run(main())\n")
    trace = trace_program(code)
    assert trace["error"] is None and trace["output"] == "[2, 1]\n"
    lines = [step["line"] for step in trace["steps"]]
    assert lines.count(3) >= 2 and lines.count(4) >= 2, "both ticks sleep and come back to return"
    assert set(lines) <= set(range(1, 9))
