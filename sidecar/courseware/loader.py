"""Load `content/` into the model, reporting every structural problem with its line.

Loading never raises for bad content: unreadable files, invalid YAML, schema errors, missing
or unlisted files all become problems, and the rest of the tree is still loaded so one run shows
everything.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from . import schemas
from .model import (
    CODE_DIRECTIVES,
    DIRECTIVE_RE,
    SLUG_RE,
    Catalog,
    CertificationFile,
    Course,
    Exercise,
    Lesson,
    Module,
    Placement,
    Quiz,
    Source,
    Track,
)
from .problems import Problems
from .yamlsource import Located, YamlSyntaxError, load, split_front_matter

TRACKS_DIR = "tracks"
# A course's private certification material (never compiled into the site), by schema kind.
CERTIFICATION_DIR = "certification"
CERTIFICATION_FILES = {"silver-bank": "silver.yaml", "gold-projects": "gold.yaml"}


def _read(path: Path, problems: Problems) -> str | None:
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        problems.add(path, 1, "file is missing")
    except UnicodeDecodeError as exc:
        problems.add(path, 1, f"file is not UTF-8 text ({exc.reason})")
    except OSError as exc:
        problems.add(path, 1, f"cannot read file: {exc.strerror}")
    return None


def _parse(path: Path, text: str, problems: Problems, offset: int = 0) -> Located | None:
    try:
        doc = load(text, offset=offset)
    except YamlSyntaxError as exc:
        problems.add(path, exc.line, exc.message)
        return None
    for line, message in doc.duplicates:
        problems.add(path, line, message)
    return doc


def load_yaml(path: Path, kind: str, problems: Problems, *, keep_invalid: bool = False) -> Source | None:
    """Read, parse and schema-check one YAML file; None when unusable.

    With keep_invalid, a file that parses but breaks its schema is still returned (its problems
    are reported), so the items below it are loaded and checked in the same run.
    """
    text = _read(path, problems)
    if text is None:
        return None
    doc = _parse(path, text, problems)
    if doc is None:
        return None
    if doc.data is None:
        problems.add(path, 1, "file is empty")
        return None
    valid = schemas.check(kind, doc, path, problems)
    if not valid and not (keep_invalid and isinstance(doc.data, dict)):
        return None
    return Source(path, doc, valid)


def _check_slug(path: Path, slug: str, problems: Problems) -> bool:
    if SLUG_RE.match(slug):
        return True
    problems.add(path, 1, f"'{slug}' is not a valid slug: use lower-case letters, digits and hyphens")
    return False


def _listed_children(
    parent: Source, key: str, present: dict[str, Path], what: str, problems: Problems
) -> list[str]:
    """Reconcile a parent's ordered list with what is on disk; report both directions."""
    raw = parent.doc.data.get(key, [])
    if not isinstance(raw, list) or not all(isinstance(s, str) for s in raw):
        # The list itself is broken (already reported): still check everything on disk.
        return sorted(present)
    listed = [str(s) for s in raw]
    ok: list[str] = []
    for index, slug in enumerate(listed):
        if slug in present:
            ok.append(slug)
        else:
            problems.add(parent.path, parent.line(key, index), f"{key}[{index}]: no {what} '{slug}' found")
    for slug, path in sorted(present.items()):
        if slug not in listed:
            problems.add(path, 1, f"{what} '{slug}' is not listed in {parent.path.name} '{key}'")
    return ok


def _parse_placements(body: str, body_line: int) -> list[Placement]:
    placements: list[Placement] = []
    lines = body.splitlines()
    index = 0
    while index < len(lines):
        match = DIRECTIVE_RE.match(lines[index])
        if match:
            placement = Placement(match["kind"], match["arg"], body_line + index)
            if placement.kind in CODE_DIRECTIVES:
                placement.starter, consumed = _fenced_python_after(lines, index + 1)
                index += consumed
            placements.append(placement)
        index += 1
    return placements


def _fenced_python_after(lines: list[str], start: int) -> tuple[str, int]:
    """The ```python block right after a ::playground or ::visualize line, if any, and lines consumed."""
    if start < len(lines) and lines[start].strip() in ("```python", "``` python", "```py"):
        for end in range(start + 1, len(lines)):
            if lines[end].strip() == "```":
                return "\n".join(lines[start + 1 : end]) + "\n", end - start + 1
    return "", 0


def load_lesson(path: Path, problems: Problems) -> Lesson | None:
    text = _read(path, problems)
    if text is None:
        return None
    parts = split_front_matter(text)
    if parts is None:
        problems.add(path, 1, "a lesson must start with YAML front matter between '---' lines")
        return None
    front, body, body_line = parts
    doc = _parse(path, front, problems, offset=1)
    if doc is None:
        return None
    if doc.data is None:
        problems.add(path, 1, "front matter is empty")
        return None
    if not schemas.check("lesson", doc, path, problems):
        return None
    lesson = Lesson(path.stem, doc.data, Source(path, doc), body, body_line)
    lesson.placements = _parse_placements(body, body_line)
    return lesson


def _load_items(directory: Path, kind: str, problems: Problems, invalid: set[tuple[str, str]]) -> dict[str, Any]:
    items: dict[str, Any] = {}
    if not directory.is_dir():
        return items
    for path in sorted(directory.iterdir()):
        if path.name.startswith("."):
            continue
        if path.suffix not in (".yaml", ".yml") or not path.is_file():
            problems.add(path, 1, f"unexpected file in {directory.name}/: {kind} files end in .yaml")
            continue
        if not _check_slug(path, path.stem, problems):
            continue
        source = load_yaml(path, kind, problems)
        if source is not None:
            cls = Exercise if kind == "exercise" else Quiz
            items[path.stem] = cls(path.stem, source.doc.data, source)
            if kind == "exercise" and "scenario" in source.doc.data:
                from .scenarios import attach  # the Simulation canvas: a model beside the program

                attach(items[path.stem], problems)
        else:
            invalid.add((kind, path.stem))
    return items


def load_module(directory: Path, problems: Problems) -> Module | None:
    source = load_yaml(directory / "module.yaml", "module", problems, keep_invalid=True)
    if source is None:
        return None
    module = Module(directory.name, source.doc.data, source)
    present = {p.stem: p for p in directory.glob("*.md")}
    lessons = tuple(p.name for p in present.values())
    _report_strays(directory, "a module folder holds module.yaml, lesson .md files, exercises/ and quizzes/",
                   problems, files=("module.yaml", *lessons), folders=("exercises", "quizzes"))
    for slug in _listed_children(source, "lessons", present, "lesson", problems):
        if not _check_slug(present[slug], slug, problems):
            continue
        lesson = load_lesson(present[slug], problems)
        if lesson is not None:
            module.lessons.append(lesson)
    module.exercises = _load_items(directory / "exercises", "exercise", problems, module.invalid_items)
    module.quizzes = _load_items(directory / "quizzes", "quiz", problems, module.invalid_items)
    return module


def _report_strays(directory: Path, expected: str, problems: Problems, *, files: tuple[str, ...] = (),
                   folders: tuple[str, ...] | None = None) -> None:
    """Report what a folder holds beyond `files` and `folders` (None: any folder); hidden names are skipped."""
    for path in sorted(directory.iterdir()):
        if path.name.startswith("."):
            continue
        if path.is_dir():
            if folders is not None and path.name not in folders:
                problems.add(path, 1, f"unexpected folder '{path.name}/': {expected}")
        elif path.name not in files:
            problems.add(path, 1, f"unexpected file '{path.name}': {expected}")


def _subdirs(directory: Path) -> dict[str, Path]:
    return {p.name: p for p in directory.iterdir() if p.is_dir() and not p.name.startswith(".")}


def _load_parent(directory: Path, kind: str, child_kind: str, key: str, problems: Problems,
                 load_child: Callable[[Path, Problems], Any], *,
                 reserved: tuple[str, ...] = ()) -> tuple[Source, list[Any]] | None:
    """A track or course: its YAML, then each listed child folder in the listed order.

    reserved: folder names that are not children (a course's certification/ folder).
    """
    source = load_yaml(directory / f"{kind}.yaml", kind, problems, keep_invalid=True)
    extra = "".join(f" (and an optional {name}/ folder)" for name in reserved)
    _report_strays(directory, f"a {kind} folder holds {kind}.yaml and one folder per {child_kind}{extra}", problems,
                   files=(f"{kind}.yaml",))
    if source is None:
        return None
    present = {n: p / f"{child_kind}.yaml" for n, p in _subdirs(directory).items() if n not in reserved}
    children = []
    for slug in _listed_children(source, key, present, child_kind, problems):
        if _check_slug(present[slug], slug, problems):
            child = load_child(directory / slug, problems)
            if child is not None:
                children.append(child)
    return source, children


def load_certification(directory: Path, problems: Problems) -> tuple[CertificationFile | None,
                                                                    CertificationFile | None]:
    """A course's optional certification/ folder: silver.yaml and gold.yaml, each schema-checked."""
    if not directory.is_dir():
        return None, None
    _report_strays(directory, f"a course's {CERTIFICATION_DIR}/ folder holds silver.yaml and gold.yaml",
                   problems, files=tuple(CERTIFICATION_FILES.values()), folders=())
    found: list[CertificationFile | None] = []
    for kind, name in CERTIFICATION_FILES.items():
        path = directory / name
        source = load_yaml(path, kind, problems) if path.is_file() else None
        found.append(CertificationFile(path.stem, source.doc.data, source, kind=kind) if source is not None else None)
    return found[0], found[1]


def load_course(directory: Path, problems: Problems) -> Course | None:
    loaded = _load_parent(directory, "course", "module", "modules", problems, load_module,
                          reserved=(CERTIFICATION_DIR,))
    if loaded is None:
        return None
    silver, gold = load_certification(directory / CERTIFICATION_DIR, problems)
    return Course(directory.name, loaded[0].doc.data, loaded[0], modules=loaded[1], silver=silver, gold=gold)


def load_track(directory: Path, problems: Problems) -> Track | None:
    loaded = _load_parent(directory, "track", "course", "courses", problems, load_course)
    if loaded is None:
        return None
    return Track(directory.name, loaded[0].doc.data, loaded[0], courses=loaded[1])


def load_catalog(content_dir: Path, root: Path, problems: Problems) -> Catalog:
    """Load everything under content_dir; problems are reported relative to root."""
    catalog = Catalog(root=root, content_dir=content_dir)
    if not content_dir.is_dir():
        problems.add(content_dir, 1, "content folder not found")
        return catalog
    domains = load_yaml(content_dir / "domains.yaml", "domains", problems)
    if domains is not None:
        catalog.domains = list(domains.doc.data["domains"])
        catalog.domains_source = domains
    achievements = load_yaml(content_dir / "achievements.yaml", "achievements", problems)
    if achievements is not None:
        catalog.achievements = list(achievements.doc.data["achievements"])
        catalog.achievements_source = achievements
    certifications = load_yaml(content_dir / "certifications.yaml", "certifications", problems)
    if certifications is not None:
        catalog.certifications = list(certifications.doc.data["certifications"])
        catalog.certifications_source = certifications
    _report_strays(content_dir, "content/ holds domains.yaml, achievements.yaml, certifications.yaml and tracks/",
                   problems, files=("domains.yaml", "achievements.yaml", "certifications.yaml"), folders=(TRACKS_DIR,))
    tracks_dir = content_dir / TRACKS_DIR
    if not tracks_dir.is_dir():
        problems.add(tracks_dir, 1, "no tracks/ folder: courses live in content/tracks/<track>/")
        return catalog
    _report_strays(tracks_dir, "tracks/ holds one folder per track", problems, files=())
    listed = [t for d in catalog.domains for t in d.get("tracks", [])]
    on_disk = _subdirs(tracks_dir)
    # Tracks are ordered by domains.yaml; unlisted ones are reported by validation and appended.
    order = [t for t in listed if t in on_disk] + sorted(t for t in on_disk if t not in listed)
    for slug in dict.fromkeys(order):
        if _check_slug(on_disk[slug] / "track.yaml", slug, problems):
            track = load_track(on_disk[slug], problems)
            if track is not None:
                catalog.tracks.append(track)
    return catalog
