"""What a change touched: `drona validate --changed-since REF` and the pull-request summary.

The files a branch changed since it left REF (its merge base, so commits that landed on REF
meanwhile do not count), uncommitted and untracked files included, and what depends on them:
the lessons that place a changed exercise or quiz, the file that lists a changed item, and every
item below a changed track, course or module file. Structure is still checked over the whole
tree (cross-references need it); only problems in affected files are reported, and only changed
exercises, quizzes and certification files (a course's silver.yaml and gold.yaml) have their
code run.
"""

from __future__ import annotations

import subprocess
from dataclasses import dataclass, field
from pathlib import Path

from .loader import CERTIFICATION_DIR
from .model import Catalog, Lesson, Module
from .problems import Problem, Problems

# Each folder's own file, and the file one level up that lists the folder.
LISTED_BY = {"module.yaml": "course.yaml", "course.yaml": "track.yaml", "track.yaml": "domains.yaml"}
TOP_LEVEL = ("domains.yaml", "achievements.yaml", "certifications.yaml")


class ChangeError(Exception):
    """Git is missing, the folder is not in a repository, or the ref is unknown."""


@dataclass
class ChangeSet:
    ref: str
    base: str  # the merge base commit
    added: set[Path] = field(default_factory=set)  # absolute paths
    modified: set[Path] = field(default_factory=set)
    deleted: set[Path] = field(default_factory=set)

    @property
    def all(self) -> set[Path]:
        return self.added | self.modified | self.deleted

    def status(self, path: Path) -> str | None:
        for name, paths in (("added", self.added), ("changed", self.modified), ("removed", self.deleted)):
            if path in paths:
                return name
        return None


def _git(cwd: Path, *args: str) -> str:
    try:
        proc = subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True, timeout=60)
    except FileNotFoundError:
        raise ChangeError("git is not installed, so --changed-since cannot tell what changed") from None
    if proc.returncode != 0:
        raise ChangeError(proc.stderr.strip().splitlines()[-1] if proc.stderr.strip() else f"git {args[0]} failed")
    return proc.stdout


def changed_files(folder: Path, ref: str) -> ChangeSet:
    """Files changed since `ref`'s merge base with HEAD, in the git repository holding `folder`."""
    if not folder.is_dir():
        raise ChangeError(f"{folder} is not a folder")
    try:
        top = Path(_git(folder, "rev-parse", "--show-toplevel").strip())
    except ChangeError:
        raise ChangeError(f"{folder} is not inside a git repository, so --changed-since cannot be used") from None
    try:
        _git(top, "rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}")
    except ChangeError:
        raise ChangeError(f"unknown git ref {ref!r} (fetch it first, e.g. `git fetch origin {ref.split('/')[-1]}`)"
                          ) from None
    try:
        base = _git(top, "merge-base", ref, "HEAD").strip()
    except ChangeError:
        raise ChangeError(f"{ref!r} and HEAD have no common history (a shallow clone? fetch with full depth)"
                          ) from None
    changes = ChangeSet(ref=ref, base=base)
    # Renames are reported as a deletion plus an addition: both sides matter to dependents.
    entries = _git(top, "diff", "--name-status", "--no-renames", "-z", base, "--").split("\0")
    for status, name in zip(entries[0::2], entries[1::2], strict=False):
        path = top / name
        {"A": changes.added, "D": changes.deleted}.get(status[:1], changes.modified).add(path)
    for name in _git(top, "ls-files", "--others", "--exclude-standard", "-z").split("\0"):
        if name:
            changes.added.add(top / name)
    return changes


@dataclass
class Affected:
    """Files whose problems are reported, and exercise/quiz files whose code is run."""

    everything: bool = False
    files: set[Path] = field(default_factory=set)
    code: set[Path] = field(default_factory=set)

    def select(self, problems: Problems) -> tuple[list[Problem], int]:
        """The problems this change is answerable for, and how many others were left out."""
        everything = problems.sorted()
        if self.everything:
            return everything, 0
        names = {problems.rel(path) for path in self.files}
        # A duplicate id is reported at one of its two places, naming the other in the message.
        chosen = [p for p in everything if p.path in names or any(f"{name}:" in p.message for name in names)]
        return chosen, len(everything) - len(chosen)


def _module_of(catalog: Catalog, folder: Path) -> Module | None:
    for module in catalog.modules():
        if module.source.path.parent.resolve() == folder:
            return module
    return None


def _placing_lessons(module: Module, kind: str, slug: str) -> list[Lesson]:
    return [lesson for lesson in module.lessons
            if any(p.kind == kind and p.slug == slug for p in lesson.placements)]


def _tree(folder: Path) -> set[Path]:
    return {p for p in folder.rglob("*") if p.is_file()} if folder.is_dir() else set()


def affected(catalog: Catalog, changes: ChangeSet, content_dir: Path) -> Affected:
    content_dir = content_dir.resolve()
    result = Affected()
    for path in sorted(changes.all):
        if not path.is_relative_to(content_dir):
            continue
        rel = path.relative_to(content_dir)
        result.files.add(path)
        if path.name.startswith(".") or any(part.startswith(".") for part in rel.parts):
            continue  # hidden files are not content
        if len(rel.parts) == 1:
            # domains, achievements and certifications shape the whole catalog.
            result.everything = result.everything or rel.name in TOP_LEVEL
            continue
        folder = path.parent
        if path.name in LISTED_BY:
            # A track, course or module file: everything below it, and the file that lists it.
            result.files |= _tree(folder)
            result.files.add(content_dir / "domains.yaml" if path.name == "track.yaml"
                             else folder.parent / LISTED_BY[path.name])
        elif folder.name in ("exercises", "quizzes"):
            kind = "exercise" if folder.name == "exercises" else "quiz"
            module_dir = folder.parent
            result.files.add(module_dir / "module.yaml")
            if path.suffix in (".yaml", ".yml") and path not in changes.deleted:
                result.code.add(path)
            module = _module_of(catalog, module_dir)
            if module is not None:
                result.files |= {lesson.source.path for lesson in _placing_lessons(module, kind, path.stem)}
        elif folder.name == CERTIFICATION_DIR and len(rel.parts) == 5:
            # A course's Silver bank or Gold options: run its code (nothing lists it).
            if path.suffix in (".yaml", ".yml") and path not in changes.deleted:
                result.code.add(path)
        else:
            # A lesson or any other file in a module, course or track folder: its listing file.
            listing = next((folder / name for name in LISTED_BY if (folder / name).is_file()), None)
            if listing is not None:
                result.files.add(listing)
            module = _module_of(catalog, folder)
            if module is not None and path.suffix == ".md":
                lesson = next((item for item in module.lessons if item.source.path == path), None)
                for placement in lesson.placements if lesson else []:
                    item = (module.exercises.get(placement.slug or "") if placement.kind == "exercise"
                            else module.quizzes.get(placement.slug or "") if placement.kind == "quiz" else None)
                    if item is not None:
                        result.files.add(item.source.path)
    return result
