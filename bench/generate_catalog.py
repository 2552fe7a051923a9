"""Generate a large synthetic catalog (default 2,000 lessons) for build benchmarks."""

from __future__ import annotations

import argparse
import shutil
import uuid
from pathlib import Path

MINIMAL = Path(__file__).resolve().parents[1] / "tests" / "fixtures" / "minimal" / "content"
PARAGRAPH = ("A loop repeats a block of code while a condition holds. Each pass through the body is an "
             "iteration; the names you change inside it carry their values into the next pass. ")


def _id(kind: str, *parts: int) -> str:
    # Deterministic ids so repeated runs build the same catalog.
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"dronacharya-bench/{kind}/" + "/".join(map(str, parts))))


def generate(target: Path, lessons: int = 2000, exercise_every: int = 4) -> Path:
    content = target / "content"
    if content.exists():
        shutil.rmtree(content)
    shutil.copytree(MINIMAL, content, ignore=shutil.ignore_patterns("tracks"))
    (content / "domains.yaml").write_text(
        "domains:\n  - id: 00000000-0000-4000-8000-000000000001\n    slug: tech\n    title: Technology\n"
        "    summary: Generated.\n    tracks: [bench-track]\n")
    track = content / "tracks" / "bench-track"
    courses, modules_per_course, lessons_per_module = 10, 10, max(1, lessons // 100)
    track.mkdir(parents=True)
    (track / "track.yaml").write_text(
        f"id: {_id('track', 0)}\ntitle: Bench Track\ndomain: tech\nsummary: Generated.\nstatus: active\n"
        f"courses: [{', '.join(f'course-{c}' for c in range(courses))}]\n")
    count = 0
    for c in range(courses):
        course = track / f"course-{c}"
        course.mkdir()
        (course / "course.yaml").write_text(
            f"id: {_id('course', c)}\ntitle: Course {c}\nsummary: Generated.\nstatus: active\n"
            f"modules: [{', '.join(f'module-{m}' for m in range(modules_per_course))}]\n")
        for m in range(modules_per_course):
            module = course / f"module-{m}"
            (module / "exercises").mkdir(parents=True)
            slugs = [f"lesson-{n}" for n in range(lessons_per_module)]
            (module / "module.yaml").write_text(
                f"id: {_id('module', c, m)}\ntitle: Module {m}\nsummary: Generated.\npar_minutes: 45\n"
                f"lessons: [{', '.join(slugs)}]\n")
            for n, slug in enumerate(slugs):
                count += 1
                has_exercise = count % exercise_every == 0
                kind = "code-along" if has_exercise else "concept"
                body = f"## Idea {n}\n\n" + PARAGRAPH * 6 + "\n\n## Try it\n\n" + PARAGRAPH * 4 + "\n"
                if has_exercise:
                    body += f"\n::exercise ex-{n}\n"
                    (module / "exercises" / f"ex-{n}.yaml").write_text(_exercise(_id("exercise", c, m, n), n))
                (module / f"{slug}.md").write_text(
                    f"---\nid: {_id('lesson', c, m, n)}\ntitle: Lesson {c}.{m}.{n}\ntype: {kind}\n"
                    f"objectives: [Practise loops.]\nskills: [python.loops]\nminutes: 10\n---\n\n{body}")
    return content


def _exercise(ident: str, n: int) -> str:
    return f"""id: {ident}
title: Add {n}
prompt: Write `add(x)` that returns `x + {n}`.
starter: |
  def add(x):
      pass
solution: |
  def add(x):
      return x + {n}
tests:
  visible:
    - name: adds
      code: assert add(1) == {n + 1}
  hidden:
    - name: adds again
      code: assert add(-5) == {n - 5}
      feedback: Check negative inputs.
hints:
  - text: Which operator adds?
  - text: Return the sum.
  - text: Return the parameter plus the number from the prompt.
    bottom_out: true
misconceptions:
  - wrong_code: |
      def add(x):
          print(x + {n})
    question: Does print hand a value back?
"""


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("target", type=Path)
    parser.add_argument("--lessons", type=int, default=2000)
    args = parser.parse_args()
    print(generate(args.target, args.lessons))
