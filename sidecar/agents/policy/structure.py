"""What is structurally wrong with the learner's code, compared with the reference (AST).

The tutor's offline policy needs to name the learner's actual mistake even when no authored
misconception matches. This module parses both programs and looks for the first place where the
learner's program differs from the reference in a way that explains a failing test: a loop whose
`range` stops one short, an accumulator reset inside its loop, `input()` used as a number, a
function that prints instead of returning, conditions in the wrong order, and so on.

Each finding is said in the tutor's own words: the learner's line (quoted: it is theirs), the
concept, and a question. The reference is only compared against, never quoted: no finding's text
contains a line, name or literal that only the reference has. Findings come most specific first;
the caller shows the first and keeps the rest for follow-ups.
"""

from __future__ import annotations

import ast
import difflib
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import lru_cache

MAX_QUOTE = 80
_HEADER = re.compile(r"^\s*(if|elif|else|for|while|def|class|try|except|finally|with)\b")
_ASSIGN_IN_TEST = re.compile(r"^\s*(if|elif|while)\b[^#]*[^=!<>:]=[^=]")
_STRICT = {ast.Gt: ast.GtE, ast.GtE: ast.Gt, ast.Lt: ast.LtE, ast.LtE: ast.Lt}
_OP_TEXT = {ast.Gt: ">", ast.GtE: ">=", ast.Lt: "<", ast.LtE: "<=", ast.Eq: "==", ast.NotEq: "!=",
            ast.Div: "/", ast.FloorDiv: "//", ast.Mod: "%", ast.Add: "+", ast.Sub: "-", ast.Mult: "*"}
_TIDY_METHODS = ("strip", "lower", "upper", "casefold")
SYNTAX_CONCEPTS = frozenset({"indentation", "assign-vs-compare", "colon", "brackets", "quotes", "syntax"})
# Mistakes that cause a runtime error rather than a wrong value: named together with the error.
ERROR_CAUSES = frozenset({"endless-loop", "input-text", "int-vs-float", "print-not-return", "no-return",
                          "fall-through", "parameters", "default", "function-missing", "function-name"})


@dataclass(frozen=True)
class Finding:
    line: int | None  # the learner's line, 1-based; None when something is missing altogether
    concept: str  # a short key ("range-stop", "input-text", ...), for tests and logs
    text: str  # what is wrong, in the tutor's words, naming the line
    question: str  # the guiding question that goes with it

    def say(self) -> str:
        return f"{self.text} {self.question}"


# ---- helpers ------------------------------------------------------------------------------------


class _Program:
    """A parsed program with what the checks ask of it."""

    def __init__(self, tree: ast.Module, source: str) -> None:
        self.tree = tree
        self.lines = source.splitlines()
        self.parents: dict[ast.AST, ast.AST] = {}
        for node in ast.walk(tree):
            for child in ast.iter_child_nodes(node):
                self.parents[child] = node

    def nodes(self, kind: type[ast.AST] | tuple[type[ast.AST], ...]) -> list[ast.AST]:
        found = [n for n in ast.walk(self.tree) if isinstance(n, kind)]
        return sorted(found, key=lambda n: (getattr(n, "lineno", 0), getattr(n, "col_offset", 0)))

    def calls(self, name: str) -> list[ast.Call]:
        return [n for n in self.nodes(ast.Call) if isinstance(n, ast.Call) and isinstance(n.func, ast.Name)
                and n.func.id == name]

    def methods(self) -> set[str]:
        return {n.func.attr for n in self.nodes(ast.Call) if isinstance(n, ast.Call)
                and isinstance(n.func, ast.Attribute)}

    def quote(self, line: int | None) -> str:
        if line is None or not 0 < line <= len(self.lines):
            return ""
        text = self.lines[line - 1].strip().replace("`", "'")
        return text if len(text) <= MAX_QUOTE else text[: MAX_QUOTE - 1] + "…"

    def at(self, line: int | None) -> str:
        """"Line 3, `for i in range(n):`," — the learner's own line, quoted."""
        quoted = self.quote(line)
        return f"Line {line}, `{quoted}`," if quoted else f"Line {line}"

    def enclosing_loop(self, node: ast.AST) -> ast.For | ast.While | None:
        """The loop whose body (not its header) holds `node`, within the same function."""
        child, current = node, self.parents.get(node)
        while current is not None and not isinstance(current, (ast.FunctionDef, ast.Module)):
            if isinstance(current, (ast.For, ast.While)) and any(child is stmt for stmt in current.body):
                return current
            child, current = current, self.parents.get(current)
        return None

    def in_function(self, node: ast.AST) -> bool:
        current = self.parents.get(node)
        while current is not None:
            if isinstance(current, ast.FunctionDef):
                return True
            current = self.parents.get(current)
        return False


def _shape(node: ast.AST | None) -> str:
    """A node's structure with names blanked: `range(1, n)` and `range(1, k)` have the same shape."""
    if node is None:
        return ""

    class Blank(ast.NodeTransformer):
        def visit_Name(self, name: ast.Name) -> ast.AST:
            return ast.copy_location(ast.Name(id="_", ctx=ast.Load()), name)

    return ast.dump(Blank().visit(_copy(node)), annotate_fields=False)


def _copy(node: ast.AST) -> ast.AST:
    return ast.parse(ast.unparse(node), mode="eval").body if isinstance(node, ast.expr) else node


def _names(node: ast.AST) -> set[str]:
    return {n.id for n in ast.walk(node) if isinstance(n, ast.Name)}


def _assigned(body: list[ast.stmt]) -> set[str]:
    out: set[str] = set()
    for stmt in body:
        for node in ast.walk(stmt):
            if isinstance(node, (ast.Assign, ast.AugAssign, ast.AnnAssign)):
                targets = node.targets if isinstance(node, ast.Assign) else [node.target]
                for target in targets:
                    out |= _names(target)
            elif isinstance(node, (ast.For, ast.comprehension, ast.NamedExpr)):
                out |= _names(node.target)
            elif isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) \
                    and isinstance(node.func.value, ast.Name):
                out.add(node.func.value.id)  # items.pop(), items.append(...) change the value
    return out


def _if_chains(program: _Program) -> list[list[ast.If]]:
    """Every if/elif chain, as its If nodes (an `elif` is an If alone in its parent's orelse)."""
    chains: list[list[ast.If]] = []
    for node in program.nodes(ast.If):
        assert isinstance(node, ast.If)
        parent = program.parents.get(node)
        if isinstance(parent, ast.If) and parent.orelse == [node]:
            continue  # an elif: part of its parent's chain
        chain = [node]
        while len(chain[-1].orelse) == 1 and isinstance(chain[-1].orelse[0], ast.If):
            chain.append(chain[-1].orelse[0])
        chains.append(chain)
    return chains


def _chain_has_else(chain: list[ast.If]) -> bool:
    return bool(chain[-1].orelse)


# ---- syntax -------------------------------------------------------------------------------------


def syntax_finding(code: str, error: SyntaxError) -> Finding:
    lines = code.splitlines()
    number = error.lineno or 1
    message = (error.msg or "invalid syntax").strip()
    source = lines[number - 1] if 0 < number <= len(lines) else ""
    quoted = source.strip().replace("`", "'")
    where = f"line {number}, `{quoted[:MAX_QUOTE]}`" if quoted else f"line {number}"
    lowered = message.lower()
    question = "What does Python need on that line to read it?"
    if isinstance(error, IndentationError) or "indent" in lowered:
        concept = "indentation"
        text = (f"Python can't read your program: the indentation (the spaces at the start) of {where} doesn't "
                f"fit the block around it ({message}).")
        question = ("Which lines belong inside the `if`, `for`, `while` or `def` above it, and do they all start "
                    "with the same spaces?")
    elif _ASSIGN_IN_TEST.match(source) or "'=='" in message:
        concept = "assign-vs-compare"
        text = (f"Python can't read {where}: a single `=` stores a value in a variable, it doesn't compare "
                "two values.")
        question = "Which operator asks Python whether two values are equal?"
    elif "expected ':'" in lowered or (_HEADER.match(source) and not source.rstrip().endswith(":")
                                       and "never closed" not in lowered):
        concept = "colon"
        text = (f"Python can't read {where}: a line that starts a block (`if`, `for`, `while`, `def`, `else`) "
                "must end with a colon.")
        question = "What is missing at the end of that line?"
    elif "never closed" in lowered or "unmatched" in lowered or "does not match" in lowered:
        concept = "brackets"
        text = (f"Python can't read {where}: its brackets don't pair up ({message}): every `(` needs its `)`, "
                "in the right place.")
        question = "Count the opening and closing brackets on that line: do they match?"
    elif "unterminated string" in lowered or "eol while" in lowered:
        concept = "quotes"
        text = f"Python can't read {where}: a piece of text (a string) starts with a quote but never ends with one."
        question = "Where should the text end, and does it end with the same kind of quote it started with?"
    else:
        concept = "syntax"
        text = f"Python can't read {where} (SyntaxError: {message})."
        question = "Compare that line with a similar line from the lesson: what is different?"
    return Finding(line=number, concept=concept, text=text, question=question)


# ---- checks (learner, reference) → Finding | None, most specific first ---------------------------

Check = Callable[[_Program, _Program], "Finding | None"]


def _discarded_value(mine: _Program, ref: _Program) -> Finding | None:
    for node in mine.nodes(ast.Expr):
        assert isinstance(node, ast.Expr)
        value = node.value
        if isinstance(value, ast.Call) and isinstance(value.func, ast.Attribute) \
                and value.func.attr in (*_TIDY_METHODS, "replace", "title", "capitalize", "split") \
                and isinstance(value.func.value, ast.Name):
            return Finding(node.lineno, "discarded-method",
                           f"{mine.at(node.lineno)} works out a tidied copy of `{value.func.value.id}` and then "
                           "throws it away: text in Python never changes in place, so the variable is as it was.",
                           "How would you keep the tidied copy?")
        if isinstance(value, (ast.BinOp, ast.Compare, ast.Name, ast.Constant)) and not (
                isinstance(value, ast.Constant) and isinstance(value.value, str)):
            what = "compares two values" if isinstance(value, ast.Compare) else "works out a value"
            return Finding(node.lineno, "discarded-value",
                           f"{mine.at(node.lineno)} {what} and then throws the result away: nothing stores it "
                           "in a variable or prints it.",
                           "Where should that result go?")
    return None


def _endless_while(mine: _Program, ref: _Program) -> Finding | None:
    for node in mine.nodes(ast.While):
        assert isinstance(node, ast.While)
        # A loop that awaits (an asyncio worker: cancelled from outside) or raises can end without a break.
        if any(isinstance(n, (ast.Break, ast.Return, ast.Raise, ast.Await)) for n in ast.walk(node)):
            continue
        if isinstance(node.test, ast.Constant) and node.test.value:
            return Finding(node.lineno, "endless-loop",
                           f"{mine.at(node.lineno)} never stops by itself, and nothing inside it breaks out "
                           "(no `break`), so the loop goes on for ever.",
                           "When should the loop stop, and how can its condition (or a `break`) say so?")
        watched = _names(node.test)
        if not watched or watched & _assigned(node.body):
            continue
        names = ", ".join(f"`{n}`" for n in sorted(watched))
        return Finding(node.lineno, "endless-loop",
                       f"{mine.at(node.lineno)} keeps looping while its condition holds, but nothing inside the "
                       f"loop changes {names}, so the condition never becomes false and the loop never ends.",
                       "What should change on each pass so that the loop stops?")
    return None


def _reset_in_loop(mine: _Program, ref: _Program) -> Finding | None:
    for node in mine.nodes(ast.Assign):
        assert isinstance(node, ast.Assign)
        if len(node.targets) != 1 or not isinstance(node.targets[0], ast.Name) \
                or not isinstance(node.value, ast.Constant):
            continue
        loop = mine.enclosing_loop(node)
        if loop is None:
            continue
        name = node.targets[0].id
        # Only an update made by this very loop: a subtotal set on each pass of an outer loop and summed
        # by an inner one (`spent = 0`, then `for line in order: spent += ...`) is right.
        updated = any(((isinstance(n, ast.AugAssign) and name in _names(n.target))
                       or (isinstance(n, ast.Assign) and n is not node and name in _names(n.value)
                           and any(name in _names(t) for t in n.targets)))
                      and mine.enclosing_loop(n) is loop
                      for stmt in loop.body for n in ast.walk(stmt))
        if updated:
            return Finding(node.lineno, "reset-in-loop",
                           f"{mine.at(node.lineno)} is inside the loop, so it sets `{name}` back to "
                           f"{node.value.value!r} on every pass and the running total starts again each time.",
                           f"Where should `{name}` get its starting value: before the loop or inside it?")
    return None


def _converter(call: ast.Call, program: _Program) -> str | None:
    """The conversion applied to an input() call: int, float, or None when it's kept as text."""
    parent = program.parents.get(call)
    if isinstance(parent, ast.Call) and isinstance(parent.func, ast.Name) and parent.func.id in ("int", "float"):
        return parent.func.id
    return None


def _input_conversion(mine: _Program, ref: _Program) -> Finding | None:
    mine_inputs, ref_inputs = mine.calls("input"), ref.calls("input")
    for call, expected in zip(mine_inputs, ref_inputs, strict=False):
        have, want = _converter(call, mine), _converter(expected, ref)
        if have == want or want is None and have is not None:
            continue
        # Converted later (`n = input(); n = int(n)`) counts as converted.
        parent = mine.parents.get(call)
        if have is None and isinstance(parent, ast.Assign) and len(parent.targets) == 1 \
                and isinstance(parent.targets[0], ast.Name):
            name = parent.targets[0].id
            later = [c for c in mine.nodes(ast.Call) if isinstance(c, ast.Call) and isinstance(c.func, ast.Name)
                     and c.func.id in ("int", "float") and any(isinstance(a, ast.Name) and a.id == name
                                                                for a in c.args)]
            if later:
                have = later[0].func.id  # type: ignore[attr-defined]
                if have == want:
                    continue
        if have is None:
            return Finding(call.lineno, "input-text",
                           f"{mine.at(call.lineno)} keeps what `input()` gives back, and that is always text "
                           "(a string), even when the person types digits: `\"4\" + \"1\"` is `\"41\"`, not 5.",
                           "How do you turn text like \"4\" into a number Python can calculate with?")
        if have == "int" and want == "float":
            return Finding(call.lineno, "int-vs-float",
                           f"{mine.at(call.lineno)} turns the input into a whole number with `int()`, but the "
                           "value may have decimals, like 42.50, and `int()` refuses those.",
                           "Which conversion keeps the decimals?")
        if have == "float" and want == "int":
            return Finding(call.lineno, "float-vs-int",
                           f"{mine.at(call.lineno)} turns the input into a decimal number with `float()`, so "
                           "your results print with a `.0` at the end, like `10.0`.",
                           "Which conversion gives a whole number?")
    return None


def _functions(program: _Program) -> dict[str, ast.FunctionDef]:
    return {n.name: n for n in program.nodes(ast.FunctionDef) if isinstance(n, ast.FunctionDef)}


def _returns_value(function: ast.FunctionDef) -> bool:
    return any(isinstance(n, ast.Return) and n.value is not None for n in ast.walk(function))


def _function_shape(mine: _Program, ref: _Program) -> Finding | None:
    ours, theirs = _functions(mine), _functions(ref)
    for name, expected in theirs.items():
        function = ours.get(name)
        if function is None:
            if ours:
                other = next(iter(ours))
                return Finding(ours[other].lineno, "function-name",
                               f"{mine.at(ours[other].lineno)} defines `{other}`, but the task and its tests "
                               f"use a function called `{name}`.",
                               "Does the name in your `def` match the one the task asks for, letter for letter?")
            return Finding(None, "function-missing",
                           f"The task asks for a function `{name}`, and your program doesn't define it yet "
                           "(a `def` line), so the tests have nothing to call.",
                           f"What should `{name}` take in, and what should it give back?")
        if _returns_value(expected) and not _returns_value(function):
            prints = [n for n in ast.walk(function) if isinstance(n, ast.Call) and isinstance(n.func, ast.Name)
                      and n.func.id == "print"]
            if prints:
                line = min(p.lineno for p in prints)
                return Finding(line, "print-not-return",
                               f"Your function `{name}` shows its result with `print` on line {line}, "
                               f"`{mine.quote(line)}`, but never returns it, so code that calls `{name}(...)` "
                               "gets `None` back.",
                               "What is the difference between showing a value and giving it back to the caller?")
            return Finding(function.lineno, "no-return",
                           f"Your function `{name}` (line {function.lineno}) works something out but never "
                           "returns it, so calling it gives `None`.",
                           "Which statement hands a value back to whoever called the function?")
        last = function.body[-1] if function.body else None
        if isinstance(expected.body[-1], ast.Return) and isinstance(last, ast.If) and _returns_value(function):
            chain = next((c for c in _if_chains(mine) if c[0] is last), [last])
            if not _chain_has_else(chain):
                end = max(getattr(n, "end_lineno", None) or n.lineno for n in chain)
                return Finding(end, "fall-through",
                               f"Your function `{name}` can reach its end without a `return` (after line {end}): "
                               "when none of its conditions hold, it gives back `None`.",
                               "Which case has no `return` yet, and what should the function give back then?")
        want_defaults, have_defaults = len(expected.args.defaults), len(function.args.defaults)
        if len(function.args.args) != len(expected.args.args):
            return Finding(function.lineno, "parameters",
                           f"{mine.at(function.lineno)} takes {len(function.args.args)} "
                           f"parameter{'s' if len(function.args.args) != 1 else ''}, but the task calls `{name}` "
                           f"with {len(expected.args.args)}.",
                           "Which values does the function need to be given, according to the task?")
        if want_defaults > have_defaults:
            return Finding(function.lineno, "default",
                           f"{mine.at(function.lineno)} gives no parameter a default value, so a call that "
                           "leaves one out, as the task allows, fails with a TypeError.",
                           "How do you give a parameter a default value in the `def` line?")
    return None


def _inside_loop(mine: _Program, ref: _Program) -> Finding | None:
    ref_returns_in_loop = any(ref.enclosing_loop(n) for n in ref.nodes(ast.Return))
    for node in mine.nodes(ast.Return):
        assert isinstance(node, ast.Return)
        if mine.enclosing_loop(node) is not None and not ref_returns_in_loop:
            return Finding(node.lineno, "return-in-loop",
                           f"{mine.at(node.lineno)} is inside the loop, so the function returns during the first "
                           "pass, before the loop has looked at the rest.",
                           "Should the function give its answer during the loop, or after it has finished?")
    ref_prints = ref.calls("print")
    ref_in_loop = {_shape(p) for p in ref_prints if ref.enclosing_loop(p) is not None}
    ref_after = {_shape(p) for p in ref_prints if ref.enclosing_loop(p) is None}
    for call in mine.calls("print"):
        loop = mine.enclosing_loop(call)
        if loop is None or mine.in_function(call) != any(ref.in_function(p) for p in ref_prints):
            continue
        shape = _shape(call)
        if shape in ref_in_loop or (ref_in_loop and shape not in ref_after):
            continue  # printed in the loop by the reference too, or nothing to compare with
        if ref_after:
            return Finding(call.lineno, "print-in-loop",
                           f"{mine.at(call.lineno)} is indented inside the loop, so it prints on every pass "
                           "instead of once, after the loop has finished.",
                           "Which lines should run on every pass, and which only once at the end?")
    return None


def _range_upwards(mine: _Program, ref: _Program) -> Finding | None:
    """`range(n, 0)`: counting down without a negative step gives nothing."""
    for call in mine.calls("range"):
        if len(call.args) != 2:
            continue
        start, stop_at = call.args
        if isinstance(stop_at, ast.Constant) and not isinstance(start, ast.Constant):
            stop = stop_at.value
            if isinstance(stop, int) and stop <= 1:
                return Finding(call.lineno, "range-step",
                               f"{mine.at(call.lineno)} uses `range`, which counts *upwards* unless you give it a "
                               "step, so "
                               f"from `{ast.unparse(start)}` up to {stop} it produces nothing at all.",
                               "How can a `range` count down, or which loop does the task suggest instead?")
    return None


def _range_bounds(mine: _Program, ref: _Program) -> Finding | None:
    for call, expected in zip(mine.calls("range"), ref.calls("range"), strict=False):
        if _shape(call) == _shape(expected):
            continue
        have, want = call.args, expected.args
        if not have:
            continue
        stop, want_stop = have[-1] if len(have) <= 2 else have[1], want[-1] if len(want) <= 2 else want[1]
        one_more = (isinstance(want_stop, ast.BinOp) and isinstance(want_stop.op, ast.Add)
                    and isinstance(want_stop.right, ast.Constant) and want_stop.right.value == 1)
        if one_more and isinstance(want_stop, ast.BinOp) and _shape(stop) == _shape(want_stop.left):
            starts_at_zero = len(have) == 1 and len(want) >= 2
            extra = " It also starts at 0." if starts_at_zero else ""
            return Finding(call.lineno, "range-stop",
                           f"{mine.at(call.lineno)} uses `range`, which stops just *before* its end value, so "
                           f"your loop never reaches `{ast.unparse(stop)}` itself: one short.{extra}",
                           "Which numbers does it produce for the example, and is the last one you need there?")
        if len(have) == 1 and len(want) >= 2:
            return Finding(call.lineno, "range-start",
                           f"{mine.at(call.lineno)} uses `range` with one value, so it starts counting at 0, "
                           "not where the task's numbers start.",
                           "Which numbers does it produce for the example? Which should come first?")
        values = ""
        bounds = [a.value for a in have if isinstance(a, ast.Constant) and isinstance(a.value, int)]
        if len(bounds) == len(have):
            produced = list(range(*bounds))
            shown = ", ".join(map(str, produced[:5])) + (", …" if len(produced) > 5 else "")
            values = f": it gives {shown or 'nothing'}, stopping just before its end value"
        return Finding(call.lineno, "range",
                       f"{mine.at(call.lineno)} uses a `range` whose numbers aren't the ones the task needs{values}.",
                       "List the values it gives for the example, first and last: which should they be?")
    return None


def _unused_target(loop: ast.For) -> bool:
    return isinstance(loop.target, ast.Name) and not any(loop.target.id in _names(stmt) for stmt in loop.body)


def _loop_variable(mine: _Program, ref: _Program) -> Finding | None:
    ref_loops = [n for n in ref.nodes(ast.For) if isinstance(n, ast.For)]
    if any(_unused_target(loop) for loop in ref_loops):
        return None  # the task itself repeats without using the count ("read count numbers")
    for loop in (n for n in mine.nodes(ast.For) if isinstance(n, ast.For)):
        if not isinstance(loop.target, ast.Name) or not ref_loops:
            continue
        var = loop.target.id
        if any(var in _names(stmt) for stmt in loop.body):
            continue
        return Finding(loop.lineno, "loop-variable-unused",
                       f"{mine.at(loop.lineno)} gives `{var}` a new value on every pass, but nothing inside the "
                       f"loop uses `{var}`, so every pass does exactly the same thing.",
                       f"Which line inside the loop should use `{var}`?")
    return None


def _test_key(test: ast.expr) -> str:
    return ast.dump(test, annotate_fields=False)


def _condition_order(mine: _Program, ref: _Program) -> Finding | None:
    for chain in _if_chains(mine):
        tests = [_test_key(node.test) for node in chain]
        for ref_chain in _if_chains(ref):
            ref_tests = [_test_key(node.test) for node in ref_chain]
            if len(tests) < 2 or sorted(tests) != sorted(ref_tests) or tests == ref_tests:
                continue
            first = next(i for i, (a, b) in enumerate(zip(tests, ref_tests, strict=True)) if a != b)
            node = chain[first]
            return Finding(node.lineno, "condition-order",
                           f"{mine.at(node.lineno)} is checked before the branches after it, and Python runs only "
                           "the first branch whose condition is true: a value that also fits a later branch "
                           "never gets there.",
                           "Which case is the most specific, and where should it be checked?")
    return None


def _compare_ops(mine: _Program, ref: _Program) -> Finding | None:
    ref_compares = [n for n in ref.nodes(ast.Compare) if isinstance(n, ast.Compare) and len(n.ops) == 1]

    def pairs(node: ast.Compare, expected: ast.Compare) -> bool:
        """The same two sides (or the same constant against the same shape): the same question."""
        same_sides = ast.dump(node.left) == ast.dump(expected.left) and \
            ast.dump(node.comparators[0]) == ast.dump(expected.comparators[0])
        constant = isinstance(node.comparators[0], ast.Constant) and \
            isinstance(expected.comparators[0], ast.Constant) and \
            node.comparators[0].value == expected.comparators[0].value and _shape(node.left) == _shape(expected.left)
        return same_sides or constant

    for node in (n for n in mine.nodes(ast.Compare) if isinstance(n, ast.Compare) and len(n.ops) == 1):
        matching = [e for e in ref_compares if pairs(node, e)]
        if not matching or any(type(e.ops[0]) is type(node.ops[0]) for e in matching):
            continue
        expected = matching[0]
        op = _OP_TEXT.get(type(node.ops[0]), "")
        if _STRICT.get(type(node.ops[0])) is type(expected.ops[0]):
            return Finding(node.lineno, "boundary",
                           f"{mine.at(node.lineno)} compares with `{op}`. Think about the boundary: what should "
                           "happen when the two sides are exactly equal?",
                           "Try the edge value by hand: which branch does it take, and which should it take?")
        return Finding(node.lineno, "comparison",
                       f"{mine.at(node.lineno)} compares with `{op}`: for the task's example, is that condition "
                       "true or false, and is that what you want?",
                       "Read the condition aloud with the example's numbers: does it say what the task says?")
    return None


_OP_MEANING = {ast.Mod: "gives what is left over after dividing", ast.FloorDiv: "gives the whole number of times "
               "one number fits into the other", ast.Div: "gives the exact result, with decimals",
               ast.Mult: "multiplies", ast.Add: "adds", ast.Sub: "subtracts"}


def _computed(program: _Program) -> dict[str, list[tuple[ast.AST, ast.expr]]]:
    """Each name's assignments (and each function's returns, as `return:<name>`), in order."""
    out: dict[str, list[tuple[ast.AST, ast.expr]]] = {}
    for node in program.nodes((ast.Assign, ast.Return)):
        if isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name):
            out.setdefault(node.targets[0].id, []).append((node, node.value))
        elif isinstance(node, ast.Return) and node.value is not None:
            function = program.parents.get(node)
            while function is not None and not isinstance(function, ast.FunctionDef):
                function = program.parents.get(function)
            name = f"return:{function.name}" if isinstance(function, ast.FunctionDef) else "return:"
            out.setdefault(name, []).append((node, node.value))
    return out


def _formula(mine: _Program, ref: _Program) -> Finding | None:
    """The same variable (or function result) worked out with another operator or in another order."""
    theirs = _computed(ref)
    for name, assignments in _computed(mine).items():
        for index, (node, value) in enumerate(assignments):
            expected = theirs.get(name, [])
            if index >= len(expected) or not isinstance(value, ast.BinOp):
                continue
            want = expected[index][1]
            if not isinstance(want, ast.BinOp) or ast.dump(value) == ast.dump(want):
                continue
            line = getattr(node, "lineno", None)
            what = f"`{name}`" if not name.startswith("return:") else "the result"
            if type(value.op) is not type(want.op) and _shape(value.left) == _shape(want.left) \
                    and _shape(value.right) == _shape(want.right):
                op = _OP_TEXT.get(type(value.op), "")
                return Finding(line, "operator",
                               f"{mine.at(line)} works out {what} with `{op}`, which "
                               f"{_OP_MEANING.get(type(value.op), 'does something else')}.",
                               f"Is that what {what} should hold? Try it by hand on the task's example.")
            names_mine, names_ref = _names(value), _names(want)
            if names_mine <= names_ref:
                return Finding(line, "formula",
                               f"{mine.at(line)} works out {what} with a different formula from the task's: "
                               "remember that Python does `*` and `/` before `+` and `-`, left to right, unless "
                               "brackets (parentheses) group a part first.",
                               "Work it out by hand for the example: which operation happens first, and is that "
                               "what the task describes?")
            return Finding(line, "formula",
                           f"{mine.at(line)} works out {what} in a way that gives a different value from the one "
                           "the task describes: check which values it uses, and which part each operation applies "
                           "to (brackets, parentheses, group a part first).",
                           "Work it out by hand for the example: what should it come to?")
    return None


def _bool_ops(mine: _Program, ref: _Program) -> Finding | None:
    ref_ops = [n for n in ref.nodes(ast.BoolOp) if isinstance(n, ast.BoolOp)]
    for node in (n for n in mine.nodes(ast.BoolOp) if isinstance(n, ast.BoolOp)):
        parts = sorted(ast.dump(v) for v in node.values)
        if any(sorted(ast.dump(v) for v in e.values) == parts and type(e.op) is type(node.op) for e in ref_ops):
            continue  # the reference joins them this way too (and, elsewhere, the other way)
        for expected in ref_ops:
            if sorted(ast.dump(v) for v in expected.values) == parts and type(expected.op) is not type(node.op):
                joined = "or" if isinstance(node.op, ast.Or) else "and"
                meaning = ("true as soon as one of them holds" if joined == "or" else
                           "true only when every one of them holds")
                return Finding(node.lineno, "and-or",
                               f"{mine.at(node.lineno)} joins its conditions with `{joined}`, so the whole test is "
                               f"{meaning}.",
                               "For the task, must both conditions hold, or is one of them enough?")
    return None


def _branch_outputs(mine: _Program, ref: _Program) -> Finding | None:
    """The same conditions as the reference, but a branch prints something else."""
    def printed(body: list[ast.stmt]) -> list[ast.Call]:
        return [n for stmt in body for n in ast.walk(stmt) if isinstance(n, ast.Call)
                and isinstance(n.func, ast.Name) and n.func.id == "print"]

    ref_chains = {tuple(_test_key(n.test) for n in chain): chain for chain in _if_chains(ref)}
    for chain in _if_chains(mine):
        expected = ref_chains.get(tuple(_test_key(n.test) for n in chain))
        if expected is None:
            continue
        bodies: list[tuple[list[ast.stmt], ast.If | None, list[ast.stmt]]] = [
            (n.body, n, e.body) for n, e in zip(chain, expected, strict=True)]
        if chain[-1].orelse and expected[-1].orelse:
            bodies.append((chain[-1].orelse, None, expected[-1].orelse))
        for body, branch, want in bodies:
            ours, theirs = printed(body), printed(want)
            for call, other in zip(ours, theirs, strict=False):
                if ast.dump(call) != ast.dump(other):
                    when = f"when the condition on line {branch.lineno} holds" if branch is not None else \
                        f"in the `else` branch of the `if` on line {chain[0].lineno}"
                    return Finding(call.lineno, "branch-output",
                                   f"{mine.at(call.lineno)} prints that {when}.",
                                   "Take a value that goes down that branch: is that what the task wants printed "
                                   "for it?")
    return None


def _missing_else(mine: _Program, ref: _Program) -> Finding | None:
    """An if/elif that prints, with no `else`, where the reference always prints something."""
    ref_else = any(_chain_has_else(c) for c in _if_chains(ref))
    ref_always = any(not isinstance(ref.parents.get(p), ast.If) and ref.enclosing_loop(p) is None
                     and not any(isinstance(a, ast.Constant) for a in p.args) for p in ref.calls("print")) \
        and not ref.nodes(ast.If)
    if not (ref_else or ref_always):
        return None
    for chain in _if_chains(mine):
        if _chain_has_else(chain):
            continue
        if not any(isinstance(n, ast.Call) and isinstance(n.func, ast.Name) and n.func.id == "print"
                   for branch in chain for stmt in branch.body for n in ast.walk(stmt)):
            continue
        return Finding(chain[0].lineno, "missing-else",
                       f"Your `if` on line {chain[0].lineno} has no `else`, so when none of its conditions hold, "
                       "the program prints nothing at all for that case.",
                       "What should the program do when the condition is false?")
    return None


def _missing_tidy(mine: _Program, ref: _Program) -> Finding | None:
    missing = [m for m in _TIDY_METHODS if m in ref.methods() and m not in mine.methods()]
    if not missing:
        return None
    text_compares = [n for n in mine.nodes(ast.Compare) if isinstance(n, ast.Compare)
                     and any(isinstance(c, ast.Constant) and isinstance(c.value, str) for c in n.comparators)]
    line = text_compares[0].lineno if text_compares else None
    where = f"{mine.at(line)} compares" if line else "Your program compares"
    if set(missing) & {"lower", "upper", "casefold"}:
        return Finding(line, "case",
                       f"{where} the text exactly as it was typed, so capital letters matter: to Python `A` and "
                       "`a` are different letters" + (" and extra spaces count too." if "strip" in missing else "."),
                       "How could you tidy the text (its capitals, its spaces) before comparing it?")
    return Finding(line, "spaces",
                   f"{where} the text exactly as it was typed, so spaces before or after it stop it matching.",
                   "How could you remove the spaces around the text before comparing it?")


def _division(mine: _Program, ref: _Program) -> Finding | None:
    def ops(program: _Program) -> list[ast.BinOp]:
        return [n for n in program.nodes(ast.BinOp) if isinstance(n, ast.BinOp)]

    ours, theirs = ops(mine), ops(ref)
    ref_kinds = {type(n.op) for n in theirs}
    mine_kinds = {type(n.op) for n in ours}
    for node in ours:
        kind = type(node.op)
        if kind is ast.Div and ast.FloorDiv in ref_kinds and ast.FloorDiv not in mine_kinds \
                and ast.Div not in ref_kinds:
            return Finding(node.lineno, "true-division",
                           f"{mine.at(node.lineno)} divides with `/`, which always gives a number with decimals "
                           "(7 / 2 is 3.5), even when you want whole units.",
                           "Which division operator keeps only the whole part?")
        if kind is ast.FloorDiv and ast.Div in ref_kinds and ast.FloorDiv not in ref_kinds:
            return Finding(node.lineno, "floor-division",
                           f"{mine.at(node.lineno)} divides with `//`, which throws away the fraction "
                           "(7 // 2 is 3), so the result comes out too small or rounded.",
                           "Which division operator keeps the fraction?")
        if kind is ast.Div and ast.Mod in ref_kinds and ast.Mod not in mine_kinds \
                and isinstance(mine.parents.get(node), ast.Compare):
            return Finding(node.lineno, "remainder",
                           f"{mine.at(node.lineno)} divides to test whether one number goes into another, but "
                           "that question is about the *remainder* after dividing.",
                           "Which operator gives the remainder, and what is it when the division comes out even?")
    if ast.Mod in ref_kinds and ast.Mod not in mine_kinds and ours:
        node = ours[0]
        return Finding(node.lineno, "remainder",
                       f"{mine.at(node.lineno)} never asks for a remainder, and this task is about what's left "
                       "over after dividing.",
                       "Which operator gives what is left over after a division?")
    return None


def _format_spec(mine: _Program, ref: _Program) -> Finding | None:
    specs = [n for n in ref.nodes(ast.FormattedValue) if isinstance(n, ast.FormattedValue) and n.format_spec]
    if not specs:
        return None
    mine_specs = [n for n in mine.nodes(ast.FormattedValue) if isinstance(n, ast.FormattedValue) and n.format_spec]
    if len(mine_specs) >= len(specs):
        return None
    prints = mine.calls("print")
    line = next((p.lineno for p in prints if any(not (isinstance(a, ast.Constant)) for a in p.args)), None)
    if line is None:
        return None
    return Finding(line, "decimals",
                   f"{mine.at(line)} prints the number as Python shows it by default, which may have one "
                   "decimal (12.0) or many (6.359999), not a fixed number of decimals.",
                   "How can an f-string show a number with exactly the decimals the task asks for?")


def _template(node: ast.AST | None) -> str:
    """What an output expression prints, with every computed part as {}: `"Hi, " + name` → `Hi, {}`."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    if isinstance(node, ast.JoinedStr):
        return "".join(v.value if isinstance(v, ast.Constant) and isinstance(v.value, str) else "{}"
                       for v in node.values)
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
        left, right = _template(node.left), _template(node.right)
        if left != "{}" or right != "{}":
            return left + right
    return "{}"


def _outputs(program: _Program) -> list[tuple[int, str]]:
    """(line, template) of everything the program prints or its functions return."""
    out: list[tuple[int, str]] = []
    for node in program.nodes((ast.Call, ast.Return)):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "print":
            sep = " "
            for keyword_ in node.keywords:
                if keyword_.arg == "sep" and isinstance(keyword_.value, ast.Constant):
                    sep = str(keyword_.value.value)
            out.append((node.lineno, sep.join(_template(a) for a in node.args)))
        elif isinstance(node, ast.Return) and node.value is not None:
            out.append((node.lineno, _template(node.value)))
    return [(line, text) for line, text in out if text.replace("{}", "").strip()]


def _literals(program: _Program) -> list[tuple[int, str]]:
    out: list[tuple[int, str]] = []
    for call in program.calls("print"):
        for node in ast.walk(call):
            if isinstance(node, ast.Constant) and isinstance(node.value, str) and node.value.strip():
                out.append((node.lineno, node.value))
    return out


def _difference(have: str, want: str) -> str:
    if have.casefold() == want.casefold():
        return "capital letters"
    if have.split() == want.split() or have.strip() == want.strip():
        return "spaces"
    strip = re.compile(r"[^\w]")
    if strip.sub("", have) == strip.sub("", want):
        return "punctuation"
    return "spelling"


def _literal_text(mine: _Program, ref: _Program) -> Finding | None:
    variables = _assigned(mine.tree.body)
    ref_literals = [text for _, text in _literals(ref)]
    for line, text in _literals(mine):
        if text.strip() in variables and text.strip() not in ref_literals:
            return Finding(line, "quoted-name",
                           f"{mine.at(line)} prints the word `{text.strip()}` itself, in quotes, not the value of "
                           f"the variable `{text.strip()}`.",
                           "What is the difference between `\"total\"` and `total` to Python?")
    expected = [text for _, text in _outputs(ref)]
    if not expected:
        return None
    for line, text in _outputs(mine):
        if text in expected:
            continue
        close = difflib.get_close_matches(text, expected, n=1, cutoff=0.6)
        if close:
            what = _difference(text, close[0])
            return Finding(line, "text-" + what.split()[0],
                           f"{mine.at(line)} produces text that is close to what the task asks for but not the "
                           f"same: check its {what} against the task's example, character by character.",
                           "Which characters differ between your output and the example's?")
        shown = text.replace("{}", "…").strip()[:40].replace("`", "'")
        return Finding(line, "extra-text",
                       f"{mine.at(line)} prints `{shown}`, text that the task's expected output doesn't have: "
                       "the tests compare the output exactly.",
                       "What exactly should your program print, and nothing else?")
    return None


def _hard_coded(mine: _Program, ref: _Program) -> Finding | None:
    if ref.calls("input") and not mine.calls("input") and mine.calls("print"):
        line = mine.calls("print")[0].lineno
        return Finding(line, "hard-coded",
                       f"{mine.at(line)} prints a fixed answer, and your program never reads the input with "
                       "`input()`, so it can only be right for one example.",
                       "Where does the value come from when the tests type a different one?")
    ref_constant = any(p.args and all(isinstance(a, ast.Constant) for a in p.args) for p in ref.calls("print"))
    for call in mine.calls("print"):
        constants = [a for a in call.args if isinstance(a, ast.Constant)]
        fixed = bool(call.args) and len(constants) == len(call.args)
        statement = mine.parents.get(call)
        top_level = statement is not None and isinstance(mine.parents.get(statement), ast.Module)
        not_text = all(not isinstance(a.value, str) for a in constants)
        if fixed and not ref_constant and (top_level or not_text):
            return Finding(call.lineno, "hard-coded",
                           f"{mine.at(call.lineno)} prints a fixed value rather than one your program works out, "
                           "so it is right only when the answer happens to be that value.",
                           "Which variable holds the value you worked out?")
    return None


def _missing_construct(mine: _Program, ref: _Program) -> Finding | None:
    if ref.nodes((ast.For, ast.While)) and not mine.nodes((ast.For, ast.While)):
        return Finding(None, "no-loop",
                       "Your program has no loop yet, so it handles one value instead of working through each "
                       "one in turn.",
                       "Which step of the task has to happen again and again?")
    if ref.nodes(ast.If) and not mine.nodes((ast.If, ast.IfExp)) and not ref.nodes(ast.FunctionDef):
        return Finding(None, "no-decision",
                       "Your program doesn't make a decision yet: it does the same thing whatever the input is.",
                       "Which cases in the task need different results, and how does Python choose between them?")
    return None


def _loop_value_copies(program: _Program) -> list[ast.Assign]:
    """`name = item` written straight in the body of `for item in ...` (not under an `if`: keeping the
    best, `if item > best: best = item`, is not overwriting)."""
    found: list[ast.Assign] = []
    for loop in (n for n in program.nodes(ast.For) if isinstance(n, ast.For)):
        if not isinstance(loop.target, ast.Name):
            continue
        found.extend(stmt for stmt in loop.body
                     if isinstance(stmt, ast.Assign) and len(stmt.targets) == 1
                     and isinstance(stmt.targets[0], ast.Name)
                     and isinstance(stmt.value, ast.Name) and stmt.value.id == loop.target.id)
    return found


def _accumulator(mine: _Program, ref: _Program) -> Finding | None:
    if _loop_value_copies(ref):
        return None  # the reference keeps the current item too (the last one seen, where a run starts)
    for node in _loop_value_copies(mine):
        name = node.targets[0].id  # type: ignore[attr-defined]
        return Finding(node.lineno, "overwrite",
                       f"{mine.at(node.lineno)} replaces `{name}` with the current value on each pass "
                       "instead of adding to it, so at the end it holds only the last one.",
                       f"How do you add to what `{name}` already holds?")
    return None


CHECKS: tuple[Check, ...] = (_discarded_value, _endless_while, _reset_in_loop, _input_conversion, _function_shape,
                             _inside_loop, _range_upwards, _range_bounds, _accumulator, _loop_variable,
                             _condition_order, _bool_ops, _compare_ops, _branch_outputs, _missing_else,
                             _missing_tidy, _division, _formula, _format_spec, _literal_text, _hard_coded,
                             _missing_construct)


def find_mistakes(code: str, solution: str) -> list[Finding]:
    """The learner's mistakes against the reference, most specific first ([] when nothing is found
    or either program can't be compared). A program Python can't read gets its syntax finding."""
    return list(_find_mistakes(code, solution))


@lru_cache(maxsize=512)
def _find_mistakes(code: str, solution: str) -> tuple[Finding, ...]:
    # One turn asks several times (the question, its variants, the mode's choice): parse once.
    if not code.strip():
        return ()
    try:
        tree = ast.parse(code)
    except SyntaxError as error:
        return (syntax_finding(code, error),)
    except (ValueError, RecursionError, MemoryError):
        return ()
    try:
        reference = ast.parse(solution or "")
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return ()
    mine, ref = _Program(tree, code), _Program(reference, solution)
    return tuple(_run(mine, ref))


def _run(mine: _Program, ref: _Program) -> Iterator[Finding]:
    seen: set[str] = set()
    for check in CHECKS:
        try:
            finding = check(mine, ref)
        except (RecursionError, ValueError, AttributeError, IndexError, TypeError):  # odd code: skip the check
            continue
        if finding is not None and finding.concept not in seen:
            seen.add(finding.concept)
            yield finding


# A second, simpler explanation of each concept, for "explain it again" (on made-up values, never
# the exercise's own lines).
SIMPLER = {
    "range": "Think of `range(a, b)` as counting from `a` up to, but not including, `b`: `range(2, 5)` gives 2, "
             "3 and 4, never 5. With one value, `range(3)` starts at 0: 0, 1, 2.",
    "range-stop": "Think of `range(a, b)` as counting from `a` up to, but not including, `b`: `range(2, 5)` gives "
                  "2, 3 and 4, never 5. The end value is where it stops, not the last value it gives.",
    "range-start": "`range` with one value starts at 0: `range(3)` gives 0, 1 and 2. With two values, "
                   "`range(2, 5)`, it starts at the first one: 2, 3, 4.",
    "reset-in-loop": "A loop repeats every line indented under it. If the line that sets your running total to "
                     "its starting value is indented, it runs again on every pass: like wiping a whiteboard "
                     "before writing each new number, so only the last one is left.",
    "input-text": "`input()` always hands you text, even if the person typed digits. Text joins rather than adds: "
                  "`\"7\" + \"1\"` is `\"71\"`. `int(...)` turns text like `\"7\"` into the number 7, and "
                  "`float(...)` into 7.0 for numbers with decimals.",
    "int-vs-float": "`int` is for whole numbers (3) and refuses text like `\"3.5\"`; `float` is for numbers with a "
                    "decimal point (3.5).",
    "float-vs-int": "`float` numbers always carry a decimal point, so they print as `3.0`; `int` numbers are "
                    "whole and print as `3`.",
    "print-not-return": "`print` shows a value on the screen for a person to read; `return` hands it back to the "
                        "code that called the function, so that code can store it, print it or calculate with "
                        "it. A function that only prints gives back `None`.",
    "no-return": "Without a `return` line, a function gives back `None` when it ends, whatever it worked out "
                 "inside.",
    "return-in-loop": "`return` ends the whole function at once, wherever it stands: inside a loop, it stops the "
                      "loop on that very pass.",
    "print-in-loop": "Indentation says what belongs to the loop: indented lines run once per pass, and lines back "
                     "at the left margin run once, after the loop has finished.",
    "endless-loop": "A `while` loop checks its condition before every pass. If nothing in its body changes the "
                    "values in that condition, the answer never changes, and the loop runs for ever.",
    "condition-order": "Python tries the `if`, then each `elif`, from top to bottom, and runs only the first one "
                       "that is true. So the narrowest test has to come first, like checking for 'exactly 100' "
                       "before 'more than 50'.",
    "boundary": "`>` means strictly greater: `5 > 5` is False. `>=` includes the equal case: `5 >= 5` is True. "
                "The same goes for `<` and `<=`.",
    "comparison": "A condition is a yes-or-no question about values: `x < 3` asks 'is x smaller than 3?'. Reading "
                  "it aloud with real numbers shows whether it asks what you mean.",
    "missing-else": "`else` catches every case that none of the conditions above it matched; without it, those "
                    "cases simply do nothing.",
    "case": "Strings compare letter by letter, and `\"G\"` and `\"g\"` are different letters; `\" yes\"` with a "
            "space is different from `\"yes\"` too. String methods give a tidied copy: `.lower()` for small "
            "letters, `.strip()` to remove spaces at the ends.",
    "spaces": "`\" yes \"` with spaces is different text from `\"yes\"`. `.strip()` gives a copy without the "
              "spaces at both ends.",
    "true-division": "`/` always gives a decimal result (`7 / 2` is 3.5), `//` keeps only the whole part "
                     "(`7 // 2` is 3), and `%` gives what is left over (`7 % 2` is 1).",
    "floor-division": "`//` keeps only the whole part (`7 // 2` is 3) and drops the fraction; `/` keeps it "
                      "(`7 / 2` is 3.5).",
    "remainder": "`%` gives what is left over after dividing: `7 % 3` is 1, and `9 % 3` is 0, which is how you "
                 "tell that 3 goes into 9 exactly.",
    "decimals": "An f-string can format a number: `f\"{x:.1f}\"` shows `x` with exactly one decimal, and the "
                "digit after the dot is how many decimals you get.",
    "text-capital": "Tests compare output exactly, character by character: `Yes` and `yes` are different text.",
    "text-spaces": "Tests compare output exactly, character by character: a missing or extra space makes it "
                   "different text.",
    "text-punctuation": "Tests compare output exactly, character by character: a missing comma or exclamation "
                        "mark makes it different text.",
    "text-spelling": "Tests compare output exactly, character by character, so one letter out of place is enough "
                     "to fail.",
    "extra-text": "The tests read your whole output and compare it exactly: any extra words printed around the "
                  "result count as a difference.",
    "quoted-name": "Quotes make text: `\"score\"` is just the five letters s-c-o-r-e, while `score` without "
                   "quotes is the variable and the value stored in it.",
    "hard-coded": "A program is a recipe that must work for any input: the tests try several inputs, so one "
                  "fixed answer can be right for at most one of them.",
    "no-loop": "A loop repeats the same steps for each value: `for x in ...:` runs its indented lines once per "
               "value, with `x` taking each value in turn.",
    "no-decision": "`if` lets a program choose: the indented lines under it run only when its condition is true, "
                   "and `elif`/`else` cover the other cases.",
    "overwrite": "`score = points` forgets whatever `score` held; `score = score + points` takes the old value, "
                 "adds to it, and stores the sum back: a running total.",
    "loop-variable-unused": "The loop variable is the one value that changes on every pass: that is the value "
                            "the lines inside the loop usually need.",
    "discarded-value": "Working something out doesn't keep it: `x + 1` alone on a line computes a value and drops "
                       "it. To keep it, store it (`x = x + 1`) or print it.",
    "discarded-method": "Text never changes in place: `word.upper()` gives a new, changed copy and leaves `word` "
                        "as it was, unless you store the copy (`word = word.upper()`).",
    "function-missing": "A function is defined with `def name(parameters):` and the tests call it by exactly "
                        "that name.",
    "function-name": "The tests call the function by the exact name the task gives, so `def Area` and "
                     "`def area` are two different functions.",
    "parameters": "Parameters are the values a function is given when it is called: `def area(w, h):` has to "
                  "be called with two values, `area(3, 4)`.",
    "default": "`def greet(name, loud=False):` gives `loud` a default, so both `greet(\"Ada\")` and "
               "`greet(\"Ada\", loud=True)` work.",
    "indentation": "Python groups lines by their indentation: the lines inside an `if`, `for` or `def` all start "
                   "with the same number of spaces (four, by convention), and the block ends where the indent "
                   "goes back.",
    "assign-vs-compare": "`=` puts a value into a variable (`x = 5`); `==` asks whether two values are equal "
                         "(`x == 5` is True or False).",
    "colon": "Every line that opens a block ends with a colon, like `if x > 3:` or `for x in items:`; the "
             "block is the indented lines below it.",
    "brackets": "Brackets come in pairs: each `(` opened on a line needs its `)`. Counting them from the left, "
                "the count should be back to zero at the end of the line.",
    "quotes": "Text in Python sits between a pair of matching quotes: `\"like this\"` or `'like this'`; the text "
              "ends where the second quote is.",
    "syntax": "A SyntaxError means Python couldn't read the line at all, before running anything: it's about "
              "spelling and punctuation (brackets, quotes, colons), not about what the code does.",
}
