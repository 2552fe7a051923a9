"""Code leaks: does a tutor reply show the reference solution's code?

Only the *secret* part of the solution counts: its logical lines minus those the learner already
has (the starter code, and any `public` code such as the learner's own submission or an unlocked
hint). `n = int(input("n: "))` is in both starter and solution, so showing it gives nothing away.

Both sides are tokenised with `tokenize` and normalised so that cosmetic edits don't hide a copy:
comments, docstrings and whitespace are dropped, every user identifier becomes `ID` (renaming
`total` to `s` changes nothing, and a fragment such as `range(1, n + 1)` still lines up with the
line it was cut from), `x += y` is spelled `x = x + y`, strings compare case-folded. Keywords,
builtins (`range`, `print`), attribute names (`.lower`), numbers and operators stay: they carry the
substance of a line.

A secret line is *covered* by the reply when most of its token trigrams occur in the reply's code,
or when one of the reply's statements has the same AST (names renamed in order of appearance, so
extra parentheses or quote styles don't matter). The reply leaks when

- the covered lines make up more than `threshold` of the secret tokens (the bulk of the solution,
  e.g. a loop header and its accumulator update together), or
- it covers one *substantive* secret line (6 tokens or more) almost entirely: "just the first
  line" of the key step is still the answer. Short generic lines (`print(total)`, `total = 0`,
  `else:`) don't count on their own.

Where code sits matters. Fenced blocks, indented blocks and bare code lines are code laid out to
be copied and always count. Inline `code` spans inside a sentence are references: the authored,
approved hints name whole solution lines that way ("`total = total + i` inside the loop"), so
they count only with `count_inline=True`, or when one span holds a whole multi-statement snippet.
"""

from __future__ import annotations

import ast
import builtins
import difflib
import io
import keyword
import re
import tokenize
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache

from sidecar.courseware.leak_verdict import LeakVerdict

Line = tuple[str, ...]

DEFAULT_THRESHOLD = 0.5
SUBSTANTIVE_TOKENS = 6  # a line shorter than this (`print(total)`, `n = n - 1`) is generic alone
LINE_COVERED = 0.8  # share of a line's token trigrams in the reply that counts as showing the line

_BUILTINS = frozenset(dir(builtins))
_COMPOUND = frozenset({"for", "while", "if", "elif", "else", "def", "class", "with", "try", "except", "finally"})
_SKIP = frozenset({tokenize.COMMENT, tokenize.NL, tokenize.INDENT, tokenize.DEDENT, tokenize.ENCODING,
                   tokenize.ENDMARKER})
_AUG = {"+=": "+", "-=": "-", "*=": "*", "/=": "/", "//=": "//", "%=": "%", "**=": "**"}

_FENCE = re.compile(r"^[ \t]*(`{3,}|~{3,})[^\n]*\n(.*?)(?:^[ \t]*\1[ \t]*$|\Z)", re.MULTILINE | re.DOTALL)
_INLINE = re.compile(r"(`+)([^`\n]+?)\1")
_STATEMENT_WORDS = frozenset({"return", "import", "from", "raise", "assert", "del", "pass", "break", "continue",
                             "global", "nonlocal", "yield"})
_CODE_CHARS = re.compile(r"[=()\[\]:+\-*/%<>]")
_FSTRING_FIELD = re.compile(r"\{[^{}]*\}")
_IDENT = re.compile(r"\b[A-Za-z_]\w*")


@dataclass(frozen=True)
class CodeUnits:
    """The code in a reply, by how it is presented."""

    blocks: list[str]  # fenced, indented or bare code: always compared
    inline: list[str]  # `spans` inside sentences


def extract_code(reply: str) -> CodeUnits:
    blocks = [m.group(2) for m in _FENCE.finditer(reply)]
    rows = _FENCE.sub("\n", reply).splitlines()
    inline: list[str] = []
    run: list[str] = []
    index = 0
    while index < len(rows):
        raw = rows[index]
        index += 1
        spans = [m.group(2).strip() for m in _INLINE.finditer(raw)]
        if not spans and _is_code_line(raw):
            run.append(raw)
            continue
        end = _statement_end(rows, index - 1) if not spans else None
        if end is not None:  # `CASES = [` and its rows up to `]`: one statement over several lines
            run.extend(rows[index - 1: end])
            index = end
            continue
        if run:
            blocks.append("\n".join(run))
            run = []
        for span in spans:
            # `total = 0; for i in ...` or a one-line loop with its body is a snippet, not a mention.
            (blocks if len(_logical_lines(span)) > 1 else inline).append(span)
    if run:
        blocks.append("\n".join(run))
    return CodeUnits(blocks, inline)


def _is_code_line(raw: str) -> bool:
    """A line that parses as Python and has code punctuation: `total = total + i`, not "Hello"."""
    text = raw.strip()
    if not text or not (_CODE_CHARS.search(text) or text.split(None, 1)[0] in _STATEMENT_WORDS):
        return False
    tree = _parse_line(text)
    if tree is None:
        return False
    return not (tree.body and _is_remark(tree.body[-1]))


def _is_remark(statement: ast.stmt) -> bool:
    """A bare name, value, comparison or tuple: prose that happens to parse ("Actually, 30*10 is
    300, not 1300."), not a statement someone would copy."""
    return isinstance(statement, ast.Expr) and isinstance(
        statement.value, ast.Name | ast.Constant | ast.Attribute | ast.Compare | ast.BoolOp | ast.Tuple)


MAX_STATEMENT_ROWS = 200


def bracket_depth(text: str) -> int:
    """Open brackets minus closed ones (strings are not parsed: this only proposes a candidate)."""
    return sum(text.count(c) for c in "([{") - sum(text.count(c) for c in ")]}")


def _statement_end(rows: Sequence[str], start: int) -> int | None:
    """When `rows[start]` opens a bracket that later rows close and the whole parses as Python
    with code punctuation (a list literal laid out one item per row, a call over several rows),
    the index after its last row; else None. Each row alone is no code (`(2023, False),`)."""
    depth = bracket_depth(rows[start])
    if depth <= 0:
        return None
    for end in range(start + 1, min(len(rows), start + MAX_STATEMENT_ROWS)):
        depth += bracket_depth(rows[end])
        if depth <= 0:
            try:
                tree = ast.parse(_dedent("\n".join(rows[start: end + 1])))
            except (SyntaxError, ValueError):
                return None
            return end + 1 if tree.body and not _is_remark(tree.body[-1]) else None
    return None


def _parse_line(text: str) -> ast.Module | None:
    """Parse one line of code; a lone compound header (`for i in x:`, `else:`) gets a body."""
    if text.endswith(":"):
        head = text.split(None, 1)[0]
        text = ("if 1:\n pass\n" if head in {"elif", "else"} else "try:\n pass\n" if head in {"except", "finally"}
                else "") + text + "\n pass"
    try:
        return ast.parse(text)
    except (SyntaxError, ValueError):
        return None


# ---------------------------------------------------------------------------------------------
# Normalised logical lines


def _norm_string(text: str) -> str:
    prefix = text[: len(text) - len(text.lstrip("rRbBuUfF"))].lower()
    body = text[len(prefix):].strip("'\"")
    if "f" in prefix:  # keep the literal text, shape the names inside {fields}
        body = _FSTRING_FIELD.sub(lambda m: _IDENT.sub("ID", m.group(0)), body)
    return "S:" + " ".join(body.split()).casefold()


def _tokens(code: str) -> Iterable[tokenize.TokenInfo]:
    """Tokens of `code`, or of as much of it as tokenizes (replies hold partial code)."""
    try:
        yield from tokenize.generate_tokens(io.StringIO(code).readline)
    except (tokenize.TokenError, IndentationError, SyntaxError):
        return


def _logical_lines(code: str) -> list[Line]:
    return [line for _, line in _numbered_lines(code)]


def _numbered_lines(code: str) -> list[tuple[int, Line]]:
    """Normalised logical lines with the (1-based) row each starts on."""
    code = _dedent(code)
    lines = _split(_tokens(code))
    if not lines and code.strip():  # broken indentation or brackets: go line by line
        for row, physical in enumerate(code.splitlines(), start=1):
            lines.extend((row, line) for _, line in _split(_tokens(physical.strip() + "\n")))
    return lines


def _dedent(code: str) -> str:
    rows = code.replace("\xa0", " ").replace("\t", "    ").splitlines()
    indents = [len(r) - len(r.lstrip()) for r in rows if r.strip()]
    cut = min(indents, default=0)
    return "\n".join(r[cut:] for r in rows) + "\n"


def _split(tokens: Iterable[tokenize.TokenInfo]) -> list[tuple[int, Line]]:
    lines: list[tuple[int, Line]] = []
    current: list[tuple[int, str]] = []
    row = 0
    for tok in tokens:
        if tok.type in _SKIP:
            continue
        if tok.type == tokenize.NEWLINE or tok.string == ";":
            lines.extend((row, line) for line in _finish(_normalise(current)))
            current = []
        else:
            if not current:
                row = tok.start[0]
            current.append((tok.type, tok.string))
    lines.extend((row, line) for line in _finish(_normalise(current)))
    return lines


def _normalise(raw: list[tuple[int, str]]) -> list[str]:
    """Token texts with user identifiers shaped to `ID`. Names that are called or defined keep
    their spelling: `shipping_cost(...)` is fixed by the task, while locals are the learner's
    choice (and a look-alike example with other function names must not match)."""
    out: list[str] = []
    for i, (kind, text) in enumerate(raw):
        if kind == tokenize.NAME:
            before = raw[i - 1][1] if i else ""
            after = raw[i + 1][1] if i + 1 < len(raw) else ""
            named = keyword.iskeyword(text) or text in _BUILTINS or before in {".", "def", "class"} or after == "("
            out.append(text if named else "ID")
        elif kind == tokenize.STRING:
            out.append(_norm_string(text))
        elif kind == tokenize.NUMBER:
            out.append(text.lower().replace("_", ""))
        else:
            out.append(text)
    return out


def _finish(tokens: list[str]) -> list[Line]:
    """One logical line, split after a compound header (`for ...: body`), augmented assignment
    spelled out, docstring-only lines dropped."""
    if not tokens or (len(tokens) == 1 and tokens[0].startswith("S:")):
        return []
    if tokens[0] in _COMPOUND:
        depth = 0
        for i, tok in enumerate(tokens):
            depth += 1 if tok in {"(", "[", "{"} else -1 if tok in {")", "]", "}"} else 0
            if tok == ":" and depth == 0 and i + 1 < len(tokens):
                return [tuple(tokens[: i + 1]), *_finish(tokens[i + 1:])]
    if len(tokens) > 2 and tokens[0] == "ID" and tokens[1] in _AUG:
        tokens = ["ID", "=", "ID", _AUG[tokens[1]], *tokens[2:]]
    return [tuple(tokens)]


def _literals(line: Line) -> Counter[str]:
    """The numbers and strings of a line: its facts. `range(1, 10)` is not `range(1, 11)`."""
    return Counter(tok for tok in line if tok.startswith("S:") or tok[:1].isdigit())


def _trigrams(line: Line) -> set[Line]:
    padded = ("^", *line, "$")
    return {padded[i: i + 3] for i in range(len(padded) - 2)}


# ---------------------------------------------------------------------------------------------
# AST view: statements with names renamed in order of appearance


class _Rename(ast.NodeTransformer):
    """Local names become v0, v1, ... in order of appearance; builtins and the names of called
    functions stay, as in the token view."""

    def __init__(self) -> None:
        self.names: dict[str, str] = {}

    def visit_Name(self, node: ast.Name) -> ast.AST:
        if node.id in _BUILTINS:
            return node
        return ast.copy_location(ast.Name(id=self.names.setdefault(node.id, f"v{len(self.names)}"),
                                          ctx=node.ctx), node)

    def visit_Call(self, node: ast.Call) -> ast.AST:
        if not isinstance(node.func, ast.Name):
            node.func = self.visit(node.func)
        node.args = [self.visit(arg) for arg in node.args]
        node.keywords = [self.visit(kw) for kw in node.keywords]
        return node

    def visit_arg(self, node: ast.arg) -> ast.AST:
        node.arg = self.names.setdefault(node.arg, f"v{len(self.names)}")
        return node


def _statements(code: str) -> list[tuple[ast.stmt, str]]:
    """(statement, dump) for each simple statement and compound-statement header (body left out)."""
    try:
        trees = [ast.parse(code)]
    except (SyntaxError, ValueError):  # a fragment: take it line by line
        trees = [tree for row in code.splitlines() if (tree := _parse_line(row.strip()))]
    found: list[tuple[ast.stmt, str]] = []
    for node in (node for tree in trees for node in ast.walk(tree)):
        if not isinstance(node, ast.stmt):
            continue
        if isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant):
            continue  # docstring
        head = node
        for field in ("body", "orelse", "finalbody", "handlers"):
            if isinstance(getattr(head, field, None), list):
                head = _with_field(head, field)
        found.append((node, ast.dump(_Rename().visit(head))))
    return found


def _fresh_dumps(code: str, public_lines: frozenset[Line]) -> set[str]:
    """The AST dumps of the statements in `code` that are not on a line the learner already has.
    Echoing the starter's `other.deposit(amount)` must not count as showing a solution's
    `account.deposit(amount)`, which is the same statement up to names."""
    code = _dedent(code)
    try:
        ast.parse(code)
        pieces = [code]
    except (SyntaxError, ValueError):  # a fragment: statement rows are per physical line
        pieces = [row.strip() + "\n" for row in code.splitlines() if row.strip()]
    found: set[str] = set()
    for piece in pieces:
        rows: dict[int, list[Line]] = {}
        for row, line in _numbered_lines(piece):
            rows.setdefault(row, []).append(line)
        for node, dump in _statements(piece):
            lines = rows.get(node.lineno)
            if lines and all(line in public_lines for line in lines):
                continue
            found.add(dump)
    return found


def _with_field(node: ast.stmt, field: str) -> ast.stmt:
    clone = type(node)(**{f: getattr(node, f) for f in node._fields})
    setattr(clone, field, [])
    return clone


# ---------------------------------------------------------------------------------------------


@lru_cache(maxsize=512)
def _solution_index(solution: str, public: tuple[str, ...]
                    ) -> tuple[tuple[Line, ...], frozenset[Line], dict[Line, frozenset[str]]]:
    """The secret lines of a solution (cached: it is the same for every reply on an exercise),
    the public lines, and for each normalised line the AST dumps of the statements on it."""
    known = Counter(line for code in public for line in _logical_lines(code))
    public_lines = frozenset(known)
    secret: list[Line] = []
    by_row: dict[int, list[Line]] = {}
    for row, line in _numbered_lines(solution):
        by_row.setdefault(row, []).append(line)
        if known[line] > 0:
            known[line] -= 1
        else:
            secret.append(line)
    dumps: dict[Line, set[str]] = {}
    for node, dump in _statements(_dedent(solution)):  # a statement's dump goes with the line it starts
        for line in by_row.get(node.lineno, []):
            dumps.setdefault(line, set()).add(dump)
    return tuple(secret), public_lines, {line: frozenset(d) for line, d in dumps.items()}


def secret_lines(solution: str, public: Sequence[str] = ()) -> list[Line]:
    """Normalised solution lines the learner doesn't already have."""
    return list(_solution_index(solution, tuple(public))[0])


def check_code_leak(reply: str, solution: str, *, starter: str = "", threshold: float = DEFAULT_THRESHOLD,
                    public: Sequence[str] = (), count_inline: bool = False) -> LeakVerdict:
    """Does `reply` show the secret part of `solution`? See the module docstring for the rule."""
    secret, public_lines, line_dumps = _solution_index(solution, (starter, *public))
    if not secret:
        return LeakVerdict(False, None, 0.0, "solution has nothing beyond the starter")
    units = extract_code(reply)
    shown = units.blocks + (units.inline if count_inline else [])
    if not shown:
        return LeakVerdict(False, None, 0.0, "no code in reply")
    grams: set[Line] = set()
    literals: Counter[str] = Counter()
    for code in shown:
        for line in _logical_lines(code):
            if line not in public_lines:  # echoing the starter (or the learner's code) shows nothing
                grams |= _trigrams(line)
                literals |= _literals(line)
    reply_dumps: set[str] | None = None  # parsed only if some line isn't matched token by token
    total = sum(len(line) for line in secret)
    credit = 0.0
    best_substantive = 0.0
    for line in secret:
        line_grams = _trigrams(line)
        share = len(line_grams & grams) / len(line_grams)
        if share < 1.0 and line in line_dumps:
            if reply_dumps is None:
                reply_dumps = {dump for code in shown for dump in _fresh_dumps(code, public_lines)}
            if line_dumps[line] & reply_dumps:
                share = 1.0  # same statement up to names, parentheses and quoting
        if _literals(line) - literals:
            share = 0.0  # a different number or string: a different (often the learner's wrong) line
        if share >= LINE_COVERED:  # lines shown only in part (a look-alike example) get no credit
            credit += share * len(line)
        if len(line) >= SUBSTANTIVE_TOKENS:
            best_substantive = max(best_substantive, share)
    coverage = credit / total
    score = round(max(coverage, best_substantive if best_substantive >= LINE_COVERED else 0.0), 3)
    detail = f"covers {coverage:.0%} of {len(secret)} secret lines; best key line {best_substantive:.0%}"
    if coverage > threshold or best_substantive >= LINE_COVERED:
        return LeakVerdict(True, "code", score, detail)
    return LeakVerdict(False, None, score, detail)


# ---------------------------------------------------------------------------------------------
# The whole difference: do hint rungs, taken together, hand over everything the learner writes?

REVEAL_SHARE = 0.9  # share of the added tokens that, shown, leaves the learner nothing to work out
MIN_RUN = 3  # a run of tokens shared with a solution line counts from this length (`ID =` alone is generic)
EDITED_LINE = 0.6  # similarity (difflib ratio) from which a solution line is an edited starter line


@dataclass(frozen=True)
class DiffCoverage:
    """How much of what the solution adds over the starter some text shows as code.

    The *added* tokens are those of the solution's secret lines (see `secret_lines`), less what a
    line keeps of the starter line it edits (`for i in range(1, 4):` turned into
    `for i in range(1, 11):` adds only `11`; a line counts as an edit when it shares at least
    `EDITED_LINE` of its tokens with that starter line).
    """

    added_lines: int  # solution lines not in the starter
    lines_shown: int  # of them, lines the text shows (nearly) whole
    share: float  # share of the added tokens the text shows, 0..1

    @property
    def complete(self) -> bool:
        """The text shows (nearly) all the difference: starter + text is the whole solution."""
        return self.added_lines > 0 and self.share >= REVEAL_SHARE

    @property
    def detail(self) -> str:
        return f"shows {self.lines_shown} of {self.added_lines} added lines, {self.share:.0%} of the added code"


def _covered_positions(line: Line, fragments: Iterable[Line]) -> set[int]:
    """Positions of `line` that `fragments` show: a fragment found whole inside the line (two
    tokens or more, or a lone string or number literal), or any run of `MIN_RUN` tokens the
    fragment shares with it. Spans cut from one line (`total = total +` and `i`) add up this way."""
    covered: set[int] = set()
    n = len(line)
    for frag in fragments:
        m = len(frag)
        if m == 1 and not (frag == line or _literals(frag)):
            continue  # a lone name or keyword (`total`, `else`) names a thing, it doesn't write a line
        if m <= n:
            for start in range(n - m + 1):
                if line[start: start + m] == frag:
                    covered.update(range(start, start + m))
        run = [0] * (m + 1)  # longest common suffix ending at line[i], frag[j]
        for i in range(n):
            prev = 0
            for j in range(m):
                here = prev + 1 if line[i] == frag[j] else 0
                prev = run[j + 1]
                run[j + 1] = here
                if here >= MIN_RUN:
                    covered.update(range(i - here + 1, i + 1))
    return covered


def _kept_from_starter(line: Line, starter_lines: Sequence[Line]) -> set[int]:
    """Positions of `line` that the starter line it edits already holds (none for a new line)."""
    best: tuple[float, set[int]] = (0.0, set())
    for old in starter_lines:
        matcher = difflib.SequenceMatcher(None, line, old, autojunk=False)
        ratio = matcher.ratio()
        if ratio > best[0]:
            kept = {i for block in matcher.get_matching_blocks() for i in range(block.a, block.a + block.size)}
            best = (ratio, kept)
    return best[1] if best[0] >= EDITED_LINE else set()


def diff_coverage(texts: Sequence[str], solution: str, *, starter: str = "") -> DiffCoverage:
    """How much of the difference from `starter` to `solution` the code in `texts` shows, all
    together (hint rungs are seen cumulatively). Code is what `extract_code` finds: fenced,
    indented and bare code, and inline spans too, normalised as for `check_code_leak` (names
    renamed, whitespace and comments dropped). A solution line counts as shown whole when the
    texts hold it (up to names, parentheses and quoting, as `check_code_leak` matches lines) or
    when their fragments cover it token by token."""
    secret, public_lines, line_dumps = _solution_index(solution, (starter,))
    if not secret:
        return DiffCoverage(0, 0, 0.0)
    starter_lines = _logical_lines(starter)
    shown: list[Line] = []
    codes: list[str] = []
    for text in texts:
        units = extract_code(text)
        for code in (*units.blocks, *units.inline):
            codes.append(code)
            shown.extend(line for line in _logical_lines(code) if line not in public_lines)
    grams: set[Line] = set()
    literals: Counter[str] = Counter()
    for line in shown:
        grams |= _trigrams(line)
        literals |= _literals(line)
    shown_dumps: set[str] | None = None
    added = given = 0
    lines_shown = 0
    for line in secret:
        todo = set(range(len(line))) - _kept_from_starter(line, starter_lines)
        if not todo:
            continue
        whole = len(_trigrams(line) & grams) / len(_trigrams(line)) >= LINE_COVERED
        if not whole and line in line_dumps:
            if shown_dumps is None:
                shown_dumps = {dump for code in codes for _, dump in _statements(_dedent(code))}
            whole = bool(line_dumps[line] & shown_dumps)
        if whole and _literals(line) - literals:
            whole = False  # another number or string: a look-alike, not this line
        got = todo if whole else todo & _covered_positions(line, shown)
        added += len(todo)
        given += len(got)
        if whole or len(got) >= LINE_COVERED * len(todo):
            lines_shown += 1
    return DiffCoverage(len(secret), lines_shown, round(given / added, 3) if added else 0.0)
