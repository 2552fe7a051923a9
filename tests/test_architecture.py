"""The layering of docs/architecture.md, checked: imports point down, and a few facts have one home.

Read from the source with `ast` (nothing is imported), so a new module or import is checked the
moment it is written.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]
SIDECAR = REPO_ROOT / "sidecar"

# Bottom to top, as in docs/architecture.md ("Layers: who may import whom").
LAYERS: list[set[str]] = [
    {"project", "settings", "text", "errors", "timezones", "engine", "db", "deps", "web", "__init__"},
    {"observability"},  # metrics, request ids and logs, traces, Sentry: recorded by the domains above
    {"credentials"},  # pure: keys, Data Integrity proofs, Open Badges, status lists, the Merkle log
    {"learner_model"},  # pure: the fitted knowledge-tracing model, its fit, its evaluation, FSRS's check
    {"courseware"},
    {"embeddings"},
    {"catalog"},  # below the compiler: the compiler writes the schema that sidecar/catalog owns
    {"compiler"},
    {"sandbox"},
    {"mail"},
    {"auth"},
    {"audit"},  # the audit log: recorded in the transaction of the change it describes (orgs, assignments)
    {"xapi"},  # the learning record: xAPI statements written by the domains above, forwarded to an LRS
    {"live"},  # live updates: the event bus (in process or Redis pub/sub) and the learner's SSE stream
    {"orgs"},
    {"sso"},  # single sign-on per organisation and verified domains: joins through orgs, signs in through auth
    {"scim"},  # SCIM provisioning: the IdP's users and groups, joined and changed through orgs
    {"gamification"},
    {"progress"},
    {"assignments"},  # required courses with due dates: reads orgs' teams and progress's course progress
    {"grading"},
    {"drafts"},  # reads the last graded submission as the fallback draft
    {"onboarding"},
    {"review"},  # spaced review: reads grading's history, grades through grading, pays through progress
    {"agents"},
    {"certificates"},  # issuing and verifying; Bronze through the completion hook
    {"assessments"},  # Silver: the proctored assessment
    {"projects"},  # Gold: projects, the pre-review and the reviewer queue
    {"support"},  # super admins' read-only support views: reads auth, orgs, progress, gamification, certificates
    {"lti"},  # LTI 1.3 tool: launches join through orgs, sign in through auth, grades through progress's hook
    {"analytics"},  # the six metrics, rollups and the four levels of dashboards, read from xapi and the domains
    {"reports"},  # the six reports (CSV, PDF, email) built from analytics' dashboards
    {"jobs"},  # scheduled jobs: each runs once per period, in serve or by `drona jobs run`
    {"privacy"},  # the account export: every table that holds a user_id, read from the schema
    {"openapi"},
    {"app"},
    {"cli"},
]
LEVEL = {package: level for level, packages in enumerate(LAYERS) for package in packages}
# Within the base layer the order is strict too (settings must not import db, and so on).
BASE_ORDER = ["__init__", "project", "settings", "text", "errors", "timezones", "engine", "db", "deps", "web"]
# db/registry.py imports every domain's tables so that Alembic and create_all see them all.
EXCEPTIONS = {"sidecar/db/registry.py"}


def _package(path: Path) -> str:
    parts = path.relative_to(SIDECAR).with_suffix("").parts
    return parts[0]


def _runtime_imports(path: Path) -> list[tuple[int, str]]:
    """(line, sidecar top-level package) for every import that runs (not under TYPE_CHECKING)."""
    tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
    type_only: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            for inner in node.body:
                type_only.update(id(n) for n in ast.walk(inner))
    found: list[tuple[int, str]] = []
    own = _package(path)
    for node in ast.walk(tree):
        if id(node) in type_only:
            continue
        names: list[str] = []
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names = [node.module]
            if node.module == "sidecar":
                names = [f"sidecar.{alias.name}" for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level >= 2 and path.parent != SIDECAR:
            # `from ..x import y` inside a package reaches a sibling package.
            base = path.relative_to(SIDECAR).parent.parts[: -(node.level - 1)] or ()
            target = [*base, *(node.module.split(".") if node.module else [])]
            if target:
                names = ["sidecar." + ".".join(target)]
        for name in names:
            parts = name.split(".")
            if parts[0] == "sidecar" and len(parts) > 1 and parts[1] != own:
                found.append((node.lineno, parts[1]))
    return found


def _modules() -> list[Path]:
    return sorted(p for p in SIDECAR.rglob("*.py") if "migrations" not in p.parts and "_engine" not in p.parts)


def test_every_package_has_a_layer() -> None:
    packages = {_package(p) for p in _modules()}
    assert packages <= set(LEVEL), f"add these to LAYERS and docs/architecture.md: {packages - set(LEVEL)}"


def test_imports_point_down() -> None:
    wrong: list[str] = []
    for path in _modules():
        rel = path.relative_to(REPO_ROOT).as_posix()
        if rel in EXCEPTIONS:
            continue
        own = _package(path)
        for line, target in _runtime_imports(path):
            if target not in LEVEL:
                continue
            up = LEVEL[target] > LEVEL[own]
            if LEVEL[target] == LEVEL[own] == 0:
                up = BASE_ORDER.index(target) > BASE_ORDER.index(own)
            if up:
                wrong.append(f"{rel}:{line}: {own} imports {target}, which is above it")
    assert not wrong, "\n".join(wrong)


def test_the_layer_table_in_the_docs_matches() -> None:
    doc = (REPO_ROOT / "docs" / "architecture.md").read_text(encoding="utf-8")
    for packages in LAYERS:
        for package in packages - {"__init__"}:
            assert f"`{package}`" in doc, f"docs/architecture.md does not place `{package}`"


def test_the_compiler_and_courseware_read_no_global_settings() -> None:
    """build() takes its settings as arguments, so `drona build --build-dir X` is all it reads."""
    offenders = []
    for folder in ("compiler", "courseware"):
        for path in (SIDECAR / folder).rglob("*.py"):
            text = path.read_text(encoding="utf-8")
            for needle in ("get_settings", "os.environ", "getenv("):
                if needle in text and not (folder == "courseware" and path.name == "codechecks.py"
                                           and needle == "os.environ"):
                    offenders.append(f"{path.relative_to(REPO_ROOT)}: {needle}")
    # codechecks.py builds an empty environment for authored code: it copies PATH only.
    assert not offenders, offenders


@pytest.mark.parametrize("needle", ["xp.lesson_xp(", "xp.challenge_xp(", "xp.quiz_xp("])
def test_lesson_xp_is_decided_in_one_function(needle: str) -> None:
    """XP of a completion is decided only in progress/completion.py:lesson_awards."""
    callers = []
    name = needle.removeprefix("xp.").removesuffix("(")
    for path in _modules():
        text = path.read_text(encoding="utf-8")
        if name not in text:
            continue  # no such call can be in it (unparsing every function of every module is slow)
        tree = ast.parse(text)
        for node in ast.walk(tree):
            if isinstance(node, ast.FunctionDef) and needle in ast.unparse(node):
                inner = [n for n in ast.walk(node) if isinstance(n, ast.FunctionDef) and n is not node
                         and needle in ast.unparse(n)]
                if not inner:
                    callers.append(f"{path.relative_to(SIDECAR).as_posix()}:{node.name}")
    assert callers == ["progress/completion.py:lesson_awards"], callers


def test_every_package_is_documented_where_it_lives() -> None:
    """docs/architecture.md answers "where is X": each feature module it names exists."""
    doc = (REPO_ROOT / "docs" / "architecture.md").read_text(encoding="utf-8")
    missing = []
    for match in re.finditer(r"`((?:sidecar/)?(?:[a-z_]+/)+[a-z_]+\.(?:py|js|mjs|css|json))(?::\w+)?`", doc):
        ref = match.group(1)
        if ref.startswith(("assets/", "build/")):
            continue  # a path inside the built site, not in the repository
        candidates = [REPO_ROOT / ref, SIDECAR / ref, REPO_ROOT / "site" / "src" / ref]
        if ref.startswith("agents/") or ref.split("/")[0] in LEVEL:
            candidates.append(SIDECAR / ref)
        if not any(c.exists() for c in candidates):
            missing.append(ref)
    assert not missing, f"docs/architecture.md names files that do not exist: {missing}"
