"""A Markdown summary of a content check, fit for a pull-request comment or a CI job summary.

It names the lessons a change added, changed or removed, the exercises and quizzes whose code
was run, and every problem as `path:line: message`.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from .changes import ChangeSet
from .model import Catalog
from .problems import Problem, Problems

MAX_PROBLEMS = 200  # a PR comment has a size limit; the full list is in the job's log


def _title_of(catalog: Catalog, path: Path) -> str | None:
    for lesson in catalog.lessons():
        if lesson.source.path.resolve() == path:
            return str(lesson.data.get("title", lesson.slug))
    return None


def _is_lesson(path: Path, content_dir: Path) -> bool:
    # content/tracks/<track>/<course>/<module>/<lesson>.md
    tracks = content_dir / "tracks"
    return path.suffix == ".md" and path.is_relative_to(tracks) and len(path.relative_to(tracks).parts) == 4


def _code(text: str) -> str:
    return "`" + text.replace("`", "'") + "`"


def validation_summary(*, catalog: Catalog, problems: Problems, shown: list[Problem], hidden: int,
                       changes: ChangeSet | None, checked: Iterable[Path], programs: int, ran_code: bool) -> str:
    lines = ["## Content check", ""]
    if changes is not None:
        lines.append(f"Changes since {_code(changes.ref)} (merge base {_code(changes.base[:12])}).")
        lessons = sorted(p for p in changes.all if _is_lesson(p, catalog.content_dir.resolve()))
        lines += ["", f"**Lessons added or changed:** {len(lessons)}"]
        for path in lessons:
            title = _title_of(catalog, path.resolve())
            status = changes.status(path) or "changed"
            lines.append(f"- {status}: {_code(problems.rel(path))}" + (f" ({title})" if title else ""))
    else:
        lines.append(f"Whole catalog: {len(catalog.lessons())} lessons in {len(catalog.courses())} courses.")
    checked = sorted(checked)
    if ran_code:
        lines += ["", f"**Exercises and quizzes checked:** {len(checked)} ({programs} programs run)"]
        lines += [f"- {_code(problems.rel(path))}" for path in checked]
    else:
        lines += ["", "**Exercises and quizzes checked:** none (code was not run)"]
    lines += ["", f"**Problems:** {len(shown)}" + (" ✅" if not shown else "")]
    lines += [f"- {_code(f'{p.path}:{p.line}')}: {p.message}" for p in shown[:MAX_PROBLEMS]]
    if len(shown) > MAX_PROBLEMS:
        lines.append(f"- … and {len(shown) - MAX_PROBLEMS} more (see the job log)")
    if hidden:
        lines += ["", f"{hidden} problem(s) in files this change does not touch are not listed; "
                      "`drona validate` without --changed-since shows them."]
    return "\n".join(lines) + "\n"


def append(path: Path, text: str) -> None:
    """Add a section to the summary file (each command of a CI job appends its own)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a", encoding="utf-8") as handle:
        handle.write(text if text.endswith("\n") else text + "\n")
        handle.write("\n")
