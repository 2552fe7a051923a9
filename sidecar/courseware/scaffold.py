"""`drona new`: scaffold a course, module, lesson, exercise or quiz with fresh ids.

New items are appended to their parent's ordered list, editing the YAML text in place so the
author's comments and formatting survive.
"""

from __future__ import annotations

import re
import uuid
from pathlib import Path

from .model import SLUG_RE
from .yamlsource import load


class ScaffoldError(Exception):
    pass


def new_id() -> str:
    return str(uuid.uuid4())


def _title(slug: str) -> str:
    return slug.replace("-", " ").capitalize()


def append_to_list(path: Path, key: str, value: str) -> None:
    """Append `value` to the YAML list `key` in a file, keeping the rest of the text."""
    text = path.read_text(encoding="utf-8")
    doc = load(text)
    if not isinstance(doc.data, dict) or not isinstance(doc.data.get(key), list):
        raise ScaffoldError(f"{path}: no list '{key}' to add '{value}' to")
    if value in doc.data[key]:
        raise ScaffoldError(f"{path}: '{value}' is already listed in '{key}'")
    lines = text.splitlines(keepends=True)
    key_line = doc.key_lines[(key,)] - 1
    flow = re.match(rf"^(\s*{re.escape(key)}:\s*\[)(.*)\](\s*(#.*)?)$", lines[key_line].rstrip("\n"))
    if flow:
        inner = flow.group(2).strip()
        joined = f"{inner}, {value}" if inner else value
        lines[key_line] = f"{flow.group(1)}{joined}]{flow.group(3)}\n"
    elif doc.data[key]:
        last = doc.lines[(key, len(doc.data[key]) - 1)] - 1
        indent = re.match(r"^(\s*-\s*)", lines[last])
        prefix = indent.group(1) if indent else "  - "
        lines.insert(last + 1, f"{prefix}{value}\n")
    else:
        raise ScaffoldError(f"{path}: cannot add to '{key}'; write it as `{key}: [{value}]`")
    path.write_text("".join(lines), encoding="utf-8")


def _check_slug(slug: str) -> None:
    if not SLUG_RE.match(slug):
        raise ScaffoldError(f"'{slug}' is not a valid slug: use lower-case letters, digits and hyphens")


def _create(path: Path, text: str) -> Path:
    if path.exists():
        raise ScaffoldError(f"{path} already exists")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def new_course(tracks_dir: Path, track: str, slug: str) -> list[Path]:
    _check_slug(slug)
    track_yaml = tracks_dir / track / "track.yaml"
    if not track_yaml.is_file():
        raise ScaffoldError(f"no track '{track}' (expected {track_yaml})")
    created = _create(tracks_dir / track / slug / "course.yaml",
                      f"id: {new_id()}\ntitle: {_title(slug)}\nsummary: One sentence on what learners can do "
                      f"after this course.\nstatus: active\nlevel: beginner\nmodules: []\n")
    append_to_list(track_yaml, "courses", slug)
    return [created]


def new_module(tracks_dir: Path, course_path: str, slug: str) -> list[Path]:
    _check_slug(slug)
    course_yaml = tracks_dir / course_path / "course.yaml"
    if not course_yaml.is_file():
        raise ScaffoldError(f"no course '{course_path}' (expected {course_yaml})")
    module_dir = tracks_dir / course_path / slug
    created = _create(module_dir / "module.yaml",
                      f"id: {new_id()}\ntitle: {_title(slug)}\nsummary: What this module teaches.\n"
                      "par_minutes: 45\nlessons: [introduction]\n")
    lesson = _create(module_dir / "introduction.md", _lesson_text("Introduction", "concept"))
    append_to_list(course_yaml, "modules", slug)
    return [created, lesson]


def _lesson_text(title: str, lesson_type: str) -> str:
    extra = "time_limit_minutes: 15\n" if lesson_type == "challenge" else ""
    return (f"---\nid: {new_id()}\ntitle: {title}\ntype: {lesson_type}\nobjectives:\n"
            f"  - What the learner can do after this lesson.\nskills: [python.basics]\nminutes: 10\n{extra}---\n\n"
            "Write the lesson here. Try code with a playground:\n\n::playground\n```python\nprint(\"Hello\")\n```\n")


def new_lesson(tracks_dir: Path, module_path: str, slug: str, lesson_type: str) -> list[Path]:
    _check_slug(slug)
    module_yaml = tracks_dir / module_path / "module.yaml"
    if not module_yaml.is_file():
        raise ScaffoldError(f"no module '{module_path}' (expected {module_yaml})")
    created = _create(tracks_dir / module_path / f"{slug}.md", _lesson_text(_title(slug), lesson_type))
    append_to_list(module_yaml, "lessons", slug)
    return [created]


EXERCISE_TEMPLATE = """id: {id}
title: {title}
prompt: |
  Describe the task. Print `42`.
starter: |
  # Write your code below
solution: |
  print(42)
tests:
  visible:
    - name: prints 42
      code: |
        assert output.strip() == "42", f"expected 42, got {{output!r}}"
  hidden:
    - name: prints only 42
      code: |
        assert output == "42\\n"
      feedback: Print the number once, with nothing else on the line.
hints:
  - text: Which built-in function shows a value on the screen?
  - text: Numbers need no quotes.
  - text: Pass the number itself to `print`, inside its parentheses.
    bottom_out: true
misconceptions:
  - wrong_code: |
      42
    question: An expression on its own line is computed, but is it shown?
"""

QUIZ_TEMPLATE = """id: {id}
title: {title}
items:
  - id: {item_id}
    kind: predict-output
    skills: [python.print]
    prompt: What does this print?
    code: |
      print(2 + 3)
    answer: "5"
    explanation: "`print` shows the value of `2 + 3`, which is 5."
"""


def _place(tracks_dir: Path, module_path: str, lesson: str | None, kind: str, slug: str) -> None:
    if lesson is None:
        return
    lesson_file = tracks_dir / module_path / f"{lesson}.md"
    if not lesson_file.is_file():
        raise ScaffoldError(f"no lesson '{lesson}' in {module_path}")
    with lesson_file.open("a", encoding="utf-8") as handle:
        handle.write(f"\n::{kind} {slug}\n")


def new_exercise(tracks_dir: Path, module_path: str, slug: str, lesson: str | None) -> list[Path]:
    _check_slug(slug)
    if not (tracks_dir / module_path / "module.yaml").is_file():
        raise ScaffoldError(f"no module '{module_path}'")
    created = _create(tracks_dir / module_path / "exercises" / f"{slug}.yaml",
                      EXERCISE_TEMPLATE.format(id=new_id(), title=_title(slug)))
    _place(tracks_dir, module_path, lesson, "exercise", slug)
    return [created]


def new_quiz(tracks_dir: Path, module_path: str, slug: str, lesson: str | None) -> list[Path]:
    _check_slug(slug)
    if not (tracks_dir / module_path / "module.yaml").is_file():
        raise ScaffoldError(f"no module '{module_path}'")
    created = _create(tracks_dir / module_path / "quizzes" / f"{slug}.yaml",
                      QUIZ_TEMPLATE.format(id=new_id(), item_id=new_id(), title=_title(slug)))
    _place(tracks_dir, module_path, lesson, "quiz", slug)
    return [created]
