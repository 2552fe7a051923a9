"""The Project Guide's pre-review of a Gold submission (§9.3), run when it is submitted.

Advisory: it suggests points per rubric category with the findings behind them, and a human
reviewer decides. What it looks at:
- functionality: the option's tests (hidden ones included) in the grading sandbox, on the program
  `project_program` builds from the project's .py files (a custom project has no authored tests:
  the reviewer judges it by hand);
- code quality: `ast` checks (every module parses, public functions and classes have docstrings,
  no bare `except:`, modules and functions of a reviewable size) and ruff's learner rules when
  ruff is installed (it is in the runtime lock; without it the review says it was skipped);
- testing: the project's own tests (test modules, test functions, assertions), read, never run;
- documentation: a README, its length and its sections (install, usage, tests), docstring coverage;
- deployment: the demo URL (never fetched by the server: the reviewer opens it) and a manifest
  that says how to run or deploy the project.
Nothing here runs the learner's code outside the sandbox.
"""

from __future__ import annotations

import ast
import re
import secrets
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from sidecar.agents.review import lint
from sidecar.courseware.project_program import project_program

from .rubric import Rubric

MAX_RUFF_FILES = 60  # ruff runs once per file; a larger project is sampled, and the review says so
MAX_MODULE_LINES = 400
MAX_FUNCTION_LINES = 60
MAX_FINDINGS = 40  # per category: a reviewer reads findings, a wall of them helps nobody
README = re.compile(r"(^|/)readme(\.(md|rst|txt|markdown))?$", re.IGNORECASE)
SECTIONS = {"install": ("install", "setup", "getting started", "requirements"),
            "usage": ("usage", "use", "run", "how to", "example", "quick start", "quickstart"),
            "tests": ("test", "testing", "tests")}
MANIFESTS = ("requirements.txt", "pyproject.toml", "setup.py", "setup.cfg", "dockerfile", "procfile",
             "runtime.txt", "app.yaml", "fly.toml", "render.yaml", "vercel.json", "netlify.toml", "makefile")


@dataclass(frozen=True)
class Target:
    """What the functionality check runs: the option's entry module and tests (None: a custom project)."""

    entry: str | None
    tests: list[dict[str, Any]]
    time_limit: float = 10.0


@dataclass
class Criterion:
    max_points: Decimal
    suggested: Decimal | None = None
    summary: str = ""
    findings: list[dict[str, Any]] = field(default_factory=list)

    def add(self, severity: str, message: str, path: str | None = None, line: int | None = None) -> None:
        if len(self.findings) < MAX_FINDINGS:
            self.findings.append({"severity": severity, "message": message, "path": path, "line": line})

    def suggest(self, share: float) -> None:
        points = self.max_points * Decimal(str(max(0.0, min(1.0, share))))
        self.suggested = (points * 2).quantize(Decimal(1), rounding=ROUND_HALF_UP) / 2  # halves: a suggestion


@dataclass(frozen=True)
class Parsed:
    path: str
    text: str
    tree: ast.Module | None
    error: str | None


def _parse(texts: Mapping[str, str]) -> list[Parsed]:
    parsed = []
    for path, text in sorted(texts.items()):
        if not path.endswith(".py"):
            continue
        try:
            parsed.append(Parsed(path, text, ast.parse(text, filename=path), None))
        except (SyntaxError, ValueError) as exc:
            line = getattr(exc, "lineno", None)
            parsed.append(Parsed(path, text, None, f"{getattr(exc, 'msg', str(exc))} (line {line})"))
    return parsed


def _is_test(path: str) -> bool:
    name = path.rsplit("/", 1)[-1]
    return name.startswith("test_") or name.endswith("_test.py") or "tests/" in f"/{path}" or name == "conftest.py"


def _definitions(tree: ast.AST) -> Iterator[ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef]:
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            yield node


# ---- the categories ---------------------------------------------------------------------------------


def functionality(criterion: Criterion, texts: Mapping[str, str], target: Target,
                  sandbox: Callable[[], Any]) -> dict[str, Any] | None:
    """The option's tests in the sandbox; returns the run (None when nothing ran)."""
    from sidecar.sandbox import SandboxUnavailable

    if target.entry is None or not target.tests:
        criterion.summary = "A custom project has no authored tests: the reviewer checks what it does by hand."
        return None
    try:
        # The learner's own tests are not part of the program (and would count against its size limit).
        program = project_program({path: text for path, text in texts.items() if not _is_test(path)},
                                  target.entry)
    except ValueError as exc:
        criterion.suggest(0)
        criterion.summary = f"The tests could not run: {exc}."
        criterion.add("error", f"The tests could not run: {exc}.", target.entry)
        return None
    try:
        graded = sandbox().grade(program, target.tests, seed=secrets.randbelow(2**31), time_limit=target.time_limit)
    except SandboxUnavailable as exc:
        criterion.summary = f"The sandbox was unavailable ({exc}): the reviewer runs the tests."
        return None
    passed = sum(1 for result in graded.results if result["passed"])
    total = len(target.tests)
    criterion.suggest(passed / total)
    criterion.summary = f"{passed} of {total} tests pass in the sandbox ({graded.status})."
    for result in graded.results:
        if not result["passed"]:
            criterion.add("error", f"Test “{result['name']}” fails: {result['message']}".strip())
    return {"passed": passed, "total": total, "status": graded.status, "message": graded.message,
            "results": [{"name": r["name"], "passed": r["passed"], "message": r["message"], "hidden": r["hidden"]}
                        for r in graded.results]}


def code_quality(criterion: Criterion, parsed: list[Parsed]) -> dict[str, Any]:
    """ast checks and ruff; returns what ruff did (ran, or skipped and why)."""
    penalty = 0.0
    for item in parsed:
        if item.tree is None:
            criterion.add("error", f"The module does not parse: {item.error}.", item.path)
            penalty += 0.25
            continue
        lines = item.text.count("\n") + 1
        if lines > MAX_MODULE_LINES:
            criterion.add("warning", f"The module has {lines} lines; split it into smaller modules "
                          f"(over {MAX_MODULE_LINES} is hard to review).", item.path)
            penalty += 0.05
        for node in ast.walk(item.tree):
            if isinstance(node, ast.ExceptHandler) and node.type is None:
                criterion.add("warning", "A bare `except:` catches every error, typos and Ctrl-C included.",
                              item.path, node.lineno)
                penalty += 0.05
        for node in _definitions(item.tree):
            length = (node.end_lineno or node.lineno) - node.lineno + 1
            if not isinstance(node, ast.ClassDef) and length > MAX_FUNCTION_LINES:
                criterion.add("warning", f"`{node.name}` is {length} lines long; a function over "
                              f"{MAX_FUNCTION_LINES} lines usually does several things.", item.path, node.lineno)
                penalty += 0.03
            if (not node.name.startswith("_") and not _is_test(item.path)
                    and ast.get_docstring(node) is None):
                criterion.add("info", f"`{node.name}` has no docstring.", item.path, node.lineno)
                penalty += 0.02
    ruff = _ruff(criterion, parsed)
    penalty += 0.02 * ruff.get("findings", 0)
    modules = sum(1 for p in parsed if p.tree is not None)
    criterion.suggest(1.0 - penalty if parsed else 0.0)
    criterion.summary = (f"{modules} of {len(parsed)} modules parse; {len(criterion.findings)} findings."
                         if parsed else "The project has no Python modules.")
    return ruff


def _ruff(criterion: Criterion, parsed: list[Parsed]) -> dict[str, Any]:
    if lint.ruff_binary() is None:
        return {"ran": False, "note": "ruff is not installed on this server: the lint step was skipped."}
    count = 0
    checked = [p for p in parsed if p.tree is not None][:MAX_RUFF_FILES]
    for item in checked:
        found = lint.lint(item.text)
        if found is None:
            return {"ran": False, "note": "ruff failed or timed out: the lint step was skipped."}
        for finding in found:
            criterion.add("info" if finding.severity == "info" else "warning", finding.message, item.path,
                          finding.line)
            count += 1
    sampled = len([p for p in parsed if p.tree is not None]) > MAX_RUFF_FILES
    note = f"ruff checked {len(checked)} modules" + (" (a sample: the project is larger)" if sampled else "")
    return {"ran": True, "note": note + ".", "findings": count}


def testing(criterion: Criterion, parsed: list[Parsed]) -> None:
    tests = [p for p in parsed if _is_test(p.path) and p.tree is not None]
    functions = [node for p in tests for node in ast.walk(p.tree or ast.Module(body=[], type_ignores=[]))
                 if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and node.name.startswith("test")]
    asserting = [f for f in functions if any(isinstance(n, ast.Assert) or (
        isinstance(n, ast.Call) and isinstance(n.func, ast.Attribute) and n.func.attr.startswith("assert"))
        for n in ast.walk(f))]
    if not functions:
        criterion.suggest(0)
        criterion.summary = "No tests found (test_*.py files or a tests/ folder with test functions)."
        criterion.add("error", "The project has no tests of its own.")
        return
    criterion.suggest(0.4 + 0.6 * min(1.0, len(asserting) / 8))
    criterion.summary = (f"{len(functions)} test functions in {len(tests)} files, {len(asserting)} of them "
                         "asserting something (read, not run).")
    for function in functions:
        if function not in asserting:
            criterion.add("warning", f"`{function.name}` asserts nothing: it passes whatever the code does.",
                          line=function.lineno)


def documentation(criterion: Criterion, texts: Mapping[str, str], parsed: list[Parsed]) -> str | None:
    """Returns the README's text (the deployment check reads it too)."""
    readmes = sorted((path for path in texts if README.search(path)), key=lambda p: (p.count("/"), p))
    readme = texts[readmes[0]] if readmes else None
    share = 0.0
    if readme is None:
        criterion.add("error", "The project has no README.")
    else:
        share += 0.3
        words = len(readme.split())
        if words >= 150:
            share += 0.1
        else:
            criterion.add("warning", f"The README has {words} words; explain what the project does, how to "
                          "install, run and test it.", readmes[0])
        # Markdown headings (`## Usage`) and reStructuredText titles (a line underlined with = - ~).
        headings = " ".join(line.lower() for line in readme.splitlines() if line.lstrip().startswith("#"))
        headings += " " + " ".join(re.findall(r"^([^\n]+)\n[=\-~]{3,}\s*$", readme.lower(), re.MULTILINE))
        for name, words_for in SECTIONS.items():
            if any(word in headings for word in words_for):
                share += 0.1
            else:
                criterion.add("info", f"The README has no “{name}” section.", readmes[0])
    public = [node for p in parsed if p.tree is not None and not _is_test(p.path)
              for node in _definitions(p.tree) if not node.name.startswith("_")]
    documented = sum(1 for node in public if ast.get_docstring(node) is not None)
    coverage = documented / len(public) if public else 0.0
    share += 0.3 * coverage
    criterion.suggest(share)
    criterion.summary = (f"README: {'yes' if readme else 'missing'}; docstrings on {documented} of {len(public)} "
                         "public functions and classes.")
    return readme


def deployment(criterion: Criterion, texts: Mapping[str, str], demo_url: str, readme: str | None) -> None:
    names = {path.rsplit("/", 1)[-1].lower() for path in texts}
    manifests = sorted(name for name in names if name in MANIFESTS)
    share = 0.5 if demo_url else 0.0
    if manifests:
        share += 0.3
    else:
        criterion.add("warning", "No file says how to run or deploy the project (requirements.txt, "
                      "pyproject.toml, Dockerfile, Procfile...).")
    if readme and re.search(r"\bdeploy", readme, re.IGNORECASE):
        share += 0.2
    else:
        criterion.add("info", "The README does not say how the project is deployed.")
    criterion.suggest(share)
    criterion.summary = (f"Demo: {demo_url or 'none'} (not fetched by the server: the reviewer opens it); "
                         f"manifests: {', '.join(manifests) or 'none'}.")


# ---- the whole pre-review ---------------------------------------------------------------------------


def prereview(*, texts: Mapping[str, str], target: Target, demo_url: str, rubric: Rubric,
              sandbox: Callable[[], Any]) -> dict[str, Any]:
    """The stored pre-review: per rubric category, suggested points (None: for the reviewer) and findings."""
    criteria = {c.key: Criterion(max_points=c.max_points) for c in rubric.categories}
    blank = Criterion(max_points=Decimal(0))  # a category this rubric does not have: checked, not stored
    parsed = _parse(texts)
    run = functionality(criteria.get("functionality", blank), texts, target, sandbox)
    ruff = code_quality(criteria.get("code_quality", blank), parsed)
    testing(criteria.get("testing", blank), parsed)
    readme = documentation(criteria.get("documentation", blank), texts, parsed)
    deployment(criteria.get("deployment", blank), texts, demo_url, readme)
    labels = {c.key: c.label for c in rubric.categories}
    return {
        "advisory": "Suggested by the Project Guide; the reviewer decides every score.",
        "criteria": {key: {"label": labels[key], "max_points": float(c.max_points),
                           "suggested_points": float(c.suggested) if c.suggested is not None else None,
                           "summary": c.summary or "Not checked automatically: the reviewer decides.",
                           "findings": c.findings}
                     for key, c in criteria.items()},
        "tests": run, "ruff": {"ran": ruff["ran"], "note": ruff["note"]},
    }
