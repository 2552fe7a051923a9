"""Beginner-focused checks on the syntax tree (`ast.parse` only: learner code is never executed here).

Each check looks for one pattern that teachers see again and again in first-year code and
reports it as a Finding. The checks are deliberately conservative (they stay quiet when a
pattern has a legitimate use they cannot rule out), because a wrong remark costs a beginner
more than a missed one. Messages quote only the learner's own names and line numbers.
"""

from __future__ import annotations

import ast
from collections.abc import Callable, Iterable, Iterator
from typing import TypeGuard

from .findings import Finding
from .markdown import code

_SCOPES = (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda, ast.ClassDef)
_LOOPS = (ast.For, ast.AsyncFor, ast.While)
_FUNCS = (ast.FunctionDef, ast.AsyncFunctionDef)
# Built-ins a beginner is likely to overwrite (and then need again a few lines later).
BUILTINS = frozenset({
    "abs", "all", "any", "bool", "chr", "dict", "dir", "enumerate", "exit", "filter", "float", "format", "hash",
    "help", "id", "input", "int", "iter", "len", "list", "map", "max", "min", "next", "object", "open", "ord",
    "pow", "print", "quit", "range", "reversed", "round", "set", "sorted", "str", "sum", "tuple", "type", "vars",
    "zip",
})
_MUTATING_METHODS = frozenset({"append", "extend", "insert", "remove", "pop", "clear"})
_GROWING_METHODS = frozenset({"append", "extend", "add", "update", "insert"})


class Context:
    """The parsed program plus what several checks need (parents, loops, functions)."""

    def __init__(self, tree: ast.Module, *, none_in_failures: bool = False) -> None:
        self.tree = tree
        self.none_in_failures = none_in_failures  # a failing test said "got None": print-vs-return is likely
        self.nodes = list(ast.walk(tree))  # one walk, shared by the checks
        self.parents: dict[ast.AST, ast.AST] = {}
        for node in self.nodes:
            for child in ast.iter_child_nodes(node):
                self.parents[child] = node
        self.loops = [n for n in self.nodes if isinstance(n, _LOOPS)]
        self.for_loops = [n for n in self.loops if isinstance(n, ast.For | ast.AsyncFor)]
        self.functions = [n for n in self.nodes if isinstance(n, _FUNCS)]
        self._indices: dict[int, ScopeIndex] = {}
        # Functions whose call result is used (not a bare `f(...)` statement), for print-vs-return.
        self.used_as_value = {n.func.id for n in self.nodes if isinstance(n, ast.Call)
                              and isinstance(n.func, ast.Name) and not isinstance(self.parents.get(n), ast.Expr)}

    def scope_of(self, node: ast.AST) -> ast.AST:
        current = self.parents.get(node)
        while current is not None and not isinstance(current, _FUNCS):
            current = self.parents.get(current)
        return current or self.tree

    def index(self, node: ast.AST) -> ScopeIndex:
        """Facts about the scope (function or module) around `node`, computed once per scope."""
        scope = self.scope_of(node)
        if id(scope) not in self._indices:
            self._indices[id(scope)] = ScopeIndex(scope)
        return self._indices[id(scope)]


class ScopeIndex:
    """Per-name line numbers in one scope, so checks stay linear on long programs (up to 50,000 chars)."""

    def __init__(self, scope: ast.AST) -> None:
        self.last_load: dict[str, int] = {}  # the last line that reads the name
        self.text_starts: dict[str, list[int]] = {}  # lines of `name = "..."` (or an f-string)
        self.plain_sets: dict[str, list[int]] = {}  # lines of `name = <anything but an operation>`
        for node in descendants([scope]):
            if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Load):
                self.last_load[node.id] = max(self.last_load.get(node.id, 0), node.lineno)
            assigned = _simple_assign(node)
            if assigned is None:
                continue
            name, value = assigned
            if isinstance(value, ast.JoinedStr) or (isinstance(value, ast.Constant) and isinstance(value.value, str)):
                self.text_starts.setdefault(name, []).append(_line(node))
            if not isinstance(value, ast.BinOp):
                self.plain_sets.setdefault(name, []).append(_line(node))


def descendants(roots: Iterable[ast.AST], *, skip: tuple[type, ...] = _SCOPES) -> Iterator[ast.AST]:
    """Nodes under `roots` (included), not entering nested functions/classes, or whatever `skip` names."""
    stack = [n for n in roots if not isinstance(n, skip)]
    while stack:
        node = stack.pop()
        yield node
        stack.extend(c for c in ast.iter_child_nodes(node) if not isinstance(c, skip))


def _is_call(node: ast.AST, name: str) -> TypeGuard[ast.Call]:
    return isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == name


def _name_loads(nodes: Iterable[ast.AST], name: str) -> list[ast.Name]:
    return [n for n in nodes if isinstance(n, ast.Name) and n.id == name and isinstance(n.ctx, ast.Load)]


def _simple_assign(node: ast.AST) -> tuple[str, ast.expr] | None:
    """`name = value` with one plain name on the left, else None."""
    if isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name):
        return node.targets[0].id, node.value
    return None


def _is_number(node: ast.AST) -> bool:
    return isinstance(node, ast.Constant) and isinstance(node.value, int | float) and not isinstance(node.value, bool)


def _is_start_value(node: ast.AST) -> bool:
    """What an accumulator starts from: a number or text constant, or an empty list/dict/set display."""
    if isinstance(node, ast.Constant):
        return isinstance(node.value, int | float | str) and not isinstance(node.value, bool)
    if isinstance(node, ast.List | ast.Set):
        return not node.elts
    return isinstance(node, ast.Dict) and not node.keys


def _key(node: ast.AST) -> str | None:
    """A comparable identity for a sequence expression: a name or attribute chain, else None."""
    if isinstance(node, ast.Name | ast.Attribute):
        return ast.dump(node)
    if _is_call(node, "range") and len(node.args) == 1 and _is_call(node.args[0], "len"):
        inner = node.args[0].args
        return _key(inner[0]) if len(inner) == 1 else None
    return None


def _line(node: ast.AST) -> int:
    return int(getattr(node, "lineno", 0))


def _src(node: ast.AST) -> str:
    return ast.unparse(node)


# ---- the checks -----------------------------------------------------------------------------------


def range_len(ctx: Context) -> Iterator[Finding]:
    for loop in ctx.for_loops:
        it, target = loop.iter, loop.target
        if not (_is_call(it, "range") and len(it.args) == 1 and _is_call(it.args[0], "len")
                and isinstance(target, ast.Name)):
            continue
        seq_args = it.args[0].args
        if len(seq_args) != 1:
            continue
        seq = ast.dump(seq_args[0])
        body = list(descendants(loop.body))
        uses = _name_loads(body, target.id)
        indexed = [n for n in body if isinstance(n, ast.Subscript) and isinstance(n.slice, ast.Name)
                   and n.slice.id == target.id and ast.dump(n.value) == seq and isinstance(n.ctx, ast.Load)]
        # Only when the position is used for nothing but reading the item: otherwise the index is needed.
        if uses and len(uses) == len(indexed):
            name = _src(seq_args[0])
            yield Finding(loop.lineno, "style", "info",
                          f"The loop on line {loop.lineno} counts positions 0, 1, 2, ... of {code(name)} and uses each "
                          f"position `{target.id}` only to look the item up again with {code(f'{name}[{target.id}]')}.",
                          f"Do you need the position `{target.id}` for anything else? What does a `for` loop hand "
                          f"you on each pass when you loop over {code(name)} itself?", "ast:range-len")


def _grown_name(node: ast.AST) -> str | None:
    """The name a statement builds up: `x += ...`, `x = x <op> ...` or `x.append(...)` (and friends)."""
    if isinstance(node, ast.AugAssign) and isinstance(node.target, ast.Name):
        return node.target.id
    assigned = _simple_assign(node)
    if assigned and isinstance(assigned[1], ast.BinOp) and _name_loads(ast.walk(assigned[1]), assigned[0]):
        return assigned[0]
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr in _GROWING_METHODS \
            and isinstance(node.func.value, ast.Name):
        return node.func.value.id
    return None


def accumulator_reset(ctx: Context) -> Iterator[Finding]:
    for loop in ctx.loops:
        last_growth: dict[str, int] = {}  # in this loop's body, not in inner loops
        for node in descendants(loop.body, skip=_SCOPES + _LOOPS):
            name = _grown_name(node)
            if name is not None:
                last_growth[name] = max(last_growth.get(name, 0), _line(node))
        index = ctx.index(loop)
        for stmt in loop.body:
            assigned = _simple_assign(stmt)
            if assigned is None or not _is_start_value(assigned[1]):
                continue
            name = assigned[0]
            # A per-pass reset is right when the value is used inside the same pass; the bug is using it after.
            used_after = index.last_load.get(name, 0) > (loop.end_lineno or loop.lineno)
            if last_growth.get(name, 0) > stmt.lineno and used_after:
                yield Finding(stmt.lineno, "correctness", "warning",
                              f"Line {stmt.lineno} sets `{name}` back to its starting value on every pass of the loop "
                              f"on line {loop.lineno}, so it forgets what the earlier passes added.",
                              f"How many times does line {stmt.lineno} run? Should `{name}` start over on every pass, "
                              "or only once before the loop begins?", "ast:accumulator-reset")


def compare_singleton(ctx: Context) -> Iterator[Finding]:
    for node in ctx.nodes:
        if not isinstance(node, ast.Compare):
            continue
        operands = [node.left, *node.comparators]
        for op, left, right in zip(node.ops, operands, operands[1:], strict=False):
            if not isinstance(op, ast.Eq | ast.NotEq):
                continue
            const = next((x for x in (left, right) if isinstance(x, ast.Constant)
                          and (x.value is None or isinstance(x.value, bool))), None)
            if const is None:
                continue
            other = _src(right if const is left else left)
            if const.value is None:
                yield Finding(node.lineno, "style", "info",
                              f"Line {node.lineno} checks {code(other)} against None with `==`. `==` asks whether two "
                              "values are equal, and objects can redefine what equal means.",
                              "None is a single, unique object. Which Python operator asks whether two names refer "
                              "to the very same object?", "ast:compare-singleton")
            else:
                yield Finding(node.lineno, "style", "info",
                              f"Line {node.lineno} compares {code(other)} with {const.value!r}. {code(other)} is "
                              "already True or False, so the comparison asks the same question twice.",
                              f"What would the condition do if it were just {code(other)} on its own (or with `not`)?",
                              "ast:compare-singleton")


def mutable_default(ctx: Context) -> Iterator[Finding]:
    for func in ctx.functions:
        params = [*func.args.posonlyargs, *func.args.args]
        pairs = list(zip(params[len(params) - len(func.args.defaults):], func.args.defaults, strict=False))
        pairs += [(a, d) for a, d in zip(func.args.kwonlyargs, func.args.kw_defaults, strict=False) if d is not None]
        for arg, default in pairs:
            mutable = isinstance(default, ast.List | ast.Dict | ast.Set | ast.ListComp | ast.DictComp | ast.SetComp) \
                or any(_is_call(default, n) for n in ("list", "dict", "set"))
            if mutable:
                yield Finding(default.lineno, "correctness", "warning",
                              f"The default value of `{arg.arg}` in `{func.name}` is created once, when the function "
                              "is defined, and the same object is shared by every call that leaves it out.",
                              f"Call `{func.name}` twice without passing `{arg.arg}`, changing it the first time. What "
                              "does the second call start with?", "ast:mutable-default")


def shadow_builtin(ctx: Context) -> Iterator[Finding]:
    first: dict[str, int] = {}
    for node in ctx.nodes:
        names: list[tuple[str, int]] = []
        if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
            names.append((node.id, node.lineno))
        elif isinstance(node, ast.arg):
            names.append((node.arg, node.lineno))
        elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            names.append((node.name, node.lineno))
        for name, line in names:
            if name in BUILTINS and (name not in first or line < first[name]):
                first[name] = line
    for name, line in sorted(first.items(), key=lambda kv: kv[1]):
        yield Finding(line, "style", "warning",
                      f"`{name}` is the name of a Python built-in. From line {line} on, `{name}` means your value "
                      "instead, and the built-in is out of reach there.",
                      f"What happens if this program (or a later version of it) needs the built-in `{name}(...)` "
                      "again? What name would describe your value better?", "ast:shadow-builtin")


def unused_variable(ctx: Context) -> Iterator[Finding]:
    # Only inside functions: at module level, the exercise's tests may read any global variable.
    for func in ctx.functions:
        nodes = list(ast.walk(func))
        if any(_is_call(n, "locals") for n in nodes):
            continue
        declared = {name for n in nodes if isinstance(n, ast.Global | ast.Nonlocal) for name in n.names}
        loads = {n.id for n in nodes if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load | ast.Del)}
        stores: dict[str, int] = {}
        for node in descendants(func.body):
            assigned = _simple_assign(node)
            if assigned is None and isinstance(node, ast.AnnAssign) and node.value is not None \
                    and isinstance(node.target, ast.Name):
                assigned = (node.target.id, node.value)
            if assigned and not assigned[0].startswith("_"):
                stores.setdefault(assigned[0], _line(node))
        for name, line in sorted(stores.items(), key=lambda kv: kv[1]):
            if name not in loads and name not in declared:
                yield Finding(line, "style", "warning",
                              f"`{name}` gets a value on line {line}, but `{func.name}` never uses it afterwards.",
                              f"What did you plan to do with `{name}`? Is the line left over from an earlier attempt, "
                              "or is a later line using a different name by mistake?", "ast:unused-variable")


def while_true_without_exit(ctx: Context) -> Iterator[Finding]:
    for loop in ctx.loops:
        if not (isinstance(loop, ast.While) and isinstance(loop.test, ast.Constant) and loop.test.value):
            continue
        breaks = any(isinstance(n, ast.Break) for n in descendants(loop.body, skip=_SCOPES + _LOOPS))
        leaves = any(isinstance(n, ast.Return | ast.Raise)
                     or (isinstance(n, ast.Call) and _src(n.func) in ("exit", "quit", "sys.exit", "os._exit"))
                     for n in descendants(loop.body))
        if not (breaks or leaves):
            yield Finding(loop.lineno, "correctness", "error",
                          f"The `while True:` loop on line {loop.lineno} has no `break`, `return` or other way out, "
                          "so once it starts it never stops.",
                          "Which situation should end this loop? Where inside the loop could you check for it?",
                          "ast:while-true-no-exit")


def repeated_scans(ctx: Context) -> Iterator[Finding]:
    """Quadratic work that beginners don't see: a nested pass over the same sequence, `in` on a list in a loop."""
    for loop in ctx.for_loops:
        outer = _key(loop.iter)
        if outer is None:
            continue
        inner = next((n for n in descendants(loop.body) if isinstance(n, ast.For | ast.AsyncFor)
                      and _key(n.iter) == outer), None)
        if inner is not None:
            what = _src(loop.iter)
            yield Finding(inner.lineno, "efficiency", "info",
                          f"For every pass of the loop on line {loop.lineno}, the loop on line {inner.lineno} goes "
                          f"over {code(what)} again: with 1,000 items that is 1,000,000 passes.",
                          "Could a single pass collect what you need, for example by remembering what you have "
                          "already seen?", "ast:nested-loop-same-sequence")
    list_values: dict[str, bool] = {}  # name -> assigned only list-like values
    for node in ctx.nodes:
        assigned = _simple_assign(node)
        if assigned:
            name, value = assigned
            listy = isinstance(value, ast.List | ast.ListComp) or _is_call(value, "list") \
                or _is_call(value, "sorted") or (isinstance(value, ast.Call) and isinstance(value.func, ast.Attribute)
                                                 and value.func.attr == "split")
            list_values[name] = list_values.get(name, True) and listy
    reported: set[str] = set()
    for any_loop in ctx.loops:
        for node in descendants(any_loop.body):
            if not isinstance(node, ast.Compare):
                continue
            for op, right in zip(node.ops, node.comparators, strict=False):
                if isinstance(op, ast.In | ast.NotIn) and isinstance(right, ast.Name) \
                        and list_values.get(right.id) and right.id not in reported:
                    reported.add(right.id)
                    yield Finding(node.lineno, "efficiency", "info",
                                  f"`in {right.id}` on line {node.lineno} searches the list `{right.id}` from its "
                                  "first item on every pass of the loop, so the work grows with the square of the "
                                  "input.",
                                  f"How long does that search take once `{right.id}` holds 10,000 items? Is there a "
                                  "collection type that answers `in` without searching item by item?",
                                  "ast:in-list-in-loop")


def string_concat_in_loop(ctx: Context) -> Iterator[Finding]:
    reported: set[str] = set()
    for loop in ctx.loops:
        end = loop.end_lineno or loop.lineno
        index = ctx.index(loop)
        for node in descendants(loop.body):
            name = None
            if isinstance(node, ast.AugAssign) and isinstance(node.op, ast.Add) and isinstance(node.target, ast.Name):
                name = node.target.id
            elif (a := _simple_assign(node)) and isinstance(a[1], ast.BinOp) and isinstance(a[1].op, ast.Add) \
                    and isinstance(a[1].left, ast.Name) and a[1].left.id == a[0]:
                name = a[0]
            if name is None or name in reported:
                continue
            # Text started before the loop and never started afresh inside it: it grows across passes.
            grown_before = any(line < loop.lineno for line in index.text_starts.get(name, []))
            resets_inside = any(loop.lineno < line <= end for line in index.plain_sets.get(name, []))
            if grown_before and not resets_inside:
                reported.add(name)
                yield Finding(_line(node), "efficiency", "info",
                              f"`{name}` grows by one piece on every pass (line {_line(node)}). A string can't change, "
                              "so each `+` builds a new one and copies everything so far: fine for a few dozen pieces, "
                              "slow for many thousands.",
                              "If the pieces were collected first, how could you glue them together in one step at "
                              "the end?", "ast:string-concat-in-loop")


def bare_except(ctx: Context) -> Iterator[Finding]:
    for node in ctx.nodes:
        if isinstance(node, ast.ExceptHandler) and (
                node.type is None or (isinstance(node.type, ast.Name) and node.type.id == "BaseException")):
            yield Finding(node.lineno, "correctness", "warning",
                          f"The `except` on line {node.lineno} catches every possible error, including typos "
                          "(NameError) and pressing Ctrl+C, so real mistakes disappear silently.",
                          "Which error do you actually expect here, for example when `int()` gets text? What should "
                          "happen with any other error?", "ast:bare-except")


def print_instead_of_return(ctx: Context) -> Iterator[Finding]:
    for func in ctx.functions:
        own = list(descendants(func.body))
        prints = any(_is_call(n, "print") for n in own)
        returns = any(isinstance(n, ast.Return) and n.value is not None
                      and not (isinstance(n.value, ast.Constant) and n.value.value is None) for n in own)
        if not prints or returns:
            continue
        if func.name in ctx.used_as_value or ctx.none_in_failures:
            yield Finding(func.lineno, "correctness", "warning",
                          f"`{func.name}` prints its result but never hands it back with `return`, so code that "
                          f"calls `{func.name}(...)` receives None.",
                          "What is the difference between showing a value on the screen and giving it back to the "
                          "code that called the function?", "ast:print-instead-of-return")


def unreachable_code(ctx: Context) -> Iterator[Finding]:
    for node in ctx.nodes:
        for field in ("body", "orelse", "finalbody"):
            block = getattr(node, field, None)
            if not isinstance(block, list):
                continue
            for index, stmt in enumerate(block[:-1]):
                if isinstance(stmt, ast.Return | ast.Raise | ast.Break | ast.Continue):
                    word = type(stmt).__name__.lower()
                    after = block[index + 1]
                    yield Finding(after.lineno, "correctness", "warning",
                                  f"Line {after.lineno} can never run: the `{word}` on line {stmt.lineno} always "
                                  "leaves this block first.",
                                  f"Should line {after.lineno} happen before the `{word}`, or is it not needed?",
                                  "ast:unreachable")
                    break


def useless_expression(ctx: Context) -> Iterator[Finding]:
    for node in ctx.nodes:
        if not isinstance(node, ast.Expr):
            continue
        value = node.value
        if isinstance(value, ast.Compare) and any(isinstance(op, ast.Eq) for op in value.ops):
            yield Finding(node.lineno, "correctness", "warning",
                          f"Line {node.lineno} compares with `==` and throws the answer (True or False) away, so "
                          "nothing changes.",
                          "Did you want to compare two values here, or to give a variable a new value? Which "
                          "operator does which?", "ast:useless-expression")
        elif isinstance(value, ast.BinOp | ast.BoolOp | ast.UnaryOp | ast.Compare | ast.Name | ast.Attribute
                        | ast.Subscript):
            yield Finding(node.lineno, "correctness", "warning",
                          f"Line {node.lineno} works out {code(_src(value))} but does nothing with the result.",
                          "Where should this value go: into a variable, into print(...), or back to the caller?",
                          "ast:useless-expression")


def input_not_converted(ctx: Context) -> Iterator[Finding]:
    stores: dict[str, int] = {}
    for node in ctx.nodes:
        if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
            stores[node.id] = stores.get(node.id, 0) + 1
    texts = {a[0] for n in ctx.nodes if (a := _simple_assign(n)) and _is_call(a[1], "input")
             and stores.get(a[0]) == 1}
    reported: set[str] = set()

    def named(node: ast.AST) -> str | None:
        return node.id if isinstance(node, ast.Name) and node.id in texts and node.id not in reported else None

    for node in ctx.nodes:
        hits: list[str | None] = []
        if _is_call(node, "range"):
            hits = [named(a) for a in node.args]
        elif isinstance(node, ast.BinOp) and not isinstance(node.op, ast.MatMult):
            if _is_number(node.right):
                hits = [named(node.left)]
            elif _is_number(node.left):
                hits = [named(node.right)]
        elif isinstance(node, ast.Compare):
            operands = [node.left, *node.comparators]
            for left, right in zip(operands, operands[1:], strict=False):
                hits += [named(left) if _is_number(right) else None, named(right) if _is_number(left) else None]
        line = getattr(node, "lineno", None)
        for name in filter(None, hits):
            reported.add(name)
            yield Finding(line, "correctness", "error",
                          f"`{name}` holds the text that `input()` returned, and line {line} "
                          "uses it as a number.",
                          f"What type of value does `input()` give back? What happens when Python has to do "
                          f"arithmetic or a comparison with text like \"{name}\" and a number?",
                          "ast:input-not-converted")


def loop_variable_modified(ctx: Context) -> Iterator[Finding]:
    for loop in ctx.for_loops:
        if not isinstance(loop.target, ast.Name):
            continue
        name = loop.target.id
        change = next((n for n in descendants(loop.body, skip=_SCOPES + _LOOPS)
                       if (isinstance(n, ast.AugAssign) and isinstance(n.target, ast.Name) and n.target.id == name)
                       or ((a := _simple_assign(n)) is not None and a[0] == name)), None)
        if change is not None:
            yield Finding(_line(change), "correctness", "warning",
                          f"Line {_line(change)} changes `{name}`, the variable of the `for` loop on line "
                          f"{loop.lineno}. The loop gives `{name}` its next value at the start of every pass anyway, "
                          "so the change does not skip or repeat anything.",
                          f"What value does `{name}` have at the start of the next pass? If you need to decide the "
                          "steps yourself, which kind of loop lets you?", "ast:loop-variable-modified")


def modify_while_iterating(ctx: Context) -> Iterator[Finding]:
    for loop in ctx.for_loops:
        if not isinstance(loop.iter, ast.Name | ast.Attribute):
            continue
        seq = ast.dump(loop.iter)
        change = next((n for n in descendants(loop.body)
                       if (isinstance(n, ast.Call) and isinstance(n.func, ast.Attribute)
                           and n.func.attr in _MUTATING_METHODS and ast.dump(n.func.value) == seq)
                       or (isinstance(n, ast.Delete) and any(isinstance(t, ast.Subscript) and ast.dump(t.value) == seq
                                                             for t in n.targets))), None)
        if change is not None:
            what, line = _src(loop.iter), getattr(change, "lineno", None)
            yield Finding(line, "correctness", "warning",
                          f"The loop on line {loop.lineno} walks over {code(what)} while line "
                          f"{line} changes that same list, so items get skipped "
                          "(or the loop never ends).",
                          "When an item is removed (or added) in the middle of the walk, which item does the loop "
                          "look at next? Could the loop read one list while you build another?",
                          "ast:modify-while-iterating")


def _always_leaves(stmt: ast.stmt) -> bool:
    if isinstance(stmt, ast.Return | ast.Raise):
        return True
    if isinstance(stmt, ast.If):
        return bool(stmt.body and stmt.orelse) and _always_leaves(stmt.body[-1]) and _always_leaves(stmt.orelse[-1])
    return False


def returns_on_first_pass(ctx: Context) -> Iterator[Finding]:
    for loop in ctx.for_loops:
        if not loop.body or not isinstance(ctx.scope_of(loop), _FUNCS):
            continue
        skips = any(isinstance(n, ast.Continue) for n in descendants(loop.body, skip=_SCOPES + _LOOPS))
        if _always_leaves(loop.body[-1]) and not skips:
            yield Finding(loop.lineno, "correctness", "warning",
                          f"Every path through the loop on line {loop.lineno} ends in a `return`, so the loop never "
                          "gets past its first item.",
                          "When can you know the answer for sure: after looking at the first item, or only after "
                          "looking at all of them?", "ast:returns-on-first-pass")


CHECKS: tuple[Callable[[Context], Iterator[Finding]], ...] = (
    range_len, accumulator_reset, compare_singleton, mutable_default, shadow_builtin, unused_variable,
    while_true_without_exit, repeated_scans, string_concat_in_loop, bare_except, print_instead_of_return,
    unreachable_code, useless_expression, input_not_converted, loop_variable_modified, modify_while_iterating,
    returns_on_first_pass,
)


def run_checks(tree: ast.Module, *, none_in_failures: bool = False) -> list[Finding]:
    ctx = Context(tree, none_in_failures=none_in_failures)
    return [finding for check in CHECKS for finding in check(ctx)]
