"""`drona validate` rejects hint rungs that, with the starter, hand over the whole solution.

Each case writes one exercise into a copy of the minimal content tree and validates it: a rung
before the bottom-out one fails when its code (blocks and inline spans, together with the rungs
before it) covers (nearly) everything the solution adds to the starter, and passes when it names
one step or one construct. The demo content (content/) validating clean with this rule is covered
by the demo build (tests/test_build.py) and by test_demo_content_validates_clean below.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from sidecar.courseware.leaks import check_code_leak, diff_coverage
from sidecar.courseware.validate import validate
from sidecar.settings import REPO_ROOT

EXERCISE = "content/tracks/demo-track/demo-course/first-steps/exercises/double-it.yaml"
LINE_RE = re.compile(r"^(?P<path>[^:\s]+):(?P<line>\d+): (?P<message>.+)$")
WHOLE = "is (nearly) everything the solution adds to the starter"

STARTER = 'n = int(input("n: "))\n# add up the numbers from 1 to n and print the sum\n'
SOLUTION = 'n = int(input("n: "))\ntotal = 0\nfor i in range(1, n + 1):\n    total += i\nprint(total)\n'

# The same slug and id as the fixture's exercise, so the lesson that places it stays valid.
HEAD = """\
id: 00000000-0000-4000-8000-000000000015
title: Sum to n
prompt: |
  Read `n` and print the sum of the whole numbers from 1 to `n`.
starter: |
  n = int(input("n: "))
  # add up the numbers from 1 to n and print the sum
solution: |
  n = int(input("n: "))
  total = 0
  for i in range(1, n + 1):
      total += i
  print(total)
randomized: true
tests:
  visible:
    - name: sums to 4
      stdin: "4\\n"
      code: |
        assert output.endswith("10\\n"), f"for 4 expected 10, got {output!r}"
  hidden:
    - name: sums a random n
      stdin: "3\\n"
      code: |
        k = rng.randint(1, 500)
        assert run(f"{k}\\n").endswith(f"{k * (k + 1) // 2}\\n")
      feedback: Check that the last number, n itself, is added too.
misconceptions:
  - wrong_code: |
      n = int(input("n: "))
      total = 0
      for i in range(n):
          total += i
      print(total)
    question: Which numbers does `range(n)` produce? Is `n` among them?
hints:
"""
BOTTOM = """\
  - text: |
      ```python
      total = 0
      for i in range(1, n + 1):
          total += i
      print(total)
      ```
    bottom_out: true
"""


def _write(root: Path, rungs: list[str]) -> list[int]:
    """Write the exercise with these rungs (YAML lines, each starting `  - text:`) before the
    bottom-out one; returns the line number of each rung's text."""
    text = HEAD + "".join(rung if rung.endswith("\n") else rung + "\n" for rung in rungs) + BOTTOM
    (root / EXERCISE).write_text(text, encoding="utf-8")
    return [n for n, line in enumerate(text.splitlines(), start=1) if line.startswith("  - text:")]


def _problems(root: Path, *, run_code: bool = False) -> list[tuple[str, int, str]]:
    result = validate(root / "content", root, run_code=run_code)
    out = []
    for problem in result.problems.sorted():
        match = LINE_RE.match(str(problem))
        assert match, f"not path:line: message: {problem}"
        out.append((match["path"], int(match["line"]), match["message"]))
    return out


def _rejected(root: Path, rungs: list[str], expected: dict[int, str]) -> list[tuple[str, int, str]]:
    """Validate; exactly the rungs in `expected` (index -> message fragment) are reported, each at
    its own text line."""
    lines = _write(root, rungs)
    problems = _problems(root)
    assert [(p[0], p[1]) for p in problems] == [(EXERCISE, lines[i]) for i in sorted(expected)], problems
    for (_, _, message), i in zip(problems, sorted(expected), strict=True):
        assert message.startswith(f"hints[{i}].text gives the solution away before the bottom-out rung"), message
        assert expected[i] in message, message
        assert "describe the step in words" in message
    return problems


FIRST = "  - text: What do you need to remember while you count from 1 to n?"


def test_fenced_block_with_every_added_line_is_rejected(content_tree: Path) -> None:
    fenced = """\
  - text: |
      Keep a running total:

      ```python
      total = 0
      for i in range(1, n + 1):
          total = total + i
      print(total)
      ```
"""
    _rejected(content_tree, [FIRST, fenced], {1: WHOLE})


def test_several_inline_spans_covering_the_difference_are_rejected(content_tree: Path) -> None:
    spans = ("  - text: \"Start at `total = 0`, loop with `for i in range(1, n + 1):`, add each number "
             "with `total += i` and finish with `print(total)`.\"")
    _rejected(content_tree, [FIRST, spans], {1: WHOLE})


def test_spans_cut_into_pieces_are_put_back_together(content_tree: Path) -> None:
    # No span is a whole line, and none alone is a substantial solution line.
    pieces = ("  - text: \"Begin with `total = 0`; the loop is `for i in` over `range(1, n + 1)`; its body is "
              "`total = total +` then `i`; at the end `print(total)`.\"")
    _rejected(content_tree, [FIRST, pieces], {1: WHOLE})


def test_rungs_that_reveal_it_together_are_rejected_at_the_rung_that_completes_it(content_tree: Path) -> None:
    # Each rung shows at most half of the added code, so the per-rung leak guard passes both;
    # a learner reading them in order has all of it.
    first = "  - text: \"Start with `total = 0` and loop `for i in` `range(1, n + 1)`.\""
    second = "  - text: \"Add each number with `total += i`, and once the loop ends, `print(total)`.\""
    for rung in (first, second):
        assert not check_code_leak(rung, SOLUTION, starter=STARTER, count_inline=True).leaked
        assert not diff_coverage([rung], SOLUTION, starter=STARTER).complete
    problems = _rejected(content_tree, [FIRST, first, second], {2: "together with the rung(s) before it"})
    assert WHOLE in problems[0][2]


def test_renamed_variables_still_give_it_away(content_tree: Path) -> None:
    renamed = """\
  - text: |
      For example:

          acc = 0
          for k in range(1, n + 1):
              acc += k
          print(acc)
"""
    _rejected(content_tree, [FIRST, renamed], {1: WHOLE})


def test_every_giveaway_is_reported_in_one_run(content_tree: Path) -> None:
    fenced = ("  - text: |\n      ```\n      total = 0\n      for i in range(1, n + 1):\n          total += i\n"
              "      print(total)\n      ```\n")
    spans = "  - text: \"`total = 0`, `for i in range(1, n + 1):`, `total += i`, `print(total)`.\""
    _rejected(content_tree, [FIRST, fenced, spans], {1: WHOLE, 2: WHOLE})


def test_a_rung_that_names_one_step_or_construct_is_accepted(content_tree: Path) -> None:
    _write(content_tree, [
        FIRST,
        "  - text: \"Use a `for` loop over `range(1, n + 1)` so that `n` itself is included.\"",
        "  - text: \"Keep a running total that starts at zero before the loop and grows by each number; "
        "print it once the loop is done.\"",
    ])
    assert _problems(content_tree, run_code=True) == []


def test_one_line_of_the_difference_across_the_rungs_is_accepted(content_tree: Path) -> None:
    # `total = 0` and the loop's range are short, named pieces: the learner still writes the loop.
    _write(content_tree, [
        "  - text: \"Before the loop, set up an accumulator: `total = 0`.\"",
        "  - text: \"Count with `range(1, n + 1)`; the stop is never included.\"",
    ])
    assert _problems(content_tree) == []


def test_the_bottom_out_rung_may_show_everything(content_tree: Path) -> None:
    _write(content_tree, [FIRST, "  - text: Which variable grows each time round the loop?"])
    assert _problems(content_tree) == []
    assert diff_coverage([BOTTOM], SOLUTION, starter=STARTER).complete  # shown whole, and allowed there


def test_an_edited_starter_line_counts_only_what_changes(content_tree: Path) -> None:
    # When the solution edits one starter line, naming the new part is the whole difference.
    starter = "for i in range(1, 4):\n    print(i)\n"
    solution = "for i in range(1, 11):\n    print(i)\n"
    assert diff_coverage(["`range(1, 11)` counts to 10."], solution, starter=starter).complete
    assert not diff_coverage(["`range(1, 4)` stops before 4."], solution, starter=starter).complete


@pytest.mark.parametrize("path", sorted((REPO_ROOT / "content").rglob("exercises/*.yaml")),
                         ids=lambda p: p.stem)
def test_demo_rungs_leave_the_learner_something_to_write(path: Path) -> None:
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    rungs = [hint["text"] for hint in data["hints"] if not hint.get("bottom_out")]
    for i in range(len(rungs)):
        coverage = diff_coverage(rungs[: i + 1], data["solution"], starter=data.get("starter", ""))
        assert not coverage.complete, f"hints[{i}]: {coverage.detail}"


def test_demo_content_validates_clean() -> None:
    result = validate(REPO_ROOT / "content", REPO_ROOT, run_code=False)
    assert [str(p) for p in result.problems.sorted()] == []
