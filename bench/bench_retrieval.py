"""Retrieval latency for the tutor: top-5 passages over the demo catalog and a 20,000-chunk corpus.

Prints the encoder's throughput (what a cold build pays per chunk), the lesson-vector cost of a
demo build, and p50/p95 of Retriever.search (query embedding + FTS5 + Qdrant + fusion) with and
without a course restriction, plus the lexical-only path (EMBEDDING_MODEL=none).

The 20,000-chunk corpus is written straight into a catalog-like SQLite file (the tables and FTS5
index that catalogdb.py writes). Embedding 20,000 chunks with the numpy encoder on 2 cores takes
many minutes, so only --distinct texts are embedded with the real model; every other chunk reuses
one of those texts (with its own id words appended, so FTS5 sees 20,000 different rows) and a
vector derived from the real one by small random noise, re-normalised. Query vectors are real.

Run: .venv/bin/python bench/bench_retrieval.py [--chunks 20000] [--distinct 1000] [--queries 200]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np  # noqa: E402
import sqlite_utils  # noqa: E402

from sidecar.agents.retrieval.index import Retriever  # noqa: E402
from sidecar.catalog import schema  # noqa: E402
from sidecar.compiler.build import build  # noqa: E402
from sidecar.compiler.vectors import EmbeddingCache, cache_path, chunk_text  # noqa: E402
from sidecar.embeddings import MiniLM, get_embedder, model_version  # noqa: E402
from sidecar.settings import REPO_ROOT, Settings  # noqa: E402

QUESTIONS = [
    "how do I repeat something until a condition is false", "my program never stops running",
    "what is the remainder when dividing two numbers", "how do I pick a random number",
    "why does input give me text instead of a number", "what does return do in a function",
    "how can I check two conditions at once", "what is the difference between print and return",
    "how do I count how many times something happens", "variables inside a function are not visible outside",
    "how do I loop over every letter in a word", "what is elif for", "how do I give a parameter a default value",
    "why is my total always zero", "how do I join text and a number", "what is a boolean",
    "how do I stop a while loop", "what does range(1, 10) give", "how do I round to two decimals",
    "is 2 the same as '2'",
]


def percentiles(samples: list[float]) -> str:
    ordered = sorted(samples)
    p95 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.95))]
    return f"p50 {statistics.median(ordered):6.2f} ms, p95 {p95:6.2f} ms"


def time_searches(retriever: Retriever, queries: int, **scope: str) -> str:
    for question in QUESTIONS[:3]:  # warm-up: first-call costs are not per-turn costs
        retriever.search(question, k=5, **scope)
    samples = []
    for n in range(queries):
        started = time.perf_counter()
        retriever.search(QUESTIONS[n % len(QUESTIONS)], k=5, **scope)
        samples.append((time.perf_counter() - started) * 1000)
    return percentiles(samples)


def report(name: str, catalog_db: Path, queries: int, course_id: str, lesson_id: str) -> None:
    started = time.perf_counter()
    retriever = Retriever(catalog_db, Settings(EMBEDDING_MODEL="minilm"))
    load = time.perf_counter() - started
    lexical = Retriever(catalog_db, Settings(EMBEDDING_MODEL="none"))
    embedder = retriever.embedder
    assert embedder is not None and retriever.dense is not None, "the catalog has no vectors"
    samples, qdrant, numpy_dot = [], [], []
    matrix = np.stack([np.frombuffer(blob, dtype="<f4") for (blob,) in
                       sqlite_utils.Database(catalog_db).execute("SELECT vector FROM chunk_vectors").fetchall()])
    for n in range(queries):
        t0 = time.perf_counter()
        vector = embedder.embed([QUESTIONS[n % len(QUESTIONS)]])[0]
        t1 = time.perf_counter()
        retriever.dense.search(vector, 20, None)
        t2 = time.perf_counter()
        scores = matrix @ vector
        np.argsort(-scores[np.argpartition(-scores, 20)[:20]])
        t3 = time.perf_counter()
        samples.append((t1 - t0) * 1000)
        qdrant.append((t2 - t1) * 1000)
        numpy_dot.append((t3 - t2) * 1000)
    print(f"{name}: retriever load (vectors into Qdrant local mode) {load:.2f} s; {queries} queries each")
    print(f"  hybrid top-5                     {time_searches(retriever, queries)}")
    scoped = time_searches(retriever, queries, course_id=course_id, lesson_id=lesson_id)
    print(f"  hybrid top-5, course + lesson    {scoped}")
    print(f"  of which query embedding         {percentiles(samples)}")
    print(f"  of which Qdrant (local) top-20   {percentiles(qdrant)}")
    print(f"  (a numpy product, for reference  {percentiles(numpy_dot)})")
    print(f"  lexical only (FTS5)              {time_searches(lexical, queries)}")


def encoder_speed() -> None:
    model = MiniLM()
    text = ("A loop repeats a block of code while its condition holds; each pass is an iteration and "
            "the names you change inside it carry their values into the next pass. ") * 8
    texts = [f"{n} {text}"[:1200] for n in range(64)]
    model.embed(texts[:8])
    started = time.perf_counter()
    model.embed(texts)
    seconds = time.perf_counter() - started
    print(f"encoder: all-MiniLM-L6-v2 in numpy, 1,200-char chunks (truncated to 128 tokens): "
          f"{len(texts) / seconds:.1f} chunks/s (batch of 64, one BLAS thread as in builds)")


def demo(tmp: Path, queries: int) -> None:
    lines: list[str] = []
    started = time.perf_counter()
    report_ = build(repo=REPO_ROOT, content_dir=REPO_ROOT / "content", build_dir=tmp / "demo", check_code=False,
                    log=lines.append, embedding_model="minilm")
    vector_line = next((line.strip() for line in lines if "lesson vectors" in line), "no vectors")
    print(f"demo catalog: built in {time.perf_counter() - started:.1f} s ({vector_line}; cache {cache_path()})")
    db = sqlite_utils.Database(report_.catalog_db)
    lesson = db.execute("SELECT id, course_id FROM lessons WHERE title LIKE 'Repeating%'").fetchone()
    report("demo catalog", report_.catalog_db, queries, course_id=lesson[1], lesson_id=lesson[0])


# ---------------------------------------------------------------------------------------------
# The generated corpus

TOPICS = {
    "loops": "for while range iterate iteration break continue counter loop body repeat",
    "conditions": "if elif else boolean comparison condition branch true false and or not",
    "functions": "def function parameter argument return call default scope local global",
    "strings": "string text character slice index upper lower split join format f-string",
    "lists": "list append index slice sort sorted length element mutable insert remove",
    "dictionaries": "dictionary dict key value items lookup mapping get update keys values",
    "files": "file open read write close path line encoding with context manager",
    "errors": "exception error try except raise traceback ValueError finally handle crash",
    "classes": "class object instance method attribute self init inheritance constructor",
    "numbers": "integer float division remainder modulo round arithmetic operator sum average",
    "input": "input prompt user keyboard convert int str type conversion typed",
    "modules": "import module package random math library standard namespace randint",
}
VERBS = ["shows", "explains", "compares", "checks", "builds", "changes", "stores", "returns", "prints", "counts",
         "repeats", "skips"]
GLUE = ("Remember that {a} works with {b}. A common mistake is to forget the {a} before the {b}. "
        "Try it: write a short program that {v} the {a} and then the {b}. The {c} {v} every {d}. "
        "When the {a} is wrong, Python {v} an error that names the {b}. Compare the {c} with the {d}.")


def _text(rng: random.Random) -> tuple[str, str]:
    topic = rng.choice(list(TOPICS))
    words = TOPICS[topic].split()
    sentences = [GLUE.split(". ")[i].format(a=rng.choice(words), b=rng.choice(words), c=rng.choice(words),
                                            d=rng.choice(words), v=rng.choice(VERBS)).rstrip(".") + "."
                 for i in rng.sample(range(6), 4)]
    return f"{topic.title()}: {rng.choice(words)} and {rng.choice(words)}", " ".join(sentences)


def generate(path: Path, chunks: int, distinct: int, seed: int = 7) -> tuple[str, str]:
    rng = random.Random(seed)
    bases = [_text(rng) for _ in range(distinct)]
    model = get_embedder("minilm")
    assert model is not None
    version = model_version("minilm")
    texts = {hashlib.sha256(chunk_text(h, t).encode()).hexdigest(): chunk_text(h, t) for h, t in bases}
    cache = EmbeddingCache(cache_path(), print)
    blobs = cache.get(version, list(texts))
    missing = [sha for sha in texts if sha not in blobs]
    started = time.perf_counter()
    for start in range(0, len(missing), 256):
        part = missing[start:start + 256]
        vectors = model.embed([texts[sha] for sha in part])
        batch = {sha: v.astype("<f4").tobytes() for sha, v in zip(part, vectors, strict=True)}
        cache.put(version, batch)
        blobs.update(batch)
    cache.close()
    print(f"20k corpus: embedded {len(missing)} of {distinct} distinct texts with the real model in "
          f"{time.perf_counter() - started:.1f} s (the rest came from the embedding cache)")
    base_vectors = [np.frombuffer(blobs[hashlib.sha256(chunk_text(h, t).encode()).hexdigest()], dtype="<f4")
                    for h, t in bases]
    courses, per_lesson = 20, 5
    lessons = chunks // per_lesson
    db = sqlite_utils.Database(path)
    schema.create(db)  # the declared catalog schema; only what search reads is filled
    db["lessons"].insert_all({"id": f"lesson-{n}", "title": f"Lesson {n}", "course_id": f"course-{n % courses}",
                               "module_id": f"module-{n % courses}", "track_id": "bench", "position": n,
                               "url": f"bench/course-{n % courses}/lesson-{n}/"} for n in range(lessons))
    noise = np.random.default_rng(seed)
    rows, vectors = [], []
    for n in range(lessons * per_lesson):
        base = n % distinct
        heading, text = bases[base]
        if n >= distinct:  # a derived chunk: the same words plus its own, a nearby vector
            text = f"{text} (Lesson {n // per_lesson}, part {n % per_lesson}.)"
            vector = base_vectors[base] + noise.normal(0, 0.25 / np.sqrt(384), 384).astype(np.float32)
            vector /= np.linalg.norm(vector)
        else:
            vector = base_vectors[base]
        chunk_id = f"lesson-{n // per_lesson}:{n % per_lesson}"
        rows.append({"id": chunk_id, "lesson_id": f"lesson-{n // per_lesson}", "position": n % per_lesson,
                     "heading": heading, "anchor": None, "text": text})
        vectors.append((chunk_id, vector.astype("<f4").tobytes()))
    db["lesson_chunks"].insert_all(rows)
    db.execute(schema.FTS_FILL)
    db.execute(schema.CHUNK_VECTORS)
    db.conn.executemany("INSERT INTO chunk_vectors VALUES (?, ?)", sorted(vectors))
    digest = hashlib.sha256(b"".join(blob for _, blob in sorted(vectors))).hexdigest()
    db["meta"].insert({"key": "vectors", "value": json.dumps({"model": "minilm", "version": version, "dim": 384,
                                                              "count": len(vectors), "digest": digest})})
    db["meta"].insert({"key": "schema_version", "value": json.dumps(schema.SCHEMA_VERSION)})
    db.conn.commit()
    db.close()
    return "course-3", "lesson-3"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--chunks", type=int, default=20000)
    parser.add_argument("--distinct", type=int, default=1000, help="texts embedded with the real model")
    parser.add_argument("--queries", type=int, default=200)
    args = parser.parse_args()
    print(f"machine: {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.2f}")
    encoder_speed()
    with tempfile.TemporaryDirectory() as tmp:
        corpus = Path(tmp) / "corpus.db"
        course_id, lesson_id = generate(corpus, args.chunks, args.distinct)
        demo(Path(tmp), args.queries)
        report(f"generated corpus ({args.chunks} chunks, {args.distinct} embedded, rest derived)", corpus,
               args.queries, course_id=course_id, lesson_id=lesson_id)
    print(f"load average at the end {os.getloadavg()[0]:.2f} (other work on the machine inflates p95)")


if __name__ == "__main__":
    main()
