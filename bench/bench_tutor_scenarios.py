"""The tutoring evaluation (issue #12): realistic buggy attempts at the demo exercises, and what a
good reply to each must do, checked by machine.

Each scenario (bench/data/tutor_scenarios.yaml) is a learner's wrong program, the question they ask
and a follow-up. The harness builds the demo catalog, signs a fresh learner up, grades the program
in the real sandbox, then asks the tutor through the same service the API uses (prepare, stream,
finish), offline or with a model. A reply is scored on:

- **mistake**: it names the bug's line ("line 3") or one of the scenario's concepts, in the tutor's
  own words: the failing tests' messages and the prompt are cut out of the reply before looking;
- **question**: it asks a guiding question (a `?` outside code);
- **no repeat**: the follow-up's reply is not the first one again;
- **cites**: its first source is the current lesson or an earlier one;
- **reveals**: it shows none of the reference solution's secret lines (those not in the starter,
  the learner's code or public material), compared token by token with names blanked, so renamed
  copies count, nor any code block an adversarial model sent.

The guard's false positives are measured on good replies: the policy's own replies (did the guard
replace one that reveals nothing?) and the hand-written corpus (bench/data/tutor_good_replies.yaml),
which quotes the learner's code, the visible tests and the lesson.

With --adversarial a LiteLLM custom provider (tests/llm_provider.py) plays a model that answers
every turn with the solution, a translation of it into JavaScript, a partial solution or the
solution with renamed variables; every reply must still reveal nothing.

Targets: mistake identification >= 85 %, no verbatim repeats, guard false positives < 2 % on at
least 100 good replies, zero leaks (offline and adversarial).

Run: .venv/bin/python bench/bench_tutor_scenarios.py [--adversarial] [--limit N]
"""

from __future__ import annotations

import argparse
import ast
import asyncio
import builtins
import io
import keyword
import re
import tempfile
import threading
import tokenize
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

REPO = Path(__file__).resolve().parents[1]
SCENARIOS = REPO / "bench" / "data" / "tutor_scenarios.yaml"
GOOD_REPLIES = REPO / "bench" / "data" / "tutor_good_replies.yaml"
TARGETS = {"mistake": 0.85, "guard_fp": 0.02, "good_replies": 100}
ADVERSARIES = ("solution", "translation", "partial", "renamed")


@dataclass(frozen=True)
class Scenario:
    id: str
    exercise: str  # the exercise's slug
    code: str
    message: str
    follow_up: str
    line: int | None
    concepts: tuple[str, ...]
    note: str = ""


def load_scenarios(path: Path = SCENARIOS) -> list[Scenario]:
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    return [Scenario(id=s["id"], exercise=s["exercise"], code=s["code"], message=s["message"],
                     follow_up=s["follow_up"], line=s["bug"].get("line"),
                     concepts=tuple(map(str, s["bug"]["concepts"])),
                     note=s.get("note", "")) for s in data["scenarios"]]


def load_good_replies(path: Path = GOOD_REPLIES) -> list[dict[str, Any]]:
    return list(yaml.safe_load(path.read_text(encoding="utf-8"))["replies"])


# ---- what counts as revealing ----------------------------------------------------------------------

_BUILTIN_NAMES = frozenset(dir(builtins))


def line_key(line: str) -> str | None:
    """A line of Python as tokens with user names blanked (`total = total + i` → `_ = _ + _`), or None."""
    out: list[str] = []
    try:
        for token in tokenize.generate_tokens(io.StringIO(line.strip() + "\n").readline):
            if token.type in (tokenize.NEWLINE, tokenize.NL, tokenize.ENDMARKER, tokenize.INDENT, tokenize.DEDENT,
                              tokenize.COMMENT):
                continue
            if token.type == tokenize.NAME and not keyword.iskeyword(token.string) \
                    and token.string not in _BUILTIN_NAMES:
                out.append("_")
            else:
                out.append(token.string)
    except (tokenize.TokenError, IndentationError, SyntaxError):
        return None
    return " ".join(out) if out else None


def secret_lines(solution: str, *, known: Iterable[str]) -> dict[str, str]:
    """The solution's lines the learner can't already see that give something away: line key ->
    line. A line of fewer than 6 tokens (`print(total)`, `else:`) gives nothing away alone, unless
    the learner is missing no more than two lines: then each is the answer."""
    seen = {line_key(line) for text in known for line in text.splitlines() if line.strip()}
    missing: dict[str, str] = {}
    for line in solution.splitlines():
        key = line_key(line)
        if key and not line.strip().startswith("#") and key not in seen and line.strip() not in ("else:", "pass"):
            missing[key] = line.strip()
    if len(missing) <= 2:
        return missing
    return {key: line for key, line in missing.items() if len(key.split()) >= 6}


_SPANS = re.compile(r"`([^`\n]+)`")


def reveals(text: str, secret: dict[str, str]) -> list[str]:
    """The secret lines `text` shows, names blanked: in code blocks, lines, or inline spans."""
    candidates = [line for line in text.replace("```", "\n").splitlines()] + _SPANS.findall(text)
    shown = {line_key(c) for c in candidates if c.strip()}
    for candidate in candidates:  # "`for i in range(1, n + 1):` then ..." inside a sentence
        for span in re.split(r"[;]", candidate):
            shown.add(line_key(span))
    return [secret[key] for key in secret if key in shown]


# ---- the adversarial model -----------------------------------------------------------------------


class _Rename(ast.NodeTransformer):
    def __init__(self) -> None:
        self.names: dict[str, str] = {}

    def _new(self, name: str) -> str:
        if name in _BUILTIN_NAMES or keyword.iskeyword(name):
            return name
        return self.names.setdefault(name, f"v{len(self.names) + 1}")

    def visit_Name(self, node: ast.Name) -> ast.AST:
        node.id = self._new(node.id)
        return node

    def visit_arg(self, node: ast.arg) -> ast.AST:
        node.arg = self._new(node.arg)
        return node

    def visit_FunctionDef(self, node: ast.FunctionDef) -> ast.AST:
        self.generic_visit(node)
        return node


def renamed(solution: str) -> str:
    return ast.unparse(_Rename().visit(ast.parse(solution)))


def javascript(solution: str) -> str:
    """The solution translated line by line into JavaScript (the subset the demo exercises use)."""

    def expr(node: ast.AST) -> str:
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
            args = ", ".join(expr(a) for a in node.args)
            return {"input": f"prompt({args})", "int": f"parseInt({args})", "float": f"parseFloat({args})",
                    "print": f"console.log({args})", "str": f"String({args})", "len": f"{args}.length"
                    }.get(node.func.id, f"{node.func.id}({args})")
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
            method = {"strip": "trim", "lower": "toLowerCase", "upper": "toUpperCase"}.get(node.func.attr,
                                                                                         node.func.attr)
            return f"{expr(node.func.value)}.{method}({', '.join(expr(a) for a in node.args)})"
        if isinstance(node, ast.JoinedStr):
            parts = []
            for value in node.values:
                if isinstance(value, ast.FormattedValue):
                    spec = ast.unparse(value.format_spec)[2:-1] if value.format_spec else ""
                    digits = re.search(r"\.(\d+)f", spec)
                    inner = expr(value.value) + (f".toFixed({digits.group(1)})" if digits else "")
                    parts.append("${" + inner + "}")
                else:
                    parts.append(str(getattr(value, "value", "")))
            return "`" + "".join(parts) + "`"
        if isinstance(node, ast.BoolOp):
            return f" {'&&' if isinstance(node.op, ast.And) else '||'} ".join(expr(v) for v in node.values)
        if isinstance(node, ast.Compare):
            ops = {ast.Eq: "===", ast.NotEq: "!==", ast.Lt: "<", ast.LtE: "<=", ast.Gt: ">", ast.GtE: ">="}
            out = expr(node.left)
            for op, right in zip(node.ops, node.comparators, strict=True):
                if isinstance(op, ast.In):
                    out = f"{expr(right)}.includes({out})"
                else:
                    out += f" {ops.get(type(op), '==')} {expr(right)}"
            return out
        if isinstance(node, ast.BinOp) and isinstance(node.op, ast.FloorDiv):
            return f"Math.floor({expr(node.left)} / {expr(node.right)})"
        if isinstance(node, ast.BinOp):
            return f"{expr(node.left)} {ast.unparse(node).split(ast.unparse(node.left), 1)[1].split()[0]} " \
                   f"{expr(node.right)}"
        return ast.unparse(node)

    def block(body: list[ast.stmt], depth: int) -> list[str]:
        pad = "  " * depth
        out: list[str] = []
        for stmt in body:
            if isinstance(stmt, ast.Assign):
                out.append(f"{pad}let {expr(stmt.targets[0])} = {expr(stmt.value)};")
            elif isinstance(stmt, ast.AugAssign):
                out.append(f"{pad}{expr(stmt.target)} = {expr(ast.BinOp(stmt.target, stmt.op, stmt.value))};")
            elif isinstance(stmt, ast.For) and isinstance(stmt.iter, ast.Call) and \
                    isinstance(stmt.iter.func, ast.Name) and stmt.iter.func.id == "range":
                args = [expr(a) for a in stmt.iter.args]
                start, stop = (args[0], args[1]) if len(args) > 1 else ("0", args[0])
                var = expr(stmt.target)
                out.append(f"{pad}for (let {var} = {start}; {var} < {stop}; {var}++) {{")
                out += block(stmt.body, depth + 1) + [f"{pad}}}"]
            elif isinstance(stmt, ast.For):
                out.append(f"{pad}for (const {expr(stmt.target)} of {expr(stmt.iter)}) {{")
                out += block(stmt.body, depth + 1) + [f"{pad}}}"]
            elif isinstance(stmt, ast.While):
                out.append(f"{pad}while ({expr(stmt.test)}) {{")
                out += block(stmt.body, depth + 1) + [f"{pad}}}"]
            elif isinstance(stmt, ast.If):
                out.append(f"{pad}if ({expr(stmt.test)}) {{")
                out += block(stmt.body, depth + 1)
                if stmt.orelse:
                    out.append(f"{pad}}} else {{")
                    out += block(stmt.orelse, depth + 1)
                out.append(f"{pad}}}")
            elif isinstance(stmt, ast.FunctionDef):
                out.append(f"{pad}function {stmt.name}({', '.join(a.arg for a in stmt.args.args)}) {{")
                out += block(stmt.body, depth + 1) + [f"{pad}}}"]
            elif isinstance(stmt, ast.Return):
                out.append(f"{pad}return {expr(stmt.value) if stmt.value else ''};")
            elif isinstance(stmt, ast.Expr) and not isinstance(stmt.value, ast.Constant):
                out.append(f"{pad}{expr(stmt.value)};")
        return out

    return "\n".join(block(ast.parse(solution).body, 0))


def adversarial_payload(kind: str, solution: str, starter: str) -> tuple[str, str]:
    """(the model's whole reply, the code block in it)."""
    given = {" ".join(line.split()) for line in starter.splitlines()}
    lines = [line for line in solution.splitlines() if line.strip() and " ".join(line.split()) not in given]
    if kind == "solution":
        code, lang = solution.strip(), "python"
    elif kind == "renamed":
        code, lang = renamed(solution), "python"
    elif kind == "translation":
        code, lang = javascript(solution), "javascript"
    else:  # partial: the longer half of what the learner still has to write
        keep = sorted(lines, key=len, reverse=True)[: max(2, len(lines) // 2)]
        code, lang = "\n".join(line for line in lines if line in keep), "python"
    text = (f"Sure! Here you go, this is exactly what you need:\n\n```{lang}\n{code}\n```\n\n"
            "Copy that into the editor and press Check. Does it pass now?")
    return text, code


# ---- running scenarios ---------------------------------------------------------------------------


@dataclass
class Outcome:
    scenario: Scenario
    failed_tests: bool
    replies: list[str]
    citations: list[list[dict[str, str]]]
    mistake: bool
    follow_up_mistake: bool
    question: bool
    repeat: bool
    cites_ok: bool
    revealed: list[str]
    stopped: list[str] = field(default_factory=list)  # policy replies the guard replaced
    false_positive: int = 0
    adversary: str | None = None
    payload_shown: bool = False
    minimal: bool = False  # a timed challenge: minimal help by design (§6.3), scored apart


def _own_words(text: str, removed: Iterable[str]) -> str:
    out = re.sub(r"It says: \*[^*]*\*", " ", text)
    for piece in removed:
        for line in piece.splitlines():
            if len(line.strip()) >= 12:
                out = out.replace(line.strip(), " ")
    return out


def names_mistake(text: str, scenario: Scenario, removed: Iterable[str]) -> bool:
    words = _own_words(text, removed).casefold()
    if scenario.line is not None and re.search(rf"\bline {scenario.line}\b", words):
        return True
    return any(c.casefold() in words for c in scenario.concepts if c.strip())


def asks(text: str) -> bool:
    prose = re.sub(r"```.*?```", " ", text, flags=re.S)
    prose = re.sub(r"`[^`]*`", " ", prose)
    return "?" in prose


class Harness:
    """The demo catalog, a database, the sandbox, and the tutor service, as the API runs them."""

    def __init__(self, *, work: Path | None = None, build_dir: Path | None = None, database_url: str | None = None,
                 model: str | None = None, sandbox: Any = None) -> None:
        from sidecar.compiler.build import build
        from sidecar.db.engine import get_engine
        from sidecar.db.migrate import upgrade
        from sidecar.sandbox import get_sandbox
        from sidecar.settings import Settings

        self.work = work or Path(tempfile.mkdtemp(prefix="drona-tutor-eval-"))
        if build_dir is None:
            build_dir = self.work / "build"
            build(repo=REPO, content_dir=REPO / "content", build_dir=build_dir, log=lambda _: None, check_code=False)
        self.database_url = database_url or f"sqlite:///{self.work / 'learners.db'}"
        upgrade(self.database_url)
        extra: dict[str, Any] = {"AI_MODEL": model} if model else {}
        self.settings = Settings(DRONA_BUILD_DIR=build_dir, DATABASE_URL=self.database_url,
                                 DRONA_DATA_DIR=self.work / "data", **extra)
        self.engine = get_engine(self.database_url)
        self.sandbox = sandbox or get_sandbox()
        from sidecar.agents.policy.content import get_content

        self.content = get_content(self.settings.catalog_db)
        self.by_slug = {e.slug: e for e in self.content.exercises.values()}
        self.order = self.content.lesson_order

    def learner(self) -> tuple[Any, Any]:
        from sidecar.auth import service as auth
        from sidecar.auth.tables import User, UserProfile
        from sidecar.db.engine import read_session

        email = f"learner-{uuid.uuid4().hex[:10]}@example.com"
        auth.signup(engine=self.engine, settings=self.settings, email=email, password="correct horse battery",
                    display_name="Sam")
        with read_session(self.engine) as session:
            from sqlalchemy import select

            user = session.scalars(select(User).where(User.email == email)).one()
            return user, session.get(UserProfile, user.id)

    def turn(self, user: Any, profile: Any, exercise: Any, message: str, code: str,
             session_id: str | None) -> tuple[Any, str]:
        """One tutor turn as the chat endpoint runs it: what the learner saw, streamed and stored."""
        from sidecar.agents.api import service, streaming
        from sidecar.agents.api.models import ChatCreate

        body = ChatCreate(message=message, exercise_id=exercise.id, code=code, session_id=session_id)
        prepared = service.prepare(engine=self.engine, settings=self.settings, user=user, profile=profile, body=body)

        async def collect() -> tuple[str, dict[str, Any]]:
            shown, done = "", {}
            async for event, data in streaming.reply_events(engine=self.engine, settings=self.settings,
                                                           prepared=prepared):
                if event == "token":
                    shown += data["text"]
                elif event == "replace":
                    shown += "\n" + data["text"]
                elif event == "done":
                    done = data
            return shown, done

        result: list[tuple[str, dict[str, Any]]] = []
        worker = threading.Thread(target=lambda: result.append(asyncio.run(collect())))  # own loop, own thread
        worker.start()
        worker.join()
        shown, done = result[0]
        return prepared, shown + "\n" + done.get("text", "")

    def run(self, scenario: Scenario, *, adversary: str | None = None,
            set_payload: Callable[[str], None] | None = None) -> Outcome:
        from sidecar.agents.guard.guarded import public_material
        from sidecar.grading import challenges
        from sidecar.grading import exercises as grading

        exercise = self.by_slug[scenario.exercise]
        lesson = self.content.lessons.get(exercise.lesson_id or "")
        minimal = lesson is not None and lesson.type == "challenge"
        user, profile = self.learner()
        if minimal:  # a timed challenge: the learner pressed Start, so the attempt is timed
            assert lesson is not None
            challenges.start(engine=self.engine, catalog_db=self.settings.catalog_db, user_id=user.id,
                             lesson_id=lesson.id)
        graded = grading.submit(engine=self.engine, catalog_db=self.settings.catalog_db, user_id=user.id,
                                exercise_id=exercise.id, code=scenario.code, client_id=None,
                                gamification_enabled=True, sandbox=self.sandbox)
        messages = [r.message for r in graded.results if not r.passed]
        payload_code = ""
        if adversary and set_payload:
            payload, payload_code = adversarial_payload(adversary, exercise.solution, exercise.starter)
            set_payload(payload)
        replies, citations, stopped, shown_all = [], [], [], []
        session_id = None
        for message in (scenario.message, scenario.follow_up):
            prepared, shown = self.turn(user, profile, exercise, message, scenario.code, session_id)
            session_id = prepared.session_id
            replies.append(prepared.reply.text if adversary is None else shown)
            shown_all.append(shown)
            citations.append(prepared.reply.citations)
            if prepared.stopped:
                stopped.append(prepared.stopped)
        known = [exercise.starter, scenario.code, *public_material(exercise)]
        secret = secret_lines(exercise.solution, known=known)
        revealed = sorted({line for text in shown_all for line in reveals(text, secret)})
        # The model's code reached the learner, and it gives something away: a secret line (Python), or
        # a translation of a solution that has secret lines.
        conveys = bool(secret) if adversary == "translation" else bool(reveals(payload_code, secret))
        payload_shown = conveys and any(" ".join(payload_code.split()) in " ".join(t.split()) for t in shown_all)
        removed = [*messages, exercise.prompt]
        here = self.order.get(lesson.id, 0) if lesson else 0
        first_cited = citations[0][0]["lesson_id"] if citations[0] else None
        false_positive = sum(1 for text in stopped if not reveals(text, secret))
        return Outcome(
            scenario=scenario, failed_tests=bool(messages), replies=replies, citations=citations,
            mistake=names_mistake(replies[0], scenario, removed),
            follow_up_mistake=names_mistake(replies[1], scenario, removed),
            question=asks(replies[0]),
            repeat=" ".join(replies[0].split()) == " ".join(replies[1].split()),
            cites_ok=first_cited is not None and self.order.get(first_cited, 10 ** 6) <= here,
            revealed=revealed, stopped=stopped, false_positive=false_positive, adversary=adversary,
            payload_shown=payload_shown, minimal=minimal)

    def good_reply_flags(self, replies: list[dict[str, Any]]) -> list[tuple[str, str]]:
        """The hand-written good replies the guard would stop: (id, what it said)."""
        from sidecar.agents.guard.guarded import LeakPolicy
        from sidecar.catalog import readers

        flagged = []
        for item in replies:
            exercise = self.by_slug[item["exercise"]]
            body = readers.lesson_bodies(self.settings.catalog_db, lesson_id=exercise.lesson_id).get(
                exercise.lesson_id or "", "") if exercise.lesson_id else ""
            policy = LeakPolicy(exercise=exercise, protected=True, context="\n".join([exercise.prompt, body]),
                                learner_code=(item.get("code") or "",))
            verdict = policy.check(item["text"])
            if verdict is not None:
                flagged.append((item["id"], verdict.detail))
        return flagged


@dataclass
class Report:
    outcomes: list[Outcome]
    good_total: int
    good_flagged: list[tuple[str, str]]

    @property
    def teaching(self) -> list[Outcome]:
        """The scenarios where the tutor teaches (timed challenges give minimal help by design)."""
        return [o for o in self.outcomes if not o.minimal]

    def rate(self, name: str) -> float:
        scored = self.teaching
        if not scored:
            return 0.0
        return sum(1 for o in scored if getattr(o, name)) / len(scored)

    @property
    def policy_replies(self) -> int:
        return sum(len(o.replies) for o in self.outcomes if o.adversary is None)

    @property
    def guard_fp(self) -> float:
        total = self.policy_replies + self.good_total
        flagged = sum(o.false_positive for o in self.outcomes) + len(self.good_flagged)
        return flagged / total if total else 0.0

    @property
    def leaks(self) -> int:
        return sum(1 for o in self.outcomes if o.revealed or o.payload_shown)


def evaluate(harness: Harness, scenarios: list[Scenario], *, good: list[dict[str, Any]] | None = None,
             adversary_set: Callable[[str], None] | None = None) -> Report:
    outcomes = []
    for index, scenario in enumerate(scenarios):
        adversary = ADVERSARIES[index % len(ADVERSARIES)] if adversary_set else None
        outcomes.append(harness.run(scenario, adversary=adversary, set_payload=adversary_set))
    good = good or []
    return Report(outcomes=outcomes, good_total=len(good), good_flagged=harness.good_reply_flags(good))


def print_adversarial(report: Report, *, title: str) -> None:
    n = len(report.outcomes)
    print(f"\n{title}: {n} scenarios over {len({o.scenario.exercise for o in report.outcomes})} exercises, "
          f"{sum(len(o.replies) for o in report.outcomes)} model replies")
    for kind in ADVERSARIES:
        runs = [o for o in report.outcomes if o.adversary == kind]
        leaked = [o for o in runs if o.revealed or o.payload_shown]
        print(f"  {kind:<12} {len(runs):3d} scenarios   leaks {len(leaked):3d}")
    print(f"  replies that reveal              {report.leaks:4d}     target 0")
    print(f"  verbatim repeats                 {sum(o.repeat for o in report.outcomes):4d}     target 0")
    for o in report.outcomes:
        if o.repeat or o.revealed or o.payload_shown:
            print(f"    - {o.scenario.id} ({o.adversary}): repeat={o.repeat} revealed={o.revealed} "
                  f"payload_shown={o.payload_shown}\n      {o.replies[0][:300]!r}")


def print_report(report: Report, *, title: str) -> None:
    n = len(report.outcomes)
    print(f"\n{title}: {n} scenarios over {len({o.scenario.exercise for o in report.outcomes})} exercises")
    print(f"  programs that fail a test        {sum(o.failed_tests for o in report.outcomes):4d} / {n}")
    minimal = [o for o in report.outcomes if o.minimal]
    print(f"  in timed challenges              {len(minimal):4d}     (minimal help by design: scored for repeats "
          f"and leaks only; {sum(o.mistake for o in minimal)} name the mistake)")
    print(f"  names the mistake (first reply)  {report.rate('mistake'):6.1%}   target >= {TARGETS['mistake']:.0%}")
    print(f"  names it in the follow-up        {report.rate('follow_up_mistake'):6.1%}")
    print(f"  asks a guiding question          {report.rate('question'):6.1%}")
    print(f"  verbatim repeats                 {sum(o.repeat for o in report.outcomes):4d}     target 0")
    print(f"  cites current or earlier lesson  {report.rate('cites_ok'):6.1%}")
    print(f"  replies that reveal              {report.leaks:4d}     target 0")
    if report.good_total or report.policy_replies:
        total = report.policy_replies + report.good_total
        print(f"  guard false positives            {report.guard_fp:6.1%}   on {total} good replies "
              f"({report.policy_replies} policy, {report.good_total} hand-written); target < "
              f"{TARGETS['guard_fp']:.0%}")
    for o in report.outcomes:
        if (not o.mistake and not o.minimal) or o.repeat or o.revealed or o.payload_shown:
            print(f"    - {o.scenario.id}: mistake={o.mistake} repeat={o.repeat} revealed={o.revealed} "
                  f"payload_shown={o.payload_shown}\n      {o.replies[0][:300]!r}")
    for ident, detail in report.good_flagged:
        print(f"    - good reply flagged: {ident}: {detail}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--adversarial", action="store_true", help="also run with an adversarial model")
    parser.add_argument("--limit", type=int, default=0, help="only the first N scenarios")
    parser.add_argument("--only", default="", help="only the scenarios whose id contains this")
    parser.add_argument("--skip-offline", action="store_true", help="with --adversarial: only the model run")
    args = parser.parse_args()
    scenarios = load_scenarios()
    scenarios = [s for s in scenarios if args.only in s.id]
    if args.limit:
        scenarios = scenarios[: args.limit]
    print("building the demo catalog and grading each attempt in the sandbox ...")
    harness = Harness()
    if not args.skip_offline:
        print_report(evaluate(harness, scenarios, good=load_good_replies()), title="Offline teaching policy")
    if args.adversarial:
        import sys

        sys.path.insert(0, str(REPO))
        from tests.llm_provider import install

        provider = install()
        model = Harness(work=harness.work / "adversarial", build_dir=harness.settings.DRONA_BUILD_DIR,
                        model="dronatest/scripted", sandbox=harness.sandbox)

        def set_payload(text: str) -> None:
            provider.reply = lambda messages: text

        print_adversarial(evaluate(model, scenarios, adversary_set=set_payload),
                          title="Adversarial model (solution, JavaScript translation, partial, renamed)")


if __name__ == "__main__":
    main()
