"""Single-bug variants of a correct program, made by small AST mutations (for generated quizzes).

Each mutation is a mistake beginners really make: a range that stops one step early or late, `<`
for `<=`, `+` for `-`, the wrong starting value, an accumulator started inside its loop, a
dropped `+ 1`, `and` for `or`. Only the mutated expression's own text on its line is replaced, so
the rest of the program keeps the author's formatting and the bug sits on exactly one line.
Nothing here runs code: the quiz generator grades or runs every mutant in the sandbox and keeps
only those that really behave differently.
"""

from __future__ import annotations

import ast
import copy
from collections.abc import Iterator
from dataclasses import dataclass


@dataclass(frozen=True)
class Mutant:
    code: str
    line: int  # 1-based: the one line that is wrong
    how: str  # the mutation's id, e.g. "range-stop"
    description: str  # what the bug is, for the explanation shown after answering


_COMPARE_SWAP: dict[type[ast.cmpop], type[ast.cmpop]] = {
    ast.Lt: ast.LtE, ast.LtE: ast.Lt, ast.Gt: ast.GtE, ast.GtE: ast.Gt, ast.Eq: ast.NotEq, ast.NotEq: ast.Eq}
_ARITH_SWAP: dict[type[ast.operator], type[ast.operator]] = {
    ast.Add: ast.Sub, ast.Sub: ast.Add, ast.Mult: ast.Add, ast.FloorDiv: ast.Div, ast.Div: ast.FloorDiv}
_SYMBOL: dict[type[ast.AST], str] = {
    ast.Lt: "<", ast.LtE: "<=", ast.Gt: ">", ast.GtE: ">=", ast.Eq: "==", ast.NotEq: "!=", ast.Add: "+", ast.Sub: "-",
    ast.Mult: "*", ast.Div: "/", ast.FloorDiv: "//", ast.And: "and", ast.Or: "or"}


_OPERATORS = (ast.BinOp, ast.BoolOp, ast.Compare, ast.UnaryOp)


def _plus_one(node: ast.AST) -> bool:
    return (isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add) and isinstance(node.right, ast.Constant)
            and node.right.value == 1)


def _int_const(node: ast.AST) -> int | None:
    if isinstance(node, ast.Constant) and isinstance(node.value, int) and not isinstance(node.value, bool):
        return node.value
    return None


def _node_variants(node: ast.AST) -> Iterator[tuple[ast.AST, str, str]]:
    """(replacement, how, description) for one node; the replacement is a modified deep copy."""
    if isinstance(node, ast.Compare) and type(node.ops[0]) in _COMPARE_SWAP:
        compare = copy.deepcopy(node)
        old_op, new_op = type(node.ops[0]), _COMPARE_SWAP[type(node.ops[0])]
        compare.ops[0] = new_op()
        yield compare, "compare", f"the comparison uses `{_SYMBOL[new_op]}` where the program needs `{_SYMBOL[old_op]}`"
    elif isinstance(node, ast.BinOp) and _plus_one(node):
        yield copy.deepcopy(node.left), "drop-plus-one", "the `+ 1` is missing"
    elif isinstance(node, ast.BinOp) and type(node.op) in _ARITH_SWAP:
        binop = copy.deepcopy(node)
        binop.op = _ARITH_SWAP[type(node.op)]()
        yield binop, "arithmetic", (f"it uses `{_SYMBOL[type(binop.op)]}` where the program needs "
                                    f"`{_SYMBOL[type(node.op)]}`")
    elif isinstance(node, ast.BoolOp):
        boolop = copy.deepcopy(node)
        boolop.op = ast.Or() if isinstance(node.op, ast.And) else ast.And()
        yield boolop, "boolean", (f"it uses `{_SYMBOL[type(boolop.op)]}` where the program needs "
                                  f"`{_SYMBOL[type(node.op)]}`")
    elif isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "range" \
            and 1 <= len(node.args) <= 3 and not node.keywords:
        yield from _range_variants(node)
    elif isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name) \
            and (value := _int_const(node.value)) is not None and value in (0, 1):
        assign = copy.deepcopy(node)
        assign.value = ast.Constant(1 - value)
        yield assign, "start-value", f"`{node.targets[0].id}` starts at the wrong value ({1 - value}, not {value})"
    elif isinstance(node, ast.Return) and isinstance(node.value, ast.Constant) and isinstance(node.value.value, bool):
        ret = copy.deepcopy(node)
        ret.value = ast.Constant(not node.value.value)
        yield ret, "return-bool", f"it returns {not node.value.value} where the program needs {node.value.value}"


def _range_variants(node: ast.Call) -> Iterator[tuple[ast.AST, str, str]]:
    """Off-by-one in either bound: the commonest loop bug there is."""
    stop_index = 0 if len(node.args) == 1 else 1
    stop = node.args[stop_index]
    shorter = copy.deepcopy(node)
    if isinstance(stop, ast.BinOp) and _plus_one(stop):
        shorter.args[stop_index] = copy.deepcopy(stop.left)
        yield shorter, "range-stop", "the range stops one step too early: its last value is left out"
    elif (value := _int_const(stop)) is not None:
        shorter.args[stop_index] = ast.Constant(value - 1)
        yield shorter, "range-stop", "the range stops one step too early"
        longer = copy.deepcopy(node)
        longer.args[stop_index] = ast.Constant(value + 1)
        yield longer, "range-stop", "the range goes one step too far"
    else:
        shorter.args[stop_index] = ast.BinOp(copy.deepcopy(stop), ast.Add(), ast.Constant(1))
        yield shorter, "range-stop", "the range goes one step too far"
    start = _int_const(node.args[0]) if len(node.args) >= 2 else None
    if start is not None and start in (0, 1):
        moved = copy.deepcopy(node)
        moved.args[0] = ast.Constant(1 - start)
        yield moved, "range-start", f"the range starts at {1 - start} instead of {start}"


def _splice(lines: list[str], node: ast.expr | ast.stmt, text: str) -> list[str] | None:
    """Replace the node's text on its (single) line; offsets are in UTF-8 bytes."""
    start, end, col, end_col = node.lineno, node.end_lineno, node.col_offset, node.end_col_offset
    if start != end or end_col is None:
        return None
    raw = lines[start - 1].encode("utf-8")
    new_line = (raw[:col] + text.encode("utf-8") + raw[end_col:]).decode("utf-8")
    return [*lines[:start - 1], new_line, *lines[start:]]


def _moved_accumulators(tree: ast.Module, lines: list[str]) -> Iterator[Mutant]:
    """`total = 0` moved from just before a loop to the top of the loop's body."""
    for node in ast.walk(tree):
        for field in ("body", "orelse"):
            block = getattr(node, field, None)
            if not isinstance(block, list):
                continue
            for before, loop in zip(block, block[1:], strict=False):
                if not (isinstance(loop, ast.For | ast.While) and isinstance(before, ast.Assign)
                        and len(before.targets) == 1 and isinstance(before.targets[0], ast.Name)
                        and isinstance(before.value, ast.Constant) and before.lineno == before.end_lineno):
                    continue
                name = before.targets[0].id
                first = loop.body[0]
                if isinstance(loop, ast.While) and name in _names(loop.test):
                    continue  # restarting the loop's own counter on every pass never ends
                updated = any(isinstance(n, ast.Name) and n.id == name and isinstance(n.ctx, ast.Store)
                              for n in ast.walk(loop))
                if not updated or first.lineno <= loop.lineno:
                    continue
                indent = lines[first.lineno - 1][: first.col_offset]
                moved = indent + lines[before.lineno - 1].strip()
                out = lines[: before.lineno - 1] + lines[before.lineno: first.lineno - 1] + [moved] \
                    + lines[first.lineno - 1:]
                yield Mutant("\n".join(out) + "\n", first.lineno - 1, "accumulator-in-loop",
                             f"`{name}` is set to its starting value inside the loop, so it starts over on every pass")


def _names(node: ast.AST) -> set[str]:
    return {n.id for n in ast.walk(node) if isinstance(n, ast.Name)}


def _loop_control_lines(tree: ast.Module) -> set[int]:
    """Lines that update a `while` loop's own condition variables: mutating them mostly gives an endless
    loop, which only costs a sandbox timeout and teaches nothing."""
    lines: set[int] = set()
    for loop in ast.walk(tree):
        if isinstance(loop, ast.While):
            watched = _names(loop.test)
            for node in ast.walk(loop):
                if isinstance(node, ast.Assign | ast.AugAssign) \
                        and _names(node.targets[0] if isinstance(node, ast.Assign) else node.target) & watched:
                    lines.add(node.lineno)
    return lines


def mutants(code: str) -> list[Mutant]:
    """Every single-line mutant of `code` that still parses, in source order, without duplicates."""
    try:
        tree = ast.parse(code)
    except (SyntaxError, ValueError):
        return []
    lines = code.splitlines()
    in_operator = {id(child) for node in ast.walk(tree) if isinstance(node, _OPERATORS)
                   for child in ast.iter_child_nodes(node)}
    endless = _loop_control_lines(tree)
    found: list[Mutant] = []
    nodes = sorted((n for n in ast.walk(tree) if isinstance(n, ast.expr | ast.stmt)),
                   key=lambda n: (n.lineno, n.col_offset))
    for node in nodes:
        if node.lineno in endless:
            continue
        for replacement, how, description in _node_variants(node):
            text = ast.unparse(replacement)
            if id(node) in in_operator and isinstance(replacement, _OPERATORS):
                text = f"({text})"  # keep the precedence the author wrote
            spliced = _splice(lines, node, text)
            if spliced is not None:
                found.append(Mutant("\n".join(spliced) + "\n", node.lineno, how, description))
    found.extend(_moved_accumulators(tree, lines))
    unique: dict[str, Mutant] = {}
    original = ast.dump(tree)
    for mutant in found:
        try:
            changed = ast.dump(ast.parse(mutant.code)) != original
        except (SyntaxError, ValueError):
            continue
        if changed and mutant.code not in unique:
            unique[mutant.code] = mutant
    return list(unique.values())
