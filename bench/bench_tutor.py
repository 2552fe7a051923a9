"""Orchestration overhead per tutor turn, excluding any model call (issue 5).

One turn = everything the sidecar does besides the model: the learner's state (submissions,
hints, lesson counters, skill estimates), retrieval (FTS5 + vectors, fused), routing, the offline
teaching policy, the leak guard, and storing both messages. Measured over the demo catalog with
the embedded SQLite database, as `service.prepare` + `service.finish` (no HTTP), for a mix of
learner messages on several demo exercises; the parts are also timed alone.
Target on the 2-core reference machine: p50 under 30 ms.

Run: .venv/bin/python bench/bench_tutor.py [--turns 200]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

from sqlalchemy import select

from sidecar.agents import guard
from sidecar.agents.api import service
from sidecar.agents.api.models import ChatCreate
from sidecar.agents.guard import guarded
from sidecar.agents.policy.content import get_content
from sidecar.agents.retrieval import get_retriever
from sidecar.auth.tables import User, UserProfile
from sidecar.compiler.build import build
from sidecar.db.engine import get_engine, read_session
from sidecar.db.migrate import upgrade
from sidecar.settings import Settings

REPO = Path(__file__).resolve().parents[1]
MESSAGES = ["I'm stuck, what should I do?", "Why does my loop not stop?", "Just give me the answer",
            "What does range do?", "Can you explain the error?", "I don't understand accumulators",
            "Show me an example", "Is my code right?"]


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def report(name: str, values: list[float]) -> None:
    print(f"  {name:<28} p50 {statistics.median(values):7.2f} ms   p95 {percentile(values, 0.95):7.2f} ms   "
          f"(n={len(values)})")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--turns", type=int, default=200)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="drona-bench-tutor-"))
    print("building the demo catalog ...")
    build(repo=REPO, content_dir=REPO / "content", build_dir=work / "build", check_code=False)
    url = f"sqlite:///{work / 'learners.db'}"
    upgrade(url)
    settings = Settings(DRONA_BUILD_DIR=work / "build", DATABASE_URL=url, DRONA_DATA_DIR=work / "data")
    engine = get_engine(url)
    from sidecar.auth import service as auth

    auth.signup(engine=engine, settings=settings, email="bench@example.com", password="correct horse battery",
                display_name="Bench")
    with read_session(engine) as session:
        user = session.scalars(select(User)).one()
        profile = session.get(UserProfile, user.id)
    content = get_content(settings.catalog_db)
    exercises = list(content.exercises.values())
    retriever = get_retriever(settings.catalog_db)
    retriever.search("warm up", k=5)  # load the model and the index once, as a running server has

    turns, retrieval, guard_times = [], [], []
    for n in range(args.turns):
        exercise = exercises[n % len(exercises)]
        body = ChatCreate(message=MESSAGES[n % len(MESSAGES)], exercise_id=exercise.id, code=exercise.starter)
        started = time.perf_counter()
        prepared = service.prepare(engine=engine, settings=settings, user=user, profile=profile, body=body)
        service.finish(engine=engine, prepared=prepared, text=prepared.reply.text, llm_used=False, guarded=False)
        turns.append((time.perf_counter() - started) * 1000)
        started = time.perf_counter()
        retriever.search(body.message, k=5, lesson_id=exercise.lesson_id)
        retrieval.append((time.perf_counter() - started) * 1000)
        started = time.perf_counter()
        guard.check_reply(prepared.reply.text, solution=exercise.solution, starter=exercise.starter,
                          final_answers=guarded.secret_answers(exercise, exercise.prompt), context=exercise.prompt)
        guard_times.append((time.perf_counter() - started) * 1000)
    print(f"demo catalog: {len(content.lessons)} lessons, {len(exercises)} exercises; SQLite; offline policy")
    report("whole turn (no model)", turns)
    report("retrieval top-5", retrieval)
    report("leak guard", guard_times)
    verdict = "met" if statistics.median(turns) < 30 else "NOT met"
    print(f"target p50 < 30 ms per turn: {verdict}")


if __name__ == "__main__":
    main()
